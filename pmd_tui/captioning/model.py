"""Loading Florence-2 natively (``Florence2ForConditionalGeneration`` + ``AutoProcessor``), once per process.

A checkpoint whose weights do not all load would caption with random weights and produce fluent-looking
garbage, so ``output_loading_info`` is checked and such a model is refused. The loaded model stays warm in
a small cache so the next submission (or the next TUI job) starts at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pmd_tui.errors import PmdError

TASKS = {"caption": "<CAPTION>", "detailed": "<DETAILED_CAPTION>", "more-detailed": "<MORE_DETAILED_CAPTION>"}
MAX_NEW_TOKENS = {"caption": 64, "detailed": 160, "more-detailed": 320}
_CACHE: dict[tuple, "Captioner"] = {}
_CACHE_LOCK = threading.Lock()


class ModelError(PmdError):
    """The captioning model cannot be loaded or run."""


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


@dataclass
class Captioner:
    model_id: str
    model: object
    processor: object
    device: str
    dtype: object

    @property
    def image_size(self) -> int:
        size = getattr(self.processor.image_processor, "size", None) or {}
        return int(size.get("height") or size.get("shortest_edge") or 768)

    def prepare(self, images, task: str):
        """Processor work (resize, normalise, tokenise): runs on the loader thread, not the GPU's."""
        inputs = self.processor(images=images, text=[TASKS[task]] * len(images), return_tensors="pt")
        return inputs

    def generate(self, inputs, task: str, *, num_beams: int = 1, max_new_tokens: int | None = None,
                 min_new_tokens: int | None = None) -> list[str]:
        import torch

        inputs = inputs.to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max_new_tokens or MAX_NEW_TOKENS[task],
                                      min_new_tokens=min_new_tokens, num_beams=num_beams, do_sample=False)
        texts = self.processor.batch_decode(out, skip_special_tokens=True)
        return [" ".join(t.split()) for t in texts]


def _load_error(model_id: str, exc: Exception, what: str = "captioning model") -> ModelError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    offline_hints = ("couldn't connect", "offline", "LocalEntryNotFound", "not the path to a directory",
                     "does not appear to have", "Repository Not Found", "is not a local folder")
    if any(h.lower() in (text + type(exc).__name__).lower() for h in offline_hints):
        return ModelError(f"cannot load the {what} {model_id}: it is not in the local Hugging Face cache "
                          f"and cannot be downloaded here (run `hf download {model_id}` where the Hub is reachable, "
                          "or point the config at a saved checkpoint folder)")
    return ModelError(f"cannot load the {what} {model_id}: {text}")


def load_captioner(model_id: str, device: str = "auto") -> Captioner:
    """The model for ``model_id`` on ``device``, loaded once per process and kept warm."""
    device = resolve_device(device)
    key = (model_id, device)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        captioner = _load(model_id, device)
        _CACHE[key] = captioner
        return captioner


def _load(model_id: str, device: str) -> Captioner:
    import transformers
    from transformers import AutoConfig, AutoProcessor, Florence2ForConditionalGeneration

    try:
        config = AutoConfig.from_pretrained(model_id)
    except Exception as exc:  # unknown ids, offline, remote-code-only configs
        if "trust_remote_code" in str(exc):
            raise ModelError(f"{model_id} needs remote code (an original microsoft/* repo); use the converted "
                             "florence-community/Florence-2-* checkpoints, which load natively") from None
        raise _load_error(model_id, exc) from None
    if getattr(config, "model_type", None) != "florence2" or getattr(config, "auto_map", None):
        raise ModelError(f"{model_id} is not a native Florence-2 checkpoint (model type "
                         f"{getattr(config, 'model_type', '?')!r}); use florence-community/Florence-2-large or -base")
    dtype = pick_dtype(device)
    verbosity = transformers.logging.get_verbosity()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()  # its own loading bars and notices would go to the TUI's terminal
    transformers.utils.logging.disable_progress_bar()
    try:
        try:
            model, info = Florence2ForConditionalGeneration.from_pretrained(
                model_id, dtype=dtype, attn_implementation="sdpa", output_loading_info=True)
        except (ValueError, ImportError) as exc:
            if "sdpa" not in str(exc).lower():
                raise
            model, info = Florence2ForConditionalGeneration.from_pretrained(
                model_id, dtype=dtype, output_loading_info=True)
        processor = AutoProcessor.from_pretrained(model_id)
    except ModelError:
        raise
    except Exception as exc:
        raise _load_error(model_id, exc) from None
    finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
            transformers.utils.logging.enable_progress_bar()
    problems = {k: sorted(info.get(k) or []) for k in ("missing_keys", "mismatched_keys", "unexpected_keys")}
    if problems["missing_keys"] or problems["mismatched_keys"]:
        bad = problems["missing_keys"] or [str(m[0] if isinstance(m, tuple) else m) for m in problems["mismatched_keys"]]
        raise ModelError(f"refusing {model_id}: {len(problems['missing_keys'])} weights missing and "
                         f"{len(problems['mismatched_keys'])} mismatched (e.g. {bad[0]}), so it would caption with "
                         "random weights; use a native Florence-2 checkpoint (florence-community/Florence-2-*)")
    model.to(device).eval()
    return Captioner(model_id=model_id, model=model, processor=processor, device=device, dtype=dtype)


def forget_loaded() -> None:
    """Drop the warm models (tests; or to free GPU memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()
