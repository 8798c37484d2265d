"""Submission states and the transitions between them.

A submission moves new -> checked -> approved | rejected -> published. Re-checking is always allowed
(it re-opens a rejected or approved set after an edit); a published set re-opens as approved when it is
changed, so that the next publish updates its folder, or as checked when the change brings a blocking
finding (``decisions.rejudge_after_edit``).
"""

from __future__ import annotations

from enum import StrEnum

from pmd_tui.errors import StateError


class Status(StrEnum):
    NEW = "new"
    CHECKED = "checked"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.CHECKED, Status.REJECTED}),
    Status.CHECKED: frozenset({Status.CHECKED, Status.APPROVED, Status.REJECTED}),
    Status.APPROVED: frozenset({Status.CHECKED, Status.REJECTED, Status.PUBLISHED}),
    Status.REJECTED: frozenset({Status.CHECKED}),
    Status.PUBLISHED: frozenset({Status.APPROVED, Status.CHECKED, Status.PUBLISHED}),
}

_HINTS = {
    (Status.NEW, Status.APPROVED): "run the checks first",
    (Status.REJECTED, Status.APPROVED): "re-run the checks to re-open it first",
    (Status.NEW, Status.PUBLISHED): "only approved submissions are published",
    (Status.CHECKED, Status.PUBLISHED): "only approved submissions are published",
    (Status.REJECTED, Status.PUBLISHED): "only approved submissions are published",
}


def ensure_transition(current: str, target: str, submission_id: int | None = None) -> None:
    """Raise a StateError with a useful hint when ``current -> target`` is not allowed."""
    cur, tgt = Status(current), Status(target)
    if tgt in TRANSITIONS[cur]:
        return
    who = f"submission {submission_id}" if submission_id is not None else "submission"
    hint = _HINTS.get((cur, tgt))
    msg = f"{who} is {cur.value}; it cannot become {tgt.value}"
    raise StateError(msg + (f" ({hint})" if hint else ""))
