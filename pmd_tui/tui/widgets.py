"""Small widgets shared by the screens."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Label, ProgressBar

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


# -- tables that fit their width ------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A table column that may be dropped or narrowed when space runs out.

    ``width`` is the preferred width (the minimum for a ``flex`` column, which also takes a share of any
    spare width up to ``max_width``); columns with the lowest ``keep`` are dropped first.
    """

    key: str
    label: str
    width: int
    keep: int = 0
    flex: bool = False
    max_width: int | None = None
    justify: str = "left"


PADDING = 2  # DataTable pads each cell with one space on either side
SCROLLBAR = 2


def fit_columns(columns: list[Column], available: int) -> list[tuple[Column, int]]:
    """The columns that fit in ``available`` cells, in their order, each with its width.

    The least kept columns go first until the rest fit; flex columns then share what is left.
    """
    shown = list(columns)

    def need(cols):
        return sum(c.width + PADDING for c in cols)

    while len(shown) > 1 and need(shown) > available:
        shown.remove(min(reversed(shown), key=lambda c: c.keep))
    widths = {c.key: c.width for c in shown}
    spare = available - need(shown)
    flex = [c for c in shown if c.flex]
    while spare > 0 and flex:
        share = max(spare // len(flex), 1)
        for c in list(flex):
            room = (c.max_width - widths[c.key]) if c.max_width else spare
            add = min(share, room, spare)
            widths[c.key] += add
            spare -= add
            if c.max_width and widths[c.key] >= c.max_width:
                flex.remove(c)
            if spare <= 0:
                break
    if len(shown) == 1 and need(shown) > available:
        widths[shown[0].key] = max(available - PADDING, 1)
    return [(c, widths[c.key]) for c in shown]


class FittedTable(DataTable):
    """A DataTable whose columns follow its width: rarer columns drop out, flexible ones grow.

    Rows are given as ``{column key: cell}``; a cell for a column that is not shown is kept, so the
    column comes back with its data when the table grows again.
    """

    def __init__(self, columns: list[Column], **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec = list(columns)
        self.fitted: list[tuple[Column, int]] = []
        self._rows: list[tuple[str, dict]] = []
        self._drawn = False

    @property
    def shown_keys(self) -> list[str]:
        return [c.key for c, _ in self.fitted]

    def _available(self) -> int:
        width = self.size.width or self.app.size.width
        return max(width - SCROLLBAR, 8)

    def _fit(self) -> bool:
        fitted = fit_columns(self.spec, self._available())
        if [(c.key, w) for c, w in fitted] == [(c.key, w) for c, w in self.fitted]:
            return False
        self.fitted = fitted
        return True

    def set_rows(self, rows: list[tuple[str, dict]]) -> None:
        """Replace every row, keeping the cursor on the same row key when it is still there."""
        self._rows = list(rows)
        if not self.size.width and not self._drawn:
            return  # not laid out yet: the first resize fills it (once, at its real width)
        self._fit()
        self._render_rows()

    def _render_rows(self) -> None:
        self._drawn = True
        keep = None
        if self.row_count and self.cursor_row is not None and self.cursor_row < self.row_count:
            keep = self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value
        self.clear(columns=True)
        for column, width in self.fitted:
            self.add_column(column.label, key=column.key, width=width)
        for key, cells in self._rows:
            self.add_row(*(cells.get(c.key, "") for c, _ in self.fitted), key=key)
        if keep is not None and any(key == keep for key, _ in self._rows):
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    def set_cell(self, row_key: str, column_key: str, value) -> None:
        """Change one cell (also when its column is hidden right now)."""
        for key, cells in self._rows:
            if key == row_key:
                cells[column_key] = value
        if column_key in self.shown_keys:
            self.update_cell(row_key, column_key, value)

    def on_resize(self) -> None:
        if self._fit() or not self._drawn:
            self._render_rows()


class StatusLine(TextLine):
    """The bottom line of every screen: the last error until it is dismissed (k), else the last task outcome.

    Toasts are drawn above it (see app.tcss), so a message here is never covered.
    """

    DEFAULT_CSS = "StatusLine { height: 1; width: 100%; padding: 0 1; background: $boost; }"
    MARKS = {"done": ("✓", "green"), "cancelled": ("–", "yellow"), "failed": ("✗", "bold red")}

    def on_mount(self) -> None:
        self.show(getattr(self.app, "last_error", None), getattr(self.app, "last_outcome", None))

    def show(self, error: dict | None, outcome: dict | None) -> None:
        from pmd_tui.tasklog import first_line
        from pmd_tui.tui.literal import literal

        width = max((self.size.width or self.app.size.width) - 2, 20)
        if error is not None:
            head = Text("✗ error ", style="bold red")
            if error.get("kind"):
                head.append(f"{error['kind']}: ", style="bold")
            tail = "  · k: dismiss · l: task log"
            if len(head) + len(first_line(error["message"])) + len(tail) > width:
                tail = "  · k, l"  # the message first when space is short
            text = literal(first_line(error["message"], max(width - len(head) - len(tail), 10)))
            text.stylize("red")
            self.set(Text.assemble(head, text, (tail, "dim")))
            self.set_class(True, "-error")
            return
        self.set_class(False, "-error")
        if outcome is None:
            self.set(Text("l: task log · ?: every key · ctrl+p: commands", style="dim"))
            return
        mark, style = self.MARKS.get(outcome["outcome"], ("·", ""))
        head = Text.assemble((f"{mark} ", style), (f"{outcome['kind']}: ", "bold"))
        tail = "  · l: task log"
        text = literal(first_line(outcome["message"], max(width - len(head) - len(tail), 10)))
        self.set(Text.assemble(head, text, (tail, "dim")))
