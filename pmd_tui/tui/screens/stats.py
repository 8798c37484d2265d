"""What people submit, at a glance: bar charts of sizes, resolutions, captioning methods and concepts."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from pmd_tui.stats import queue_stats
from pmd_tui.tui.literal import literal
from pmd_tui.tui.widgets import StatusLine

BAR = "█"


def bar_chart(title: str, counts: dict[str, int], width: int = 24, color: str = "cyan") -> Group:
    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right", no_wrap=True, max_width=18)
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    top = max(counts.values(), default=0)
    for label, n in counts.items():
        length = 0 if not top else max(1 if n else 0, round(width * n / top))
        table.add_row(literal(label), Text(BAR * length, style=color), str(n))
    if not counts:
        table.add_row("", Text("no data", style="dim"), "")
    return Group(Text(title, style="bold"), table)


class StatsScreen(Screen):
    BINDINGS = [Binding("escape,s", "app.pop_screen", "Back"), Binding("R", "refresh", "Refresh")]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats-body"):  # one column of charts on a narrow terminal, scrolled
            yield Static("", id="stats-summary")
            with Grid(id="stats-grid"):
                for key in ("sizes", "resolutions", "methods", "concepts", "status", "sources"):
                    yield Static("", id=f"chart-{key}", classes="chart")
            yield Static("", id="leaderboard")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.title = "statistics"
        self.action_refresh()

    def action_refresh(self) -> None:
        st = queue_stats(self.app.store)
        rate = "n/a" if st["approval_rate"] is None else f"{st['approval_rate']:.0%}"
        summary = Text.assemble(
            (f"{st['submissions']}", "bold"), " submissions · ", (f"{st['images']}", "bold"), " images · ",
            "median dataset ", (f"{st['dataset_size']['median']:g}", "bold"), " images · median short side ",
            (f"{st['resolution']['median_short_side']:g} px", "bold"), " · approval rate ", (rate, "bold"),
            " · published ", (str(st["published"]), "bold"),
        )
        if st.get("excluded_images"):
            summary.append(f" · {st['excluded_images']} image(s) excluded by maintainers", style="dim")
        self.query_one("#stats-summary", Static).update(summary)
        charts = {
            "sizes": bar_chart("dataset size (images)", st["dataset_size"]["buckets"]),
            "resolutions": bar_chart("image short side", st["resolution"]["buckets"], color="green"),
            "methods": bar_chart("captioning method", st["caption_methods"], color="yellow"),
            "concepts": bar_chart("concept type", st["concept_types"], color="magenta"),
            "status": bar_chart("status", st["status"], color="blue"),
            "sources": bar_chart("caption source (per image)", st["caption_sources"], color="cyan"),
        }
        for key, chart in charts.items():
            self.query_one(f"#chart-{key}", Static).update(chart)
        self.query_one("#leaderboard", Static).update(leaderboard_table(self.app.store))


def leaderboard_table(store) -> Group:
    """Scored finetuning runs per dataset, best subject fidelity first (pmd-tui score stores them)."""
    from pmd_tui.benchmark.score import METRIC_LABELS, format_metric, leaderboard

    rows = leaderboard(store)
    title = Text("leaderboard (pmd-tui score)", style="bold")
    if not rows:
        return Group(title, Text("no scored runs yet", style="dim"))
    table = Table(box=None, padding=(0, 1), header_style="dim")
    table.add_column("dataset", no_wrap=True, max_width=22)
    table.add_column("run", no_wrap=True, max_width=28)
    for key in METRIC_LABELS:
        table.add_column(METRIC_LABELS[key], justify="right")
    table.add_column("date", no_wrap=True)
    for r in rows:
        table.add_row(literal(r["dataset"]), literal(r["label"]),
                      *(format_metric(k, r["metrics"].get(k)) for k in METRIC_LABELS), r["date"][:10])
    return Group(title, table)
