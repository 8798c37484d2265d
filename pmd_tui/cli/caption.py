"""``pmd-tui caption``: Florence-2 captions for images that have none, headless."""

from __future__ import annotations

import sys

import click

from pmd_tui.cli.common import Context, echo, handle_errors, info, out
from pmd_tui.model_runtime import DEVICES
from pmd_tui.store import Status


@click.command("caption")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-pending", is_flag=True, help="Every new, checked or approved submission with uncaptioned images.")
@click.option("--model", help="Checkpoint id or folder (default from the config: florence-community/Florence-2-large).")
@click.option("--task", type=click.Choice(["caption", "detailed", "more-detailed"]), default="detailed",
              show_default=True, help="Florence-2 captioning task.")
@click.option("--trigger", help="Prefix each caption with this word (default: the submission's trigger word).")
@click.option("--no-trigger", is_flag=True, help="Do not prefix a trigger word.")
@click.option("--overwrite", is_flag=True, help="Caption every image, replacing existing captions.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Images per batch (default: 16 on a GPU, 2 on a CPU).")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
@click.option("--beams", type=click.IntRange(min=1), default=1, show_default=True, help="Beam search width (1 = greedy).")
@click.option("--max-new-tokens", type=click.IntRange(min=1), help="Longest caption, in tokens.")
@click.pass_obj
@handle_errors
def caption_cmd(obj: Context, ids, all_pending, model, task, trigger, no_trigger, overwrite, batch_size, device,
                beams, max_new_tokens):
    """Caption images that have no caption with Florence-2; written to the queue batch by batch."""
    from pmd_tui.captioning.service import caption, pending

    store = obj.store
    if ids and all_pending:
        raise click.UsageError("give submission ids or --all-pending, not both")
    if not ids and not all_pending:
        raise click.UsageError("give submission ids or --all-pending")
    if all_pending:
        candidates = store.ids((Status.NEW, Status.CHECKED, Status.APPROVED))
        ids = [sid for sid in candidates if pending(store, [sid], overwrite=overwrite)]
        if not ids:
            info("every image already has a caption")
            return
    tty = sys.stderr.isatty()

    def progress(done, total, what):
        line = f"captioning {done}/{total} {what}".rstrip()
        if tty:
            echo(line.ljust(72), err=True, nl=done >= total, overwrite=True)
        elif done == total or done == 0:
            info(line)

    try:
        report = caption(store, obj.settings, list(ids), model=model, task=task,
                         trigger="" if no_trigger else trigger, use_readme_trigger=not no_trigger,
                         overwrite=overwrite, batch_size=batch_size, device=device, num_beams=beams,
                         max_new_tokens=max_new_tokens, progress=progress)
    except KeyboardInterrupt:
        info("")
        info("interrupted: captions of finished batches are kept; run the same command to continue")
        raise SystemExit(130)
    for line in report.failed:
        info(f"  not captioned: {line}")
    for line in report.reopened:
        info(line)
    if not report.captioned and not report.failed:
        info("every image already has a caption")
        return
    out(f"captioned {report.captioned} image(s) in {len(report.submissions)} submission(s) "
               f"at {report.rate:.2f} img/s (batch {report.batch_size})")
    if report.failed:
        raise SystemExit(1)
