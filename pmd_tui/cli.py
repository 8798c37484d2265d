"""The ``pmd-tui`` command: the TUI with no sub-command, headless sub-commands for scripts.

Messages go to stderr and results to stdout, so ``pmd-tui add x.zip`` can be chained by scripts; every
user-facing error is one line and a non-zero exit status.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from pmd_tui.config import Settings, load_settings
from pmd_tui.errors import PmdError
from pmd_tui.store import QueueStore


class Context:
    def __init__(self, db: str | None, config: str | None):
        self._db, self._config = db, config
        self._settings: Settings | None = None
        self._store: QueueStore | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self._db, self._config)
        return self._settings

    @property
    def store(self) -> QueueStore:
        if self._store is None:
            self._store = QueueStore(self.settings.db_path)
        return self._store


def info(msg: str) -> None:
    click.echo(msg, err=True)


def download_bar():
    """A one-line progress display on a terminal; silent when stderr is a pipe or a log."""
    if not sys.stderr.isatty():
        return None
    state = {"last": 0.0}

    def show(done: int, total: int | None) -> None:
        import time

        now = time.monotonic()
        if now - state["last"] < 0.2 and (total is None or done < total):
            return
        state["last"] = now
        size = f"{done / 1e6:,.1f}" + (f" / {total / 1e6:,.1f} MB ({100 * done / total:.0f}%)" if total else " MB")
        click.echo(f"\r  {size}".ljust(50), err=True, nl=bool(total and done >= total))

    return show


def fail(msg: str, code: int = 2) -> None:
    click.echo(f"pmd-tui: error: {msg}", err=True)
    sys.exit(code)


def handle_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PmdError as exc:
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def dump_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", type=click.Path(dir_okay=False), help="Queue database (default: $PMD_DB, else the user data dir).")
@click.option("--config", type=click.Path(dir_okay=False), help="TOML config file (default: $PMD_CONFIG).")
@click.option("--demo", is_flag=True, help="Open the TUI on a throw-away demo queue of generated submissions.")
@click.option("--publish-all", "publish_all", is_flag=True, help="Publish every approved, unpublished submission.")
@click.option("--repo", help="Hugging Face dataset repo (OWNER/NAME) to publish to.")
@click.option("--to", "to_dir", type=click.Path(file_okay=False), help="Publish to a local folder instead of the Hub.")
@click.option("--dry-run", is_flag=True, help="With --publish-all: print what would change, change nothing.")
@click.option("--preview", type=click.Choice(["auto", "tgp", "sixel", "halfcell", "unicode", "none"]),
              default="auto", show_default=True, help="Image preview renderer in the TUI.")
@click.version_option(package_name="pmd-tui")
@click.pass_context
@handle_errors
def main(ctx, db, config, demo, publish_all, repo, to_dir, dry_run, preview):
    """Review, check, caption and publish personalization datasets."""
    ctx.obj = Context(db, config)
    if ctx.invoked_subcommand is not None:
        if publish_all:
            raise click.UsageError("--publish-all is used without a sub-command")
        return
    if publish_all:
        from pmd_tui.cli_publish import run_publish

        sys.exit(run_publish(ctx.obj, None, repo=repo, to_dir=to_dir, dry_run=dry_run))
    from pmd_tui.tui.launch import launch

    launch(ctx.obj, demo=demo, preview=preview, repo=repo, to_dir=to_dir)


def _parse_issue(value: str | None) -> int | None:
    if value is None:
        return None
    v = value.lstrip("#")
    if not v.isdigit():
        raise click.BadParameter("an issue number, like 12 or #12", param_hint="--issue")
    return int(v)


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--name", help="Dataset name (default: from the file or folder name).")
@click.option("--issue", help="GitHub issue number the submission came from.")
@click.option("--submitter", help="Who submitted it (GitHub user name).")
@click.option("--each", is_flag=True, help="A folder of datasets: one submission per sub-folder (e.g. DreamBooth's).")
@click.pass_obj
@handle_errors
def add(obj: Context, sources, name, issue, submitter, each):
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
            subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
            if not subs:
                raise click.UsageError(f"--each: {source} has no sub-folders")
            expanded += [str(p) for p in subs]
        sources = tuple(expanded)
    if name and len(sources) > 1:
        raise click.UsageError("--name applies to one source at a time")
    issue_no = _parse_issue(issue)
    for source in sources:
        if is_url(source):
            sid = add_url(obj.store, obj.settings, source, name=name, issue=issue_no, submitter=submitter,
                          progress=info, download_progress=download_bar())
        else:
            sid = add_source(obj.store, obj.settings, source, name=name, issue=issue_no, submitter=submitter,
                             progress=info)
        sub = obj.store.get(sid)
        counts = obj.store.summaries()
        row = next(r for r in counts if r["id"] == sid)
        info(f"added #{sid} {sub['name']!r}: {row['images']} images, {row['captions']} captions")
        click.echo(sid)


def _submission_json(store: QueueStore, row: dict) -> dict:
    return {k: row.get(k) for k in (
        "id", "name", "status", "status_reason", "source", "source_kind", "issue_number", "submitter",
        "concept_type", "concept", "trigger_words", "caption_method", "repeats", "likeness_attestation",
        "artist_attestation", "created_at", "updated_at")}


@main.command("list")
@click.option("--status", type=click.Choice(["new", "checked", "approved", "rejected", "published"]))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
@handle_errors
def list_cmd(obj: Context, status, as_json):
    """The queue, newest first."""
    rows = obj.store.summaries(status=status)
    if as_json:
        out = []
        for r in rows:
            d = _submission_json(obj.store, r)
            d.update(images=r["images"], captions=r["captions"],
                     worst={"status": r["worst_status"], "rule": r["worst_rule"]} if r["worst_status"] else None)
            out.append(d)
        dump_json(out)
        return
    if not rows:
        info("the queue is empty")
        return
    click.echo(f"{'ID':>4}  {'STATUS':<9} {'IMAGES':>6} {'CAPS':>5}  {'WORST':<28} NAME")
    for r in rows:
        worst = f"{r['worst_status']} {r['worst_rule'] or ''}".strip() if r["worst_status"] else "-"
        click.echo(f"{r['id']:>4}  {r['status']:<9} {r['images']:>6} {r['captions']:>5}  {worst:<28} {r['name']}")


@main.command()
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
        d = _submission_json(store, sub)
        d["readme"] = sub["readme_text"]
        d["files"] = [
            {k: f[k] for k in ("name", "original_path", "kind", "size_bytes", "sha256", "width", "height",
                               "format", "mode", "caption", "caption_source")}
            for f in files
        ]
        d["checks"] = [{k: c[k] for k in ("rule", "status", "message", "files")} for c in checks]
        d["intake"] = [{k: n[k] for k in ("kind", "path", "detail")} for n in store.notes(submission_id)]
        dump_json(d)
        return
    click.echo(f"#{sub['id']} {sub['name']}  [{sub['status']}]")
    for key in ("source", "issue_number", "submitter", "concept_type", "concept", "trigger_words",
                "caption_method", "repeats", "likeness_attestation", "artist_attestation"):
        if sub.get(key) not in (None, ""):
            click.echo(f"  {key.replace('_', ' ')}: {sub[key]}")
    click.echo("files:")
    for f in files:
        dims = f"{f['width']}x{f['height']} {f['format']}" if f["width"] else "unreadable" if f["kind"] == "image" else f["kind"]
        cap = f" [{f['caption_source']}] {f['caption']!r}" if f["kind"] == "image" and f["caption"] is not None else ""
        if f["kind"] == "image" and f["caption"] is None:
            cap = " (no caption)"
        click.echo(f"  {f['name']}  {dims}{cap}")
    if checks:
        click.echo("checks:")
        for c in checks:
            click.echo(f"  {c['status']:<8} {c['rule']:<28} {c['message']}")


from pmd_tui import cli_commands  # noqa: E402,F401  (registers the remaining sub-commands)
from pmd_tui import cli_caption, cli_publish  # noqa: E402,F401
