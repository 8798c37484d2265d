"""Taking one upload into the queue, all or nothing.

Work happens in a private temporary folder; only when the staged copy is complete is it moved into
place and the submission inserted in a single transaction. Any failure removes the temporary folder,
so the queue and the data folder are never left half-changed.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import shutil
import time
import uuid
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from pmd_tui import paths
from pmd_tui.config import Settings
from pmd_tui.errors import DuplicateError, InputError, PmdError, describe_os_error
from pmd_tui.imaging.probe import probe
from pmd_tui.intake import readme as readme_parse
from pmd_tui.intake.archive import Unpacked, copy_folder, unpack_zip
from pmd_tui.intake.layout import plan_layout
from pmd_tui.intake.text import decode_text
from pmd_tui.store import QueueStore

Say = Callable[[str], None]  # a line for the person watching (not a job's progress: see pmd_tui.jobs)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


STALE_UNLOCKED_S = 600  # a work folder without a lock file (an older version's) is stale after this


@contextmanager
def work_folder(data_dir: Path):
    """A private temporary folder under ``<data>/tmp/``, locked (``flock``) while this process uses it.

    Removed on the way out; after a crash or ``kill -9`` the lock dies with the process, and the next
    intake sweeps every unlocked folder away, so extraction left-overs never pile up."""
    tmp_root = data_dir / paths.TMP
    tmp_root.mkdir(parents=True, exist_ok=True)
    sweep_stale(tmp_root)
    while True:
        uid = uuid.uuid4().hex
        lock_path = tmp_root / f"{uid}.lock"
        fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # a sweeper took it between create and lock: take another
    tmp = tmp_root / uid
    try:
        tmp.mkdir()
        yield uid, tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            lock_path.unlink()
        except OSError:
            pass
        os.close(fd)
        try:
            tmp_root.rmdir()
        except OSError:
            pass


def sweep_stale(tmp_root: Path) -> list[str]:
    """Remove work folders whose process is gone (their lock is free); returns what was removed."""
    removed = []
    try:
        entries = sorted(tmp_root.iterdir())  # one order on every file system
    except OSError:
        return removed
    for lock_path in (p for p in entries if p.suffix == ".lock"):
        try:
            fd = os.open(lock_path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # alive
        try:
            shutil.rmtree(tmp_root / lock_path.stem, ignore_errors=True)
            lock_path.unlink()  # only the holder of its lock removes a lock file: it is still there
            removed.append(lock_path.stem)
        finally:
            os.close(fd)
    locks = {p.stem for p in entries if p.suffix == ".lock"}
    for folder in (p for p in entries if p.is_dir() and p.name not in locks):
        try:
            if time.time() - folder.stat().st_mtime > STALE_UNLOCKED_S:
                shutil.rmtree(folder)
                removed.append(folder.name)
        except OSError:
            pass  # what could not be removed is tried again by the next sweep
    return removed


def default_name(source: Path) -> str:
    stem = source.stem if source.is_file() else source.name
    return re.sub(r"\s+", " ", stem.replace("_", " ").replace("-", " ")).strip() or "submission"


def add_source(
    store: QueueStore,
    settings: Settings,
    source: str | os.PathLike,
    *,
    name: str | None = None,
    issue: int | None = None,
    submitter: str | None = None,
    extra: dict | None = None,
    progress: Say | None = None,
    again: bool = True,
) -> int:
    """Unpack ``source`` (a zip or a folder) into the queue and return the new submission's id.

    Content already in the queue (the same images) is refused with a DuplicateError naming the other
    submission, unless ``again`` (the CLI's ``add`` passes ``again=False`` unless ``--again``; scripts and
    tests that take in variations of one set on purpose keep the default).
    """
    say = progress or (lambda _msg: None)
    src = Path(source).expanduser()
    if not src.exists():
        raise InputError(f"{source}: no such file or folder")
    if src.is_dir():
        kind = "folder"
    elif src.suffix.lower() == ".zip" or zipfile.is_zipfile(src):
        kind = "zip"
    else:
        raise InputError(f"{src.name}: not a .zip file or a folder")

    try:
        with work_folder(store.data_dir) as (uid, tmp):
            return _add_in(store, settings, src, kind, uid, tmp, name=name, issue=issue, submitter=submitter,
                           extra=extra, say=say, again=again)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG):
            raise PmdError(f"{src.name}: cannot stage it: {describe_os_error(exc)}") from None
        raise InputError(f"{src.name}: {describe_os_error(exc)}") from None


def _add_in(store, settings, src: Path, kind: str, uid: str, tmp: Path, *, name, issue, submitter, extra, say,
            again: bool = False) -> int:
    final = store.data_dir / paths.SUBMISSIONS / uid
    extract_dir = tmp / "extract"
    extract_dir.mkdir(parents=True)
    moved = False
    try:
        say(f"unpacking {src.name}")
        if kind == "zip":
            unpacked = unpack_zip(src, extract_dir, settings.limits)
        else:
            unpacked = copy_folder(src, extract_dir, settings.limits)
        record, files, notes = _stage(unpacked, tmp / "files")
        if not any(f["kind"] == "image" for f in files):
            why = f" ({len(unpacked.refused)} entries refused: {unpacked.refused[0].reason})" if unpacked.refused else ""
            raise InputError(f"{src.name}: no images found{why}")
        if not again:
            same = store.same_images(f["sha256"] for f in files if f["kind"] == "image")
            if same:
                other = store.get(same[-1])
                raise DuplicateError(
                    f"{src.name} is already in the queue as #{other['id']} {other['name']!r} ({other['status']}, "
                    f"the same {sum(f['kind'] == 'image' for f in files)} images); add --again for a new submission",
                    other["id"])
        upload = tmp / "upload"
        upload.mkdir()
        if kind == "zip":
            shutil.copy2(src, upload / src.name)
        shutil.rmtree(extract_dir)
        record.update(
            uid=uid,
            name=name or default_name(src),
            source=str(src.resolve()),
            source_kind=kind,
            issue_number=issue,
            submitter=submitter,
        )
        if extra:
            record.update(extra)
        _fill_from_text(record)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        moved = True
        say(f"adding {sum(f['kind'] == 'image' for f in files)} images to the queue")
        return store.add_submission(record, files, notes, actor=settings.actor)
    except BaseException:
        if moved:
            shutil.rmtree(final, ignore_errors=True)
        raise


def _fill_from_text(record: dict) -> None:
    """Trigger words, captioning method and concept type, as the contributor wrote them."""
    texts = [record.get("readme_text"), record.get("issue_text")]
    for key, fn in (("trigger_words", readme_parse.trigger_words), ("caption_method", readme_parse.caption_method)):
        if not record.get(key):
            record[key] = next((v for v in (fn(t) for t in texts) if v), None)
    if not record.get("concept_type"):
        record["concept_type"] = readme_parse.concept_type(record.get("concept"), *texts)


def _stage(unpacked: Unpacked, staged: Path) -> tuple[dict, list[dict], list[dict]]:
    """Build the kohya-layout staged folder and the rows that describe it."""
    staged.mkdir(parents=True)
    root = unpacked.root
    plan = plan_layout(unpacked.files)
    files: list[dict] = []
    notes: list[dict] = [{"kind": "refused", "path": r.path, "detail": r.reason} for r in unpacked.refused]
    notes += [{"kind": "junk", "path": j, "detail": None} for j in unpacked.junk]
    notes += [{"kind": "flattened", "path": d, "detail": str(n)} for d, n in plan.folders.items()]
    notes += [{"kind": "renamed", "path": o, "detail": new} for o, new in plan.renamed]
    if plan.unwrapped:
        notes.append({"kind": "unwrapped", "path": plan.unwrapped, "detail": None})
    record: dict = {"repeats": plan.repeats, "concept": plan.concept}
    for pf in plan.files:
        src = root / pf.original_path
        row: dict = {
            "name": pf.name,
            "original_path": pf.original_path,
            "kind": pf.kind,
            "size_bytes": src.stat().st_size,
        }
        if pf.kind == "image":
            dest = staged / pf.name
            os.replace(src, dest)
            row["sha256"] = sha256_file(dest)
            row.update(probe(dest))
            if pf.caption_path:
                text, enc = decode_text((root / pf.caption_path).read_bytes())
                row.update(caption=text, caption_source="submitted", caption_encoding=enc,
                           caption_file=pf.caption_path)
                (staged / (Path(pf.name).stem + ".txt")).write_text(text + "\n", encoding="utf-8")
        elif pf.kind == "readme":
            text, enc = decode_text(src.read_bytes())
            record["readme_text"] = text
            row["caption_encoding"] = enc
            (staged / "readme.txt").write_text(text + "\n", encoding="utf-8")
        elif pf.kind == "attribution":
            shutil.copyfile(src, staged / pf.name)  # published as submitted, beside readme.txt
        elif pf.kind in ("orphan-caption", "extra-caption"):
            text, enc = decode_text(src.read_bytes())
            row.update(caption=text, caption_encoding=enc)
        files.append(row)
    return record, files, notes


def add_url(
    store: QueueStore,
    settings: Settings,
    url: str,
    *,
    name: str | None = None,
    issue: int | None = None,
    submitter: str | None = None,
    extra: dict | None = None,
    progress: Say | None = None,
    download_progress=None,
    again: bool = True,
) -> int:
    """Download a submitted link (direct, Drive, Dropbox, Hugging Face) and take it in like a local zip.

    The download is removed once it is staged (the staged submission keeps its own copy of the upload);
    an interrupted download keeps its ``.part`` file so the next run resumes it.
    """
    from pmd_tui.intake.download import Downloader, shown
    from pmd_tui.intake.links import classify

    link = classify(url)
    say = progress or (lambda _msg: None)
    say(f"downloading {shown(link.url, 200)}" + (f" ({link.kind} link)" if link.kind != "direct" else ""))
    with Downloader(settings.data_dir / paths.DOWNLOADS, settings.limits, progress=download_progress) as dl:
        path = dl.fetch(link)
    try:
        info = {"source": shown(link.url, 10_000), "source_kind": link.kind if link.kind != "direct" else "url", **(extra or {})}
        return add_source(store, settings, path, name=name or default_name(path), issue=issue, submitter=submitter,
                          extra=info, progress=progress, again=again)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
