"""Detecting upscaled images from their spectrum, with no model.

A natively sharp photo keeps energy right up to the pixel scale (its power falls roughly as 1/f^2);
an image enlarged by a factor s has almost nothing above 1/(2s) cycles/pixel except interpolation
leakage and compression noise. For each candidate factor we compare the mean power just below that
cut-off with the mean power above it, minus what a 1/f^2 spectrum would give: the *excess drop* in
decades. Both axes must show it. Thresholds were set on scikit-image's photographs (see
tests/test_upscale_eval.py): untouched and downscaled photos stay below 0.7 at s=2, 2x/3x bicubic and
Lanczos upscales (also re-encoded as JPEG q75-q90) land above 0.9.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

FACTORS = (1.5, 2.0, 2.5, 3.0, 4.0)
# Decision threshold (decades of excess drop) at s=2.
THRESHOLD = 0.8
MAX_SIDE = 512  # analyse a centre crop: enough rows to average, bounded cost
ROW_STEP = 2  # every other row (column) is plenty to average the 1-D spectra
MIN_SIDE = 64


def _axis_spectrum(g: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean power spectrum of the rows (axis=1) or columns (axis=0), Hann-windowed, in float32."""
    rows = g[::ROW_STEP] if axis == 1 else g[:, ::ROW_STEP].T
    n = rows.shape[1]
    window = np.hanning(n).astype(np.float32)
    x = (rows - rows.mean(axis=1, keepdims=True)) * window
    spec = scipy.fft.rfft(x, axis=1)
    p = (spec.real**2 + spec.imag**2).mean(axis=0)
    return np.fft.rfftfreq(n), p


def _excess(f: np.ndarray, p: np.ndarray) -> dict[float, float] | None:
    out = {}
    for s in FACTORS:
        fc = 0.5 / s
        hi = p[(f >= fc * 1.1) & (f <= 0.5)]
        mid = p[(f >= fc * 0.5) & (f < fc * 0.9)]
        if len(hi) < 2 or len(mid) < 2:
            return None
        hi_m, mid_m = float(hi.mean()), float(mid.mean())
        if mid_m <= 1e-6:  # flat content: nothing to judge
            return None
        expected = np.log10((1 / (fc * 0.5) - 1 / (fc * 0.9)) / (1 / (fc * 1.1) - 2))
        out[s] = float(np.log10(mid_m / max(hi_m, 1e-12)) - expected)
    return out


def centre_crop(g: np.ndarray, side: int = MAX_SIDE) -> np.ndarray:
    h, w = g.shape
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return g[top : top + side, left : left + side]


# Interpolation kernels roll off before their cut-off: the steepest fall of the whitened spectrum sits at
# about 0.62 (bicubic) to 0.8 (Lanczos) of it. Dividing by the middle of that range estimates the
# enlargement factor to within about 20%.
KNEE_TO_CUTOFF = 1.43


def _knee_factor(f: np.ndarray, p: np.ndarray) -> float:
    """Enlargement factor implied by the steepest fall of the 1/f^2-whitened spectrum."""
    w = np.log10(p[1:] * f[1:] ** 2 + 1e-12)
    f = f[1:]
    csum = np.concatenate([[0.0], np.cumsum(w)])
    fcs = np.arange(0.06, 0.42, 0.005)

    def band_mean(lo, hi, lo_open=False, hi_open=True):
        a = np.searchsorted(f, lo, side="right" if lo_open else "left")
        b = np.searchsorted(f, hi, side="left" if hi_open else "right")
        n = np.maximum(b - a, 1)
        return (csum[b] - csum[a]) / n, b > a

    below, ok_b = band_mean(fcs * 0.8, fcs * 0.97)
    above, ok_a = band_mean(fcs * 1.03, fcs * 1.2, lo_open=True, hi_open=False)
    drop = np.where(ok_b & ok_a, below - above, -np.inf)
    return 0.5 / fcs[int(np.argmax(drop))] * KNEE_TO_CUTOFF


def upscale_scores(gray: np.ndarray) -> dict[str, float] | None:
    """Excess drop per candidate factor plus the knee estimate ("knee"); None when it cannot be judged."""
    g = centre_crop(np.asarray(gray, dtype=np.float32))
    if min(g.shape) < MIN_SIDE:
        return None
    sx, sy = _axis_spectrum(g, 1), _axis_spectrum(g, 0)
    ex, ey = _excess(*sx), _excess(*sy)
    if ex is None or ey is None:
        return None
    out = {str(s): round(min(ex[s], ey[s]), 4) for s in FACTORS}
    out["knee"] = round(min(_knee_factor(*sx), _knee_factor(*sy)), 3)
    return out


def verdict(scores: dict[str, float] | None, width: int, height: int) -> dict | None:
    """{'factor': s, 'native': (w, h)} for an image judged upscaled, else None."""
    if not scores or scores.get("2.0", 0.0) < THRESHOLD:
        return None
    knee = scores.get("knee", 2.0)
    factor = min((1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0), key=lambda s: abs(np.log(s / knee)))
    factor = max(factor, 1.5)
    return {"factor": factor, "native": (round(width / factor), round(height / factor))}
