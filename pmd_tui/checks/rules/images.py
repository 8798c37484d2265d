"""Image rules (submission rule 4): corrupt, upscaled, small, duplicates (in the set, the queue and published
sets), metadata. Quality rules (blurry, dark, ...) are in ``quality.py``."""

from __future__ import annotations

from collections import defaultdict

from pmd_tui.checks.analysis import matchable_phash
from pmd_tui.checks.model import CheckContext, finding, names, plural
from pmd_tui.checks.neardup import HashIndex, find_near_duplicates
from pmd_tui.imaging.fixes import VALID_ROTATIONS
from pmd_tui.imaging.upscale import verdict

RULES = (
    "images.corrupt",
    "images.upscaled",
    "images.small",
    "images.duplicate",
    "images.near-duplicate",
    "images.published-duplicate",
    "images.queue-duplicate",
    "images.gps-metadata",
    "images.exif-rotation",
    "images.cmyk",
    "images.16bit",
    "images.alpha",
    "images.animated",
    "images.unusual-format",
)
COMMON_FORMATS = ("JPEG", "MPO", "PNG", "WEBP")  # MPO: a camera JPEG with a second (preview) image
NEAR_DUPLICATE_BITS = 6  # Hamming distance between 64-bit perceptual hashes


def _flag(ctx: CheckContext, key) -> list[str]:
    return [n for n, a in ctx.analyses.items() if a.get("ok") and key(a)]


def _verb(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _info(rule: str, hit: list[str], what: tuple[str, str], fine: str) -> dict:
    if hit:
        return finding(rule, "info", f"{plural(len(hit), 'image')} {_verb(len(hit), *what)}: {names(hit)}", hit)
    return finding(rule, "pass", fine)


def _matches(ctx: CheckContext, others: list[dict]) -> dict[str, dict]:
    """This set's image name -> the other image it duplicates (same bytes, else a near-identical hash)."""
    by_sha = {}
    for p in others:
        if p.get("sha256"):
            by_sha.setdefault(p["sha256"], p)
    with_ph = [p for p in others if p.get("phash")]
    index = HashIndex([int(p["phash"], 16) for p in with_ph], NEAR_DUPLICATE_BITS) if with_ph else None
    hits = {}
    for f in ctx.images:
        p = by_sha.get(f["sha256"]) if f["sha256"] else None
        if p is None and index is not None:
            ph = matchable_phash(ctx.analyses.get(f["name"]))
            if ph:
                js, _ds, _work = index.near(int(ph, 16))
                p = with_ph[int(js.min())] if len(js) else None
        if p is not None:
            hits[f["name"]] = p
    return hits


def _others(hits: dict[str, dict]) -> str:
    subs = {}
    for p in hits.values():
        subs.setdefault(p["submission_id"], p["dataset"])
    shown = [f"#{sid} {name}" for sid, name in list(subs.items())[:3]]
    more = f" and {len(subs) - 3} more" if len(subs) > 3 else ""
    return ("submission " if len(subs) == 1 else "submissions ") + ", ".join(shown) + more


def check(ctx: CheckContext) -> list[dict]:
    """One finding per rule, in the order of RULES."""
    exact = _exact_duplicates(ctx)
    return [_corrupt(ctx), _upscaled(ctx), _small(ctx), _duplicate_finding(exact), _near_duplicates(ctx, exact),
            _published_duplicates(ctx), _queue_duplicates(ctx), *_metadata_findings(ctx)]


def _corrupt(ctx: CheckContext) -> dict:
    bad = {n: a["error"] for n, a in ctx.analyses.items() if not a.get("ok")}
    if not bad:
        return finding("images.corrupt", "pass", "every image decodes")
    first = next(iter(bad))
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return finding("images.corrupt", "fail", f"{plural(len(bad), 'image')} unusable: {first}: {bad[first]}{more}",
                   list(bad), errors=bad)


def _upscaled(ctx: CheckContext) -> dict:
    ups = {}
    for name, a in ctx.analyses.items():
        if a.get("ok"):
            v = verdict(a.get("upscale"), a["width"], a["height"])
            if v:
                ups[name] = v
    if not ups:
        return finding("images.upscaled", "pass", "every image has pixel-level detail somewhere (no upscaling seen)")
    first = next(iter(ups))
    nw, nh = ups[first]["native"]
    return finding("images.upscaled", "warn",
                   f"{plural(len(ups), 'image')} {_verb(len(ups), 'looks', 'look')} upscaled, e.g. {first}: "
                   f"{ups[first]['why']}; consistent with a ~{ups[first]['factor']:g}x upscale from about {nw}x{nh}",
                   list(ups), estimates={n: {"factor": v["factor"], "native": list(v["native"]), "why": v["why"]}
                                         for n, v in ups.items()})


def _small(ctx: CheckContext) -> dict:
    limit = ctx.settings.limits.min_short_side
    small = [n for n, a in ctx.analyses.items() if a.get("width") and min(a["width"], a["height"]) < limit]
    if not small:
        return finding("images.small", "pass", f"every image is at least {limit} px on its short side")
    return finding("images.small", "warn", f"{plural(len(small), 'image')} with a short side under {limit} px: "
                   f"{names(small)}", small)


def _exact_duplicates(ctx: CheckContext) -> list[list[str]]:
    """Groups of images with the same content hash."""
    by_hash = defaultdict(list)
    for f in ctx.images:
        if f["sha256"]:
            by_hash[f["sha256"]].append(f["name"])
    return [g for g in by_hash.values() if len(g) > 1]


def _duplicate_finding(dupes: list[list[str]]) -> dict:
    if not dupes:
        return finding("images.duplicate", "pass", "no identical images")
    return finding("images.duplicate", "warn", f"{plural(len(dupes), 'set')} of identical images: "
                   + "; ".join(" = ".join(g) for g in dupes[:3]), [n for g in dupes for n in g], groups=dupes)


def _near_duplicates(ctx: CheckContext, dupes: list[list[str]]) -> dict:
    """Resized or re-encoded copies by perceptual hash (identical files are already reported)."""
    exact = {n for g in dupes for n in g}
    hashes = [(n, int(ph, 16)) for n, a in ctx.analyses.items()
              if a.get("ok") and n not in exact and (ph := matchable_phash(a))]
    near = find_near_duplicates(hashes, NEAR_DUPLICATE_BITS)
    if not near.pair_count:
        return finding("images.near-duplicate", "pass", "no near-identical images")
    count = f"{'at least ' if near.truncated else ''}{plural(near.pair_count, 'pair')}"
    groups = f" in {plural(near.group_count, 'group')}" if near.group_count > 1 else ""
    return finding("images.near-duplicate", "warn", f"{count} of near-identical images{groups} "
                   f"(resized or re-encoded copies): " + "; ".join(f"{a} ~ {b}" for a, b, _ in near.pairs[:3]),
                   near.files, pairs=[list(p) for p in near.pairs], pair_count=near.pair_count,
                   groups=near.groups, group_count=near.group_count, truncated=near.truncated)


def _published_duplicates(ctx: CheckContext) -> dict:
    hits = _matches(ctx, ctx.published)
    if not hits:
        return finding("images.published-duplicate", "pass", "no image is already in a published set")
    first = next(iter(hits))
    return finding("images.published-duplicate", "warn",
                   f"{plural(len(hits), 'image')} already published, e.g. {first} = "
                   f"{hits[first]['dataset']}/{hits[first]['name']}",
                   list(hits), matches={n: f"{p['dataset']}/{p['name']}" for n, p in hits.items()})


def _queue_duplicates(ctx: CheckContext) -> dict:
    hits = _matches(ctx, ctx.queued)
    if not hits:
        return finding("images.queue-duplicate", "pass", "no image is also in another queued or approved submission")
    subs = sorted({p["submission_id"] for p in hits.values()})
    first = next(iter(hits))
    p = hits[first]
    return finding("images.queue-duplicate", "warn",
                   f"{plural(len(hits), 'image')} also in {_others(hits)}, e.g. {first} = "
                   f"#{p['submission_id']} {p['dataset']}/{p['name']} ({p['status']})",
                   list(hits), submissions=subs,
                   matches={n: {"submission": p["submission_id"], "name": p["name"]} for n, p in hits.items()})


def _metadata_findings(ctx: CheckContext) -> list[dict]:
    """Location metadata, then what loaders handle but a maintainer may want to know."""
    gps = _flag(ctx, lambda a: a.get("gps"))
    out = [finding("images.gps-metadata", "warn", f"{plural(len(gps), 'image')} {_verb(len(gps), 'carries', 'carry')} "
                   f"location metadata (stripped on publish): {names(gps)}", gps)
           if gps else finding("images.gps-metadata", "pass", "no location metadata")]
    out.append(_info("images.exif-rotation", _flag(ctx, lambda a: a.get("orientation", 1) in VALID_ROTATIONS),
                     ("is rotated by EXIF orientation (viewers and trainers apply it)",
                      "are rotated by EXIF orientation (viewers and trainers apply it)"), "no EXIF rotation"))
    out.append(_info("images.cmyk", _flag(ctx, lambda a: a.get("cmyk")), ("is CMYK (converted by loaders)", "are CMYK (converted by loaders)"),
                     "no CMYK images"))
    out.append(_info("images.16bit", _flag(ctx, lambda a: a.get("bits", 8) > 8), ("has 16 bits per channel", "have 16 bits per channel"),
                     "8 bits per channel"))
    out.append(_info("images.alpha", _flag(ctx, lambda a: a.get("alpha")), ("has an alpha channel", "have an alpha channel"),
                     "no transparency"))
    # a camera's MPO file holds a second, preview image: it is a photo, not an animation
    out.append(_info("images.animated", _flag(ctx, lambda a: a.get("animated") and a.get("format") != "MPO"),
                     ("is animated (the first frame is used)", "are animated (the first frame is used)"), "no animated images"))
    unusual = _flag(ctx, lambda a: a.get("format") not in COMMON_FORMATS)
    out.append(_info("images.unusual-format", unusual,
                     ("is not JPEG, PNG or WebP (F converts it to PNG losslessly)",
                      "are not JPEG, PNG or WebP (F converts them to PNG losslessly)"), "JPEG, PNG and WebP only"))
    return out
