"""Image-quality findings with absolute thresholds that the message states (pmd_tui/imaging/quality.py).

Each names the images and the measured figure, so the maintainer can judge: a dark set may be the
point of a low-key style, a grayscale set of a black-and-white one.
"""

from __future__ import annotations

from pmd_tui.checks.model import CheckContext, finding, plural
from pmd_tui.imaging import quality as q

RULES = (
    "images.blurry",
    "images.dark",
    "images.bright",
    "images.low-information",
    "images.grayscale",
    "images.odd-aspect-ratio",
)


def _hits(ctx: CheckContext, test) -> dict[str, str]:
    """image name -> the figure that made it fire, for every analysed image where ``test`` says so."""
    out = {}
    for name, a in ctx.analyses.items():
        m = a.get("quality") if a.get("ok") else None
        if m is not None:
            why = test(a, m)
            if why:
                out[name] = why
    return out


def _shown(hits: dict[str, str], limit: int = 3) -> str:
    items = list(hits.items())
    text = ", ".join(f"{n} ({why})" for n, why in items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _rule(rule: str, level: str, hits: dict[str, str], what: str, fine: str, **data) -> dict:
    if not hits:
        return finding(rule, "pass", fine)
    return finding(rule, level, f"{plural(len(hits), 'image')} {what}: {_shown(hits)}", list(hits),
                   measured=hits, **data)


def _aspect(a: dict) -> float:
    w, h = a.get("width") or 0, a.get("height") or 0
    return max(w, h) / min(w, h) if min(w, h) else 0.0


def check(ctx: CheckContext) -> list[dict]:
    out = []
    flat = _hits(ctx, lambda a, m: (None if not q.is_flat(m) else f"spread {m['spread']:.1f} grey levels"
                                    if m["spread"] < q.FLAT_BELOW else f"{m['entropy']:.2f} bits"))
    out.append(_rule("images.low-information", "warn", flat,
                     f"{'is' if len(flat) == 1 else 'are'} flat or nearly (luminance spread under {q.FLAT_BELOW:g} "
                     f"grey levels, or under {q.FLAT_ENTROPY_BELOW:g} bits of tones): little to learn from",
                     "every image has tonal variety"))
    blurry = _hits(ctx, lambda a, m: (f"edge strength {m['sharpness']:.1f} = {q.edge_ratio(m):.2f} of contrast "
                                      f"{m['spread']:.0f}") if q.edge_ratio(m) < q.BLURRY_BELOW else None)
    blurry = {n: w for n, w in blurry.items() if n not in flat}  # a flat image is not also "blurry"
    out.append(_rule("images.blurry", "warn", blurry,
                     f"{'is' if len(blurry) == 1 else 'are'} blurry everywhere: even the sharpest regions have an edge "
                     f"strength (Laplacian RMS at {q.REFERENCE_SIDE} px) under {q.BLURRY_BELOW:g} of the image's "
                     f"contrast (luminance spread); a trainer would learn the blur",
                     f"every image has a sharp region (edge strength at least {q.BLURRY_BELOW:g} of its contrast)"))
    dark = _hits(ctx, lambda a, m: f"95% of pixels under {m['p95']}/255" if m["p95"] < q.DARK_BELOW else None)
    out.append(_rule("images.dark", "info", dark,
                     f"{'is' if len(dark) == 1 else 'are'} very dark (95% of pixels darker than {q.DARK_BELOW}/255)",
                     "no very dark image"))
    bright = _hits(ctx, lambda a, m: f"95% of pixels over {m['p5']}/255" if m["p5"] > q.BRIGHT_ABOVE else None)
    out.append(_rule("images.bright", "info", bright,
                     f"{'is' if len(bright) == 1 else 'are'} overexposed (95% of pixels brighter than {q.BRIGHT_ABOVE}/255)",
                     "no overexposed image"))
    gray = _hits(ctx, lambda a, m: (f"mode {a.get('mode')}" if a.get("mode") in q.GRAYSCALE_MODES else
                                    f"99.5% of pixels' channels within {m['channel_diff']}"
                                    if m["channel_diff"] <= q.GRAYSCALE_WITHIN
                                    else None))
    out.append(_rule("images.grayscale", "info", gray,
                     f"{'is' if len(gray) == 1 else 'are'} grayscale (a grey mode, or RGB whose channels differ by at most "
                     f"{q.GRAYSCALE_WITHIN} grey levels in 99.5% of pixels): a colour model learns grey",
                     "every image has colour"))
    odd = _hits(ctx, lambda a, m: f"{_aspect(a):.2f}:1" if _aspect(a) > q.ODD_ASPECT_ABOVE else None)
    out.append(_rule("images.odd-aspect-ratio", "info", odd,
                     f"{'has' if len(odd) == 1 else 'have'} an extreme aspect ratio (over {q.ODD_ASPECT_ABOVE:g}:1): "
                     f"aspect-ratio buckets crop or pad it heavily",
                     f"every aspect ratio is within {q.ODD_ASPECT_ABOVE:g}:1"))
    return sorted(out, key=lambda f: RULES.index(f["rule"]))
