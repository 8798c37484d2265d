"""The maintainer's hands on a submission's images: leave images out, and fix staged copies.

Both work on the staged copy only; the original upload is never written. Every change is one event in the
audit log with its actor and can be reversed: an exclusion by a restore, a fix by ``undo_fix`` (the earlier
bytes are kept in the submission's history folder, by content hash). After each change the submission is
checked again, or judged again when it was already approved or published (``decisions``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pmd_tui.config import Settings
from pmd_tui.decisions import recheck_after_change
from pmd_tui.errors import InputError, StateError
from pmd_tui.imaging.fixes import OPS, fix_image, parse_background
from pmd_tui.imaging.probe import probe
from pmd_tui.intake.service import sha256_file
from pmd_tui.store import QueueStore

# The fixes each finding offers; "keep" records the maintainer's decision to leave the files as they are.
FIXES: dict[str, tuple[str, ...]] = {
    "images.exif-rotation": ("orient",),
    "images.cmyk": ("rgb",),
    "images.16bit": ("8bit",),
    "images.alpha": ("flatten", "keep"),
    "images.animated": ("first-frame",),
    "images.unusual-format": ("png", "keep"),
}
OP_RULE = {op: rule for rule, ops in FIXES.items() for op in ops if op != "keep"}
LABELS = {**OPS, "keep": "keep the files as they are (recorded)"}


@dataclass
class Outcome:
    changed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # named, but nothing to do
    message: str | None = None  # what happened to the submission's status, if anything

    def summary(self, verb: str) -> str:
        text = f"{verb} {len(self.changed)} image(s)"
        if self.changed:
            text += ": " + ", ".join(self.changed[:4]) + (f" and {len(self.changed) - 4} more" if len(self.changed) > 4 else "")
        if self.skipped:
            text += f"; {len(self.skipped)} needed nothing"
        return text + (f"; {self.message}" if self.message else "")


# -- excluding images ------------------------------------------------------------------------------
def set_excluded(store: QueueStore, settings: Settings, submission_id: int, names: list[str], excluded: bool,
                 *, reason: str | None = None, actor: str | None = None) -> Outcome:
    """Exclude (or restore) images by name; the checks then no longer see them and publishing skips them."""
    if not names:
        raise InputError("name at least one image")
    actor = actor or settings.actor
    changed = store.set_excluded(submission_id, names, excluded, actor=actor, reason=reason)
    out = Outcome(changed=changed, skipped=[n for n in names if n not in changed])
    if changed:
        what = f"{'excluding' if excluded else 'restoring'} {len(changed)} image(s)"
        out.message = recheck_after_change(store, settings, submission_id, actor=actor, what=what)
    return out


def finding_images(store: QueueStore, submission_id: int, rule: str) -> list[str]:
    """The images a finding names (not captions or other files), in queue order."""
    finding = next((c for c in store.checks(submission_id) if c["rule"] == rule), None)
    if finding is None:
        raise InputError(f"#{submission_id} has no finding {rule!r} (run the checks)")
    named = set(finding["files"])
    return [f["name"] for f in store.files(submission_id, "image") if f["name"] in named and not f["excluded"]]


# -- fixing staged images --------------------------------------------------------------------------
def _history_path(store: QueueStore, sub: dict, sha256: str, name: str) -> Path:
    return store.history_dir(sub) / f"{sha256}{PurePosixPath(name).suffix.lower()}"


def _keep_history(store: QueueStore, sub: dict, f: dict) -> Path:
    path = _history_path(store, sub, f["sha256"], f["name"])
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes((store.staged_dir(sub) / f["name"]).read_bytes())
        os.replace(tmp, path)
    return path


def _write(path: Path, data: bytes) -> None:
    """A new file, never an in-place write: whatever else links to the old inode is left alone."""
    tmp = path.with_name(path.name + ".fixing")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _fields(path: Path, name: str) -> dict:
    return {"name": name, "sha256": sha256_file(path), "size_bytes": path.stat().st_size, **probe(path)}


def _commit_files(store: QueueStore, sub: dict, writes: list[tuple[dict, str, bytes]], *, action: str,
                  actor: str, **detail) -> int:
    """Write new staged bytes (file row, new name, data) and record them in one event; all or nothing."""
    staged = store.staged_dir(sub)
    taken = {f["name"] for f in store.files(sub["id"])} - {f["name"] for f, _, _ in writes}
    for f, name, _ in writes:
        if name != f["name"] and name in taken:
            raise InputError(f"{f['name']} would become {name}, which #{sub['id']} already has")
    for f, _, _ in writes:
        if f["sha256"] and (staged / f["name"]).exists():
            _keep_history(store, sub, f)
    done: list[tuple[dict, str]] = []
    try:
        updates = []
        for f, name, data in writes:
            _write(staged / name, data)
            done.append((f, name))
            updates.append((f["id"], _fields(staged / name, name)))
        event = store.update_images(sub["id"], updates, actor=actor, action=action, **detail)
    except BaseException:
        for f, name in done:  # put the earlier bytes back
            if name != f["name"]:
                (staged / name).unlink(missing_ok=True)
            _write(staged / f["name"], _history_path(store, sub, f["sha256"], f["name"]).read_bytes())
        raise
    for f, name in done:
        if name != f["name"]:
            (staged / f["name"]).unlink(missing_ok=True)  # its bytes are in the history folder
    return event


def apply_fix(store: QueueStore, settings: Settings, submission_id: int, op: str, names: list[str] | None = None,
              *, background: str | None = None, actor: str | None = None) -> Outcome:
    """Apply one fix to the named images (default: every image its finding names) as one undoable event."""
    actor = actor or settings.actor
    if op == "keep":
        raise InputError("keep is recorded with keep_as_is, not applied")
    if op not in OPS:
        raise InputError(f"unknown fix {op!r}; one of {', '.join(OPS)}")
    if op == "flatten":
        parse_background(background)  # refuse a bad colour before any work
    sub = store.get(submission_id)
    if names is None:
        names = finding_images(store, submission_id, OP_RULE[op])
    rows = {f["name"]: f for f in store.files(submission_id, "image")}
    unknown = [n for n in names if n not in rows]
    if unknown:
        raise InputError(f"#{submission_id} has no image named {unknown[0]!r}")
    staged = store.staged_dir(sub)
    writes, out = [], Outcome()
    for n in names:
        f = rows[n]
        path = staged / n
        try:
            result = fix_image(path.read_bytes(), op, background=background)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{n}: cannot {OPS[op]}: {exc}") from exc
        if result is None:
            out.skipped.append(n)
            continue
        new_name = n
        if PurePosixPath(n).suffix.lower() not in _same_format_exts(result.format):
            new_name = PurePosixPath(n).stem + result.ext
        writes.append((f, new_name, result.data))
        out.changed.append(n if new_name == n else f"{n} -> {new_name}")
    if writes:
        detail = {"op": op}
        if op == "flatten":
            detail["background"] = "#%02x%02x%02x" % parse_background(background)
        _commit_files(store, sub, writes, action="images-fixed", actor=actor, **detail)
        out.message = recheck_after_change(store, settings, submission_id, actor=actor,
                                           what=f"fix '{OPS[op]}' on {len(writes)} image(s)")
    return out


def _same_format_exts(fmt: str) -> tuple[str, ...]:
    return {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "WEBP": (".webp",), "TIFF": (".tif", ".tiff")}.get(fmt, ())


def keep_as_is(store: QueueStore, settings: Settings, submission_id: int, rule: str, names: list[str] | None = None,
               *, actor: str | None = None) -> Outcome:
    """Record that the maintainer looked at a finding's images and keeps them as they are."""
    actor = actor or settings.actor
    names = names if names is not None else finding_images(store, submission_id, rule)
    with store.transaction():
        store.log(submission_id, "fix-declined", actor, rule=rule, files=names)
    return Outcome(skipped=list(names))


def last_fix(store: QueueStore, submission_id: int) -> dict | None:
    """The latest fix (``images-fixed`` event) that is not undone yet."""
    events = [e for e in store.events(submission_id) if e["action"] in ("images-fixed", "fix-undone")]
    undone = {e["detail"].get("undoes") for e in events if e["action"] == "fix-undone"}
    return next((e for e in reversed(events) if e["action"] == "images-fixed" and e["id"] not in undone), None)


def undo_fix(store: QueueStore, settings: Settings, submission_id: int, *, actor: str | None = None) -> Outcome:
    """Put back the images as they were before the latest fix (refused when they changed since)."""
    actor = actor or settings.actor
    event = last_fix(store, submission_id)
    if event is None:
        raise StateError(f"#{submission_id}: no fix to undo")
    sub = store.get(submission_id)
    writes, out = [], Outcome()
    for change in event["detail"]["changes"]:
        f = store.file(change["file_id"])
        if f["sha256"] != change["new"]["sha256"] or f["name"] != change["new"]["name"]:
            raise StateError(f"{f['name']} changed after that fix; undo the later change first")
        old = change["old"]
        backup = _history_path(store, sub, old["sha256"], old["name"])
        if not backup.exists():
            raise StateError(f"the earlier bytes of {old['name']} are missing from the history folder")
        writes.append((f, old["name"], backup.read_bytes()))
        out.changed.append(old["name"])
    _commit_files(store, sub, writes, action="fix-undone", actor=actor, undoes=event["id"], op=event["detail"]["op"])
    out.message = recheck_after_change(store, settings, submission_id, actor=actor,
                                       what=f"undoing fix '{OPS.get(event['detail']['op'], event['detail']['op'])}'")
    return out
