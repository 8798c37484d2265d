"""``pmd-tui caption``: captions for images that have none (Florence-2, JoyCaption or Qwen2.5-VL), headless."""

from __future__ import annotations

import sys

import click

from pmd_tui.captioning.florence import TASKS
from pmd_tui.captioning.presets import PRESETS
from pmd_tui.cli.common import Context, echo, handle_errors, info, out
from pmd_tui.model_runtime import DEVICES
from pmd_tui.store import Status


@click.command("caption")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-pending", is_flag=True, help="Every new, checked or approved submission with uncaptioned images.")
@click.option("--preset", type=click.Choice(list(PRESETS)), help="A named method: " + "; ".join(
    f"{p.name}: {p.about}" for p in PRESETS.values()) + " (default: default).")
@click.option("--model", help="Checkpoint folder or Hub id: Florence-2, JoyCaption (LLaVA) or Qwen2.5-VL "
              "(default: the preset's; for the default preset, caption_model from the config).")
@click.option("--task", type=click.Choice(list(TASKS)),
              help="Florence-2 task (default: the preset's, detailed).")
@click.option("--prompt", help="Instruction for JoyCaption/Qwen2.5-VL ({trigger} is the trigger word; "
              "default: [caption_prompts] in the config, per concept type).")
@click.option("--trigger", help="Prefix each caption with this word (default: the submission's trigger word).")
@click.option("--no-trigger", is_flag=True, help="Do not prefix a trigger word.")
@click.option("--overwrite", is_flag=True, help="Caption every image, replacing existing captions.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Images per batch (default: 16 on a GPU, 2 on a CPU).")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
@click.option("--beams", type=click.IntRange(min=1), help="Beam search width (default: the preset's, else the "
              "checkpoint's generation config).")
@click.option("--max-new-tokens", type=click.IntRange(min=1), help="Longest caption, in tokens (default: the "
              "checkpoint's generation config).")
@click.pass_obj
@handle_errors
def caption_cmd(obj: Context, ids, all_pending, preset, model, task, prompt, trigger, no_trigger, overwrite,
                batch_size, device, beams, max_new_tokens):
    """Caption images that have no caption; written to the queue batch by batch.

    Empty outputs, outputs that only repeat the prompt and outputs of one repeated token are failures
    (listed, exit status 1): the image stays uncaptioned."""
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
        report = caption(store, obj.settings, list(ids), preset=preset, model=model, task=task, prompt=prompt,
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
    summary = (f"captioned {report.captioned} image(s) in {len(report.submissions)} submission(s) "
               f"at {report.rate:.2f} img/s (batch {report.batch_size})")
    if report.failed:
        summary += f"; {report.failure_summary()}"
    out(summary)
    if report.method:
        info(f"method: {report.method}")
    if report.failed:
        raise SystemExit(1)
