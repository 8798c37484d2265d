"""Approving and rejecting: the rules a decision must respect, shared by the CLI and the TUI."""

from __future__ import annotations

from pmd_tui.config import Settings
from pmd_tui.errors import InputError, RuleError, StateError
from pmd_tui.store import QueueStore, Status
from pmd_tui.store.vocabulary import BLOCKING


def blocking_findings(store: QueueStore, submission_id: int) -> list[dict]:
    """Findings that stop an approval: anything at fail level and any unattested human rule."""
    return [c for c in store.checks(submission_id) if c["status"] in BLOCKING]


def approve(store: QueueStore, settings: Settings, submission_id: int, *, note: str | None = None,
            override: str | None = None) -> None:
    """Approve a checked submission; failing or pending findings need a written override reason.

    Findings older than the latest edit or attestation are re-evaluated first (from cached image
    analyses, so it is quick), so an approval is always judged on the current state.
    """
    sub = store.get(submission_id)
    if sub["status"] == Status.NEW:
        raise StateError(f"submission {submission_id} has not been checked yet (run: pmd-tui check {submission_id})")
    if sub["status"] == Status.CHECKED and store.changed_since_check(submission_id):
        from pmd_tui.checks.engine import run_checks

        run_checks(store, settings, [submission_id])
    actor = settings.actor
    blockers = blocking_findings(store, submission_id)
    if blockers and not (override and override.strip()):
        desc = ", ".join(f"{c['rule']} ({c['status']})" for c in blockers)
        raise RuleError(f"cannot approve #{submission_id}: {desc}; fix them, attest, or override with a reason")
    detail = {}
    if blockers:
        detail["overridden"] = [c["rule"] for c in blockers]
        detail["override_reason"] = override.strip()
    if note:
        detail["note"] = note
    store.transition(submission_id, Status.APPROVED, actor=actor, action="approved",
                     reason=(override or note or None), expect=("checked",), **detail)


def reject(store: QueueStore, settings: Settings, submission_id: int, *, reason: str) -> None:
    if not reason or not reason.strip():
        raise InputError("a reason is required to reject a submission")
    store.transition(submission_id, Status.REJECTED, actor=settings.actor, action="rejected", reason=reason.strip())
