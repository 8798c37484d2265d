"""Florence-2 through transformers' native ``Florence2ForConditionalGeneration`` (no remote code)."""

from __future__ import annotations

from pmd_tui.captioning.base import Captioner, GenerationOptions

TASKS = {"caption": "<CAPTION>", "detailed": "<DETAILED_CAPTION>", "more-detailed": "<MORE_DETAILED_CAPTION>"}
# a cap for checkpoints whose generation config sets no length of its own
MAX_NEW_TOKENS = {"caption": 64, "detailed": 160, "more-detailed": 320}
MODEL_TYPES = ("florence2",)


class FlorenceCaptioner(Captioner):
    family = "Florence-2"

    def prompt(self, task: str, instruction: str) -> str:
        return TASKS[task]

    def echoes(self, prompt: str) -> set[str]:
        asked = getattr(self.processor, "task_prompts_without_inputs", {}).get(prompt)
        return {prompt, asked} if asked else {prompt}

    def prepare(self, images: list, prompts: list[str]):
        """Processor work (resize, normalise, tokenise): runs on the loader thread, not the GPU's."""
        return self.processor(images=images, text=prompts, return_tensors="pt")

    def generate(self, inputs, options: GenerationOptions, *, max_new_tokens: int | None = None) -> list[str]:
        import torch

        inputs = self.to_device(inputs)
        with torch.inference_mode():
            out = self.model.generate(**inputs, **self.generate_kwargs(options, max_new_tokens))
        texts = self.processor.batch_decode(out, skip_special_tokens=True)
        return [" ".join(t.split()) for t in texts]


def load(source, config, device: str, dtype):
    from transformers import AutoProcessor, Florence2ForConditionalGeneration

    from pmd_tui.captioning.loading import from_pretrained

    if getattr(config, "auto_map", None):
        from pmd_tui.model_runtime import ModelError

        raise ModelError(f"{source.spec} is a remote-code Florence-2 checkpoint; use the converted "
                         "florence-community/Florence-2-* checkpoints, which load natively")
    model = from_pretrained(Florence2ForConditionalGeneration, source, dtype, hint="; use a native Florence-2 "
                            "checkpoint (florence-community/Florence-2-*)")
    processor = AutoProcessor.from_pretrained(source.spec, local_files_only=source.local_only)
    return FlorenceCaptioner(source.spec, model, processor, device, dtype)
