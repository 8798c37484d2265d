"""Image-quality measurements with absolute, explainable units (grey levels of 0-255, bits, ratios).

A submission of five images has no distribution to be relative to, so every figure here means the same
in every set. Measured on the luminance reduced to at most ``REFERENCE_SIDE`` px on its long side (about
what a trainer feeds the model), except the colour check, which uses the reduced RGB.
"""

from __future__ import annotations

import numpy as np

REFERENCE_SIDE = 1024
TILE = 64
ROW_STEP = 4
GRAYSCALE_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}

# Thresholds (the rules print them). Chosen with wide margins against 54 ordinary DreamBooth photos
# (edge strength >= 0.47 of the contrast, 95th percentile >= 62, 5th percentile <= 186, spread >= 19,
# entropy >= 1.1 bits); the same photos blurred by 2 px at 1024 px stay at or under 0.16.
BLURRY_BELOW = 0.25  # edge strength of the sharpest regions / the image's contrast
MIN_CONTRAST = 10.0  # grey levels: below this the contrast used for the ratio is taken as 10
DARK_BELOW = 40  # 95% of pixels darker than this
BRIGHT_ABOVE = 215  # 95% of pixels brighter than this
FLAT_BELOW = 6.0  # luminance spread (standard deviation, grey levels)
FLAT_ENTROPY_BELOW = 0.5  # bits: one or two flat tones
GRAYSCALE_WITHIN = 4  # largest channel difference (grey levels) of 99.5% of pixels
ODD_ASPECT_ABOVE = 2.5  # long side / short side


def is_flat(m: dict) -> bool:
    """Flat or nearly, by the measured figures ``m``: too little luminance spread, or too few tones."""
    return m["spread"] < FLAT_BELOW or m["entropy"] < FLAT_ENTROPY_BELOW


def reduction(width: int, height: int) -> int:
    """Integer box-reduction factor that brings the long side to at most REFERENCE_SIDE."""
    return max(1, -(-max(width, height) // REFERENCE_SIDE))


def sharpness(gray: np.ndarray) -> float:
    """Laplacian RMS of the third sharpest 64 px tile: a sharp subject anywhere makes the image sharp."""
    g = np.asarray(gray)
    if min(g.shape) < 3:
        return 0.0
    wide = np.int16 if g.dtype == np.uint8 else np.float32  # uint8: an exact integer Laplacian
    # on every 4th row: a quarter of the work, and a tile still has 16 rows of it (only those are converted)
    c = g[1:-1:ROW_STEP].astype(wide)
    if wide is np.int16:  # in place: the rows above and below are subtracted straight from uint8
        lap = c[:, 1:-1] * wide(4)
        lap -= g[0:-2:ROW_STEP][: len(c), 1:-1]
        lap -= g[2::ROW_STEP][: len(c), 1:-1]
        lap -= c[:, :-2]
        lap -= c[:, 2:]
    else:
        up, down = g[0:-2:ROW_STEP][: len(c)].astype(wide), g[2::ROW_STEP][: len(c)].astype(wide)
        lap = (4 * c[:, 1:-1] - up[:, 1:-1] - down[:, 1:-1] - c[:, :-2] - c[:, 2:]).astype(np.float32)
    h, w = lap.shape
    th, tw = min(TILE // ROW_STEP, h), min(TILE, w)
    ny, nx = h // th, w // tw
    sq = lap[: ny * th, : nx * tw].astype(np.float32)
    np.square(sq, out=sq)
    tiles = np.sqrt(sq.reshape(ny, th, nx, tw).mean(axis=(1, 3))).ravel()
    tiles = np.sort(tiles)[::-1]
    return float(tiles[min(2, len(tiles) - 1)])


def edge_ratio(m: dict) -> float:
    """Edge strength of the sharpest regions relative to the image's contrast (its luminance spread)."""
    return m["sharpness"] / max(m["spread"], MIN_CONTRAST)


def colour_sample(im, max_side: int = 256) -> np.ndarray:
    """About max_side px of RGB picked (not averaged) from the image, enough to tell grey from colour."""
    from PIL import Image

    step = max(1, max(im.size) // max_side)
    if step > 1:
        im = im.resize((max(1, im.width // step), max(1, im.height // step)), Image.Resampling.NEAREST)
    return np.asarray(im if im.mode == "RGB" else im.convert("RGB"))


def measure(gray_small, rgb_sample: np.ndarray | None, mode: str, pixels: np.ndarray | None = None) -> dict:
    """Every quality figure, from the luminance reduced to REFERENCE_SIDE (a PIL image, mode L) and an
    RGB sample (None for a grey mode). ``pixels``: ``gray_small`` as an array, when the caller has it."""
    g = np.asarray(gray_small) if pixels is None else pixels
    hist = np.asarray(gray_small.histogram()[:256], dtype=np.float64)
    hist /= max(1.0, hist.sum())
    levels = np.arange(256)
    mean = float((hist * levels).sum())
    nz = hist[hist > 0]
    cdf = np.cumsum(hist)
    out = {
        "sharpness": round(sharpness(g), 2),
        "p5": int(np.searchsorted(cdf, 0.05)),
        "p95": int(np.searchsorted(cdf, 0.95)),
        "spread": round(float(np.sqrt((hist * (levels - mean) ** 2).sum())), 2),
        "entropy": round(float(-(nz * np.log2(nz)).sum()), 3),
    }
    if mode in GRAYSCALE_MODES or rgb_sample is None:
        out["channel_diff"] = 0
    else:
        c = np.asarray(rgb_sample, dtype=np.int16)
        diff = np.maximum(np.abs(c[..., 0] - c[..., 1]), np.abs(c[..., 1] - c[..., 2])).ravel()
        counts = np.cumsum(np.bincount(diff, minlength=256)) / max(1, diff.size)
        out["channel_diff"] = int(np.searchsorted(counts, 0.995))
    return out
