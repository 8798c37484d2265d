"""The one contract every long task follows: check, screen, caption, publish and sync.

* **progress**: one callback type, ``progress(done, total, what)``; ``total`` is ``None`` while unknown
  and ``what`` a short phrase ("analysing images", "#12", "1.8 img/s, ETA 0:42");
* **cancel**: one token, a :class:`CancelToken` (a ``threading.Event``: any Event works too). A job looks
  at it between units of work (a batch, a submission, an issue), stops there and keeps what is finished;
* **report**: every job returns a :class:`JobReport` (or a subclass with its own counts) whose
  ``summary()`` is the line the CLI prints and the TUI notifies, with ``cancelled`` and ``failed`` set the
  same way by every job.

A *job* is ``job(progress, cancel) -> JobReport``; each service builds its own (``check_job``,
``screen_job``, ``caption_job``, ``publish_job``, ``sync_job``) and the TUI runs any of them the same way
(:func:`run_job`). Model workers share the out-of-memory back-off in ``pmd_tui.model_runtime``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from pmd_tui.errors import PmdError

Progress = Callable[[int, "int | None", str], None]


class Cancelled(PmdError):
    """Raised by a job that stops at a cancel request where it has no partial result to hand back."""

    exit_code = 130


class CancelToken(threading.Event):
    """Set it to ask a running job to stop at its next unit of work."""

    def raise_if_set(self, message: str = "cancelled") -> None:
        if self.is_set():
            raise Cancelled(message)


def is_cancelled(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def no_progress(done: int, total: int | None, what: str = "") -> None:
    """The progress callback of a job nobody watches."""


@dataclass
class JobReport:
    """What a job hands back. Subclasses add their counts and override :meth:`describe`."""

    cancelled: bool = False
    failed: list[str] = field(default_factory=list)  # one line per item that could not be done
    seconds: float = 0.0
    text: str = ""  # the summary, when the job wrote it itself

    @property
    def ok(self) -> bool:
        """False when the job failed outright (an error, not a partial result)."""
        return True

    def describe(self) -> str:
        return self.text or ("done" if not self.failed else f"{len(self.failed)} failed")

    def summary(self) -> str:
        text = self.describe()
        if self.cancelled and "cancel" not in text.lower():
            text = f"cancelled: {text}"
        return text


@dataclass
class FailedReport(JobReport):
    """A job that stopped on an error: its one-line message."""

    @property
    def ok(self) -> bool:
        return False


Job = Callable[[Progress, threading.Event], JobReport]


def run_job(job: Job, progress: Progress | None = None, cancel: threading.Event | None = None) -> JobReport:
    """Run any job the same way: errors become a failed report, a ``Cancelled`` a cancelled one."""
    cancel = cancel if cancel is not None else CancelToken()
    started = time.perf_counter()
    try:
        report = job(progress or no_progress, cancel)
    except Cancelled as exc:
        report = JobReport(cancelled=True, text=str(exc))
    except PmdError as exc:
        report = FailedReport(text=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if isinstance(report, str):  # a job written before this contract: its summary line
        report = JobReport(text=report)
    if not report.seconds:
        report.seconds = time.perf_counter() - started
    return report
