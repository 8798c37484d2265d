"""Telling an interpolated (upscaled) image from a native one, with no model.

A native photo is sharp *somewhere*: the in-focus patch, the sensor noise, a hair, a printed letter keep
energy right up to the pixel scale. Out-of-focus regions, bokeh, motion blur and heavy JPEG have no fine
detail either, so one soft region proves nothing. An image enlarged by interpolation lacks pixel-scale
detail *everywhere*: above 0.5/s cycles per pixel (s = the factor) there is only the kernel's leakage and
compression noise.

So the frame is cut into 64 px tiles; for each tile the row and column spectra give

* the **pixel-scale detail**: the noise-equivalent amplitude (grey levels, RMS) of the band 0.4-0.5
  cycles/pixel, which any enlargement by 1.5x or more empties;
* its ratio to the tile's coarse detail (0.125-0.22 cycles/pixel): a tile only counts as proof of native
  pixels when its fine detail is not a thin leakage of strong coarse edges.

The image's ``detail`` is the strongest such tile. An image with no proof anywhere is judged upscaled.
Enlargements by 1.5x and 3x keep more leakage; they leave another trace: the interpolation phase repeats
every 3 output pixels, so the second derivative cycles with period 3 (``period3``) and, at 1.5x, every
third pixel is an average and smoother than its neighbours (``smooth3``); native photos and JPEG's
8-pixel grid show neither.

The thresholds are measured, not guessed: ``tests/bench/eval_upscale.py`` chooses them on one set of real
photos and reports precision and recall on a held-out set, both ways (README, "Upscale detector").
"""

from __future__ import annotations

import numpy as np
import scipy.fft

TILE = 64
ROW_STEP = 4  # every 4th row (column) of a tile is plenty to average its 1-D spectra
FINE = slice(26, 32)  # bins of a 64-point spectrum: 0.406-0.484 cycles/pixel (0.5 is JPEG's grid)
COARSE = slice(8, 15)  # 0.125-0.22 cycles/pixel
WHITE = TILE * 0.375 * 2  # power per bin of unit-variance white noise (Hann window, rows + columns)

# Decision thresholds. eval_upscale.py chooses them on one photo set and tests on the other; these sit
# between the two folds' choices (detail 2.5-2.7, cycle 0.03-0.05, smoothing 0.06-0.08) on the side that
# spares photos downscaled by 0.75x or 0.6x. Figures in the README.
MIN_DETAIL = 2.7  # grey levels RMS of pixel-scale detail that proves native pixels
MIN_RATIO = -1.6  # log10(fine / coarse power) a proving tile must reach
MAX_PERIOD3 = 0.05  # amplitude of the 3-pixel cycle of |second derivative| (relative)
MAX_SMOOTH3 = 0.08  # how much smoother every third pixel is (relative |second derivative|)
MIN_SIDE = 64
CUT_TO_FACTOR = 0.87  # kernels start falling a little before their cut-off (measured on bicubic and Lanczos)
FALL = 0.6  # decades below the plateau that mark the cut-off (or half-way to the floor, if that is higher)


def _tile_spectra(g: np.ndarray) -> np.ndarray:
    """Power spectrum per 64 px tile (rows + columns), shape (tiles, 33).

    ``g`` may be uint8: multiplying by the float32 window converts only the rows that are used. The
    tile's mean is not removed: the Hann window confines it to bins 0-1, which nothing here reads.
    """
    h, w = g.shape
    ny, nx = h // TILE, w // TILE
    g = g[: ny * TILE, : nx * TILE]
    window = np.hanning(TILE).astype(np.float32)
    rows = g[::ROW_STEP].reshape(ny, TILE // ROW_STEP, nx, TILE) * window
    s = scipy.fft.rfft(rows, axis=3)
    p = (s.real**2 + s.imag**2).mean(axis=1)  # ny, nx, bins
    cols = g[:, ::ROW_STEP].reshape(ny, TILE, nx, TILE // ROW_STEP) * window[None, :, None, None]
    s = scipy.fft.rfft(cols, axis=1)
    p += (s.real**2 + s.imag**2).mean(axis=3).transpose(0, 2, 1)
    return p.reshape(-1, TILE // 2 + 1)


def _period3(g: np.ndarray) -> tuple[float, float]:
    """The 3-pixel interpolation pattern along both axes (the weaker axis counts): (strength, smoothing).

    Enlarging by 1.5x or 3x puts output pixels at positions relative to the original samples that repeat
    every 3 pixels, so the mean |second derivative| of the three phases differs. ``strength`` is the
    amplitude of that 3-pixel cycle (relative to the mean). ``smoothing`` is how much the smoothest phase
    falls below the others: 1.5x enlargements make every third pixel an average of two originals. Photos
    downscaled by 0.75x or 0.6x repeat every 3 pixels too, but weakly, or with one phase sharper.
    """
    strength, smoothing = [], []
    step = 2 * ROW_STEP  # a few hundred lines average out the content; the pattern is in every line
    for a, axis in ((g[::step].astype(np.float32), 1), (g[:, ::step].astype(np.float32), 0)):
        if axis == 1:
            d2 = np.abs(a[:, :-2] - 2 * a[:, 1:-1] + a[:, 2:]).mean(axis=0)
        else:
            d2 = np.abs(a[:-2] - 2 * a[1:-1] + a[2:]).mean(axis=1)
        n = len(d2) // 3 * 3
        if n < 48:
            return 0.0, 0.0
        phases = d2[:n].reshape(-1, 3).mean(axis=0)
        mean = float(phases.mean())
        if mean <= 1e-6:
            return 0.0, 0.0
        phases = phases / mean
        strength.append(float(abs(np.sum(phases * np.exp(-2j * np.pi * np.arange(3) / 3))) / 3))
        smoothing.append(float(np.median(phases) - phases.min()))
    return min(strength), min(smoothing)


def _factor(spectra: np.ndarray, coarse: np.ndarray) -> float:
    """Enlargement factor from where the spectrum of the most detailed tiles falls to its floor.

    On the 1/f^2-whitened spectrum a native image is about flat; an enlarged one has a plateau, a fall
    around the kernel's cut-off 0.5/s and a floor of leakage and noise. The point 0.6 decades down the fall
    (or half-way to the floor) sits close to the cut-off for bicubic, bilinear and Lanczos kernels.
    """
    keep = coarse >= np.quantile(coarse, 0.9)
    f = np.arange(1, TILE // 2 + 1) / TILE
    whitened = np.log10(spectra[keep].mean(axis=0)[1:] + 1e-6) + 2 * np.log10(f)
    top = int(np.argmax(whitened[1:24])) + 1
    floor = float(np.median(whitened[26:31]))
    half = max(whitened[top] - FALL, (whitened[top] + floor) / 2)
    below = np.flatnonzero(whitened[top:] < half)
    if not len(below):
        return 1.0
    k = top + int(below[0])  # first bin under the half-way level; interpolate between k-1 and k
    a, b = whitened[k - 1], whitened[k]
    cut = f[k - 1] + (a - half) / max(a - b, 1e-6) * (f[k] - f[k - 1])
    return float(0.5 / cut * CUT_TO_FACTOR)


def upscale_evidence(gray: np.ndarray) -> dict | None:
    """What the detector measured; None when the image is too small or flat to judge."""
    g = np.asarray(gray)
    if g.dtype != np.uint8:
        g = g.astype(np.float32)
    if min(g.shape) < MIN_SIDE:
        return None
    spectra = _tile_spectra(g)
    fine = spectra[:, FINE].mean(axis=1)
    coarse = spectra[:, COARSE].mean(axis=1)
    if float(coarse.max()) < WHITE * 0.02:  # flat everywhere (under 0.15 grey levels): nothing to judge
        return None
    ratio = np.log10((fine + 1e-6) / (coarse + 1e-6))
    proving = fine[ratio >= MIN_RATIO]
    detail = float(np.sqrt(proving.max() / WHITE)) if len(proving) else 0.0
    period3, smooth3 = _period3(g)
    return {"detail": round(detail, 3), "period3": round(period3, 4), "smooth3": round(smooth3, 4),
            "factor": round(_factor(spectra, coarse), 2)}


FACTORS = (1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0)


def verdict(evidence: dict | None, width: int, height: int) -> dict | None:
    """{'factor', 'native': (w, h), 'why'} for an image judged upscaled, else None."""
    if not evidence:
        return None
    no_detail = evidence["detail"] < MIN_DETAIL
    periodic = evidence["period3"] > MAX_PERIOD3 or evidence.get("smooth3", 0.0) > MAX_SMOOTH3
    if not (no_detail or periodic):
        return None
    factor = min(FACTORS, key=lambda s: abs(np.log(s / max(evidence["factor"], 1.0))))
    if periodic and factor not in (1.5, 3.0):
        factor = 1.5 if factor < 2.2 else 3.0
    if no_detail:
        strongest = (f"strongest {evidence['detail']:.1f} grey levels RMS" if evidence["detail"] >= 0.05
                     else "none above the leakage of coarser detail")
        why = (f"no pixel-level detail anywhere in the frame ({strongest} at 0.4-0.5 cycles/pixel; native photos "
               f"show at least {MIN_DETAIL:g})")
    else:
        why = (f"interpolation pattern: the fine structure repeats every 3 pixels (cycle {evidence['period3']:.0%}, "
               f"every third pixel {evidence.get('smooth3', 0.0):.0%} smoother; native photos: under "
               f"{MAX_PERIOD3:.0%} and {MAX_SMOOTH3:.0%})")
    return {"factor": factor, "native": (round(width / factor), round(height / factor)), "why": why}
