"""Approving and rejecting: the rules a decision must respect, shared by the CLI and the TUI."""

from __future__ import annotations

from pmd_tui.config import Settings
from pmd_tui.errors import InputError, RuleError, StateError
from pmd_tui.store import QueueStore, Status


def blocking_findings(store: QueueStore, submission_id: int) -> list[dict]:
    """Findings that stop an approval: anything at fail level and any unattested human rule."""
    return [c for c in store.checks(submission_id) if c["status"] in ("fail", "pending")]


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


def approval_overrides(store: QueueStore, submission_id: int) -> list[str]:
    """The rules the latest approval overrode with a reason."""
    row = store.conn.execute(
        "SELECT detail FROM events WHERE submission_id = ? AND action = 'approved' ORDER BY id DESC LIMIT 1",
        (submission_id,),
    ).fetchone()
    if row is None or not row[0]:
        return []
    import json

    return list(json.loads(row[0]).get("overridden", []))


def rejudge_after_edit(store: QueueStore, settings: Settings, submission_id: int, *, actor: str,
                       what: str) -> str | None:
    """After a change to an approved or published submission, judge it again on its current state.

    The checks run again (image analyses are cached by content hash, so only changed files cost time). A
    fail or pending finding that the approval did not override sends it back to ``checked`` (event
    ``reopened``); otherwise an approved one stays approved and a published one becomes ``approved`` again,
    so the next publish updates its folder. Returns a one-line message, or None when the status is unchanged.
    """
    sub = store.get(submission_id)
    status = sub["status"]
    if status not in (Status.APPROVED, Status.PUBLISHED):
        return None
    from pmd_tui.checks.engine import analyse_submissions, evaluate

    findings = evaluate(store, settings, submission_id, analyse_submissions(store, settings, [submission_id]))
    overridden = set(approval_overrides(store, submission_id))
    blocking = [f["rule"] for f in findings if f["status"] in ("fail", "pending") and f["rule"] not in overridden]
    with store.transaction():
        store.save_checks(submission_id, findings, actor=actor, keep_status=True)
        if blocking:
            store.transition(submission_id, Status.CHECKED, actor=actor, action="reopened",
                             reason=f"{what}; now blocked by {', '.join(blocking)}", what=what, blocking=blocking)
            return (f"#{submission_id} went back to checked after {what}: {', '.join(blocking)} "
                    "must be settled before it is approved again")
        if status == Status.PUBLISHED:
            store.transition(submission_id, Status.APPROVED, actor=actor, action="reopened",
                             reason=f"changed after publishing: {what}", what=what)
            return f"#{submission_id} is approved again after {what}; publish to update its folder"
    return None


def recheck_after_change(store: QueueStore, settings: Settings, submission_id: int, *, actor: str,
                         what: str) -> str | None:
    """What every edit service calls after changing a submission: a checked one is checked again (cheap,
    cached by content hash), an approved or published one is judged again (``rejudge_after_edit``)."""
    status = store.get(submission_id)["status"]
    if status == Status.CHECKED:
        from pmd_tui.checks.engine import run_checks, worst

        findings = run_checks(store, settings, [submission_id])[submission_id]
        return f"#{submission_id} checked again after {what}: {worst(findings)}"
    return rejudge_after_edit(store, settings, submission_id, actor=actor, what=what)
