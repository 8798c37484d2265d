"""Reading a text file a user named (a config, an opt-out list, evaluation prompts, a samples index).

Such a path may be a device that never ends (``/dev/zero``), a FIFO that never answers, a huge file, or
bytes in another encoding. Every one of those is a one-line refusal that names the file (and the byte
offset of a decoding error), never a hang, a MemoryError or a traceback.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from pmd_tui.errors import InputError, describe_os_error

# a prompt list, an opt-out list or a config file is a few KB; this is generous and still fits in memory
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


def regular_file_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable regular file, or None when it is."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read ({describe_os_error(exc)})"
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file (a device, FIFO or socket)"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def read_user_text(path: str | os.PathLike, *, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The UTF-8 text of ``path`` (``-``: standard input), at most ``max_bytes``; a BOM is dropped."""
    label = f"{what} {path}"
    if str(path) == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        label = f"{what} (standard input)"
    else:
        problem = regular_file_problem(Path(path))
        if problem:
            raise InputError(f"{label} {problem}")
        try:
            with open(path, "rb") as fh:
                data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(f"{label} cannot be read ({describe_os_error(exc)})") from None
    if len(data) > max_bytes:
        raise InputError(f"{label} is larger than the limit of {max_bytes:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label} is not UTF-8 text (byte offset {exc.start}: "
                         f"{data[exc.start:exc.start + 4]!r}); save it as UTF-8") from None
