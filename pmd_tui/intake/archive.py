"""Safe unpacking of untrusted zip archives (and folders, through the same rules).

Nothing outside the target is ever written: entries that escape it, links, device files, encrypted or
damaged entries are refused and recorded; sizes are counted while streaming, so an archive whose headers
lie about sizes still cannot exceed the limits (zip bombs stop early).
"""

from __future__ import annotations

import os
import re
import stat
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


def _copy_stream(src, dest: Path, budget: _Budget, declared: int, compressed: int | None) -> str | None:
    """Stream into dest; return a refusal reason (and remove dest) when a limit is crossed."""
    lim = budget.limits
    written = 0
    with open(dest, "xb") as out:
        while True:
            chunk = src.read(CHUNK)
            if not chunk:
                break
            written += len(chunk)
            reason = None
            if written > lim.max_entry_bytes:
                reason = f"larger than the per-file limit of {lim.max_entry_bytes} bytes"
            elif budget.total + written > lim.max_total_bytes:
                reason = f"unpacked total would exceed the limit of {lim.max_total_bytes} bytes"
            elif declared >= 0 and written > declared:
                reason = "entry is larger than its header says (tampered archive)"
            elif compressed and written > lim.ratio_floor_bytes and written / compressed > lim.max_ratio:
                reason = f"compression ratio above {lim.max_ratio:g}:1 (zip bomb)"
            if reason:
                out.close()
                dest.unlink()
                return reason
            out.write(chunk)
    budget.total += written
    return None


def _target(root: Path, rel: str) -> Path:
    dest = root / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def unpack_zip(archive: Path, root: Path, limits: Limits) -> Unpacked:
    """Extract a zip into ``root`` under the safety rules; raises InputError if it is not a usable zip."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise InputError(f"{archive.name}: not a zip archive, or the archive is damaged") from None
    except OSError as exc:
        raise InputError(f"{archive.name}: cannot read ({exc.strerror or exc})") from None
    result = Unpacked(root=root)
    budget = _Budget(limits)
    seen: set[str] = set()
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if not infos:
            raise InputError(f"{archive.name}: the archive is empty")
        if len(infos) > limits.max_entries:
            result.refused.append(Refusal("*", f"archive has {len(infos)} entries, over the limit of "
                                               f"{limits.max_entries}; the rest were not unpacked"))
            infos = infos[: limits.max_entries]
        for info in infos:
            name = _entry_name(info)
            mode = info.external_attr >> 16
            rel = safe_relpath(name)
            if rel is None:
                result.refused.append(Refusal(name, "path escapes the archive (absolute, drive or '..')"))
                continue
            if stat.S_ISLNK(mode):
                result.refused.append(Refusal(rel, "symbolic link"))
                continue
            if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                result.refused.append(Refusal(rel, "device or special file"))
                continue
            if is_junk(rel):
                result.junk.append(rel)
                continue
            if rel in seen:
                result.refused.append(Refusal(rel, "duplicate entry name"))
                continue
            if info.flag_bits & 0x1:
                result.refused.append(Refusal(rel, "encrypted entry"))
                continue
            if info.file_size > limits.max_entry_bytes:
                result.refused.append(Refusal(rel, f"declares {info.file_size} bytes, over the per-file limit"))
                continue
            if budget.total + info.file_size > limits.max_total_bytes:
                result.refused.append(Refusal(rel, "unpacked total would exceed the limit"))
                continue
            if (info.file_size > limits.ratio_floor_bytes and info.compress_size
                    and info.file_size / info.compress_size > limits.max_ratio):
                ratio = info.file_size / info.compress_size
                result.refused.append(Refusal(rel, f"compression ratio {ratio:.0f}:1 (zip bomb)"))
                continue
            dest = _target(root, rel)
            try:
                with zf.open(info) as src:
                    reason = _copy_stream(src, dest, budget, info.file_size, info.compress_size)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
                dest.unlink(missing_ok=True)
                reason = f"damaged entry ({exc})"
            if reason:
                result.refused.append(Refusal(rel, reason))
                continue
            seen.add(rel)
            result.files.append(rel)
    return result


def copy_folder(folder: Path, root: Path, limits: Limits) -> Unpacked:
    """Copy a folder's regular files into ``root`` under the same rules as a zip (links are refused)."""
    result = Unpacked(root=root)
    budget = _Budget(limits)
    count = 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
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
            with open(p, "rb") as src:
                reason = _copy_stream(src, _target(root, rel), budget, -1, None)
            if reason:
                result.refused.append(Refusal(rel, reason))
                continue
            result.files.append(rel)
    if not result.files and not result.refused:
        raise InputError(f"{folder.name}: the folder is empty")
    return result

