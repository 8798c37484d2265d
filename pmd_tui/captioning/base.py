"""One captioner interface for every model family, and what the families share.

A family module (``florence.py``, ``joycaption.py``, ``qwen.py``) loads its checkpoint and implements
``prompt`` (what is asked for one image), ``prepare`` (processor work on the loader thread) and
``generate`` (the model on the GPU). The pipeline in ``service.py`` knows nothing else about them.

Generation respects the checkpoint: only what the maintainer set (beams, maximum new tokens) is passed to
``generate()``; everything else (Florence-2's ``no_repeat_ngram_size``, Qwen's sampling settings, ...) comes
from the checkpoint's ``generation_config``. A value passed explicitly, even ``None``, would override it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

FALLBACK_MAX_LENGTH = 20  # transformers' global default when a checkpoint sets no length of its own


@dataclass(frozen=True)
class GenerationOptions:
    """What the maintainer chose; ``None`` leaves it to the checkpoint's generation config."""

    num_beams: int | None = None
    max_new_tokens: int | None = None
    min_new_tokens: int | None = None  # benchmarks: a fixed number of tokens per image


@dataclass
class Captioner:
    model_id: str
    model: object
    processor: object
    device: str
    dtype: object

    family: ClassVar[str] = "?"
    # a cap on new tokens when neither the maintainer nor the checkpoint sets a length (see generate_kwargs)
    default_max_new_tokens: ClassVar[int] = 256

    @property
    def image_size(self) -> int:
        """The side the processor resizes to (the loader decodes at most twice this)."""
        size = getattr(getattr(self.processor, "image_processor", None), "size", None) or {}
        return int(size.get("height") or size.get("shortest_edge") or 768)

    def prompt(self, task: str, instruction: str) -> str:
        """The text sent with one image: a Florence-2 task token, or a chat family's instruction."""
        raise NotImplementedError

    def echoes(self, prompt: str) -> set[str]:
        """Texts that, as an output, only repeat the prompt."""
        return {prompt}

    def prepare(self, images: list, prompts: list[str]):
        raise NotImplementedError

    def generate(self, inputs, options: GenerationOptions, *, max_new_tokens: int | None = None) -> list[str]:
        raise NotImplementedError

    def split(self, inputs, start: int, stop: int):
        """Images ``start:stop`` of a prepared batch (out-of-memory back-off generates a batch in parts)."""
        from transformers import BatchFeature

        return BatchFeature({k: v[start:stop] for k, v in inputs.items()})

    def generate_kwargs(self, options: GenerationOptions, default_max_new_tokens: int | None = None) -> dict:
        """Only the options that were set. A length cap is added only when the checkpoint has none of its own,
        since transformers would otherwise stop after 20 tokens (prompt included for chat models)."""
        kwargs = {}
        if options.num_beams is not None:
            kwargs["num_beams"] = options.num_beams
        if options.min_new_tokens is not None:
            kwargs["min_new_tokens"] = options.min_new_tokens
        if options.max_new_tokens is not None:
            kwargs["max_new_tokens"] = options.max_new_tokens
        elif not self.checkpoint_sets_length():
            kwargs["max_new_tokens"] = default_max_new_tokens or self.default_max_new_tokens
        return kwargs

    def checkpoint_sets_length(self) -> bool:
        config = getattr(self.model, "generation_config", None)
        if config is None:
            return False
        return bool(getattr(config, "max_new_tokens", None)) or (
            getattr(config, "max_length", None) not in (None, FALLBACK_MAX_LENGTH))

    def to_device(self, inputs):
        inputs = inputs.to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs


class ChatCaptioner(Captioner):
    """Decoder-only vision-language models prompted through their chat template (JoyCaption, Qwen2.5-VL)."""

    system: ClassVar[str | None] = "You are a helpful image captioner."

    def prompt(self, task: str, instruction: str) -> str:
        return instruction

    def messages(self, instruction: str) -> list[dict]:
        out = [{"role": "system", "content": self.system}] if self.system else []
        return out + [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": instruction}]}]

    def chat_text(self, instruction: str) -> str:
        return self.processor.apply_chat_template(self.messages(instruction), tokenize=False,
                                                  add_generation_prompt=True)

    def prepare(self, images: list, prompts: list[str]):
        texts = [self.chat_text(p) for p in prompts]
        return self.processor(images=images, text=texts, return_tensors="pt", padding=True)

    def generate(self, inputs, options: GenerationOptions, *, max_new_tokens: int | None = None) -> list[str]:
        import torch

        inputs = self.to_device(inputs)
        with torch.inference_mode():
            out = self.model.generate(**inputs, **self.generate_kwargs(options, max_new_tokens))
        new = out[:, inputs["input_ids"].shape[1]:]  # left padding: every prompt ends at the same column
        texts = self.processor.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [" ".join(t.split()) for t in texts]
