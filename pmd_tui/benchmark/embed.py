"""The feature models of the scores, loaded through transformers by id or folder, batched, on the GPU when
there is one: DINO ViT-S/16 (subject fidelity, FD/KID features) and CLIP (image and prompt fidelity).

Like every model worker, a checkpoint whose weights did not all load is refused: random features would
give plausible-looking but meaningless scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from pmd_tui.config import DEFAULT_CLIP_MODEL, DEFAULT_DINO_MODEL
from pmd_tui.model_runtime import (ModelError, WarmCache, load_error, pick_dtype, quiet_transformers,
                                   refuse_partial, resolve_device)

_WARM: WarmCache[object] = WarmCache()

Progress = Callable[[int, int, str], None]


def _batches(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class DinoEmbedder:
    """The CLS token of DINO's last layer, the feature DreamBooth's DINO score compares."""

    model_id: str
    model: object
    processor: object
    device: str
    dtype: object

    def embed(self, images: list, batch_size: int = 16, progress: Progress | None = None) -> np.ndarray:
        import torch

        out = []
        for batch in _batches(images, batch_size):
            inputs = self.processor(images=batch, return_tensors="pt").to(self.device)
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
            with torch.inference_mode():
                hidden = self.model(**inputs).last_hidden_state
            out.append(hidden[:, 0].float().cpu().numpy())
            if progress:
                progress(sum(len(o) for o in out), len(images), "DINO features")
        return np.concatenate(out) if out else np.zeros((0, self.model.config.hidden_size))


@dataclass
class ClipEmbedder:
    model_id: str
    model: object
    processor: object
    tokenizer: object
    device: str
    dtype: object

    def embed_images(self, images: list, batch_size: int = 16, progress: Progress | None = None) -> np.ndarray:
        import torch

        out = []
        for batch in _batches(images, batch_size):
            inputs = self.processor(images=batch, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                feats = self.model.get_image_features(pixel_values=inputs["pixel_values"].to(self.dtype))
            out.append(_pooled(feats).float().cpu().numpy())
            if progress:
                progress(sum(len(o) for o in out), len(images), "CLIP image features")
        return np.concatenate(out) if out else np.zeros((0, self.model.config.projection_dim))

    def embed_texts(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        import torch

        out = []
        limit = getattr(self.model.config.text_config, "max_position_embeddings", 77)
        for batch in _batches(texts, batch_size):
            tokens = self.tokenizer(batch, padding=True, truncation=True, max_length=limit,
                                    return_tensors="pt").to(self.device)
            with torch.inference_mode():
                feats = self.model.get_text_features(input_ids=tokens["input_ids"],
                                                     attention_mask=tokens.get("attention_mask"))
            out.append(_pooled(feats).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.projection_dim))


def _pooled(feats):
    """transformers 5 may return a model output instead of a tensor from get_*_features."""
    if hasattr(feats, "pooler_output") and feats.pooler_output is not None:
        return feats.pooler_output
    return feats


def load_dino(model_id: str = DEFAULT_DINO_MODEL, device: str = "auto") -> DinoEmbedder:
    device = resolve_device(device)
    return _WARM.get(("dino", model_id, device), lambda: _load_dino(model_id, device))


def load_clip(model_id: str = DEFAULT_CLIP_MODEL, device: str = "auto") -> ClipEmbedder:
    device = resolve_device(device)
    return _WARM.get(("clip", model_id, device), lambda: _load_clip(model_id, device))


def _load_dino(model_id: str, device: str) -> DinoEmbedder:
    from transformers import AutoImageProcessor, AutoModel

    dtype = pick_dtype(device)
    try:
        with quiet_transformers():
            model, info = AutoModel.from_pretrained(model_id, dtype=dtype, add_pooling_layer=False,
                                                    output_loading_info=True)
            processor = AutoImageProcessor.from_pretrained(model_id)
    except Exception as exc:
        raise load_error(model_id, exc, "DINO model (subject fidelity)") from None
    if getattr(model.config, "model_type", None) not in ("vit", "dinov2"):
        raise ModelError(f"{model_id} is not a ViT/DINO image model (model type {model.config.model_type!r})")
    refuse_partial(model_id, info, purpose="score subject fidelity")
    return DinoEmbedder(model_id, model.to(device).eval(), processor, device, dtype)


def _load_clip(model_id: str, device: str) -> ClipEmbedder:
    from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

    dtype = pick_dtype(device)
    try:
        with quiet_transformers():
            model, info = CLIPModel.from_pretrained(model_id, dtype=dtype, output_loading_info=True)
            processor = AutoImageProcessor.from_pretrained(model_id)
            tokenizer = AutoTokenizer.from_pretrained(model_id)
    except Exception as exc:
        raise load_error(model_id, exc, "CLIP model (prompt and image fidelity)") from None
    refuse_partial(model_id, info, purpose="score prompt fidelity")
    return ClipEmbedder(model_id, model.to(device).eval(), processor, tokenizer, device, dtype)


def forget_loaded() -> None:
    _WARM.clear()
