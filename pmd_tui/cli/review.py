"""Judging submissions: ``check``, ``approve``, ``reject``, ``attest``, ``edit``."""

from __future__ import annotations

import click

from pmd_tui.cli.common import (Context, dump_json, handle_errors, info, out, resolve_ids, submission_json,
                                tell_issue)
from pmd_tui.model_runtime import DEVICES
from pmd_tui.store import CONCEPT_TYPES, LIKENESS_CHOICES, Status

# the same words as everywhere else (pending, not "wait"), loud when they need a look
MARK = {"pass": "pass", "info": "info", "warn": "WARN", "pending": "PENDING", "fail": "FAIL"}


@click.command()
@click.argument("ids", nargs=-1, type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per submission per line.")
@click.option("--all", "check_all", is_flag=True, help="Every submission (default: the new and checked ones).")
@click.option("--models", is_flag=True,
              help="First screen new images with the SFW classifier, the face detector and the face recognizer.")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
              help="Where the screening models run.")
@click.pass_obj
@handle_errors
def check(obj: Context, ids, as_json, check_all, models, device):
    """Run every rule on submissions; exit 1 when a finding is at fail level."""
    from pmd_tui.checks.engine import run_checks, worst

    targets = resolve_ids(obj, ids, None if check_all else (Status.NEW, Status.CHECKED))
    if not targets:
        info("nothing to check")
        return
    if models:
        from pmd_tui.screening.service import screen

        def screen_progress(done, total, what):
            if not as_json and (done == total or done == 0):
                info(f"{what}: {done}/{total}")

        report = screen(obj.store, obj.settings, targets, device=device, progress=screen_progress)
        for line in report.failed:
            info(f"  not screened: {line}")

    def progress(done, total, what):
        if not as_json and what == "analysing images" and (done == total or done % 50 == 0):
            info(f"{what}: {done}/{total}")

    results = run_checks(obj.store, obj.settings, targets, progress=progress)
    any_fail = False
    for sid, findings in results.items():
        sub = obj.store.get(sid)
        any_fail |= worst(findings) == "fail"
        if as_json:
            dump_json({"submission": submission_json(obj.store, sub),
                       # with each finding's data: the per-image figures the one-line message only samples
                       "checks": [{k: f[k] for k in ("rule", "status", "message", "files", "data") if k in f}
                                  for f in findings]})
            continue
        out(f"#{sid} {sub['name']}: {worst(findings)}")
        for f in findings:
            if f["status"] != "pass":
                out(f"  {MARK[f['status']]} {f['rule']:<28} {f['message']}")
    if any_fail:
        raise SystemExit(1)


@click.command()
@click.argument("submission_id", type=int)
@click.option("--note", help="A note recorded with the approval.")
@click.option("--override", help="Approve despite failing or pending findings, for this written reason.")
@click.option("--notify/--no-notify", default=None, help="Comment on the submission's GitHub issue (default: config `notify`).")
@click.pass_obj
@handle_errors
def approve(obj: Context, submission_id, note, override, notify):
    """Approve a checked submission (refused while a finding fails or a consent rule is pending)."""
    from pmd_tui.decisions import approve as do_approve

    do_approve(obj.store, obj.settings, submission_id, note=note, override=override)
    info(f"approved #{submission_id}")
    tell_issue(obj, submission_id, "approved", notify)


@click.command()
@click.argument("submission_id", type=int)
@click.option("--reason", required=True, help="Why it is rejected (recorded, and told to the contributor).")
@click.option("--notify/--no-notify", default=None, help="Comment on the submission's GitHub issue (default: config `notify`).")
@click.pass_obj
@handle_errors
def reject(obj: Context, submission_id, reason, notify):
    """Reject a submission with a reason."""
    from pmd_tui.decisions import reject as do_reject

    do_reject(obj.store, obj.settings, submission_id, reason=reason)
    info(f"rejected #{submission_id}: {reason}")
    tell_issue(obj, submission_id, "rejected", notify, reason=reason)


@click.command()
@click.argument("submission_id", type=int)
@click.option("--likeness", type=click.Choice(LIKENESS_CHOICES),
              help="Who the likeness dataset shows (rule 2).")
@click.option("--artist-ok", is_flag=True, help="The artist has not objected to training on their work (rule 3).")
@click.option("--same-person-ok", is_flag=True,
              help="The person also found in another submitter's dataset may be in this one (likeness.published-person).")
@click.pass_obj
@handle_errors
def attest(obj: Context, submission_id, likeness, artist_ok, same_person_ok):
    """Record the maintainer's attestation for the human-only rules, then re-evaluate the checks."""
    from pmd_tui.checks.engine import run_checks

    if likeness is None and not artist_ok and not same_person_ok:
        raise click.UsageError("give --likeness, --artist-ok and/or --same-person-ok")
    from pmd_tui.decisions import rejudge_after_edit

    obj.store.attest(submission_id, actor=obj.settings.actor, likeness=likeness, artist_ok=artist_ok or None,
                     same_person_ok=same_person_ok or None)
    info(f"attested #{submission_id}")
    if obj.store.get(submission_id)["status"] in (Status.NEW, Status.CHECKED):
        run_checks(obj.store, obj.settings, [submission_id])
    else:
        said = rejudge_after_edit(obj.store, obj.settings, submission_id, actor=obj.settings.actor,
                                  what="the attestation")
        if said:
            info(said)


@click.command()
@click.argument("submission_id", type=int)
@click.option("--name")
@click.option("--concept-type", type=click.Choice(CONCEPT_TYPES))
@click.option("--concept")
@click.option("--trigger", "trigger_words", help="Trigger word(s), comma separated.")
@click.option("--caption-method")
@click.option("--submitter")
@click.pass_obj
@handle_errors
def edit(obj: Context, submission_id, **fields):
    """Edit a submission's metadata (an approved or published one is judged again)."""
    from pmd_tui.decisions import rejudge_after_edit

    changes = {k: v for k, v in fields.items() if v is not None}
    if not changes:
        raise click.UsageError("nothing to change")
    obj.store.update_fields(submission_id, changes, actor=obj.settings.actor)
    info(f"updated #{submission_id}: {', '.join(changes)}")
    said = rejudge_after_edit(obj.store, obj.settings, submission_id, actor=obj.settings.actor,
                              what=f"the edit of {', '.join(changes)}")
    if said:
        info(said)
