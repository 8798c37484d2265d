"""Loading Florence-2 natively (``Florence2ForConditionalGeneration`` + ``AutoProcessor``), once per process.

A checkpoint whose weights do not all load would caption with random weights and produce fluent-looking
garbage, so ``output_loading_info`` is checked and such a model is refused. The loaded model stays warm in
a small cache so the next submission (or the next TUI job) starts at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmd_tui.model_runtime import (ModelError, WarmCache, load_error, pick_dtype, quiet_transformers,
                                   refuse_partial, resolve_device)

__all__ = ["TASKS", "Captioner", "ModelError", "load_captioner", "forget_loaded"]

TASKS = {"caption": "<CAPTION>", "detailed": "<DETAILED_CAPTION>", "more-detailed": "<MORE_DETAILED_CAPTION>"}
MAX_NEW_TOKENS = {"caption": 64, "detailed": 160, "more-detailed": 320}
_WARM: WarmCache["Captioner"] = WarmCache()


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
        return self.processor(images=images, text=[TASKS[task]] * len(images), return_tensors="pt")

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


def load_captioner(model_id: str, device: str = "auto") -> Captioner:
    """The model for ``model_id`` on ``device``, loaded once per process and kept warm."""
    device = resolve_device(device)
    return _WARM.get((model_id, device), lambda: _load(model_id, device))


def _load(model_id: str, device: str) -> Captioner:
    from transformers import AutoConfig, AutoProcessor, Florence2ForConditionalGeneration

    try:
        config = AutoConfig.from_pretrained(model_id)
    except Exception as exc:  # unknown ids, offline, remote-code-only configs
        if "trust_remote_code" in str(exc):
            raise ModelError(f"{model_id} needs remote code (an original microsoft/* repo); use the converted "
                             "florence-community/Florence-2-* checkpoints, which load natively") from None
        raise load_error(model_id, exc) from None
    if getattr(config, "model_type", None) != "florence2" or getattr(config, "auto_map", None):
        raise ModelError(f"{model_id} is not a native Florence-2 checkpoint (model type "
                         f"{getattr(config, 'model_type', '?')!r}); use florence-community/Florence-2-large or -base")
    dtype = pick_dtype(device)
    try:
        with quiet_transformers():
            try:
                model, info = Florence2ForConditionalGeneration.from_pretrained(
                    model_id, dtype=dtype, attn_implementation="sdpa", output_loading_info=True)
            except (ValueError, ImportError) as exc:
                if "sdpa" not in str(exc).lower():
                    raise
                model, info = Florence2ForConditionalGeneration.from_pretrained(
                    model_id, dtype=dtype, output_loading_info=True)
            processor = AutoProcessor.from_pretrained(model_id)
    except Exception as exc:
        raise load_error(model_id, exc) from None
    refuse_partial(model_id, info, purpose="caption",
                   hint="; use a native Florence-2 checkpoint (florence-community/Florence-2-*)")
    model.to(device).eval()
    return Captioner(model_id=model_id, model=model, processor=processor, device=device, dtype=dtype)


def forget_loaded() -> None:
    """Drop the warm models (tests; or to free GPU memory)."""
    _WARM.clear()
