"""Approving and rejecting: the rules a decision must respect, shared by the CLI and the TUI.

A decision rests on the submission as it is: an edit after approval (a caption, the metadata, an
attestation, an excluded or fixed image) is judged again by :func:`rejudge_after_edit`.
"""

from __future__ import annotations

from pmd_tui.config import Settings
from pmd_tui.errors import InputError, RuleError, StateError
from pmd_tui.store import QueueStore, Status
from pmd_tui.store.vocabulary import BLOCKING, SEVERITY


# findings no override can pass: the Hub would refuse the folder anyway
NOT_OVERRIDABLE = ("format.folder-size",)


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
    hard = [c for c in blockers if c["rule"] in NOT_OVERRIDABLE]
    if hard:
        raise RuleError(f"cannot approve #{submission_id}: {hard[0]['message']}")
    if blockers and not (override and override.strip()):
        desc = ", ".join(f"{c['rule']} ({c['status']})" for c in blockers)
        hint = "caption them (g / pmd-tui caption), " if any(c["rule"] == "format.missing-caption" for c in blockers) else ""
        raise RuleError(f"cannot approve #{submission_id}: {desc}; fix them, {hint}attest, or override with a reason")
    detail = {}
    if blockers:
        detail["overridden"] = [c["rule"] for c in blockers]
        detail["overridden_status"] = {c["rule"]: c["status"] for c in blockers}
        detail["override_reason"] = override.strip()
    if note:
        detail["note"] = note
    store.transition(submission_id, Status.APPROVED, actor=actor, action="approved",
                     reason=(override or note or None), expect=("checked",), **detail)


def reject(store: QueueStore, settings: Settings, submission_id: int, *, reason: str) -> None:
    if not reason or not reason.strip():
        raise InputError("a reason is required to reject a submission")
    store.transition(submission_id, Status.REJECTED, actor=settings.actor, action="rejected", reason=reason.strip())


def _overridden_at_approval(store: QueueStore, submission_id: int) -> dict[str, str]:
    """rule -> the status it had when the latest approval overrode it ("fail" when not recorded)."""
    approval = next((e for e in reversed(store.events(submission_id)) if e["action"] == "approved"), None)
    if approval is None:
        return {}
    d = approval["detail"]
    statuses = d.get("overridden_status") or {}
    return {rule: statuses.get(rule, "fail") for rule in d.get("overridden") or []}


def rejudge_after_edit(store: QueueStore, settings: Settings, submission_id: int, *, actor: str,
                       what: str) -> str | None:
    """Judge an approved or published submission again after ``what`` changed (a caption, metadata, ...).

    The checks run again (from cached image analyses: milliseconds). A fail or pending finding that the
    approval did not override (or one that got worse than when it was overridden) sends the submission
    back to ``checked``; otherwise an approved one stays approved and a published one becomes ``approved``
    again, so the next publish (``--publish-all``, ``p``) updates its folder in one commit. Each move is a
    ``reopened`` event. Returns a one-line message, or None when the status did not change.
    """
    sub = store.get(submission_id)
    if sub["status"] not in (Status.APPROVED, Status.PUBLISHED):
        return None
    from pmd_tui.checks.engine import analyse_submissions, evaluate

    analyses = analyse_submissions(store, settings, [submission_id])
    findings = evaluate(store, settings, submission_id, analyses)
    store.save_checks(submission_id, findings, actor=actor, keep_status=True)
    overridden = _overridden_at_approval(store, submission_id)
    blocking = [f for f in findings if f["status"] in BLOCKING
                and not (f["rule"] in overridden and SEVERITY[f["status"]] <= SEVERITY[overridden[f["rule"]]])]
    name = f"#{submission_id} {sub['name']}"
    if blocking:
        rules = [f["rule"] for f in blocking]
        store.transition(submission_id, Status.CHECKED, actor=actor, action="reopened",
                         reason=f"{what}: {', '.join(rules)}", expect=(sub["status"],), what=what, blocking=rules)
        tail = " (the published folder stays as it was until it is approved and published again)" \
            if sub["status"] == Status.PUBLISHED else ""
        return (f"{name} went back to checked after {what}: "
                + ", ".join(f"{f['rule']} ({f['status']})" for f in blocking) + tail)
    if sub["status"] == Status.PUBLISHED:
        store.transition(submission_id, Status.APPROVED, actor=actor, action="reopened", reason=what,
                         expect=(Status.PUBLISHED,), what=what)
        return f"{name} is approved again after {what}: publish it (p, --publish-all) to update its folder"
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
