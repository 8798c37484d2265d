"""Qwen2.5-VL (``Qwen2_5_VLForConditionalGeneration``, e.g. ``Qwen/Qwen2.5-VL-7B-Instruct``), native to
transformers, prompted with an instruction through its chat template.

``Qwen2_5_VLProcessor`` cannot be built without torchvision (for its video processor), which captioning does
not need, so the tokenizer and the image processor are used directly: ``QwenInputs`` expands each image
placeholder to the image's number of merged patches, as the processor does.
"""

from __future__ import annotations

from pmd_tui.captioning.base import ChatCaptioner

MODEL_TYPES = ("qwen2_5_vl",)
IMAGE_PAD = "<|image_pad|>"


class QwenInputs:
    """The part of ``Qwen2_5_VLProcessor`` that captioning uses: chat template, image tokens, batching."""

    def __init__(self, tokenizer, image_processor):
        self.tokenizer, self.image_processor = tokenizer, image_processor
        self.image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_PAD)

    def apply_chat_template(self, messages, **kwargs):
        return self.tokenizer.apply_chat_template(messages, **kwargs)

    def __call__(self, images, text, return_tensors="pt", padding=True):
        from transformers import BatchFeature

        vision = self.image_processor(images=images, return_tensors=return_tensors)
        merge = self.image_processor.merge_size ** 2
        counts = iter((vision["image_grid_thw"].prod(-1) // merge).tolist())
        expanded = []
        for t in text:
            parts = t.split(IMAGE_PAD)
            expanded.append(parts[0] + "".join(IMAGE_PAD * next(counts) + p for p in parts[1:]))
        tokens = self.tokenizer(expanded, return_tensors=return_tensors, padding=padding)
        mm = (tokens["input_ids"] == self.image_token_id).int()
        return BatchFeature({**tokens, **vision, "mm_token_type_ids": mm})


class QwenCaptioner(ChatCaptioner):
    family = "Qwen2.5-VL"
    system = None  # its template adds its own default system message

    @property
    def image_size(self) -> int:
        pixels = getattr(self.processor.image_processor, "max_pixels", None) or 1024 * 1024
        return int(pixels ** 0.5)

    def split(self, inputs, start: int, stop: int):
        """Patches of all images are concatenated: image i owns ``prod(image_grid_thw[i])`` rows."""
        from transformers import BatchFeature

        sizes = inputs["image_grid_thw"].prod(-1).tolist()
        first, last = sum(sizes[:start]), sum(sizes[:stop])
        out = {k: v[start:stop] for k, v in inputs.items() if k != "pixel_values"}
        out["pixel_values"] = inputs["pixel_values"][first:last]
        return BatchFeature(out)


def load(source, config, device: str, dtype):
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen2_5_VLForConditionalGeneration

    from pmd_tui.captioning.loading import from_pretrained

    model = from_pretrained(Qwen2_5_VLForConditionalGeneration, source, dtype)
    tokenizer = AutoTokenizer.from_pretrained(source.spec, local_files_only=source.local_only, padding_side="left")
    if not tokenizer.chat_template:
        tokenizer.chat_template = _processor_template(source)
    image_processor = AutoImageProcessor.from_pretrained(source.spec, local_files_only=source.local_only)
    return QwenCaptioner(source.spec, model, QwenInputs(tokenizer, image_processor), device, dtype)


def _processor_template(source) -> str | None:
    """Checkpoints that keep the chat template beside the processor only (chat_template.jinja or .json)."""
    import json
    from pathlib import Path

    from transformers.utils import cached_file

    for name in ("chat_template.jinja", "chat_template.json"):
        path = cached_file(source.spec, name, local_files_only=source.local_only,
                           _raise_exceptions_for_missing_entries=False)
        if path:
            text = Path(path).read_text(encoding="utf-8")
            return json.loads(text)["chat_template"] if name.endswith(".json") else text
    return None
