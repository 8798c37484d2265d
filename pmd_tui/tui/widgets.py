"""Small widgets shared by the screens."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, ProgressBar

STATUS_STYLE = {
    "new": "bold cyan",
    "checked": "bold yellow",
    "approved": "bold green",
    "rejected": "bold red",
    "published": "bold magenta",
}
FINDING_STYLE = {"pass": "green", "info": "cyan", "pending": "magenta", "warn": "yellow", "fail": "bold red"}
FINDING_MARK = {"pass": "✓", "info": "i", "pending": "?", "warn": "!", "fail": "✗"}


class TaskBar(Horizontal):
    """The running background task with its progress; hidden when idle."""

    DEFAULT_CSS = """
    TaskBar { height: 1; display: none; padding: 0 1; background: $boost; }
    TaskBar.-busy { display: block; }
    TaskBar Label { width: auto; margin-right: 2; }
    TaskBar ProgressBar { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Label("", id="task-label")
        yield ProgressBar(show_eta=True, id="task-progress")

    def on_mount(self) -> None:
        self.show(getattr(self.app, "task_state", None))

    def show(self, state) -> None:
        self.set_class(state is not None, "-busy")
        if state is None:
            return
        label, done, total = state
        self.query_one("#task-label", Label).update(f"{label}  (x: cancel)")
        bar = self.query_one("#task-progress", ProgressBar)
        bar.update(total=total, progress=done)


class TextLine(Widget):
    """A one-line text whose updates repaint without a new layout (cheap while browsing files).

    Static.update() re-lays out the whole screen; at one update per key press that costs a frame.
    """

    DEFAULT_CSS = "TextLine { height: 1; width: 100%; }"

    def __init__(self, text: Text | str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self._text = text

    def set(self, text: Text | str) -> None:
        self._text = text
        self.refresh()

    def render(self) -> Text | str:
        return self._text
