"""Taking submissions in and looking at the queue: ``add``, ``list``, ``show``, ``log``, ``sync``."""

from __future__ import annotations

from pathlib import Path

import click

from pmd_tui.cli.common import (Context, download_bar, dump_json, handle_errors, info, out, parse_issue,
                                submission_json)
from pmd_tui.store import Status


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--name", help="Dataset name (default: from the file or folder name).")
@click.option("--issue", help="GitHub issue number the submission came from.")
@click.option("--submitter", help="Who submitted it (GitHub user name).")
@click.option("--each", is_flag=True, help="A folder of datasets: one submission per sub-folder (e.g. DreamBooth's).")
@click.option("--again", is_flag=True, help="Take it in even if the same images are already in the queue.")
@click.pass_obj
@handle_errors
def add(obj: Context, sources, name, issue, submitter, each, again):
    """Take zips, folders or links into the review queue; prints the new ids, the last line is the last id.

    Links: direct http(s) files, Google Drive and Dropbox share links, Hugging Face file URLs."""
    from pmd_tui.intake.download import is_url
    from pmd_tui.intake.service import add_source, add_url

    if each:
        expanded = []
        for source in sources:
            folder = Path(source)
            if not folder.is_dir():
                raise click.UsageError(f"--each needs folders; {source} is not one")
            subs = []
            for p in sorted(folder.iterdir()):
                if p.is_symlink():  # a linked sub-folder may lead anywhere outside the tree
                    info(f"skipped {p.name}: a symbolic link, not a sub-folder")
                elif p.is_dir() and not p.name.startswith((".", "__")):
                    subs.append(p)
            if not subs:
                raise click.UsageError(f"--each: {source} has no sub-folders")
            expanded += [str(p) for p in subs]
        sources = tuple(expanded)
    if name and len(sources) > 1:
        raise click.UsageError("--name applies to one source at a time")
    from pmd_tui.errors import DuplicateError

    issue_no = parse_issue(issue)
    duplicates = 0
    for source in sources:
        try:
            if is_url(source):
                sid = add_url(obj.store, obj.settings, source, name=name, issue=issue_no, submitter=submitter,
                              progress=info, download_progress=download_bar(), again=again)
            else:
                sid = add_source(obj.store, obj.settings, source, name=name, issue=issue_no, submitter=submitter,
                                 progress=info, again=again)
        except DuplicateError as exc:
            if len(sources) == 1:
                raise
            info(f"skipped: {exc}")  # the other sources still go in
            duplicates += 1
            continue
        sub = obj.store.get(sid)
        counts = obj.store.summaries()
        row = next(r for r in counts if r["id"] == sid)
        info(f"added #{sid} {sub['name']!r}: {row['images']} images, {row['captions']} captions")
        out(sid)
    if duplicates:
        raise SystemExit(1)


@click.command("list")
@click.option("--status", type=click.Choice([s.value for s in Status]))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
@handle_errors
def list_cmd(obj: Context, status, as_json):
    """The queue, newest first."""
    rows = obj.store.summaries(status=status)
    if as_json:
        items = []
        for r in rows:
            d = submission_json(obj.store, r)
            d.update(images=r["images"], captions=r["captions"], excluded=r["excluded"],
                     worst={"status": r["worst_status"], "rule": r["worst_rule"]} if r["worst_status"] else None)
            items.append(d)
        dump_json(items)
        return
    if not rows:
        info("the queue is empty")
        return
    out(f"{'ID':>4}  {'STATUS':<9} {'IMAGES':>6} {'CAPS':>5}  {'WORST':<28} NAME")
    for r in rows:
        worst = f"{r['worst_status']} {r['worst_rule'] or ''}".strip() if r["worst_status"] else "-"
        out(f"{r['id']:>4}  {r['status']:<9} {r['images']:>6} {r['captions']:>5}  {worst:<28} {r['name']}")


@click.command()
@click.argument("submission_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@handle_errors
def show(obj: Context, submission_id, as_json):
    """One submission with its files, captions and findings."""
    store = obj.store
    sub = store.get(submission_id)
    files = store.files(submission_id)
    checks = store.checks(submission_id)
    if as_json:
        d = submission_json(store, sub)
        d["readme"] = sub["readme_text"]
        d["files"] = [
            {k: f[k] for k in ("name", "original_path", "kind", "size_bytes", "sha256", "width", "height",
                               "format", "mode", "caption", "caption_source")}
            | {"excluded": bool(f["excluded"])}
            for f in files
        ]
        d["checks"] = [{k: c[k] for k in ("rule", "status", "message", "files")} for c in checks]
        d["intake"] = [{k: n[k] for k in ("kind", "path", "detail")} for n in store.notes(submission_id)]
        dump_json(d)
        return
    out(f"#{sub['id']} {sub['name']}  [{sub['status']}]")
    for key in ("source", "issue_number", "submitter", "concept_type", "concept", "trigger_words",
                "caption_method", "repeats", "likeness_attestation", "artist_attestation",
                "published_person_attestation", "identity_forgotten_at"):
        if sub.get(key) not in (None, ""):
            out(f"  {key.replace('_', ' ')}: {sub[key]}")
    out("files:")
    for f in files:
        dims = f"{f['width']}x{f['height']} {f['format']}" if f["width"] else "unreadable" if f["kind"] == "image" else f["kind"]
        cap = f" [{f['caption_source']}] {f['caption']!r}" if f["kind"] == "image" and f["caption"] is not None else ""
        if f["kind"] == "image" and f["caption"] is None:
            cap = " (no caption)"
        out(f"  {f['name']}  {dims}{cap}" + ("  [excluded]" if f["excluded"] else ""))
    if checks:
        out("checks:")
        for c in checks:
            out(f"  {c['status']:<8} {c['rule']:<28} {c['message']}")


@click.command()
@click.option("--github", "repo", help="OWNER/REPO whose open issues hold submissions (default: config `github_repo`).")
@click.option("--label", help="Only issues with this label.")
@click.pass_obj
@handle_errors
def sync(obj: Context, repo, label):
    """Add one submission per open GitHub issue with an attached zip or a download link."""
    from pmd_tui.intake.github import sync as run_sync, tally

    repo = repo or obj.settings.github_repo
    if not repo:
        raise click.UsageError("give --github OWNER/REPO (or set github_repo in the config)")
    outcomes = run_sync(obj.store, obj.settings, repo, label=label, say=info)
    for o in outcomes:
        mark = {"added": "added", "known": "known", "no-link": "SKIP ", "failed": "FAIL "}[o.status]
        info(f"{mark} issue #{o.number} {o.title!r}: {o.detail}" +
             (f" -> #{o.submission_id}" if o.status == "added" else ""))
    added, known, unusable = tally(outcomes)
    info(f"{len(added)} added, {known} already known, {len(unusable)} without a usable submission")
    for o in added:
        out(o.submission_id)


@click.command("log")
@click.argument("submission_id", type=int, required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handle_errors
def log_cmd(obj: Context, submission_id, as_json):
    """The audit log of every action, for one submission or all."""
    if submission_id is not None:
        obj.store.get(submission_id)
    events = obj.store.events(submission_id)
    if as_json:
        dump_json(events)
        return
    for e in events:
        d = e["detail"]
        summary = ", ".join(f"{k}={v!r}" for k, v in d.items() if k not in ("old_source", "old_detail"))
        out(f"{e['at']}  #{e['submission_id'] or '-':<4} {e['actor']:<12} {e['action']:<16} {summary}")
