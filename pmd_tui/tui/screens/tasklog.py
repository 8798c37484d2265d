"""The task log: every background task's outcome, newest first, with its whole message."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, OptionList
from textual.widgets.option_list import Option

from pmd_tui.tui.literal import literal
from pmd_tui.tui.widgets import StatusLine

MAX_LINES = 25


def when(stamp: str) -> str:
    """A stored UTC time as local time (the date only when it is not today)."""
    try:
        t = datetime.fromisoformat(stamp).astimezone()
    except ValueError:
        return stamp
    return t.strftime("%H:%M:%S") if t.date() == datetime.now().astimezone().date() else t.strftime("%Y-%m-%d %H:%M")


class TaskLogScreen(Screen):
    when = staticmethod(when)  # how a stored time is shown (the screenshots fix it)
    BINDINGS = [
        Binding("escape,l", "app.pop_screen", "Back"),
        Binding("k", "app.dismiss_error", "Dismiss error"),
        Binding("R", "refresh", "Refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="log-title", classes="pane-title")
        yield OptionList(id="task-log")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.title = "task log"
        self.action_refresh()
        self.query_one(OptionList).focus()

    def action_refresh(self) -> None:
        entries = self.app.task_log.entries()
        ol = self.query_one(OptionList)
        ol.clear_options()
        for i, e in enumerate(reversed(entries)):
            mark, style = StatusLine.MARKS.get(e["outcome"], ("·", ""))
            line = Text.assemble((f"{self.when(e['at'])} ", "dim"), (f"{mark} {e['outcome']:<9} ", style),
                                 (f"{e['kind']}", "bold"))
            lines = (e["message"] or "").rstrip().splitlines() or [""]
            body = literal("\n".join(lines[:MAX_LINES]))
            line.append("\n")
            line.append(body)
            if len(lines) > MAX_LINES:
                line.append(f"\n… {len(lines) - MAX_LINES} more line(s)", style="dim")
            ol.add_option(Option(line, id=str(i)))
        if not entries:
            ol.add_option(Option(Text("no background task has finished yet", style="dim"), id="none"))
        failed = sum(e["outcome"] == "failed" for e in entries)
        self.query_one("#log-title", Label).update(
            f"task log: {len(entries)} outcome(s), {failed} failed · newest first · escape: back")
