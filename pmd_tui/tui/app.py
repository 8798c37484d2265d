"""PmdApp: holds the store and settings, runs long work in workers, routes progress to the screens."""

from __future__ import annotations

from typing import Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from pmd_tui.config import Settings
from pmd_tui.jobs import CancelToken, FailedReport, Job, run_job
from pmd_tui.store import QueueStore


class TaskProgress(Message):
    """Sent from worker threads: what is running and how far it got."""

    def __init__(self, label: str, done: int, total: int | None) -> None:
        super().__init__()
        self.label, self.done, self.total = label, done, total


class TaskFinished(Message):
    def __init__(self, label: str, summary: str, ok: bool) -> None:
        super().__init__()
        self.label, self.summary, self.ok = label, summary, ok


class PmdApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "pmd-tui"
    SUB_TITLE = "personalization meta-dataset review"
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("x", "cancel_task", "Cancel task", show=False),
    ]

    def __init__(self, store: QueueStore, settings: Settings, *, image_cls=None, demo: bool = False,
                 publish_to: str | None = None):
        super().__init__()
        self.publish_target = publish_to
        self.store = store
        self.settings = settings
        self.image_cls = image_cls
        self.demo = demo
        self.task_state: tuple[str, int, int | None] | None = None
        self._cancel = CancelToken()
        if demo:
            self.sub_title = "DEMO queue (throw-away)"

    def notify(self, message, *, title: str = "", severity="information", timeout=None, markup: bool = False) -> None:
        """Notifications often quote submission names: never parse them as markup, show controls visibly."""
        from pmd_tui.tui.literal import visible

        text = message.plain if hasattr(message, "plain") else str(message)
        super().notify(visible(text), title=visible(title), severity=severity, timeout=timeout, markup=markup)

    def on_mount(self) -> None:
        from pmd_tui.tui.screens.queue import QueueScreen

        self.push_screen(QueueScreen())

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
        """(node, binding) for every active binding that has a description, screen's first."""
        out = []
        for active in screen.active_bindings.values():
            if active.binding.description:
                out.append((active.node, active.binding))
        return out

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
        self.notify(message.summary, title=message.label, severity="information" if message.ok else "error",
                    timeout=6 if "\n" not in message.summary else 30)
        refresh = getattr(self.screen, "refresh_data", None)
        if refresh:
            refresh()

    def _update_bars(self) -> None:
        from pmd_tui.tui.widgets import TaskBar

        for bar in self.screen.query(TaskBar):
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
        self.post_message(TaskFinished(label, report.summary(), report.ok))

    def check_submissions(self, ids: list[int]) -> None:
        from pmd_tui.checks.engine import check_job

        self.run_job("checks", check_job(self.store, self.settings, ids))

    def screen_submissions(self, ids: list[int]) -> None:
        """The SFW classifier and the face detector on new images, then the checks (background)."""
        from pmd_tui.checks.engine import check_job

        self.run_job("screening", check_job(self.store, self.settings, ids, models=True))

    # -- captioning and publishing (services from their own packages) ----------------------------
    def caption_submissions(self, ids: list[int], **options) -> None:
        """Florence-2 in the background; ``options``: task, trigger ("" for none), overwrite."""
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
            self.call_from_thread(self.notify, warning, severity="warning", timeout=8)
        else:
            self.call_from_thread(self.notify, f"commented on the issue of #{submission_id}", timeout=3)

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
