"""Captions and readme (submission rule 6): encodings, empties, captioning method, trigger words."""

from __future__ import annotations

import re

from pmd_tui.checks.model import CheckContext, finding, names, plural

RULES = (
    "captions.empty",
    "captions.encoding",
    "readme.missing",
    "readme.caption-method",
    "readme.trigger-word",
)
TRIGGER_MAJORITY = 0.5


def _triggers(value: str | None) -> list[str]:
    if not value:
        return []
    return [t.strip().lower() for t in re.split(r"[,;/|]| or ", value) if t.strip()]


def _folder_trigger(concept: str | None) -> str | None:
    """A kohya repeat folder is named ``N_<token> <class>``: the token is the folder's trigger word."""
    words = (concept or "").lower().split()
    return " ".join(words[:-1]) if len(words) >= 2 else None


def check(ctx: CheckContext) -> list[dict]:
    return [empty_captions(ctx), encodings(ctx), readme_missing(ctx), caption_method(ctx), trigger_word(ctx)]


def empty_captions(ctx: CheckContext) -> dict:
    empty = [f for f in ctx.captioned if not (f["caption"] or "").strip()]
    if empty:
        return finding("captions.empty", "warn", f"{plural(len(empty), 'caption')} empty: {names(empty)}",
                       [f["name"] for f in empty])
    return finding("captions.empty", "pass", "no empty caption")


def encodings(ctx: CheckContext) -> dict:
    texts = [f for f in ctx.files if f["caption_encoding"] and f["kind"] in ("image", "readme", "orphan-caption")]
    legacy = [f for f in texts if f["caption_encoding"] not in ("utf-8", "utf-8-bom")]
    bom = [f for f in texts if f["caption_encoding"] == "utf-8-bom"]

    def label(f):
        return f["name"] if f["kind"] != "image" else (f["caption_file"] or f["name"]).rsplit("/", 1)[-1]

    if legacy:
        encs = ", ".join(sorted({f["caption_encoding"] for f in legacy}))
        return finding("captions.encoding", "warn",
                       f"{plural(len(legacy), 'text file')} not UTF-8, re-decoded as {encs}: "
                       f"{names([label(f) for f in legacy])}", [f["name"] for f in legacy])
    if bom:
        return finding("captions.encoding", "info", f"byte-order mark removed from {plural(len(bom), 'file')}",
                       [f["name"] for f in bom])
    return finding("captions.encoding", "pass", "all text files are UTF-8")


def readme_missing(ctx: CheckContext) -> dict:
    has_readme = bool(ctx.of_kind("readme"))
    if ctx.has_submitted_captions and not has_readme:
        return finding("readme.missing", "warn",
                       "captions are included but there is no readme.txt (captioning method, trigger words)")
    return finding("readme.missing", "pass", "readme.txt present" if has_readme else "no captions to explain")


def caption_method(ctx: CheckContext) -> dict:
    method = ctx.submission.get("caption_method")
    if ctx.has_submitted_captions and not method:
        return finding("readme.caption-method", "warn", "the readme does not say how the captions were made")
    return finding("readme.caption-method", "pass", f"captioning method: {method or 'Florence-2 (to be generated)'}")


def trigger_word(ctx: CheckContext) -> dict:
    sub = ctx.submission
    triggers = _triggers(sub.get("trigger_words"))
    captioned = [f for f in ctx.captioned if (f["caption"] or "").strip()]
    if not captioned:
        return finding("readme.trigger-word", "pass", "no captions yet")
    if not triggers:
        return _no_trigger_stated(ctx, captioned)
    lacking = [f for f in captioned if not any(t in f["caption"].lower() for t in triggers)]
    share = 1 - len(lacking) / len(captioned)
    if share < TRIGGER_MAJORITY:
        return finding("readme.trigger-word", "warn",
                       f"trigger {sub['trigger_words']!r} appears in only {share:.0%} of captions",
                       [f["name"] for f in lacking])
    return finding("readme.trigger-word", "pass", f"trigger {sub['trigger_words']!r} appears in {share:.0%} of captions")


def _no_trigger_stated(ctx: CheckContext, captioned: list[dict]) -> dict:
    """No trigger word given: a kohya folder's token used by most captions is one; else warn on submitted captions."""
    folder = _folder_trigger(ctx.submission.get("concept"))
    used = [f for f in captioned if folder and folder in f["caption"].lower()]
    if folder and len(used) / len(captioned) >= TRIGGER_MAJORITY:
        return finding("readme.trigger-word", "info",
                       f"no trigger word stated; the kohya folder's {folder!r} appears in "
                       f"{len(used) / len(captioned):.0%} of captions (set it with m / pmd-tui edit)",
                       trigger=folder)
    if ctx.has_submitted_captions:
        return finding("readme.trigger-word", "warn", "no trigger word is stated in the readme or issue")
    return finding("readme.trigger-word", "pass", "generated captions; no trigger word set")
