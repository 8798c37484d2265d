"""Choosing and loading a captioner: the checkpoint's model type picks the family module, once per process.

A checkpoint whose weights do not all load would caption with random weights and produce fluent-looking
garbage, so such a model is refused. Where the model comes from is settled first, before torch is even
imported: a missing folder, or a Hub id that is not cached while offline, fails at once with one line.
The loaded model stays warm in a small cache so the next submission (or the next TUI job) starts at once.
"""

from __future__ import annotations

from pmd_tui.captioning import florence, joycaption, qwen
from pmd_tui.captioning.base import Captioner, GenerationOptions
from pmd_tui.captioning.florence import TASKS
from pmd_tui.model_runtime import ModelError, WarmCache, load_error, locate, pick_dtype, resolve_device

__all__ = ["TASKS", "FAMILIES", "Captioner", "GenerationOptions", "ModelError", "load_captioner", "forget_loaded"]

FAMILIES = {"Florence-2": florence, "JoyCaption": joycaption, "Qwen2.5-VL": qwen}
_BY_TYPE = {t: module for module in FAMILIES.values() for t in module.MODEL_TYPES}
_WARM: WarmCache[Captioner] = WarmCache()


MODEL_FLAG = "--model (or caption_model in the config)"


def load_captioner(model_id: str, device: str = "auto", *, flag: str = MODEL_FLAG) -> Captioner:
    """The model for ``model_id`` on ``device``, loaded once per process and kept warm."""
    source = locate(model_id, "captioning model", flag=flag)
    device = resolve_device(device)
    return _WARM.get((model_id, device), lambda: _load(source, device))


def _load(source, device: str) -> Captioner:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(source.spec, local_files_only=source.local_only)
    except Exception as exc:  # unknown ids, remote-code-only configs
        if "trust_remote_code" in str(exc) or "model_type" in str(exc):
            raise ModelError(f"{source.spec} needs remote code or has an unknown model type; use a checkpoint that "
                             "loads natively: florence-community/Florence-2-*, "
                             "fancyfeast/llama-joycaption-beta-one-hf-llava or Qwen/Qwen2.5-VL-*") from None
        raise load_error(source.spec, exc) from None
    model_type = getattr(config, "model_type", None)
    family = _BY_TYPE.get(model_type)
    if family is None:
        raise ModelError(f"{source.spec} is not a supported captioner (model type {model_type!r}): use a native "
                         "Florence-2 (florence2), JoyCaption (llava) or Qwen2.5-VL (qwen2_5_vl) checkpoint")
    captioner = family.load(source, config, device, pick_dtype(device))
    captioner.model.to(device).eval()
    return captioner


def forget_loaded() -> None:
    """Drop the warm models (tests; or to free GPU memory)."""
    _WARM.clear()
