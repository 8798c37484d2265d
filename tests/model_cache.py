"""Tiny test models built once and kept on disk, keyed by a hash of the code that builds them.

Training the tiny Florence-2 and the SFW classifier takes most of a minute on two cores; their weights only
change when ``tests/tiny_*.py`` (or this file, or the library versions) change, so a build is stored under
``$PMD_TEST_CACHE`` (default: the user cache directory, ``pmd-tui-tests``) and reused by later runs. Each
session gets its own copy, so a test that damages its model never damages the cache. When several pytest-xdist
workers need the same model at once, one builds it under a file lock and the others wait for it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

from filelock import FileLock

HERE = Path(__file__).resolve().parent
CAPTIONING = HERE.parent / "pmd_tui" / "captioning"
# the tiny JoyCaption and Qwen2.5-VL learn from prompts built by the production code (base, presets, families)
BUILD_CODE = (HERE / "tiny_florence.py", HERE / "tiny_screening.py", HERE / "tiny_vlm.py", Path(__file__).resolve(),
              *(CAPTIONING / f"{m}.py" for m in ("base", "presets", "joycaption", "qwen")))


def cache_root() -> Path:
    import platformdirs

    return Path(os.environ.get("PMD_TEST_CACHE") or platformdirs.user_cache_dir("pmd-tui-tests"))


def build_key() -> str:
    """Changes whenever the building code or a library that writes the files changes."""
    import onnx
    import tokenizers
    import torch
    import transformers

    h = hashlib.sha256()
    for path in BUILD_CODE:
        h.update(path.read_bytes())
    for lib in (torch, transformers, tokenizers, onnx):
        h.update(f"{lib.__name__}={lib.__version__};".encode())
    return h.hexdigest()[:16]


def cached_model(name: str, build: Callable[[Path], object], dest: Path) -> Path:
    """``build(folder)`` fills an empty folder; returns ``dest``, a fresh copy of the cached build."""
    root = cache_root()
    final = root / f"{name}-{build_key()}"
    if not (final / ".complete").is_file():
        root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(root / f".{name}.lock")):
            if not (final / ".complete").is_file():  # another worker built it while this one waited
                _build(build, root, final)
    shutil.copytree(final, dest, ignore=shutil.ignore_patterns(".complete"))
    return dest


def _build(build: Callable[[Path], object], root: Path, final: Path) -> None:
    """Build into a temporary folder and rename it into place (atomic: a killed build leaves no half model)."""
    tmp = root / f".{final.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.mkdir()
        build(tmp)
        (tmp / ".complete").write_text("ok\n")
        try:
            os.rename(tmp, final)  # atomic; another session may have won the race meanwhile
        except OSError:
            if not (final / ".complete").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
