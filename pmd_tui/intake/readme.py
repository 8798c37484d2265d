"""Reading what a contributor wrote (readme.txt or issue text): trigger words, captioning method, concept."""

from __future__ import annotations

import re

_TRIGGER = re.compile(
    r"\b(?:trigger(?:\s*words?|\s*tokens?|\s*phrase)?|activation\s*(?:words?|tags?|tokens?)|"
    r"instance\s*(?:tokens?|prompt|words?)|token|keywords?)\s*[:=\-]\s*(?P<v>.+)$",
    re.I | re.M,
)
_METHOD_LINE = re.compile(
    r"\b(?:caption(?:s|ing|ed)?(?:\s*(?:method|model|tool|by|with|using|style))?|tagged\s*(?:with|by)|"
    r"tagger)\s*[:=\-]\s*(?P<v>.+)$",
    re.I | re.M,
)
# Known captioning tools and methods, in the order they should win when several are named.
METHODS: list[tuple[str, re.Pattern]] = [
    ("Florence-2", re.compile(r"florence[\s-]?2?", re.I)),
    ("JoyCaption", re.compile(r"joy[\s-]?caption", re.I)),
    ("BLIP-2", re.compile(r"blip[\s-]?2", re.I)),
    ("BLIP", re.compile(r"\bblip\b", re.I)),
    ("WD14 tagger", re.compile(r"\bwd[\s-]?(?:14|1\.4|v3|eva|swinv2|vit)|waifu\s*diffusion\s*tagger|wd\s*tagger", re.I)),
    ("CogVLM", re.compile(r"cog\s*vlm", re.I)),
    ("LLaVA", re.compile(r"llava", re.I)),
    ("Qwen-VL", re.compile(r"qwen[\s-]?\d*(?:\.\d)?[\s-]?vl", re.I)),
    ("InternVL", re.compile(r"intern\s*vl", re.I)),
    ("Moondream", re.compile(r"moondream", re.I)),
    ("GPT-4", re.compile(r"gpt[\s-]?4\w*|chat\s*gpt", re.I)),
    ("Gemini", re.compile(r"gemini", re.I)),
    ("Claude", re.compile(r"\bclaude\b", re.I)),
    ("booru tags", re.compile(r"\b(?:dan|gel|safe)?booru\b", re.I)),
    ("manual", re.compile(r"\b(?:manual(?:ly)?|by hand|hand[\s-]?(?:written|captioned|made))\b", re.I)),
]
_PERSON = re.compile(r"\b(person|man|woman|girl|boy|face|likeness|selfie|portrait|myself|celebrity|actor|actress)\b", re.I)
_STYLE = re.compile(r"\b(style|artist|art\s*style|painting|illustration|aesthetic)\b", re.I)
_OBJECT = re.compile(r"\b(object|product|toy|dog|cat|car|backpack|bottle|teapot|vase|shoe|plush|item)\b", re.I)


def _clean_value(v: str) -> str:
    v = re.split(r"\.\s|;", v + " ", maxsplit=1)[0].rstrip(". ")
    v = v.strip().strip("`'\"*").strip()
    return re.sub(r"\s+", " ", v)


def trigger_words(text: str | None) -> str | None:
    if not text:
        return None
    m = _TRIGGER.search(text)
    if not m:
        return None
    value = _clean_value(m.group("v"))
    return value or None


def caption_method(text: str | None) -> str | None:
    """The captioning method a contributor names, normalised to a known tool when possible."""
    if not text:
        return None
    m = _METHOD_LINE.search(text)
    scope = m.group("v") if m else text
    for canonical, pattern in METHODS:
        if pattern.search(scope):
            return canonical
    if m:
        return _clean_value(m.group("v"))[:80] or None
    return None


def concept_type(*texts: str | None) -> str | None:
    """A first guess at person / style / object; the maintainer can always correct it."""
    joined = " ".join(t for t in texts if t)
    if not joined:
        return None
    if _STYLE.search(joined):
        return "style"
    if _PERSON.search(joined):
        return "person"
    if _OBJECT.search(joined):
        return "object"
    return None
