"""The SFW screen (rule 1): an image-classification model run through transformers, batched on the GPU.

Any classifier whose labels name the unsafe classes works (default ``Falconsai/nsfw_image_detection``,
labels ``normal``/``nsfw``); the score is the summed probability of the unsafe labels. Like the captioner,
a checkpoint whose weights did not all load is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pmd_tui.model_runtime import (ModelError, WarmCache, load_error, locate, pick_dtype, quiet_transformers,
                                   refuse_partial, resolve_device)

UNSAFE = re.compile(r"nsfw|porn|hentai|sexy|explicit|nud|unsafe", re.I)
_WARM: WarmCache["NsfwClassifier"] = WarmCache()


@dataclass
class NsfwClassifier:
    model_id: str
    model: object
    processor: object
    device: str
    dtype: object
    unsafe: list[int]

    def scores(self, images) -> list[float]:
        import torch

        inputs = self.processor(images=images, return_tensors="pt").to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        with torch.inference_mode():
            probs = self.model(**inputs).logits.float().softmax(-1)
        return [round(float(p[self.unsafe].sum()), 4) for p in probs]


def load_nsfw(model_id: str, device: str = "auto") -> NsfwClassifier:
    # settled before torch is imported: a missing folder or an uncached id while offline fails at once
    source = locate(model_id, "SFW classifier", flag="nsfw_model in the config (or \"off\")")
    device = resolve_device(device)
    return _WARM.get((model_id, device), lambda: _load(model_id, device, source.local_only))


def _load(model_id: str, device: str, local_only: bool = False) -> NsfwClassifier:
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    dtype = pick_dtype(device)
    try:
        with quiet_transformers():
            model, info = AutoModelForImageClassification.from_pretrained(
                model_id, dtype=dtype, output_loading_info=True, local_files_only=local_only)
            processor = AutoImageProcessor.from_pretrained(model_id, local_files_only=local_only)
    except Exception as exc:
        error = load_error(model_id, exc, "SFW classifier")
        raise ModelError(f"{error} (or set nsfw_model = \"off\" in the config)") from None
    refuse_partial(model_id, info, purpose="classify")
    labels = model.config.id2label
    unsafe = [int(i) for i, name in labels.items() if UNSAFE.search(str(name))]
    if not unsafe:
        raise ModelError(f"{model_id} has no unsafe label among {sorted(labels.values())}: not an SFW classifier")
    model.to(device).eval()
    return NsfwClassifier(model_id, model, processor, device, dtype, unsafe)


def forget_loaded() -> None:
    _WARM.clear()
