"""The task log: the outcome of every background task (done, cancelled or failed) with its one-line reason.

Toasts vanish; this log stays. Entries are kept in the queue's audit log (events without a submission, action
``task-<outcome>``), so they outlive the session and ``pmd-tui log`` lists them with everything else. Any job
can append to it: ``TaskLog(store, actor).append(kind, outcome, message)``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pmd_tui.store import QueueStore

OUTCOMES = ("done", "cancelled", "failed")


class TaskLog:
    def __init__(self, store: QueueStore, actor: str):
        self.store, self.actor = store, actor
        self._unsaved: list[dict] = []  # kept in memory when the queue file cannot be written

    def append(self, kind: str, outcome: str, message: str) -> dict:
        """Record one task outcome; returns the entry (``at``, ``kind``, ``outcome``, ``message``)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown task outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
        entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "kind": kind, "outcome": outcome,
                 "message": message}
        try:
            self.store.log(None, f"task-{outcome}", self.actor, kind=kind, message=message)
        except Exception:  # a locked or read-only queue must not lose the message
            self._unsaved.append(entry)
        return entry

    def entries(self, limit: int = 500) -> list[dict]:
        """The latest entries, oldest first."""
        try:
            saved = [{"at": e["at"], "kind": e["detail"].get("kind", "?"), "outcome": e["action"][len("task-"):],
                      "message": e["detail"].get("message", "")} for e in self.store.task_events(limit)]
        except Exception:
            saved = []
        return sorted(saved + self._unsaved, key=lambda e: e["at"])[-limit:]


def first_line(text: str, width: int | None = None) -> str:
    """The first line of ``text`` (with '…' when more follows or it is cut at ``width``)."""
    lines = (text or "").strip().splitlines() or [""]
    line = lines[0]
    more = len(lines) > 1
    if width is not None and len(line) > width:
        line, more = line[: max(width - 1, 0)], True
    return line + ("…" if more else "")
