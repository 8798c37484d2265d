"""Caption lint: what makes captions train badly, whoever wrote them (contributor or captioner).

- ``captions.trigger-missing``: the trigger word is absent from some captions (each one listed), so those
  images teach the concept without its token;
- ``captions.duplicate``: one caption shared by many images, which then teach nothing that tells them apart;
- ``captions.too-long``: captions past ``caption_max_words`` (default 55 words, about the 75 tokens a
  CLIP text encoder reads: SD 1.5 / SDXL trainers cut the rest off).
"""

from __future__ import annotations

import re
from collections import defaultdict

from pmd_tui.checks.model import CheckContext, finding, names, plural
from pmd_tui.checks.rules.text import _triggers

RULES = ("captions.trigger-missing", "captions.duplicate", "captions.too-long")
DUPLICATE_MIN = 3  # images sharing one caption before it is a finding
DUPLICATE_SHARE = 0.2  # ... and at least this share of the captioned images


def _has(caption: str, trigger: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(trigger)}(?!\w)", caption, re.I) is not None


def _norm(caption: str) -> str:
    return " ".join(caption.lower().split()).strip(" .,;")


def check(ctx: CheckContext) -> list[dict]:
    captioned = [f for f in ctx.captioned if (f["caption"] or "").strip()]
    return [trigger_missing(ctx, captioned), duplicate(captioned), too_long(captioned, ctx.settings.caption_max_words)]


def trigger_missing(ctx: CheckContext, captioned: list[dict]) -> dict:
    triggers = _triggers(ctx.submission.get("trigger_words"))
    if not triggers:
        return finding("captions.trigger-missing", "pass", "no trigger word set")
    if not captioned:
        return finding("captions.trigger-missing", "pass", "no captions yet")
    lacking = [f for f in captioned if not any(_has(f["caption"], t) for t in triggers)]
    if not lacking:
        return finding("captions.trigger-missing", "pass", f"every caption has the trigger word {triggers[0]!r}")
    return finding("captions.trigger-missing", "warn",
                   f"{plural(len(lacking), 'caption')} of {len(captioned)} without the trigger word "
                   f"{' or '.join(repr(t) for t in triggers)}: {names(lacking, 5)}", [f["name"] for f in lacking])


def duplicate(captioned: list[dict]) -> dict:
    groups: dict[str, list[dict]] = defaultdict(list)
    for f in captioned:
        groups[_norm(f["caption"])].append(f)
    least = max(DUPLICATE_MIN, int(len(captioned) * DUPLICATE_SHARE + 0.999))
    shared = sorted((g for g in groups.values() if len(g) >= least), key=len, reverse=True)
    if not shared:
        return finding("captions.duplicate", "pass", "no caption is shared by many images")
    top = shared[0]
    text = top[0]["caption"].strip()
    shown = text if len(text) <= 60 else text[:57] + "..."
    more = f" (and {plural(len(shared) - 1, 'other shared caption')})" if len(shared) > 1 else ""
    return finding("captions.duplicate", "warn",
                   f"{len(top)} of {len(captioned)} images have the same caption {shown!r}: {names(top, 4)}{more}",
                   [f["name"] for g in shared for f in g], groups=[[f["name"] for f in g] for g in shared])


def too_long(captioned: list[dict], budget: int) -> dict:
    long = [(f, len(f["caption"].split())) for f in captioned if len(f["caption"].split()) > budget]
    if not long:
        return finding("captions.too-long", "pass", f"every caption within {budget} words")
    worst = max(n for _, n in long)
    return finding("captions.too-long", "warn",
                   f"{plural(len(long), 'caption')} over {budget} words (longest {worst}; CLIP-based trainers read "
                   f"about 75 tokens): {names([f for f, _ in long], 5)}", [f["name"] for f, _ in long],
                   budget=budget)
