"""The ``pmd-tui`` command: the TUI with no sub-command, headless sub-commands for scripts.

Messages go to stderr and results to stdout, so ``pmd-tui add x.zip`` can be chained by scripts; every
user-facing error is one line and a non-zero exit status. Each module of this package defines one group of
sub-commands; this one owns the entry point and adds them.
"""

from __future__ import annotations

import sys
import warnings

import click

from pmd_tui.cli import bench, caption, edits, privacy, publish, queue, review
from pmd_tui.cli.common import Context, handle_errors
from pmd_tui.config import PREVIEW_RENDERERS


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", type=click.Path(dir_okay=False), help="Queue database (default: $PMD_DB, else the user data dir).")
@click.option("--config", type=click.Path(dir_okay=False), help="TOML config file (default: $PMD_CONFIG).")
@click.option("--demo", is_flag=True, help="Open the TUI on a throw-away demo queue of generated submissions.")
@click.option("--publish-all", "publish_all", is_flag=True, help="Publish every approved, unpublished submission.")
@click.option("--repo", help="Hugging Face dataset repo (OWNER/NAME) to publish to.")
@click.option("--to", "to_dir", type=click.Path(file_okay=False), help="Publish to a local folder instead of the Hub.")
@click.option("--dry-run", is_flag=True, help="With --publish-all: print what would change, change nothing.")
@click.option("--preview", type=click.Choice(PREVIEW_RENDERERS),
              default="auto", show_default=True, help="Image preview renderer in the TUI.")
@click.version_option(package_name="pmd-tui")
@click.pass_context
@handle_errors
def main(ctx, db, config, demo, publish_all, repo, to_dir, dry_run, preview):
    """Review, check, caption and publish personalization datasets."""
    warnings.showwarning = _one_line_warning
    ctx.obj = Context(db, config)
    if ctx.invoked_subcommand is not None:
        if publish_all:
            raise click.UsageError("--publish-all is used without a sub-command")
        return
    if publish_all:
        from pmd_tui.cli.publish import run_publish

        sys.exit(run_publish(ctx.obj, None, repo=repo, to_dir=to_dir, dry_run=dry_run))
    from pmd_tui.tui.launch import launch

    launch(ctx.obj, demo=demo, preview=preview, repo=repo, to_dir=to_dir)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A library's warning (Pillow's DecompressionBombWarning, numpy's RuntimeWarning) as one line on
    stderr, without the site-packages path and source line Python's default format adds."""
    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    try:
        (file or sys.stderr).write(f"pmd-tui: warning: {text} ({category.__name__})\n")
    except (OSError, ValueError):
        pass


for _command in (queue.add, queue.sync, queue.list_cmd, queue.show, queue.log_cmd,
                 review.check, review.approve, review.reject, review.attest, review.edit,
                 caption.caption_cmd, publish.publish_cmd,
                 edits.exclude, edits.restore, edits.fix, edits.captions_cmd,
                 bench.split_cmd, bench.prompts_cmd, bench.score_cmd, bench.scores_cmd, privacy.forget):
    main.add_command(_command)
