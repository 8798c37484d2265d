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
            override: str | None = None, revision: int | None = None,
            seen: list[str] | None = None) -> None:
    """Approve one exact state of a checked submission; failing or pending findings need a written override.

    ``revision`` is the revision the approver judged (the TUI: the one on screen; the CLI: None, the current
    one when the command reads it) and ``seen`` the blocking rules the approver was shown (the TUI's
    override dialog; the CLI: those it reads). Stale findings are computed again first (from cached image
    analyses, so it is quick). The approval is refused when the submission changed from the judged
    revision, or when a blocking finding that was not seen appeared: an override covers exactly the
    findings it listed. The approval records the revision, the findings it saw and what it overrode.
    """
    sub = store.get(submission_id)
    if sub["status"] == Status.NEW:
        raise StateError(f"submission {submission_id} has not been checked yet (run: pmd-tui check {submission_id})")
    judged = sub["revision"] if revision is None else revision
    if sub["revision"] != judged:
        raise StateError(f"submission {submission_id} changed since it was shown (revision {judged}, now "
                         f"{sub['revision']}): look at it again")
    if not any(not f["excluded"] for f in store.files(submission_id, "image")):
        raise RuleError(f"cannot approve #{submission_id}: every image is excluded (nothing would be published)")
    if sub["status"] == Status.CHECKED and sub["checked_revision"] != judged:
        from pmd_tui.checks.engine import check_current

        checked_on, _ = check_current(store, settings, submission_id, actor=settings.actor)
        if checked_on != judged:
            raise StateError(f"submission {submission_id} changed while it was checked again: look at it again")
    actor = settings.actor
    findings = store.checks(submission_id)
    blockers = [c for c in findings if c["status"] in BLOCKING]
    if seen is not None:
        unseen = [c for c in blockers if c["rule"] not in set(seen)]
        if unseen:
            raise StateError(f"cannot approve #{submission_id}: new blocking findings appeared since it was "
                             f"shown: {', '.join(c['rule'] for c in unseen)}; look at it again")
    hard = [c for c in blockers if c["rule"] in NOT_OVERRIDABLE]
    if hard:
        raise RuleError(f"cannot approve #{submission_id}: {hard[0]['message']}")
    if blockers and not (override and override.strip()):
        desc = ", ".join(f"{c['rule']} ({c['status']})" for c in blockers)
        hint = "caption them (g / pmd-tui caption), " if any(c["rule"] == "format.missing-caption" for c in blockers) else ""
        raise RuleError(f"cannot approve #{submission_id}: {desc}; fix them, {hint}attest, or override with a reason")
    detail: dict = {"findings": {c["rule"]: c["status"] for c in findings if c["status"] != "pass"}}
    if blockers:
        detail["overridden"] = [c["rule"] for c in blockers]
        detail["overridden_status"] = {c["rule"]: c["status"] for c in blockers}
        detail["overridden_messages"] = {c["rule"]: c["message"] for c in blockers}
        detail["override_reason"] = override.strip()
    if note:
        detail["note"] = note
    store.approve_revision(submission_id, judged, blocking=[c["rule"] for c in blockers], actor=actor,
                           reason=(override or note or None), **detail)


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

    The change itself moved the submission's revision in its own transaction, so from that moment the
    approval (of the earlier revision) no longer matches and nothing publishes the set. This judges the new
    revision: the checks run again (from cached image analyses: milliseconds). A fail or pending finding
    that the approval did not override (or one that got worse than when it was overridden) sends the
    submission back to ``checked``; otherwise the approval is moved to the new revision (an approved set
    stays approved; a published one becomes ``approved`` again, so the next publish updates its folder).
    A crash (kill -9, Ctrl-C) between the change and this judgement leaves the approval unmatched: publish
    refuses the set until it is judged again (``pmd-tui check`` or any later edit's re-judgement). Each
    status move is a ``reopened`` event. Returns a one-line message, or None when the status did not change.
    """
    sub = store.get(submission_id)
    if sub["status"] not in (Status.APPROVED, Status.PUBLISHED):
        return None
    from pmd_tui.checks.engine import check_current

    revision, findings = check_current(store, settings, submission_id, actor=actor, keep_status=True)
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
    was = store.confirm_approval(submission_id, revision, actor=actor, what=what)
    if was is None:  # it moved on meanwhile: the newer change's own judgement decides
        return f"{name} changed again while it was judged after {what}: it is judged again after that change"
    if was == Status.PUBLISHED:
        return f"{name} is approved again after {what}: publish it (p, --publish-all) to update its folder"
    return None


def recheck_after_change(store: QueueStore, settings: Settings, submission_id: int, *, actor: str,
                         what: str) -> str | None:
    """What every edit service calls after changing a submission: a checked one is checked again (cheap,
    cached by content hash), an approved or published one is judged again (``rejudge_after_edit``)."""
    from pmd_tui.crashpoints import kill_point

    kill_point("before-rejudge")
    status = store.get(submission_id)["status"]
    if status == Status.CHECKED:
        from pmd_tui.checks.engine import check_current, worst

        _, findings = check_current(store, settings, submission_id, actor=actor)
        return f"#{submission_id} checked again after {what}: {worst(findings)}"
    return rejudge_after_edit(store, settings, submission_id, actor=actor, what=what)
