"""``pmd-tui publish ID`` and ``pmd-tui --publish-all``: headless publishing with a dry run."""

from __future__ import annotations

import click

from pmd_tui.cli.common import Context, handle_errors, info, out, tell_issue
from pmd_tui.store import Status


def run_publish(obj: Context, ids: list[int] | None, *, repo=None, to_dir=None, dry_run=False,
                notify: bool | None = None) -> int:
    from pmd_tui.publish.service import publish

    store = obj.store
    if ids is None:
        ids = store.ids(Status.APPROVED)
        if not ids:
            info("no approved submission waits to be published")
            return 0
    for sid in ids:
        store.get(sid)

    def progress(done, total, what):
        if done < total:
            info(f"publishing {done + 1}/{total} {what}")

    results = publish(store, obj.settings, ids, repo=repo, to_dir=to_dir, dry_run=dry_run, progress=progress,
                      say=info)
    for r in results:
        if r.outcome == "would-publish":
            out(f"#{r.submission_id} {r.name} -> {r.folder}/: {r.plan.summary()}")
            for line in r.plan.lines():
                out(line)
        elif r.outcome == "unchanged":
            out(f"#{r.submission_id} {r.name}: unchanged, nothing to commit")
        elif r.outcome == "changed":
            info(f"#{r.submission_id} {r.name}: changed while it was published; not marked published "
                 f"(its folder holds the approved state): judge it again, then publish")
        else:
            out(f"#{r.submission_id} {r.name}: published {r.folder}/ ({r.plan.summary()}) {r.url or ''}".rstrip())
            if not to_dir:
                tell_issue(obj, r.submission_id, "published", notify, url=r.url, folder=r.folder)
        if r.skipped:
            info(f"  left out (cannot be decoded): {', '.join(r.skipped)}")
        if r.uncaptioned:
            info(f"  left out (no caption, rule 6): {', '.join(r.uncaptioned)}")
    return 0


@click.command("publish")
@click.argument("ids", nargs=-1, type=int)
@click.option("--repo", help="OWNER/NAME of the Hugging Face dataset repo (default from the config).")
@click.option("--to", "to_dir", type=click.Path(file_okay=False), help="Write the same layout to a local folder.")
@click.option("--dry-run", is_flag=True, help="Print exactly what would be uploaded, changed and deleted.")
@click.option("--all", "all_approved", is_flag=True, help="Every approved, unpublished submission.")
@click.option("--notify/--no-notify", default=None, help="Comment the link on each submission's GitHub issue.")
@click.pass_obj
@handle_errors
def publish_cmd(obj: Context, ids, repo, to_dir, dry_run, all_approved, notify):
    """Publish approved submissions as folders of the dataset repo, one commit each."""
    if not ids and not all_approved:
        raise click.UsageError("give submission ids or --all")
    run_publish(obj, None if all_approved else list(ids), repo=repo, to_dir=to_dir, dry_run=dry_run, notify=notify)
