"""PmdApp: holds the store and settings, runs long work in workers, routes progress to the screens."""

from __future__ import annotations

from typing import Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from pmd_tui.config import Settings
from pmd_tui.jobs import CancelToken, FailedReport, Job, JobReport, run_job
from pmd_tui.store import QueueStore, Status


class TaskProgress(Message):
    """Sent from worker threads: what is running and how far it got."""

    def __init__(self, label: str, done: int, total: int | None) -> None:
        super().__init__()
        self.label, self.done, self.total = label, done, total


class TaskFinished(Message):
    def __init__(self, label: str, summary: str, ok: bool, cancelled: bool = False) -> None:
        super().__init__()
        self.label, self.summary, self.ok, self.cancelled = label, summary, ok, cancelled

    @property
    def outcome(self) -> str:
        """done, cancelled or failed (the task log's words)."""
        return "cancelled" if self.cancelled else ("done" if self.ok else "failed")


def _declared_here(node, binding: Binding) -> bool:
    """True for a binding that pmd-tui's own classes declare (not one Textual's widgets bring along)."""
    for cls in type(node).__mro__:
        if cls.__module__.startswith("pmd_tui"):
            for b in cls.__dict__.get("BINDINGS", ()):
                if isinstance(b, Binding) and b.action == binding.action and b.description == binding.description:
                    return True
    return False


class QueueChanged(Message):
    """Sent from worker threads when submissions were added (the queue screen shows them)."""


class PmdApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "pmd-tui"
    SUB_TITLE = "personalization meta-dataset review"
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("x", "cancel_task", "Cancel task", show=False),
        Binding("l", "task_log", "Task log", show=False),
        Binding("k", "dismiss_error", "Dismiss error", show=False),
    ]
    # Screens lay themselves out by these classes (see app.tcss): 80x24 over SSH up to wide desktops.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-medium"), (140, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    def __init__(self, store: QueueStore, settings: Settings, *, image_cls=None, demo: bool = False,
                 publish_to: str | None = None, build_demo_in=None, exit_signals: tuple = ()):
        """``build_demo_in``: a folder to fill the (empty) demo queue from, in the background, once the queue
        shows. ``exit_signals``: signals (SIGTERM, SIGHUP) that end the app cleanly, like ctrl+q."""
        super().__init__()
        self.build_demo_in = build_demo_in
        self.exit_signals = exit_signals
        self.publish_target = publish_to
        self.store = store
        self.settings = settings
        self.image_cls = image_cls
        self.demo = demo
        self.task_state: tuple[str, int, int | None] | None = None
        from pmd_tui.tasklog import TaskLog

        self.task_log = TaskLog(store, settings.actor)
        self.last_error: dict | None = None  # stays in the status line until dismissed (k)
        self.last_outcome: dict | None = None
        self._cancel = CancelToken()
        if demo:
            self.sub_title = "DEMO queue (throw-away)"

    def notify(self, message, *, title: str = "", severity="information", timeout=None, markup: bool = False,
               logged: bool = False) -> None:
        """Notifications often quote submission names: never parse them as markup, show controls visibly.

        An error also stays in the status line until dismissed, and goes to the task log (unless ``logged``).
        """
        from pmd_tui.tui.literal import visible

        text = message.plain if hasattr(message, "plain") else str(message)
        if severity == "error":
            if not logged:
                self.task_log.append(title or "action", "failed", text)
            self.last_error = {"kind": title, "message": text}
            self._update_status()
        super().notify(visible(text), title=visible(title), severity=severity, timeout=timeout, markup=markup)

    # -- the status line and the task log ---------------------------------------------------------
    def _update_status(self) -> None:
        from pmd_tui.tui.widgets import StatusLine

        lines = [line for screen in self.screen_stack for line in screen.query(StatusLine)]
        for line in lines:
            line.show(self.last_error, self.last_outcome)

    def action_dismiss_error(self) -> None:
        if self.last_error is not None:
            self.last_error = None
            self._update_status()

    def action_task_log(self) -> None:
        from pmd_tui.tui.screens.tasklog import TaskLogScreen

        if isinstance(self.screen, TaskLogScreen):
            self.pop_screen()
        else:
            self.push_screen(TaskLogScreen())

    def record_outcome(self, kind: str, outcome: str, message: str) -> None:
        """Log a background task's outcome, show it in the status line and (briefly) as a toast."""
        self.task_log.append(kind, outcome, message)
        self.last_outcome = {"kind": kind, "outcome": outcome, "message": message}
        if outcome == "failed":
            self.notify(message, title=kind, severity="error", timeout=10, logged=True)
        else:
            self.notify(message, title=kind, severity="information" if outcome == "done" else "warning",
                        timeout=6 if "\n" not in message else 30)
        self._update_status()

    def on_mount(self) -> None:
        from pmd_tui.tui.screens.queue import QueueScreen

        self.push_screen(QueueScreen())
        if self.exit_signals:
            import asyncio

            loop = asyncio.get_running_loop()
            for sig in self.exit_signals:
                loop.add_signal_handler(sig, self._exit_on_signal, sig)
        if self.build_demo_in is not None:
            self.call_after_refresh(self.build_demo)

    def _exit_on_signal(self, signum: int) -> None:
        self._cancel.set()
        self.exit(return_code=128 + signum)

    def on_unmount(self) -> None:
        self._cancel.set()  # a running task stops at its next step instead of holding the exit

    def build_demo(self) -> None:
        """Fill the demo queue in the background; the queue shows each submission as soon as it is done."""
        from pmd_tui.demo import build_demo_queue

        def job(progress, cancel) -> str:
            def added(done: int, total: int, name: str) -> None:
                progress(done, total, f"added {name}")
                self.post_message(QueueChanged())

            ids = build_demo_queue(self.store, self.settings, self.build_demo_in, progress=added, cancel=cancel)
            return JobReport(text=f"the demo queue holds {len(ids)} sample submissions: try enter, c, a, r, g, ? and l",
                             cancelled=cancel.is_set())

        self.start_task("demo queue", job)

    def on_queue_changed(self, _message: QueueChanged) -> None:
        from pmd_tui.tui.screens.queue import QueueScreen

        if isinstance(self.screen, QueueScreen):
            self.screen.refresh_data()

    def _refresh_screen(self) -> None:
        refresh = getattr(self.screen, "refresh_data", None)
        if refresh:
            refresh()

    # -- commands and help ------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette offers every described key of the current screen, by name."""
        yield from super().get_system_commands(screen)
        for node, binding in self.described_bindings(screen):
            if binding.action not in ("help", "command_palette", "quit"):
                yield SystemCommand(binding.description, f"key: {self.get_key_display(binding)}",
                                    self._runner(node, binding.action))

    def _runner(self, node, action: str) -> Callable[[], None]:
        def run() -> None:
            self.call_later(node.run_action, action)

        return run

    @staticmethod
    def described_bindings(screen: Screen) -> list[tuple[object, Binding]]:
        """(node, binding) for every active binding that has a description: the screen's own keys first,
        then the app's, then the built-in keys of the focused widget."""
        own = {b.key: b for b in Binding.make_bindings(type(screen).BINDINGS) if b.description}
        out = []
        for key, active in screen.active_bindings.items():
            if key in own and active.node is not screen:
                # a focused widget's binding shadows the screen's (enter: the DataTable's "Select"), but the
                # screen acts on what that widget reports: its description is the one that says what happens
                out.append((screen, own[key]))
            elif active.binding.description:
                out.append((active.node, active.binding))
        rank = {id(screen): 0, id(screen.app): 1}
        return sorted(out, key=lambda nb: (not _declared_here(*nb), rank.get(id(nb[0]), 2)))

    def action_help(self) -> None:
        from pmd_tui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen([(self.get_key_display(b), b.description)
                                         for _, b in self.described_bindings(self.screen)]))

    # -- background work --------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.task_state is not None

    def on_task_progress(self, message: TaskProgress) -> None:
        self.task_state = (message.label, message.done, message.total)
        self._update_bars()

    def on_task_finished(self, message: TaskFinished) -> None:
        self.task_state = None
        self._update_bars()
        self.record_outcome(message.label, message.outcome, message.summary)
        self._refresh_screen()

    def _update_bars(self) -> None:
        from pmd_tui.tui.widgets import TaskBar

        for bar in (bar for screen in self.screen_stack for bar in screen.query(TaskBar)):
            bar.show(self.task_state)

    def action_cancel_task(self) -> None:
        if self.busy:
            self._cancel.set()
            self.notify("cancelling…", timeout=2)

    def run_job(self, label: str, job: Job) -> None:
        """Run any core job (``job(progress, cancel) -> JobReport``, see ``pmd_tui.jobs``) in the one task
        worker: progress goes to the task bars, ``x`` sets its cancel token, its summary is notified at the end."""
        if self.busy:
            self.notify(f"{self.task_state[0]} is still running (x cancels it)", severity="warning")
            return
        self._cancel = CancelToken()
        self.task_state = (label, 0, None)
        self._update_bars()
        self._run_task(label, job, self._cancel)

    start_task = run_job  # the name screens used before the job contract

    @work(thread=True, exclusive=True, group="tasks")
    def _run_task(self, label: str, job: Job, cancel: CancelToken) -> None:
        def progress(done: int, total: int | None, what: str = "") -> None:
            self.post_message(TaskProgress(f"{label}: {what}" if what else label, done, total))

        try:
            report = run_job(job, progress, cancel)
        except Exception as exc:  # shown, never a crash of the whole app
            report = FailedReport(text=f"{type(exc).__name__}: {exc}")
        finally:
            self.store.close()  # this thread's connection
        self.post_message(TaskFinished(label, report.summary(), report.ok,
                                       cancelled=report.cancelled or cancel.is_set()))

    def check_submissions(self, ids: list[int]) -> None:
        from pmd_tui.checks.engine import check_job

        def job(progress, cancel) -> JobReport:
            """An approved submission is judged again: it stays approved unless a blocking finding appeared
            that its approval did not override (then it goes back to checked); either way the summary says so."""
            from pmd_tui.decisions import rejudge_after_edit

            approved = {sid: self.store.get(sid)["name"] for sid in ids
                        if self.store.get(sid)["status"] == Status.APPROVED}
            rest = [sid for sid in ids if sid not in approved]
            lines, cancelled = [], False
            if rest:
                report = run_job(check_job(self.store, self.settings, rest), progress, cancel)
                if not report.ok:
                    return report
                lines.append(report.summary())
                cancelled = report.cancelled
            for sid, name in approved.items():
                if cancel.is_set():
                    cancelled = True
                    break
                said = rejudge_after_edit(self.store, self.settings, sid, actor=self.settings.actor,
                                          what="a new check")
                lines.append(said or f"#{sid} {name} stays approved: the checks found nothing new that blocks it")
            return JobReport(text="\n".join(lines), cancelled=cancelled)

        self.run_job("checks", job)

    def screen_submissions(self, ids: list[int]) -> None:
        """The SFW classifier and the face detector on new images, then the checks (background)."""
        from pmd_tui.checks.engine import check_job

        self.run_job("screening", check_job(self.store, self.settings, ids, models=True))

    # -- captioning and publishing (services from their own packages) ----------------------------
    def caption_submissions(self, ids: list[int], **options) -> None:
        """Captioning in the background; ``options``: preset, task, trigger ("" for none), overwrite."""
        from pmd_tui.captioning.service import caption_job

        self.run_job("captioning", caption_job(self.store, self.settings, ids, **options))

    def tell_issue(self, submission_id: int, action: str, **kw) -> None:
        """With ``notify = true`` in the config, comment the decision on the issue (network: a worker)."""
        if not self.settings.notify or not self.store.get(submission_id).get("issue_url"):
            return
        self._post_issue_comment(submission_id, action, kw)

    @work(thread=True, group="notify")
    def _post_issue_comment(self, submission_id: int, action: str, kw: dict) -> None:
        from pmd_tui.intake.github import notify

        try:
            warning = notify(self.store, submission_id, action, actor=self.settings.actor, **kw)
        finally:
            self.store.close()
        if warning:
            self.call_from_thread(self.record_outcome, "issue comment", "failed", warning)
        else:
            self.call_from_thread(self.record_outcome, "issue comment", "done",
                                  f"commented on the issue of #{submission_id}")

    def sync_github(self) -> None:
        repo = self.settings.github_repo
        if not repo:
            self.notify("set github_repo = \"OWNER/REPO\" in the config (or run: pmd-tui sync --github OWNER/REPO)",
                        severity="warning")
            return
        from pmd_tui.intake.github import sync_job

        self.run_job("GitHub sync", sync_job(self.store, self.settings, repo))

    def publish_target_label(self) -> str:
        target = getattr(self, "publish_target", None)
        return str(target) if target else f"https://huggingface.co/datasets/{self.settings.repo}"

    def publish_submissions(self, ids: list[int], *, dry_run: bool = False) -> None:
        from pmd_tui.publish.service import publish_job

        self.run_job("dry run" if dry_run else "publishing",
                     publish_job(self.store, self.settings, ids, to_dir=getattr(self, "publish_target", None),
                                 dry_run=dry_run))
