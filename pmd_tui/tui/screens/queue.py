"""The queue: every submission with its status, counts and worst finding; filter by status and text."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label

from pmd_tui.store import Status
from pmd_tui.tui.literal import literal
from pmd_tui.tui.screens.actions import ACTION_BINDINGS, SubmissionActions, footer_only
from pmd_tui.tui.screens.dialogs import ConfirmDialog
from pmd_tui.tui.widgets import FINDING_STYLE, STATUS_STYLE, Column, FittedTable, StatusLine, TaskBar

STATUSES = (None, *(s.value for s in Status))


class QueueScreen(SubmissionActions, Screen):
    BINDINGS = [
        Binding("enter", "open", "Review", show=True),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("f", "next_status", "Status filter"),
        *footer_only(ACTION_BINDINGS, "c", "a", "r"),
        Binding("s", "stats", "Statistics"),
        Binding("G", "sync_github", "Sync GitHub issues"),
        Binding("C", "check_all", "Check all new"),
        Binding("P", "publish_all", "Publish all approved"),
        Binding("R", "refresh", "Refresh", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("q", "app.quit", "Quit"),
    ]
    # The least kept columns go first on a narrow terminal; name and worst finding grow on a wide one.
    COLUMNS = [
        Column("id", "#", 4, keep=60),
        Column("status", "status", 9, keep=95),
        Column("name", "name", 14, keep=100, flex=True, max_width=40),
        Column("images", "images", 6, keep=70),
        Column("captions", "capt.", 5, keep=65),
        Column("concept", "concept", 7, keep=30),
        Column("from", "from", 14, keep=40, flex=True, max_width=24),
        Column("worst", "worst finding", 22, keep=90, flex=True, max_width=44),
    ]

    def __init__(self):
        super().__init__()
        self.status_filter: str | None = None
        self.rows: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filter-row"):
            yield Label("", id="status-tabs")
            yield Input(placeholder="filter by name, submitter, concept, issue  ( / )", id="filter")
        yield FittedTable(self.COLUMNS, id="queue", cursor_type="row", zebra_stripes=True)
        yield Label("", id="queue-summary")
        yield TaskBar()
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self.refresh_data()
        table.focus()

    def on_screen_resume(self) -> None:
        self.refresh_data()

    # -- data -------------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        text = self.query_one("#filter", Input).value.strip() or None
        store = self.app.store
        self.rows = store.summaries(status=self.status_filter, text=text)
        table = self.query_one(FittedTable)
        keep = self.current_id()
        rows = []
        for r in self.rows:
            who = r["submitter"] or ""
            if r["issue_number"]:
                who = f"#{r['issue_number']} {who}".strip()
            worst = Text("not checked", style="dim")
            if r["worst_status"]:
                worst = Text(f"{r['worst_status']} ", style=FINDING_STYLE[r["worst_status"]])
                worst.append(r["worst_rule"] or "all rules pass", style="")
            captions = Text(str(r["captions"]), style="yellow" if r["captions"] < r["images"] else "")
            rows.append((str(r["id"]), {
                "id": Text(str(r["id"]), justify="right"),
                "status": Text(r["status"], style=STATUS_STYLE.get(r["status"], "")),
                "name": literal(r["name"]),
                "images": Text(str(r["images"]), justify="right"),
                "captions": captions,
                "concept": literal(r["concept_type"] or "?"),
                "from": literal(who),
                "worst": worst,
            }))
        table.set_rows(rows)
        if keep is not None and any(r["id"] == keep for r in self.rows):
            table.move_cursor(row=table.get_row_index(str(keep)))
        self._update_labels()

    def _update_labels(self) -> None:
        tabs = Text()
        for i, s in enumerate(STATUSES):
            label = s or "all"
            style = "reverse bold" if s == self.status_filter else "dim"
            tabs.append(f" {label} ", style=style)
            tabs.append(" ")
        self.query_one("#status-tabs", Label).update(tabs)
        counts = {}
        for r in self.app.store.summaries():
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        shown = len(self.rows)
        summary = f"{shown} shown · " + " · ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES[1:])
        self.query_one("#queue-summary", Label).update(summary)

    def current_id(self) -> int | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key((table.cursor_row, 0))
        return int(row_key.value)

    # -- actions ----------------------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        sid = self.current_id()
        if sid is not None:
            from pmd_tui.tui.screens.review import ReviewScreen

            self.app.push_screen(ReviewScreen(sid))

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.refresh_data()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def action_clear_filter(self) -> None:
        filt = self.query_one("#filter", Input)
        if filt.value or self.status_filter:
            filt.value = ""
            self.status_filter = None
            self.refresh_data()
        self.query_one(DataTable).focus()

    def action_next_status(self) -> None:
        i = STATUSES.index(self.status_filter)
        self.status_filter = STATUSES[(i + 1) % len(STATUSES)]
        self.refresh_data()

    def action_stats(self) -> None:
        from pmd_tui.tui.screens.stats import StatsScreen

        self.app.push_screen(StatsScreen())

    def action_refresh(self) -> None:
        self.refresh_data()

    def action_check_all(self) -> None:
        ids = self.app.store.ids((Status.NEW, Status.CHECKED))
        if ids:
            self.app.check_submissions(ids)
        else:
            self.app.notify("nothing to check")

    def action_sync_github(self) -> None:
        self.app.sync_github()

    def action_publish_all(self) -> None:
        ids = self.app.store.ids(Status.APPROVED)
        if not ids:
            self.app.notify("no approved submission waits to be published")
            return

        def confirmed(yes: bool) -> None:
            if yes:
                self.app.publish_submissions(ids)

        self.app.push_screen(ConfirmDialog(f"Publish all {len(ids)} approved submission(s)?",
                                           f"to {self.app.publish_target_label()}", confirm_label="Publish"), confirmed)
