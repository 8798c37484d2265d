"""Changing a submission in place: ``exclude``, ``restore``, ``fix`` and bulk ``captions``."""

from __future__ import annotations

import click

from pmd_tui.cli.common import Context, handle_errors, info, out
from pmd_tui.errors import InputError
from pmd_tui.imaging.fixes import OPS


@click.command()
@click.argument("submission_id", type=int)
@click.argument("files", nargs=-1)
@click.option("--finding", "rule", help="Exclude every image this finding names (e.g. images.upscaled).")
@click.option("--reason", help="Why (kept in the audit log).")
@click.pass_obj
@handle_errors
def exclude(obj: Context, submission_id, files, rule, reason):
    """Leave images out of a submission: kept staged and in the log, never checked or published."""
    from pmd_tui.fixes import finding_images, set_excluded

    names = list(files)
    if rule:
        names += [n for n in finding_images(obj.store, submission_id, rule) if n not in names]
    if not names:
        raise InputError("name the images to exclude (or --finding RULE)")
    out = set_excluded(obj.store, obj.settings, submission_id, names, True, reason=reason)
    info(f"#{submission_id}: " + out.summary("excluded"))


@click.command()
@click.argument("submission_id", type=int)
@click.argument("files", nargs=-1)
@click.option("--all", "restore_all", is_flag=True, help="Restore every excluded image.")
@click.pass_obj
@handle_errors
def restore(obj: Context, submission_id, files, restore_all):
    """Take excluded images back into a submission."""
    from pmd_tui.fixes import set_excluded

    names = list(files)
    if restore_all:
        names += [f["name"] for f in obj.store.files(submission_id, "image") if f["excluded"] and f["name"] not in names]
    if not names:
        raise InputError("name the images to restore (or --all)")
    out = set_excluded(obj.store, obj.settings, submission_id, names, False)
    info(f"#{submission_id}: " + out.summary("restored"))


@click.command()
@click.argument("submission_id", type=int)
@click.argument("files", nargs=-1)
@click.option("--op", type=click.Choice(list(OPS)),
              help="The fix (default: every image its finding names).")
@click.option("--background", default="white", show_default=True,
              help="With --op flatten: white, black, grey or #rrggbb.")
@click.option("--keep", "keep_rule", metavar="RULE", help="Record that the images of this finding stay as they are.")
@click.option("--undo", is_flag=True, help="Undo the latest fix.")
@click.pass_obj
@handle_errors
def fix(obj: Context, submission_id, files, op, background, keep_rule, undo):
    """Fix staged images (the upload is never changed); each fix is one undoable event."""
    from pmd_tui import fixes

    if sum(bool(x) for x in (op, keep_rule, undo)) != 1:
        raise InputError("give one of --op, --keep RULE or --undo")
    names = list(files) or None
    if undo:
        out = fixes.undo_fix(obj.store, obj.settings, submission_id)
        info(f"#{submission_id}: " + out.summary("restored"))
    elif keep_rule:
        out = fixes.keep_as_is(obj.store, obj.settings, submission_id, keep_rule, names)
        info(f"#{submission_id}: recorded that {len(out.skipped)} image(s) of {keep_rule} stay as they are")
    else:
        out = fixes.apply_fix(obj.store, obj.settings, submission_id, op, names, background=background)
        info(f"#{submission_id}: " + out.summary("fixed"))


@click.command("captions")
@click.argument("submission_id", type=int)
@click.option("--add-trigger", "add_trigger", is_flag=False, flag_value="", default=None, metavar="[WORD]",
              help="Add the trigger word (default: the submission's first) where a caption lacks it.")
@click.option("--suffix", is_flag=True, help="With --add-trigger: append instead of prefixing.")
@click.option("--rename-trigger", nargs=2, metavar="OLD NEW", help="Rename a trigger word in captions, readme and trigger words.")
@click.option("--replace", nargs=2, metavar="FIND REPLACEMENT", help="Find and replace in every caption.")
@click.option("--regex", is_flag=True, help="With --replace: FIND is a regular expression (\\1 in REPLACEMENT).")
@click.option("--normalise", "--normalize", "normalise", is_flag=True, help="Normalise whitespace and tag separators.")
@click.option("--remove-tag", metavar="TAG", help="Remove a comma-separated tag everywhere.")
@click.option("--dry-run", is_flag=True, help="Print every caption that would change; change nothing.")
@click.option("--undo", is_flag=True, help="Undo the latest bulk caption operation.")
@click.pass_obj
@handle_errors
def captions_cmd(obj: Context, submission_id, add_trigger, suffix, rename_trigger, replace, regex, normalise,
                 remove_tag, dry_run, undo):
    """Change many captions at once; --dry-run previews every change."""
    from pmd_tui import bulk_captions as bulk

    chosen = [name for name, v in (("--add-trigger", add_trigger is not None), ("--rename-trigger", rename_trigger),
                                   ("--replace", replace), ("--normalise", normalise), ("--remove-tag", remove_tag),
                                   ("--undo", undo)) if v]
    if len(chosen) != 1:
        raise InputError("give exactly one operation: --add-trigger, --rename-trigger, --replace, --normalise, "
                         "--remove-tag or --undo" + (f" (got {', '.join(chosen)})" if chosen else ""))
    if undo:
        if dry_run:
            raise InputError("--undo has no dry run")
        info(f"#{submission_id}: " + bulk.undo(obj.store, obj.settings, submission_id))
        return
    if add_trigger is not None:
        p = bulk.plan(obj.store, submission_id, "add-trigger", word=add_trigger or None, suffix=suffix)
    elif rename_trigger:
        p = bulk.plan(obj.store, submission_id, "rename-trigger", old=rename_trigger[0], new=rename_trigger[1])
    elif replace:
        p = bulk.plan(obj.store, submission_id, "replace", find=replace[0], replace=replace[1], regex=regex)
    elif normalise:
        p = bulk.plan(obj.store, submission_id, "normalise")
    else:
        p = bulk.plan(obj.store, submission_id, "remove-tag", tag=remove_tag)
    if dry_run:
        for line in p.lines():
            out(line)  # captions are untrusted: control characters are escaped
        info(f"#{submission_id}: {p.describe()} would change {len(p.changes)} caption(s)"
             + (f" and {', '.join(p.fields)}" if p.fields else "") + f"; {p.unchanged} unchanged (dry run)")
        return
    info(f"#{submission_id}: " + bulk.apply(obj.store, obj.settings, p))
