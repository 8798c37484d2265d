"""What every sub-command shares: the lazily opened settings and store, messages, errors and JSON."""

from __future__ import annotations

import functools
import sqlite3
import sys

import click

from pmd_tui import safetext
from pmd_tui.config import Settings, load_settings
from pmd_tui.errors import PmdError, describe_os_error
from pmd_tui.safetext import escape
from pmd_tui.store import QueueStore
from pmd_tui.store.queue import database_problem


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

    @property
    def _db_path(self):
        return self._settings.db_path if self._settings is not None else None


def echo(msg: object = "", *, err: bool = False, nl: bool = True, overwrite: bool = False) -> None:
    """Every line the CLI prints goes through here: control characters (C0, DEL, C1) in it are made
    visible (see ``pmd_tui.safetext``), so a contributor's name or caption cannot drive the terminal.
    ``overwrite`` starts the line with a carriage return (progress lines)."""
    click.echo(("\r" if overwrite else "") + escape(msg), err=err, nl=nl)


def out(msg: object = "") -> None:
    """A result line on stdout."""
    echo(msg)


def info(msg: object) -> None:
    """A message on stderr."""
    echo(msg, err=True)


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
        echo(f"  {size}".ljust(49), err=True, nl=bool(total and done >= total), overwrite=True)

    return show


def fail(msg: str, code: int = 2) -> None:
    echo(f"pmd-tui: error: {msg}", err=True)
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
        except sqlite3.Error as exc:  # the disk filled up or the file went bad while working
            obj = click.get_current_context(silent=True)
            path = getattr(getattr(obj, "obj", None), "_db_path", None) or "database"
            fail(database_problem(path, exc))
        except OSError as exc:  # the file system refused (disk full, read-only, name too long)
            fail(describe_os_error(exc))

    return wrapper


def dump_json(obj) -> None:
    echo(safetext.dumps(obj, default=str))


def parse_issue(value: str | None) -> int | None:
    if value is None:
        return None
    v = value.lstrip("#")
    if not v.isdigit():
        raise click.BadParameter("an issue number, like 12 or #12", param_hint="--issue")
    return int(v)


def submission_json(store: QueueStore, row: dict) -> dict:
    return {k: row.get(k) for k in (
        "id", "name", "status", "status_reason", "source", "source_kind", "issue_number", "submitter",
        "concept_type", "concept", "trigger_words", "caption_method", "repeats", "likeness_attestation",
        "artist_attestation", "published_person_attestation", "created_at", "updated_at")}


def resolve_ids(obj: Context, ids: tuple[int, ...], status=None) -> list[int]:
    if ids:
        for i in ids:
            obj.store.get(i)
        return list(ids)
    return obj.store.ids(status)


def tell_issue(obj: Context, submission_id: int, action: str, notify: bool | None, **kw) -> None:
    """Post the decision on the submission's issue when asked; a failure is a warning, the decision stands."""
    if not (notify if notify is not None else obj.settings.notify):
        return
    from pmd_tui.intake.github import notify as post

    warning = post(obj.store, submission_id, action, actor=obj.settings.actor, **kw)
    info(f"warning: {warning}" if warning else f"commented on the issue of #{submission_id}")
