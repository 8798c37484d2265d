"""JoyCaption (Beta One, ``fancyfeast/llama-joycaption-beta-one-hf-llava``): a LLaVA model native to
transformers (``LlavaForConditionalGeneration``), prompted with an instruction through its chat template."""

from __future__ import annotations

from pmd_tui.captioning.base import ChatCaptioner

MODEL_TYPES = ("llava",)


class JoyCaptioner(ChatCaptioner):
    family = "JoyCaption"

    def chat_text(self, instruction: str) -> str:
        # JoyCaption's own template puts the image in front of the first user message, given as plain text
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": instruction}]
        text = self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        token = getattr(self.processor, "image_token", "<image>")
        if token not in text:  # a template that leaves the image to the caller
            messages[-1]["content"] = f"{token}\n{instruction}"
            text = self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return text


def load(source, config, device: str, dtype):
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    from pmd_tui.captioning.loading import from_pretrained

    model = from_pretrained(LlavaForConditionalGeneration, source, dtype)
    processor = AutoProcessor.from_pretrained(source.spec, local_files_only=source.local_only)
    processor.tokenizer.padding_side = "left"  # batched generation continues every prompt from its end
    return JoyCaptioner(source.spec, model, processor, device, dtype)
