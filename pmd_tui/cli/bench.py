"""Benchmark commands: ``split`` (held-out validation images), ``prompts`` (class word and evaluation
prompts), ``score`` (a finetune's samples against a dataset) and ``scores`` (the leaderboard)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pmd_tui.cli.common import Context, dump_json, echo, handle_errors, info, out
from pmd_tui.model_runtime import DEVICES
from pmd_tui.userfiles import read_user_text


@click.command("split")
@click.argument("submission_id", type=int)
@click.option("--val", "val_count", type=click.IntRange(min=0),
              help="Hold out this many images, spread across the set by perceptual distance.")
@click.option("--files", "val_files", multiple=True, help="Hold out these images (repeatable); others stay as they are.")
@click.option("--train", "train_files", multiple=True, help="Put these images back into training (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handle_errors
def split_cmd(obj: Context, submission_id, val_count, val_files, train_files, as_json):
    """Choose the validation images of a dataset (published as its `validation` split); no option shows them."""
    from pmd_tui.benchmark.split import choose_validation

    store, actor = obj.store, obj.settings.actor
    store.get(submission_id)
    if val_count is not None and (val_files or train_files):
        raise click.UsageError("give --val N or --files/--train, not both")
    changed = False
    if val_count is not None:
        notes: list[str] = []
        choose_validation(store, submission_id, val_count, actor=actor, notes=notes)
        for line in notes:
            info(f"#{submission_id}: not held out: {line}")
        changed = True
    if val_files:
        changed |= bool(store.set_split(submission_id, val_files, "validation", actor=actor))
    if train_files:
        changed |= bool(store.set_split(submission_id, train_files, "train", actor=actor))
    if changed:
        rejudge(obj, submission_id, "validation split")
    held = store.split_names(submission_id, "validation")
    if as_json:
        dump_json({"submission": submission_id, "validation": held,
                   "train": store.split_names(submission_id, "train")})
        return
    total = len(store.files(submission_id, "image"))
    info(f"#{submission_id}: {len(held)} validation, {total - len(held)} training image(s)")
    for name in held:
        out(name)


@click.command("prompts")
@click.argument("submission_id", type=int)
@click.option("--class-word", help="The class noun of the subject (\"dog\", \"person\", \"painting style\").")
@click.option("--set", "from_file", type=str, metavar="FILE",
              help="Evaluation prompt templates, one per line ({subject} = trigger + class word); - for stdin.")
@click.option("--reset", is_flag=True, help="Go back to the default prompts of the concept type.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handle_errors
def prompts_cmd(obj: Context, submission_id, class_word, from_file, reset, as_json):
    """Show or set a dataset's class word and evaluation prompts (numbered as samples name them)."""
    from pmd_tui.benchmark import prompts

    store = obj.store
    if from_file and reset:
        raise click.UsageError("give --set or --reset, not both")
    if class_word is not None or from_file or reset:
        lines = read_user_text(from_file, what="prompt file").splitlines() if from_file else None
        store.set_benchmark(submission_id, actor=obj.settings.actor, class_word=class_word,
                            prompts=lines, reset_prompts=reset)
        rejudge(obj, submission_id, "evaluation prompts")
    sub = store.get(submission_id)
    stored = store.eval_prompts(submission_id)
    rendered = [prompts.render(t, sub) for t in prompts.templates(sub, stored)]
    if as_json:
        dump_json({"submission": submission_id, "class_word": sub.get("class_word"),
                   "subject": prompts.subject_phrase(sub), "default": stored is None, "prompts": rendered})
        return
    info(f"#{submission_id} subject {prompts.subject_phrase(sub)!r}; "
         f"{'default prompts for ' + (sub.get('concept_type') or 'other') if stored is None else 'own prompts'}")
    for i, text in enumerate(rendered, 1):
        out(f"{i:>3}  {text}")


@click.command("score")
@click.argument("samples", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dataset", required=True, help="Dataset name (as published) or submission id.")
@click.option("--label", required=True, help="The run, e.g. \"LoRA r16 2000 steps\".")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
@click.option("--no-save", is_flag=True, help="Print the scores without storing them.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handle_errors
def score_cmd(obj: Context, samples, dataset, label, device, no_save, as_json):
    """Score a folder of images generated by a finetune of DATASET (subject and prompt fidelity, FD/KID)."""
    from pmd_tui.benchmark.score import METRIC_LABELS, format_metric, score

    tty = sys.stderr.isatty() and not as_json

    def progress(done, total, what):
        if tty:
            echo(f"scoring: {what}".ljust(60), err=True, nl=done >= total, overwrite=True)

    result = score(obj.store, obj.settings, dataset, samples, label=label, device=device, progress=progress,
                   save=not no_save, identity=identity_scorer(obj))
    if as_json:
        dump_json({"dataset": result.dataset, "submission": result.submission_id, "label": result.label,
                   "metrics": result.metrics, "notes": result.notes, "detail": result.detail,
                   "score_id": result.score_id})
        return
    d = result.detail
    out(f"{result.dataset} · {result.label} · {d['samples']} samples vs {d['references']} "
               f"{d['reference']} images")
    for key, value in result.metrics.items():
        note = result.notes.get(key, "")
        out(f"  {METRIC_LABELS.get(key, key):<9} {format_metric(key, value):>8}  {note}".rstrip())
    for line in d["skipped"] + d["warnings"]:
        info(f"  note: {line}")
    if result.score_id:
        info(f"stored as score #{result.score_id}")


@click.command("scores")
@click.option("--dataset", help="Only this dataset (name or submission id).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handle_errors
def scores_cmd(obj: Context, dataset, as_json):
    """The leaderboard: stored scores of runs per dataset."""
    from pmd_tui.benchmark.score import METRIC_LABELS, format_metric, leaderboard

    sid = obj.store.find_dataset(dataset)["id"] if dataset else None
    rows = leaderboard(obj.store, sid)
    if as_json:
        dump_json(rows)
        return
    if not rows:
        info("no scores yet (pmd-tui score SAMPLES --dataset NAME --label RUN)")
        return
    keys = list(METRIC_LABELS)
    out(f"{'DATASET':<20} {'RUN':<24} " + " ".join(f"{METRIC_LABELS[k]:>8}" for k in keys) + "  DATE")
    for r in rows:
        out(f"{r['dataset'][:20]:<20} {r['label'][:24]:<24} "
                   + " ".join(f"{format_metric(k, r['metrics'].get(k)):>8}" for k in keys) + f"  {r['date'][:10]}")


def identity_scorer(obj: Context):
    """Face identity similarity when the face models are configured (likeness sets); None otherwise."""
    from pmd_tui.benchmark.score import face_identity_scorer

    return face_identity_scorer(obj.settings)


def rejudge(obj: Context, submission_id: int, what: str) -> None:
    """A benchmark edit changes what is published: after approval the set is judged again."""
    from pmd_tui.decisions import rejudge_after_edit

    message = rejudge_after_edit(obj.store, obj.settings, submission_id, actor=obj.settings.actor, what=what)
    if message:
        info(message)
