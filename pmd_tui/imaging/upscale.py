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
8-pixel grid show neither. JPEG at q75 passes for detail and blurs both; what survives it is that 3
output pixels are made of 2 originals, so one pixel in three is a near-fixed blend of its neighbours: it
is predicted from them (least squares) markedly better than the other two (``predict3``). Photos reduced
by 0.75x or 0.6x show that too, more weakly, but keep their detail, so it counts only under
``PATTERN_DETAIL``.

What no amount of JPEG noise hides is the image of the content that interpolation leaves above its
kernel's cut-off: an enlargement by s mirrors the spectrum about 1/(2s) cycles/pixel, and the mirrored
content keeps a fixed phase against the original in every line (``_coherence``). Its mean over thousands
of line pieces keeps its size (``cycle2`` at a 2-pixel period: 2x and 4x; ``cycle3`` at a 3-pixel period:
1.5x and 3x), where a native photo's unrelated phases cancel. A heavy blur that leaves only rounding
patterns pairs every frequency alike, so ``cycle2`` is taken less a control pairing no enlargement makes.

The thresholds are measured, not guessed: ``tests/bench/eval_upscale.py`` chooses them on one set of real
photos and reports precision and recall on a held-out set, both ways (README, "Upscale detector"):
``python tests/bench/eval_upscale.py --workers 2 --cache /tmp/eval.pkl``. On 2026-11-26, tuned on 15 of
scikit-image's photos and tested on the 54 DreamBooth photos it caught 3239 of 3240 upscales (1.5x-4x,
bicubic/bilinear/Lanczos, sharp and soft, raw and JPEG q75-q95) and flagged 0 of the 54 photos as they are;
the reverse caught 900 of 900. The shipped thresholds catch all 3240 and 900, and flag 0 of 54 DreamBooth
photos (7 of 270 natives). Dark and hazy copies are the weak spot (README).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.fft

TILE = 64
ROW_STEP = 4  # every 4th row (column) of a tile is plenty to average its 1-D spectra
FINE = slice(26, 32)  # bins of a 64-point spectrum: 0.406-0.484 cycles/pixel (0.5 is JPEG's grid)
COARSE = slice(8, 15)  # 0.125-0.22 cycles/pixel
WHITE = TILE * 0.375 * 2  # power per bin of unit-variance white noise (Hann window, rows + columns)

# Decision thresholds. eval_upscale.py chooses them on one photo set and tests on the other; the first
# three sit between the two folds' choices (detail 2.5-2.7, cycle 0.03-0.05, smoothing 0.06-0.08) on the
# side that spares photos downscaled by 0.75x or 0.6x. The folds chose predictability 0.04-0.06 under
# detail 4-4.5 (balanced error, where one native weighs as much as 12 upscales); the shipped pair, chosen
# looking at both sets, is stricter on the pattern (0.08: spares downscaled photos) and wider on detail
# (5: JPEG q75 noise reads as up to ~5 grey levels on sharp 1.5x enlargements). Not wider: a sharp patch
# pasted with hard edges into a blurred photo (tests/test_upscale.py) reads 0.13 at 6.0. The folds chose the
# 2-pixel mirror 0.2-0.3 and the 3-pixel one 0.4-0.45 (native photos reach 0.2 and 0.375). Figures in the README.
MIN_DETAIL = 2.7  # grey levels RMS of pixel-scale detail that proves native pixels
CONTRAST_REF = 20.0  # ... in an image with this much luminance spread (std, grey levels) or more; a darker or
# hazier one (less spread) has proportionally less detail in grey levels, and its floor scales down with it
MIN_RATIO = -1.6  # log10(fine / coarse power) a proving tile must reach
MAX_PERIOD3 = 0.05  # amplitude of the 3-pixel cycle of |second derivative| (relative)
MAX_SMOOTH3 = 0.08  # how much smoother every third pixel is (relative |second derivative|)
MAX_PREDICT3 = 0.08  # how much better the best of 3 phases is predicted from its neighbours (relative RMS)
PATTERN_DETAIL = 5.0  # ... which counts only with less pixel-scale detail than this (grey levels RMS)
MAX_CYCLE2 = 0.3  # coherence of the spectrum mirrored about 1/4 cycle/pixel, in step with a 2-pixel period
MAX_CYCLE3 = 0.4  # ... mirrored about 1/3 or 1/6 cycle/pixel, in step with a 3-pixel period
MIRROR_DETAIL = 9.0  # the 3-pixel one counts (and is measured) only with less pixel-scale detail than this:
# no interpolation keeps more than 8.6 grey levels (eval_upscale.py), half of native photos have more
MIN_SIDE = 64
LINE_STEP = 2 * ROW_STEP  # every 8th row and column for the 3-pixel figures: a few hundred lines average out
# the content, and the pattern is in every line
CUT_TO_FACTOR = 0.87  # kernels start falling a little before their cut-off (measured on bicubic and Lanczos)
FALL = 0.6  # decades below the plateau that mark the cut-off (or half-way to the floor, if that is higher)


def _tile_spectra(g: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Power spectrum per 64 px tile (rows + columns), shape (tiles, 33), and the complex spectra of the
    64 px pieces it averages (rows, columns: for ``_cycle2``; they start every 64 px, in step with it).

    ``g`` may be uint8: multiplying by the float32 window converts only the rows that are used. The
    tile's mean is not removed: the Hann window confines it to bins 0-1, which nothing here reads.
    """
    h, w = g.shape
    ny, nx = h // TILE, w // TILE
    g = g[: ny * TILE, : nx * TILE]
    # columns are transposed into rows first: the FFT then runs along contiguous memory (twice as fast)
    p, rows = _row_spectra(g[::ROW_STEP], ny, nx)
    q, columns = _row_spectra(np.ascontiguousarray(g[:, ::ROW_STEP].T), nx, ny)
    p += q.transpose(1, 0, 2)
    return p.reshape(-1, TILE // 2 + 1), [rows, columns]


_WINDOW = np.hanning(TILE).astype(np.float32)
MIRROR2 = (32, range(17, 23))  # bins 0.27-0.34 cycles/pixel, each paired with its mirror about 0.25 (bin 32 - k)
# the same about 0.1875 (bin 24 - k): no enlargement by 1.5x-4x pairs these, but an image with hardly anything
# above 0.25 cycles/pixel (a heavy blur) keeps only its rounding pattern there, which pairs every such bin
CONTROL2 = (24, range(13, 19))


def _row_spectra(lines: np.ndarray, ny: int, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean power spectrum of the 64 px pieces of ``lines`` per tile, shape (ny, nx, 33), and the pieces'
    spectra, shape (pieces, 33)."""
    s = scipy.fft.rfft(lines.reshape(ny, TILE // ROW_STEP, nx, TILE) * _WINDOW, axis=3)
    p = s.real**2
    p += s.imag**2
    return p.mean(axis=1), s.reshape(-1, TILE // 2 + 1)


def _by_bin(spectra: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Bins ``lo``..``hi - 1`` of the pieces' spectra as rows, one per bin: the sums over pieces then run
    along contiguous memory (three times faster than down the columns of the pieces' spectra)."""
    return np.ascontiguousarray(spectra.reshape(-1, spectra.shape[-1])[:, lo:hi].T)


def _coherence(rows: np.ndarray, lo: int, mirror: int, bins: range) -> float:
    """How consistently the bins ``bins`` of these pieces' spectra (``rows`` from ``_by_bin``, starting at
    bin ``lo``) mirror the bins ``mirror - bins`` (0: independent, as in a native photo; 1: fixed),
    averaged over ``bins``.

    An enlargement by s makes its output from the original spectrum X and the interpolation kernel H:
    Y(f) = H(f) X(s f), and above the kernel's cut-off the image of the same content, Y(1/s - f) =
    H(1/s - f) conj(X(s f)). So Y(f) Y(1/s - f) = H H |X|^2 has a fixed phase in every piece of every
    line, and its mean keeps its size; in a native image the phases are unrelated and the mean cancels.
    JPEG keeps it: the mirrored content is not noise. Pieces must start in step with the period (every
    64 pixels for 2, 48 for 3).
    """
    a = rows[bins.start - lo: bins.stop - lo]
    b = rows[mirror - bins.stop + 1 - lo: mirror - bins.start + 1 - lo][::-1]  # bin mirror - k beside bin k
    prod = a * b
    return float((np.abs(prod.sum(axis=1)) / (np.abs(prod).sum(axis=1) + 1e-9)).mean())


def _cycle2(pieces: list[np.ndarray]) -> float:
    """The 2-pixel coherence of the tile spectra's pieces (rows, columns) less the control pairing's; the
    weaker axis counts."""
    axes = []
    for s in pieces:
        rows = _by_bin(s, 6, 23)  # the bins MIRROR2 and CONTROL2 pair
        axes.append(_coherence(rows, 6, *MIRROR2) - _coherence(rows, 6, *CONTROL2))
    return min(axes)


def _period3(g: np.ndarray) -> tuple[float, float, Sequence[np.ndarray]]:
    """The 3-pixel interpolation pattern along both axes (the weaker axis counts): (strength, smoothing,
    the lines it was measured on, for ``_predictability``; empty when too short or flat).

    Enlarging by 1.5x or 3x puts output pixels at positions relative to the original samples that repeat
    every 3 pixels, so the mean |second derivative| of the three phases differs. ``strength`` is the
    amplitude of that 3-pixel cycle (relative to the mean). ``smoothing`` is how much the smoothest phase
    falls below the others: 1.5x enlargements make every third pixel an average of two originals. Photos
    downscaled by 0.75x or 0.6x repeat every 3 pixels too, but weakly, or with one phase sharper.
    """
    strength, smoothing = [], []
    lines = _Lines(g, LINE_STEP)
    for axis in (0, 1):
        d2 = _mean_d2(g, LINE_STEP, axis)
        n = len(d2) // 3 * 3
        if n < 48:
            return 0.0, 0.0, []
        phases = d2[:n].reshape(-1, 3).mean(axis=0)
        mean = float(phases.mean())
        if mean <= 1e-6:
            return 0.0, 0.0, []
        phases = phases / mean
        strength.append(float(abs(np.sum(phases * np.exp(-2j * np.pi * np.arange(3) / 3))) / 3))
        low, middle, _ = np.sort(phases)  # the median of three, less the minimum
        smoothing.append(float(middle - low))
    return min(strength), min(smoothing), lines


class _Lines(Sequence):
    """Every ``step``-th row and column of ``g`` as float32 lines (columns transposed), made only when
    asked for: most images never reach ``_predictability``."""

    def __init__(self, g: np.ndarray, step: int):
        self._g, self._step, self._made = g, step, {}

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(2))]
        i = range(2)[i]
        if i not in self._made:
            g, step = self._g, self._step
            self._made[i] = g[::step].astype(np.float32) if i == 0 else g[:, ::step].T.astype(np.float32, order="C")
        return self._made[i]


def _mean_d2(g: np.ndarray, step: int, axis: int) -> np.ndarray:
    """Mean |second derivative| along every ``step``-th row (axis 0) or column (axis 1) of ``g``, per
    position along the line.

    uint8 is done in integers without transposing: the float32 sums of the old way were exact integers
    too (under 2**24), so the figures are the same to the bit; other dtypes (and absurdly long sides)
    go the float32 way.
    """
    if g.dtype == np.uint8 and -(-g.shape[axis] // step) < 16000:
        if axis == 0:
            a = g[::step].astype(np.int16)
            d = a[:, :-2] + a[:, 2:]
            d -= a[:, 1:-1]
            d -= a[:, 1:-1]
            lines, along = a.shape[0], 0
        else:
            a = g[:, ::step].astype(np.int16)
            d = a[:-2] + a[2:]
            d -= a[1:-1]
            d -= a[1:-1]
            lines, along = a.shape[1], 1
        np.abs(d, out=d)
        # the same division as float32 ``mean`` does (in float64, then rounded to float32)
        return (d.sum(axis=along, dtype=np.int32) / lines).astype(np.float32)
    a = g[::step].astype(np.float32) if axis == 0 else g[:, ::step].T.astype(np.float32, order="C")
    return np.abs(a[:, :-2] - 2 * a[:, 1:-1] + a[:, 2:]).mean(axis=0)


PIECE3 = 48  # pieces for the 3-pixel coherence: a multiple of 3, so each starts in step with the pattern
MIRROR3 = ((32, range(17, 23)), (16, range(9, 15)))  # (mirror bin, bins) of a 48-point spectrum:
# about 1/3 cycle/pixel (0.35-0.46, mirrored about 0.33: 1.5x) and about 1/6 (0.19-0.29, mirrored: 3x)
_WINDOW3 = np.hanning(PIECE3).astype(np.float32)


def _cycle3(g: np.ndarray) -> float:
    """The 3-pixel coherence (``_coherence``) of the lines ``_period3`` measures (every 8th row and column):
    enlargements by 1.5x (cut-off 1/3 cycle/pixel) and 3x (1/6) mirror their content about those
    frequencies, with the phase of a 3-pixel period; the stronger pairing, on the weaker axis, counts."""
    axes = []
    for a in (g[::LINE_STEP], g[:, ::LINE_STEP].T):
        n = a.shape[1] // PIECE3 * PIECE3
        # splitting the line axis is a view even of the transposed columns; the window makes the one copy
        s = scipy.fft.rfft(a[:, :n].reshape(a.shape[0], -1, PIECE3) * _WINDOW3, axis=2)
        rows = _by_bin(s, 2, 23)  # the bins MIRROR3 pairs
        axes.append(max(_coherence(rows, 2, mirror, bins) for mirror, bins in MIRROR3))
    return min(axes)


def _predictability(a: np.ndarray) -> float:
    """1 - (best phase's residual / worst phase's) of predicting each pixel of ``a``'s lines (3 phases)
    from its neighbours at -2, -1, +1, +2 by least squares.

    JPEG at q75 drowns the 3-pixel cycle and smoothing in block noise; this survives it: an enlargement by
    1.5x makes 3 output pixels out of 2 originals, so one pixel in three is (almost) a fixed weighted sum
    of its neighbours, and its residual is well below the other two phases'. In a native photo the three
    phases are alike (0).

    One Gram matrix of 7-pixel windows starting every 3 pixels holds every phase's normal equations (the
    5-pixel window of phase p is its rows/columns p..p+4), so no design matrix or residual is formed.
    """
    n = (a.shape[1] - 7) // 3 + 1
    centre = np.float32(a.mean())  # the taps sum to about 1: centring keeps the normal equations well conditioned
    z = np.empty((7, a.shape[0], n), np.float32)
    for j in range(7):
        np.subtract(a[:, j: j + 3 * n - 2: 3], centre, out=z[j])
    z = z.reshape(7, -1)
    gram = (z @ z.T).astype(np.float64)
    rms = []
    for p in range(3):
        w = gram[p: p + 5, p: p + 5]
        taps = [0, 1, 3, 4]
        xtx, xty, yy = w[np.ix_(taps, taps)], w[taps, 2], w[2, 2]
        coef = np.linalg.solve(xtx + 1e-3 * np.eye(4), xty)
        rms.append(max(float(yy - xty @ coef), 0.0))
    return 1.0 - float(np.sqrt(min(rms) / max(max(rms), 1e-6)))


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


def upscale_evidence(gray: np.ndarray, complete: bool = False) -> dict | None:
    """What the detector measured; None when the image is too small or flat to judge.

    ``predict3`` (the costliest figure) is only measured where it decides the verdict: no other trace
    found and between ``MIN_DETAIL`` and ``PATTERN_DETAIL`` grey levels of detail; ``cycle2`` where no
    other trace is found and the detail proves nothing yet; ``cycle3`` likewise, under ``MIRROR_DETAIL``.
    Elsewhere they are None, unless ``complete`` (the evaluation, which tunes those thresholds).
    """
    g = np.asarray(gray)
    if g.dtype != np.uint8:
        g = g.astype(np.float32)
    if min(g.shape) < MIN_SIDE:
        return None
    spectra, pieces = _tile_spectra(g)
    fine = spectra[:, FINE].mean(axis=1)
    coarse = spectra[:, COARSE].mean(axis=1)
    if float(coarse.max()) < WHITE * 0.02:  # flat everywhere (under 0.15 grey levels): nothing to judge
        return None
    ratio = np.log10((fine + 1e-6) / (coarse + 1e-6))
    proving = fine[ratio >= MIN_RATIO]
    detail = float(np.sqrt(proving.max() / WHITE)) if len(proving) else 0.0
    period3, smooth3, lines = _period3(g)
    ev = {"detail": round(detail, 3), "spread": round(float(g[::4, ::4].std()), 1), "period3": round(period3, 4),
          "smooth3": round(smooth3, 4), "predict3": None, "cycle2": None, "cycle3": None,
          "factor": round(_factor(spectra, coarse), 2)}
    # each further figure only where no trace found so far decides the verdict, cheapest first
    undecided = not (_no_detail(ev) or _periodic(ev))
    if complete or undecided:
        ev["cycle2"] = round(_cycle2(pieces), 3)
    if complete or (undecided and ev["detail"] < MIRROR_DETAIL and not _mirrored(ev, 2)):
        ev["cycle3"] = round(_cycle3(g), 3) if lines else 0.0
    undecided = undecided and ev["detail"] < PATTERN_DETAIL and not _mirrored(ev, 2) and not _mirrored(ev, 3)
    if complete or undecided:
        ev["predict3"] = round(min(_predictability(a) for a in lines), 4) if lines else 0.0
    return ev


FACTORS = (1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0)


def detail_floor(evidence: dict, min_detail: float = MIN_DETAIL) -> float:
    """The pixel-level detail that proves native pixels in this image: ``min_detail``, scaled down with the
    image's contrast under CONTRAST_REF (detail and contrast both scale with the tones' range)."""
    return min_detail * min(1.0, evidence.get("spread", CONTRAST_REF) / CONTRAST_REF)


def _no_detail(evidence: dict) -> bool:
    return evidence["detail"] < detail_floor(evidence)


def _periodic(evidence: dict) -> bool:
    return evidence["period3"] > MAX_PERIOD3 or evidence.get("smooth3", 0.0) > MAX_SMOOTH3


def _mirrored(evidence: dict, period: int) -> bool:
    """The mirrored-spectrum trace at a ``period``-pixel period: a coherence over its threshold (at 3
    pixels, only where there is less pixel-level detail than MIRROR_DETAIL).

    The 2-pixel one counts at any detail: pixel replication (nearest-neighbour 2x, 4x) keeps hard steps
    that read as plenty of detail, and mirrors its spectrum all the same (0.85-0.95); native photos stay
    at or under 0.2 at any detail."""
    value = evidence.get(f"cycle{period}")
    if value is None:
        return False
    if period == 2:
        return value > MAX_CYCLE2
    return value > MAX_CYCLE3 and evidence["detail"] < MIRROR_DETAIL


def verdict(evidence: dict | None, width: int, height: int) -> dict | None:
    """{'factor', 'native': (w, h), 'why'} for an image judged upscaled, else None."""
    if not evidence:
        return None
    no_detail, periodic = _no_detail(evidence), _periodic(evidence)
    # (measured only where it decides: with some detail, but under PATTERN_DETAIL, and no other trace)
    predictable = (not no_detail and evidence["detail"] < PATTERN_DETAIL
                   and (evidence.get("predict3") or 0.0) > MAX_PREDICT3)
    mirrored2, mirrored3 = _mirrored(evidence, 2), _mirrored(evidence, 3)
    if not (no_detail or periodic or predictable or mirrored2 or mirrored3):
        return None
    factor = min(FACTORS, key=lambda s: abs(np.log(s / max(evidence["factor"], 1.0))))
    if (periodic or predictable or mirrored3) and factor not in (1.5, 3.0):
        factor = 1.5 if factor < 2.2 else 3.0
    elif mirrored2 and not no_detail and factor not in (2.0, 4.0):  # (with detail left: 2x or 4x, not more)
        factor = 2.0 if factor < 3.0 else 4.0
    return {"factor": factor, "native": (round(width / factor), round(height / factor)),
            "why": _why(evidence, no_detail, periodic, predictable, mirrored2)}


def _why(evidence: dict, no_detail: bool, periodic: bool, predictable: bool, mirrored2: bool) -> str:
    """The strongest trace, with its figure and what native photos show."""
    if no_detail:
        strongest = (f"strongest {evidence['detail']:.1f} grey levels RMS" if evidence["detail"] >= 0.05
                     else "none above the leakage of coarser detail")
        floor = detail_floor(evidence)
        at = (f" at this image's contrast ({evidence['spread']:.0f} grey levels of spread)"
              if floor < MIN_DETAIL else "")
        return (f"no pixel-level detail anywhere in the frame ({strongest} at 0.4-0.5 cycles/pixel; native photos "
                f"show at least {floor:.2g}{at})")
    if periodic:
        if evidence["period3"] > MAX_PERIOD3:
            return (f"interpolation pattern: the fine structure repeats every 3 pixels (cycle "
                    f"{evidence['period3']:.0%}; native photos: under {MAX_PERIOD3:.0%})")
        return (f"interpolation pattern: every third pixel is smoother than its neighbours (by "
                f"{evidence['smooth3']:.0%}; native photos: under {MAX_SMOOTH3:.0%})")
    if predictable:
        return (f"interpolation pattern: one pixel in three is a near-fixed blend of its neighbours (predicted "
                f"{evidence['predict3']:.0%} better than the others; native photos: under {MAX_PREDICT3:.0%} "
                f"where they have under {PATTERN_DETAIL:g} grey levels of pixel-level detail, here "
                f"{evidence['detail']:.1f})")
    period, key, limit = (2, "cycle2", MAX_CYCLE2) if mirrored2 else (3, "cycle3", MAX_CYCLE3)
    return (f"interpolation pattern: the fine detail is a mirror image of the coarser detail, in step with a "
            f"{period}-pixel period (coherence {evidence[key]:.0%}; native photos: under {limit:.0%})")
