"""What every model worker shares: device and dtype choice, quiet loading, refusing checkpoints whose
weights did not all load, clear errors for what cannot be loaded offline, warm per-process caches and the
out-of-memory back-off (a batch that does not fit is halved, and the size that fits is remembered).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Generic, Hashable, TypeVar

from pmd_tui.errors import PmdError

T = TypeVar("T")


class ModelError(PmdError):
    """A model cannot be loaded or run."""


def resolve_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("--device cuda was asked for, but no CUDA GPU is available (torch sees none)")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ModelError("--device mps was asked for, but Metal is not available here")
    if device not in ("cuda", "mps", "cpu"):
        raise ModelError(f"unknown device {device!r}: use auto, cuda, mps or cpu")
    return device


def pick_dtype(device: str):
    """bf16 where the GPU supports it, else fp16 on GPUs; full precision on the CPU."""
    import torch

    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def load_error(model_id: str, exc: Exception, what: str = "captioning model") -> ModelError:
    """One line for a failed load; the offline case says how to get the weights."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    offline_hints = ("couldn't connect", "offline", "LocalEntryNotFound", "not the path to a directory",
                     "does not appear to have", "Repository Not Found", "is not a local folder")
    if any(h.lower() in (text + type(exc).__name__).lower() for h in offline_hints):
        return ModelError(f"cannot load the {what} {model_id}: it is not in the local Hugging Face cache "
                          f"and cannot be downloaded here (run `hf download {model_id}` where the Hub is reachable, "
                          "or point the config at a saved checkpoint folder)")
    return ModelError(f"cannot load the {what} {model_id}: {text}")


@contextmanager
def quiet_transformers():
    """transformers' loading bars and notices would be printed over the TUI; restored afterwards."""
    import transformers

    verbosity = transformers.logging.get_verbosity()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
            transformers.utils.logging.enable_progress_bar()


def refuse_partial(model_id: str, info: dict, *, purpose: str, hint: str = "") -> None:
    """Missing or mismatched weights mean random weights and fluent-looking garbage: refuse the model."""
    missing = sorted(info.get("missing_keys") or [])
    mismatched = [str(m[0] if isinstance(m, tuple) else m) for m in sorted(info.get("mismatched_keys") or [])]
    if missing or mismatched:
        raise ModelError(f"refusing {model_id}: {len(missing)} weights missing and {len(mismatched)} mismatched "
                         f"(e.g. {(missing or mismatched)[0]}), so it would {purpose} with random weights{hint}")


def is_oom(exc: BaseException) -> bool:
    """An accelerator out-of-memory error (CUDA, MPS), whatever the library wrapped it in."""
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def free_accelerator_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class BatchBackoff:
    """Runs a batch in slices of at most ``limit`` items; out of memory halves the limit for this and every
    later batch, and a single item that still does not fit is a one-line error."""

    def __init__(self, limit: int, device: str):
        self.limit, self.device = max(1, limit), device

    def run(self, n: int, fn: Callable[[int, int], list]) -> list:
        """``fn(start, stop)`` handles items ``start:stop`` and returns one result per item."""
        out: list = []
        start = 0
        while start < n:
            stop = min(n, start + self.limit)
            try:
                out += fn(start, stop)
                start = stop
            except Exception as exc:
                if not is_oom(exc):
                    raise
                free_accelerator_memory()
                if stop - start <= 1:
                    raise ModelError(f"out of memory on {self.device} even with a batch of 1; "
                                     "free the GPU or use --device cpu") from None
                self.limit = max(1, (stop - start) // 2)
        return out


class WarmCache(Generic[T]):
    """Models loaded once per process and kept for the next job (a TUI session runs many)."""

    def __init__(self) -> None:
        self._items: dict[Hashable, T] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._items:
                self._items[key] = load()
            return self._items[key]

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            self._items[key] = value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
