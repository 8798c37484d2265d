"""Evaluation prompts per concept type, in the spirit of DreamBench's 25 prompts (Ruiz et al., 2023).

Templates use ``{subject}``, filled with the dataset's trigger word and class word ("ohwx dog"); for
prompt fidelity the trigger word is dropped ("a dog in the jungle"), since CLIP does not know it.
"""

from __future__ import annotations

import re

# DreamBench's prompts for objects (recontextualisation and property modification).
OBJECT = [
    "a {subject} in the jungle", "a {subject} in the snow", "a {subject} on the beach",
    "a {subject} on a cobblestone street", "a {subject} on top of pink fabric", "a {subject} on top of a wooden floor",
    "a {subject} with a city in the background", "a {subject} with a mountain in the background",
    "a {subject} with a blue house in the background", "a {subject} on top of a purple rug in a forest",
    "a {subject} with a wheat field in the background", "a {subject} with a tree and autumn leaves in the background",
    "a {subject} with the Eiffel Tower in the background", "a {subject} floating on top of water",
    "a {subject} floating in an ocean of milk", "a {subject} on top of green grass with sunflowers around it",
    "a {subject} on top of a mirror", "a {subject} on top of the sidewalk in a crowded street",
    "a {subject} on top of a dirt road", "a {subject} on top of a white rug", "a red {subject}",
    "a purple {subject}", "a shiny {subject}", "a wet {subject}", "a cube shaped {subject}",
]

# Likeness sets: places, clothing, actions and renditions, as DreamBench does for live subjects.
PERSON = [
    "a photo of {subject} in the jungle", "a photo of {subject} in the snow", "a photo of {subject} on the beach",
    "a photo of {subject} on a cobblestone street", "a photo of {subject} with a city in the background",
    "a photo of {subject} with a mountain in the background", "a photo of {subject} in a library",
    "a photo of {subject} in a kitchen, cooking", "a photo of {subject} riding a bicycle",
    "a photo of {subject} with the Eiffel Tower in the background", "a photo of {subject} in a wheat field",
    "a photo of {subject} wearing a red hat", "a photo of {subject} wearing a santa hat",
    "a photo of {subject} wearing sunglasses", "a photo of {subject} wearing a rainbow scarf",
    "a photo of {subject} in a chef outfit", "a photo of {subject} in a firefighter outfit",
    "a photo of {subject} in a police outfit", "a photo of {subject} wearing a black top hat",
    "a close-up portrait of {subject}, smiling", "a photo of {subject} reading a book",
    "an oil painting of {subject}", "a pencil sketch of {subject}", "a cartoon drawing of {subject}",
    "a photo of {subject} as an astronaut on the moon",
]

# Style sets: varied subjects rendered in the style.
STYLE = [
    "a lighthouse on a cliff, {subject}", "a portrait of an old fisherman, {subject}", "a bowl of fruit, {subject}",
    "a city street at night in the rain, {subject}", "a cat sleeping on a windowsill, {subject}",
    "a mountain lake at sunrise, {subject}", "a red sports car, {subject}", "a medieval castle, {subject}",
    "a busy market square, {subject}", "a child flying a kite, {subject}", "a forest path in autumn, {subject}",
    "a cup of coffee on a table, {subject}", "a dragon flying over a village, {subject}",
    "a sailing ship in a storm, {subject}", "a robot reading a newspaper, {subject}", "a field of sunflowers, {subject}",
    "a snowy village at dusk, {subject}", "a woman with an umbrella, {subject}", "a bicycle leaning on a wall, {subject}",
    "a tiger in tall grass, {subject}", "an astronaut on the moon, {subject}", "a bridge over a river, {subject}",
    "a bookshop interior, {subject}", "a horse running on a beach, {subject}", "a bustling train station, {subject}",
]

DEFAULTS = {"person": PERSON, "style": STYLE, "object": OBJECT, "other": OBJECT}
DEFAULT_CLASS = {"person": "person", "style": "art style", "object": "object", "other": "object"}


def default_prompts(concept_type: str | None) -> list[str]:
    return list(DEFAULTS.get(concept_type or "other", OBJECT))


def first_trigger(sub: dict) -> str:
    return (sub.get("trigger_words") or "").split(",")[0].strip()


def subject_phrase(sub: dict, *, with_trigger: bool = True) -> str:
    """"ohwx dog" for prompts to the finetuned model; "dog" for CLIP, which does not know the trigger."""
    cls = (sub.get("class_word") or DEFAULT_CLASS.get(sub.get("concept_type") or "other", "object")).strip()
    trigger = first_trigger(sub) if with_trigger else ""
    return " ".join(p for p in (trigger, cls) if p)


def templates(sub: dict, stored: list[str] | None) -> list[str]:
    return stored if stored else default_prompts(sub.get("concept_type"))


def render(template: str, sub: dict, *, with_trigger: bool = True) -> str:
    text = template.replace("{subject}", subject_phrase(sub, with_trigger=with_trigger))
    return re.sub(r"\s+", " ", text).strip()


def without_trigger(prompt: str, sub: dict) -> str:
    """A sample's prompt as CLIP should read it: the trigger word(s) removed."""
    out = prompt
    for word in (w.strip() for w in (sub.get("trigger_words") or "").split(",")):
        if word:
            out = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", " ", out, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", out).strip(" ,")
