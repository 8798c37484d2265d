"""Safe unpacking of untrusted zip archives (and folders, through the same rules).

Nothing outside the target is ever written: entries that escape it, links, device files, encrypted or
damaged entries are refused and recorded. A zip is judged on its declared sizes (per entry, in total and by
compression ratio, per entry and for the archive as a whole) before a byte is written; ``zipfile`` never
yields more than an entry declares (it stops and checks the CRC), so lying headers cannot exceed them.
Folders are counted while copying.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from pmd_tui.config import Limits
from pmd_tui.errors import InputError

CHUNK = 1024 * 1024
JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db"})
JUNK_DIRS = frozenset({"__macosx", ".git", ".ipynb_checkpoints", ".svn"})
_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_NAME_BYTES = 255  # one path component (every common file system's limit)
MAX_PATH_BYTES = 1024  # a whole relative path, far below PATH_MAX once under the staging folder
# Errors of one entry's own name or place (not of the disk): that entry is refused, the rest goes on.
# (Names too long never get here: path_problem refuses them first.)
_ENTRY_ERRNOS = frozenset({errno.EEXIST, errno.ENOTDIR, errno.EISDIR})
_ENCRYPTED = 0x1 | 0x40  # traditional and strong encryption flags
_AES = 99  # WinZip AES compression method


@dataclass
class Refusal:
    path: str
    reason: str


@dataclass
class Unpacked:
    root: Path
    files: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    junk: list[str] = field(default_factory=list)


def is_junk(rel: str) -> bool:
    parts = rel.split("/")
    base = parts[-1]
    return (
        any(p.lower() in JUNK_DIRS for p in parts[:-1])
        or base.startswith("._")
        or base.lower() in JUNK_NAMES
    )


def safe_relpath(name: str) -> str | None:
    """A clean relative POSIX path, or None when the name would escape the target directory."""
    name = name.replace("\\", "/")
    if not name or "\x00" in name or name.startswith("/") or _DRIVE.match(name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def path_problem(rel: str) -> str | None:
    """Why a clean relative path cannot be written, or None: a name or path too long for the disk."""
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in rel.split("/")):
        return f"a name in the path is longer than {MAX_NAME_BYTES} bytes"
    if len(rel.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        return f"path longer than {MAX_PATH_BYTES} bytes"
    return None


def _entry_name(info: zipfile.ZipInfo) -> str:
    """Zip names without the UTF-8 flag are cp437 by spec, but most tools really wrote UTF-8."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


class _Budget:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.total = 0


def _copy_stream(src, dest: Path, budget: _Budget) -> str | None:
    """Stream into dest; return a refusal reason (and remove dest) when a limit is crossed.

    For a zip entry the sizes were judged on its header before (and ``zipfile`` never yields more than the
    declared size: it stops there and checks the CRC); these counts guard folders, whose files may grow
    while they are copied."""
    lim = budget.limits
    written = 0
    with open(dest, "xb") as out:
        while True:
            chunk = src.read(CHUNK)
            if not chunk:
                break
            written += len(chunk)
            if written > lim.max_entry_bytes:
                reason = f"larger than the per-file limit of {lim.max_entry_bytes} bytes"
            elif budget.total + written > lim.max_total_bytes:
                reason = f"unpacked total would exceed the limit of {lim.max_total_bytes} bytes"
            else:
                out.write(chunk)
                continue
            out.close()
            dest.unlink()
            return reason
    budget.total += written
    return None


def _target(root: Path, rel: str) -> Path:
    dest = root / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def _place_problem(exc: OSError) -> str | None:
    """A refusal for an entry whose place clashes (``a.jpg`` and ``a.jpg/b.jpg``); None for errors of the
    disk itself (full, read-only), which stop the whole intake."""
    if exc.errno not in _ENTRY_ERRNOS:
        return None
    return "clashes with another entry of the same name (a file and a folder)"


def _entry_bomb(info: zipfile.ZipInfo, limits: Limits) -> bool:
    """One entry refused on its own: over the per-file limit, or a ratio above ``max_ratio`` once it is
    big enough to judge (these entries are left out, so they do not count towards the archive's total)."""
    return info.file_size > limits.max_entry_bytes or (
        info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * info.compress_size)


def _encrypted(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> bool:
    """Any entry encrypted, by its central directory record or by its local header (the one the data
    really follows; a tampered archive may clear only the central flag)."""
    fp = zf.fp
    for info in infos:
        if info.flag_bits & _ENCRYPTED or info.compress_type == _AES:
            return True
        try:
            fp.seek(info.header_offset)
            head = fp.read(30)
        except (OSError, ValueError):
            continue
        if len(head) == 30 and head[:4] == b"PK\x03\x04":
            flags, method = struct.unpack("<HH", head[6:10])
            if flags & _ENCRYPTED or method == _AES:
                return True
    return False


def unpack_zip(archive: Path, root: Path, limits: Limits) -> Unpacked:
    """Extract a zip into ``root`` under the safety rules; raises InputError if it is not a usable zip."""
    zf = _open_zip(archive)
    result = Unpacked(root=root)
    budget = _Budget(limits)
    seen: set[str] = set()
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        _judge_archive(archive, zf, infos, limits)
        if len(infos) > limits.max_entries:
            result.refused.append(Refusal("*", f"archive has {len(infos)} entries, over the limit of "
                                               f"{limits.max_entries}; the rest were not unpacked"))
            infos = infos[: limits.max_entries]
        for info in infos:
            name = _entry_name(info)
            rel = safe_relpath(name)
            if rel is None:
                result.refused.append(Refusal(name, "path escapes the archive (absolute, drive or '..')"))
                continue
            problem = path_problem(rel)
            if problem:
                result.refused.append(Refusal(rel[:200], problem))
                continue
            reason = _kind_refusal(info)
            if reason is None and is_junk(rel):
                result.junk.append(rel)
                continue
            reason = (reason or _limit_refusal(info, rel, seen, budget, limits)
                      or _extract_entry(zf, info, root, rel, budget))
            if reason:
                result.refused.append(Refusal(rel, reason))
                continue
            seen.add(rel)
            result.files.append(rel)
    return result


def _open_zip(archive: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise InputError(f"{archive.name}: not a zip archive, or the archive is damaged") from None
    except OSError as exc:
        raise InputError(f"{archive.name}: cannot read ({exc.strerror or exc})") from None


def _judge_archive(archive: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse the whole archive: empty, encrypted, or a bomb split into many entries, each under the floor
    where one entry's ratio is judged. Judged on the declared sizes; an entry that outgrows its header is
    stopped while streaming, so the total can never exceed what is judged here."""
    if not infos:
        raise InputError(f"{archive.name}: the archive is empty")
    if _encrypted(zf, infos):
        raise InputError(f"{archive.name}: the archive is password-protected (encrypted entries); "
                         "ask for an unencrypted zip")
    archive_bytes = archive.stat().st_size
    declared = sum(i.file_size for i in infos if not _entry_bomb(i, limits))
    if declared > limits.ratio_floor_bytes and declared > limits.max_ratio * archive_bytes:
        raise InputError(f"{archive.name}: declares {declared:,} bytes unpacked from a {archive_bytes:,} byte "
                         f"archive, more than {limits.max_ratio:g}:1 overall (zip bomb)")


def _kind_refusal(info: zipfile.ZipInfo) -> str | None:
    """Only regular files are unpacked: links and device or special files are refused."""
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        return "device or special file"
    return None


def _limit_refusal(info: zipfile.ZipInfo, rel: str, seen: set[str], budget: _Budget, limits: Limits) -> str | None:
    """What the entry's header already shows: a second entry of one name, a size over the limits, a bomb."""
    if rel in seen:
        return "duplicate entry name"
    if info.file_size > limits.max_entry_bytes:
        return f"declares {info.file_size} bytes, over the per-file limit"
    if budget.total + info.file_size > limits.max_total_bytes:
        return "unpacked total would exceed the limit"
    if _entry_bomb(info, limits):
        return f"compression ratio {info.file_size / max(info.compress_size, 1):.0f}:1 (zip bomb)"
    return None


def _extract_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, rel: str, budget: _Budget) -> str | None:
    """Stream one entry to ``root/rel`` within the budget; why it was not unpacked, or None."""
    dest = root / rel
    try:
        _target(root, rel)
        with zf.open(info) as src:
            return _copy_stream(src, dest, budget)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        _unlink_file(dest)
        return f"damaged entry ({exc})"
    except OSError as exc:
        reason = _place_problem(exc)
        if reason is None:
            raise
        return reason


def _unlink_file(path: Path) -> None:
    try:
        if path.is_file() and not path.is_symlink():
            path.unlink()
    except OSError:
        pass


def copy_folder(folder: Path, root: Path, limits: Limits) -> Unpacked:
    """Copy a folder's regular files into ``root`` under the same rules as a zip (links are refused)."""
    result = Unpacked(root=root)
    budget = _Budget(limits)
    count = 0
    for dirpath, dirnames, filenames in os.walk(folder):  # linked folders are pruned below, never entered
        base = Path(dirpath)
        for d in list(dirnames):
            p = base / d
            if p.is_symlink():
                result.refused.append(Refusal(p.relative_to(folder).as_posix(), "symbolic link"))
                dirnames.remove(d)
        dirnames.sort()
        for fname in sorted(filenames):
            p = base / fname
            rel = p.relative_to(folder).as_posix()
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                result.refused.append(Refusal(rel, "symbolic link"))
                continue
            if not stat.S_ISREG(st.st_mode):
                result.refused.append(Refusal(rel, "device or special file"))
                continue
            if is_junk(rel):
                result.junk.append(rel)
                continue
            count += 1
            if count > limits.max_entries:
                result.refused.append(Refusal(rel, f"over the limit of {limits.max_entries} files"))
                continue
            problem = path_problem(rel)
            if problem:
                result.refused.append(Refusal(rel[:200], problem))
                continue
            with open(p, "rb") as src:
                reason = _copy_stream(src, _target(root, rel), budget)
            if reason:
                result.refused.append(Refusal(rel, reason))
                continue
            result.files.append(rel)
    if not result.files and not result.refused:
        raise InputError(f"{folder.name}: the folder is empty")
    return result

