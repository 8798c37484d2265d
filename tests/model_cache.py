"""Tiny models built once and kept on disk, keyed by the code that builds them.

Training even a toy model costs seconds on a 2-core machine; the suite builds each once and reuses it in
later runs until its building code (or the torch / transformers version) changes. The folder is
``$PMD_TEST_MODELS`` or ``pmd-tui-test-models`` in the temp directory; a build goes to a temporary folder
and is renamed into place, under a lock, so parallel runs never see half a model.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable


def cache_root() -> Path:
    root = Path(os.environ.get("PMD_TEST_MODELS") or Path(tempfile.gettempdir()) / "pmd-tui-test-models")
    root.mkdir(parents=True, exist_ok=True)
    return root


def code_key(*modules) -> str:
    import tokenizers
    import torch
    import transformers

    h = hashlib.sha256(f"{torch.__version__} {transformers.__version__} {tokenizers.__version__}".encode())
    for m in modules:
        h.update(inspect.getsource(m).encode())
    return h.hexdigest()[:16]


def cached_model(name: str, build: Callable[[Path], Path], *modules) -> Path:
    """``build(folder)`` once per version of ``modules``' source; the folder it filled afterwards."""
    root = cache_root()
    target = root / f"{name}-{code_key(*modules)}"
    if (target / ".complete").is_file():
        return target
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").is_file():
            return target
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        try:
            build(work / "model")
            (work / "model" / ".complete").write_text("")
            if target.exists():
                shutil.rmtree(target)
            os.replace(work / "model", target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for old in root.glob(f"{name}-*"):  # earlier versions of this model
            if old != target and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    return target
