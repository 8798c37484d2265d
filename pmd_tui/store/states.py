"""Submission states and the transitions between them.

A submission moves new -> checked -> approved | rejected, and approved -> published. Running the
checks (``pmd-tui check``, ``c``) moves a new, checked, approved or rejected set to checked; a published
set keeps its status and only gets new findings. An edit after approval (caption, metadata, attestation)
is judged again (``decisions.rejudge_after_edit``): a new blocking finding sends an approved or published
set back to checked; otherwise a published set re-opens as approved, so the next publish updates its
folder, and an approved one stays approved. Publishing an already published set again is allowed (a re-run
after a crash between the commit and the bookkeeping completes it).
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
    Status.PUBLISHED: frozenset({Status.CHECKED, Status.APPROVED, Status.PUBLISHED}),
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
