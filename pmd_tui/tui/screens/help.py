"""Every key of the screen it was opened from, with what it does."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 72; max-height: 90%; border: round $accent; background: $surface;
                                 padding: 0 1; height: auto; }
    """

    def __init__(self, keys: list[tuple[str, str]]):
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table(show_header=True, box=None, expand=True, header_style="bold")
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("action")
        for key, description in self.keys:
            if description not in ("palette", "Help"):
                table.add_row(key, description)
        table.add_row("^p", "command palette: every action by name")
        table.add_row("?", "this help")
        with VerticalScroll():
            yield Static("[b]Keys[/b]  (escape closes)")
            yield Static(table)
