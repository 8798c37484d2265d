"""Named captioning methods, so that the method recorded in a dataset's readme stays consistent.

``default`` is the configured ``caption_model`` with Florence-2's detailed task and the checkpoint's own
generation settings; ``maintainer`` is the meta-dataset maintainer's documented method (Florence-2-base,
``<CAPTION>``, 3 beams); ``joycaption`` and ``qwen2.5-vl`` are the two instruction-following captioners.
Options given on top of a preset make the run ``custom``; the label and every setting are recorded.

The chat captioners get an instruction that names the trigger word and asks them not to describe what
the finetune should learn (a person's face and hair, a style's look); it is editable per concept type
in the config (``[caption_prompts]``), with ``{trigger}`` for the trigger word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

from pmd_tui.captioning.base import GenerationOptions
from pmd_tui.captioning.florence import TASKS
from pmd_tui.errors import InputError

_COMMON = ("Write one caption for this image, as training data for an image generator. Call the subject "
           "\"{trigger}\". Describe what changes from image to image: pose, expression, clothing, action, setting, "
           "lighting, framing, and the kind of image (photo, drawing, ...). ")
PROMPTS = {
    "person": _COMMON + ("Do not describe the fixed traits of {trigger}: face, hair, eye colour, skin tone or body "
                         "shape. Plain sentences, under 50 words."),
    "style": ("Write one caption for this image, as training data for an image generator. Begin with "
              "\"{trigger} style\". Describe what is shown: subjects, setting, composition. Do not describe the art "
              "style, medium, technique or colour palette. Plain sentences, under 50 words."),
    "object": _COMMON + ("Do not describe the fixed look of {trigger}: its shape, colours, material or markings. "
                         "Plain sentences, under 50 words."),
    "other": _COMMON + "Plain sentences, under 50 words.",
}
NO_TRIGGER = "the main subject"


@dataclass(frozen=True)
class Preset:
    name: str
    model: str | None  # None: the config's caption_model
    task: str  # Florence-2 task; the chat families use the instruction instead
    num_beams: int | None
    about: str


PRESETS = {p.name: p for p in (
    Preset("default", None, "detailed", None,
           "the configured caption_model, detailed caption, the checkpoint's generation settings"),
    Preset("maintainer", "florence-community/Florence-2-base", "caption", 3,
           "the maintainer's documented method: Florence-2-base, <CAPTION>, 3 beams"),
    Preset("joycaption", "fancyfeast/llama-joycaption-beta-one-hf-llava", "detailed", None,
           "JoyCaption Beta One (LLaVA) with the instruction prompt"),
    Preset("qwen2.5-vl", "Qwen/Qwen2.5-VL-7B-Instruct", "detailed", None,
           "Qwen2.5-VL 7B Instruct with the instruction prompt"),
)}


@dataclass(frozen=True)
class Plan:
    """A resolved run: which model, task or instruction, and generation options; and how to record it."""

    preset: str
    custom: bool
    model: str
    task: str
    options: GenerationOptions
    prompts: dict[str, str] = field(default_factory=lambda: dict(PROMPTS))
    prompt_given: bool = False

    @property
    def label(self) -> str:
        return "custom" if self.custom else self.preset

    def instruction(self, trigger: str | None, concept_type: str | None) -> str:
        template = self.prompts.get(concept_type or "other") or self.prompts.get("other") or PROMPTS["other"]
        return template.replace("{trigger}", trigger or NO_TRIGGER)

    def method(self, family: str, chat: bool) -> str:
        """The captioning method as recorded per caption and in the published readme."""
        what = "instruction prompt" if chat else TASKS[self.task]
        if self.prompt_given and chat:
            what = "custom instruction prompt"
        beams = f", {self.options.num_beams} beams" if self.options.num_beams else ""
        tokens = f", max {self.options.max_new_tokens} tokens" if self.options.max_new_tokens else ""
        return f"{family} ({PurePath(self.model).name}, {what}{beams}{tokens}; preset {self.label})"


def resolve(settings, *, preset: str | None = None, model: str | None = None, task: str | None = None,
            num_beams: int | None = None, max_new_tokens: int | None = None, min_new_tokens: int | None = None,
            prompt: str | None = None) -> Plan:
    name = preset or "default"
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}: use {', '.join(PRESETS)}")
    if task is not None and task not in TASKS:
        raise InputError(f"unknown task {task!r}: use {', '.join(TASKS)}")
    p = PRESETS[name]
    base_model = p.model or settings.caption_model
    chosen_model = model or base_model
    custom = (chosen_model != base_model or (task is not None and task != p.task)
              or (num_beams is not None and num_beams != p.num_beams) or max_new_tokens is not None
              or min_new_tokens is not None or bool(prompt))
    prompts = dict(PROMPTS)
    prompts.update(getattr(settings, "caption_prompts", None) or {})
    if prompt:
        prompts = {k: prompt for k in prompts}
    options = GenerationOptions(num_beams=num_beams if num_beams is not None else p.num_beams,
                                max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens)
    return Plan(preset=name, custom=custom, model=chosen_model, task=task or p.task, options=options,
                prompts=prompts, prompt_given=bool(prompt))
