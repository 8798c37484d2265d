"""What every model worker shares: device and dtype choice, quiet loading, refusing checkpoints whose
weights did not all load, clear errors for what cannot be loaded offline, warm per-process caches and the
out-of-memory back-off (a batch that does not fit is halved, and the size that fits is remembered).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generic, Hashable, TypeVar

from pmd_tui.errors import PmdError

T = TypeVar("T")


class ModelError(PmdError):
    """A model cannot be loaded or run."""


DEVICES = ("auto", "cuda", "mps", "cpu")  # what --device accepts


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


@dataclass(frozen=True)
class Source:
    """Where a model's files come from: a local folder or file, or a Hub id (``local_only``: cache only)."""

    spec: str
    local: bool
    local_only: bool


PROBE_SECONDS = 1.0
_REACHABLE: dict[str, tuple[float, bool]] = {}


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` as huggingface_hub sees it."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def hub_reachable(timeout: float = PROBE_SECONDS) -> bool:
    """Whether the Hub answers at all within ``timeout`` (remembered for a minute).

    Loading from a Hub id with no network spends tens of seconds in retries before failing; one short
    probe in a thread (DNS included, which has no timeout of its own) tells at once.
    """
    from huggingface_hub import constants

    endpoint = constants.ENDPOINT
    known = _REACHABLE.get(endpoint)
    if known and time.monotonic() - known[0] < 60:
        return known[1]
    answer: list[bool] = []

    def probe() -> None:
        import httpx

        try:
            httpx.head(endpoint, timeout=timeout, follow_redirects=False)
            answer.append(True)
        except Exception:
            answer.append(False)

    thread = threading.Thread(target=probe, name="pmd-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout + 0.2)
    ok = bool(answer and answer[0])
    _REACHABLE[endpoint] = (time.monotonic(), ok)
    return ok


def looks_like_path(spec: str) -> bool:
    """A Hub id is ``owner/name`` (or a bare name); anything else is meant as a path."""
    return (spec.startswith(("/", "~", ".")) or "\\" in spec or spec.count("/") > 1 or
            (len(spec) > 1 and spec[1] == ":"))


def locate(spec: str, what: str, *, flag: str, filename: str = "config.json") -> Source:
    """Resolve a model before any heavy import: a local path that must exist, or a Hub id that must be cached
    when the Hub cannot be reached. Errors are one line and come at once (no retries)."""
    path = Path(spec).expanduser()
    if path.exists():
        if path.is_dir() and filename and not (path / filename).is_file():
            raise ModelError(f"the {what} folder {path} has no {filename}: not a saved checkpoint "
                             "(save_pretrained or `hf download --local-dir` writes one)")
        return Source(str(path), local=True, local_only=True)
    if looks_like_path(spec):
        raise ModelError(f"the {what} {spec} does not exist: no such folder or file "
                         f"(point {flag} at a checkpoint folder, or give a Hub id like owner/name)")
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = isinstance(try_to_load_from_cache(spec, filename), str)
    except Exception:  # an id the cache layout cannot hold (invalid characters)
        raise ModelError(f"the {what} {spec!r} is neither a folder nor a valid Hub id (owner/name)") from None
    if cached and hub_offline():
        return Source(spec, local=False, local_only=True)
    if hub_offline() or not hub_reachable():
        if cached:
            return Source(spec, local=False, local_only=True)
        why = "HF_HUB_OFFLINE is set" if hub_offline() else "the Hugging Face Hub cannot be reached"
        raise ModelError(f"cannot load the {what} {spec}: it is not in the local Hugging Face cache and {why}; "
                         f"run `hf download {spec}` where the Hub is reachable, or point {flag} at a checkpoint "
                         "folder")
    return Source(spec, local=False, local_only=False)


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
