"""Held-out evaluation of the upscale detector on real photographs.

Run by hand (CPU, about 10 minutes on 2 cores; seconds when --cache holds the measurements):

    python tests/bench/eval_upscale.py [--dreambooth DIR] [--workers 2] [--cache FILE]

Two sets of native photos: scikit-image's sample photographs (15 of the public-domain photos that ship
with scikit-image) and the DreamBooth dataset (54 photos in 10 subject folders; github.com/google/dreambooth,
``dataset/``). From each photo it makes

* negatives: the photo as is, downscales by 0.5x (Lanczos), 0.75x and 0.6x (bicubic, bilinear, Lanczos or
  box, rotating: non-integer ratios leave a periodic resampling pattern too), and a JPEG q75 re-encode;
* positives: 1.5x, 2x, 3x and 4x enlargements with bicubic, bilinear and Lanczos kernels, of the photo
  (sharp; sources over 640 px are first reduced to 512 px, as an upscaler's input would be), saved raw
  and as JPEG q75, q85 and q95, and of a softened copy (Gaussian blur, radius 1.2 px), saved raw or as
  one of those JPEG qualities (rotating).

For each direction (tune on scikit-image, test on DreamBooth; then the reverse) it chooses the
thresholds (minimum pixel-scale detail, maximum 3-pixel cycle and smoothing; then the predictability of
one phase in three and the detail under which it counts; then the mirrored-spectrum coherences at a 2- and
a 3-pixel period) that minimise the balanced error on the tuning set, then prints the confusion table,
precision and recall on the held-out set. Last it prints what the thresholds shipped in
``pmd_tui/imaging/upscale.py`` do on both sets.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import sys
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import skimage
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from pmd_tui.imaging import upscale  # noqa: E402

# moon.png is left out: its own pixels carry a 2x enlargement's mirrored spectrum (cycle2 0.9), so it is not
# a native photo (it was counted as one, and "flagged", until the mirror measure showed why)
SKIMAGE_PHOTOS = ["astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "coffee.png", "coins.png",
                  "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "motorcycle_left.png",
                  "motorcycle_right.png", "retina.jpg", "rocket.jpg"]
KERNELS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "lanczos": Image.LANCZOS}
FACTORS = (1.5, 2, 3, 4)
QUALITIES = (None, 75, 85, 95)
SOFT_RADIUS = 1.2


def photo_sets(dreambooth: Path) -> dict[str, list[tuple[str, str]]]:
    sk = Path(skimage.__file__).parent / "data"
    db = sorted(dreambooth.glob("*/*.jpg"))
    return {"scikit-image": [(p, str(sk / p)) for p in SKIMAGE_PHOTOS],
            "DreamBooth": [(str(p.relative_to(dreambooth)), str(p)) for p in db]}


def cases(photos: list[tuple[str, str]]) -> list[tuple]:
    """(name, is_upscale, kind, recipe) for every test image made from ``photos``."""
    out = []
    for i, (name, path) in enumerate(photos):
        down = list(KERNELS) + ["box"]
        out += [(name, 0, "native as is", (path, None)),
                (f"{name} 0.5x lanczos", 0, "native 0.5x down", (path, ("down", 0.5, "lanczos"))),
                (f"{name} 0.75x {down[i % 4]}", 0, "native 0.75x down", (path, ("down", 0.75, down[i % 4]))),
                (f"{name} 0.6x {down[(i + 1) % 4]}", 0, "native 0.6x down", (path, ("down", 0.6, down[(i + 1) % 4]))),
                (f"{name} jpeg75", 0, "native jpeg q75", (path, ("jpeg",))),
                # a dark and a hazy (low-contrast) photo have less pixel-level detail in grey levels, not less
                # native: both saved as JPEG q90, as a camera would
                (f"{name} dark", 0, "native dark", (path, ("tone", "dark"))),
                (f"{name} hazy", 0, "native hazy", (path, ("tone", "hazy")))]
        for tone in TONES:  # ... and their enlargements must still be caught
            out += [(f"{name} {tone} 2x bicubic q75", 1, f"2x bicubic {tone}", (path, ("up", 2, "bicubic", False, 75, tone))),
                    (f"{name} {tone} 1.5x lanczos q90", 1, f"1.5x lanczos {tone}", (path, ("up", 1.5, "lanczos", False, 90, tone))),
                    (f"{name} {tone} 3x bilinear raw", 1, f"3x bilinear {tone}", (path, ("up", 3, "bilinear", False, None, tone)))]
        j = 0
        for f in FACTORS:
            for kernel in KERNELS:
                for soft in (False, True):
                    # sharp sources in every quality (JPEG q75 hides the most), soft ones in one, rotating
                    qualities = [QUALITIES[(i + j) % len(QUALITIES)]] if soft else QUALITIES
                    j += 1
                    kind = f"{f}x {kernel} {'soft' if soft else 'sharp'}"
                    for q in qualities:
                        out.append((f"{name} {kind} {'raw' if q is None else f'q{q}'}", 1, kind, (path, ("up", f, kernel, soft, q))))
    return out


def _jpeg(im: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


TONES = {"dark": (0.2, 0.0), "hazy": (0.3, 0.55)}  # pixel values * gain + offset * 255


def _tone(im: Image.Image, tone: str) -> Image.Image:
    gain, offset = TONES[tone]
    arr = np.asarray(im, dtype=np.float32) * gain + offset * 255
    return Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8))


def build(recipe) -> Image.Image:
    path, op = recipe
    im = Image.open(path).convert("RGB")
    if op is None:
        return im
    if op[0] == "tone":
        return _jpeg(_tone(im, op[1]), 90)
    if op[0] == "down":
        _, scale, kernel = op
        return im.resize((round(im.width * scale), round(im.height * scale)), {**KERNELS, "box": Image.BOX}[kernel])
    if op[0] == "jpeg":
        return _jpeg(im, 75)
    _, f, kernel, soft, q, *tone = op
    if tone:
        im = _tone(im, tone[0])
    if max(im.size) > 640:
        s = 512 / max(im.size)
        im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
    if soft:
        im = im.filter(ImageFilter.GaussianBlur(SOFT_RADIUS))
    up = im.resize((round(im.width * f), round(im.height * f)), KERNELS[kernel])
    return _jpeg(up, q) if q else up


def measure(case) -> dict | None:
    name, label, kind, recipe = case
    gray = np.asarray(build(recipe).convert("L"), dtype=np.float32)
    return upscale.upscale_evidence(gray, complete=True)


def predict(ev: dict | None, min_detail: float, max_period3: float, max_smooth3: float = np.inf,
            max_predict3: float = np.inf, pattern_detail: float = 0.0, max_cycle2: float = np.inf,
            max_cycle3: float = np.inf) -> bool:
    """``upscale.verdict``'s rules with these thresholds (the tuning varies them)."""
    return bool(ev) and (ev["detail"] < upscale.detail_floor(ev, min_detail) or ev["period3"] > max_period3
                         or ev["smooth3"] > max_smooth3
                         or (ev["predict3"] > max_predict3 and ev["detail"] < pattern_detail)
                         or ev["cycle2"] > max_cycle2
                         or (ev["cycle3"] > max_cycle3 and ev["detail"] < upscale.MIRROR_DETAIL))


DETAIL_GRID = np.round(np.arange(0.5, 8.01, 0.1), 2)
PERIOD_GRID = (0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, np.inf)
SMOOTH_GRID = (0.06, 0.08, 0.1, 0.12, 0.15, 0.2, np.inf)
PREDICT_GRID = (0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.12, 0.15, np.inf)
PATTERN_DETAIL_GRID = (3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, np.inf)
CYCLE2_GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, np.inf)
CYCLE3_GRID = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, np.inf)


def tune(rows) -> tuple[float, ...]:
    """Thresholds with the least balanced error on ``rows``, in three stages: first the minimum detail (the
    middle of the best interval) with the 3-pixel cycle and smoothing, as before the predictability rule
    existed; then, with those fixed, the predictability rule; then the mirrored-spectrum coherences (each
    later stage can only catch more; among equal errors the middle of the tied values, as for the detail)."""
    labels = np.array([r[1] for r in rows]) == 1
    ok = np.array([r[4] is not None for r in rows])
    detail = np.array([r[4]["detail"] if r[4] else np.inf for r in rows])
    period = np.array([r[4]["period3"] if r[4] else 0.0 for r in rows])
    smooth = np.array([r[4]["smooth3"] if r[4] else 0.0 for r in rows])
    predict3 = np.array([r[4]["predict3"] if r[4] else 0.0 for r in rows])
    cycle2 = np.array([r[4]["cycle2"] if r[4] else 0.0 for r in rows])
    cycle3 = np.array([r[4]["cycle3"] if r[4] else 0.0 for r in rows])

    def error(pred):  # balanced: the false-positive rate plus the miss rate (axis -1: the rows)
        return (pred & ~labels).sum(axis=-1) / max(1, (~labels).sum()) + (~pred & labels).sum(axis=-1) / max(1, labels.sum())

    # the floor scales down with contrast under CONTRAST_REF (``upscale.detail_floor``)
    contrast = np.array([upscale.detail_floor(r[4], 1.0) if r[4] else 1.0 for r in rows])
    no_detail = ok & (detail[None, :] < DETAIL_GRID[:, None] * contrast[None, :])  # detail thresholds x rows
    best = None
    for p in PERIOD_GRID:
        for sm in SMOOTH_GRID:
            errs = error(no_detail | (ok & ((period > p) | (smooth > sm))))
            at = np.flatnonzero(errs == errs.min())
            if best is None or errs.min() < best[0] - 1e-12:
                best = (errs.min(), float(DETAIL_GRID[at[len(at) // 2]]), p, sm)
    _, d, p, sm = best
    base = ok & ((detail < d * contrast) | (period > p) | (smooth > sm))
    best = None
    for pr in PREDICT_GRID:
        for pd in PATTERN_DETAIL_GRID:
            e = error(base | (ok & (predict3 > pr) & (detail < pd)))
            if best is None or e < best[0] - 1e-12:
                best = (e, pr, pd)
    _, pr, pd = best
    base = base | (ok & (predict3 > pr) & (detail < pd))
    errs = {(c2, c3): error(base | (ok & ((cycle2 > c2) | ((cycle3 > c3) & (detail < upscale.MIRROR_DETAIL)))))
            for c2 in CYCLE2_GRID for c3 in CYCLE3_GRID}
    tied = sorted(k for k, e in errs.items() if e <= min(errs.values()) + 1e-12)
    # as for the detail: the middle of the tied values, first of cycle2, then of cycle3 beside it
    c2s = sorted({k[0] for k in tied})
    c2 = c2s[len(c2s) // 2]
    c3s = sorted(k[1] for k in tied if k[0] == c2)
    return d, p, sm, pr, pd, c2, c3s[len(c3s) // 2]


def report(title: str, rows, min_detail: float, max_period3: float, max_smooth3: float, max_predict3: float,
           pattern_detail: float, max_cycle2: float, max_cycle3: float) -> None:
    labels = np.array([r[1] for r in rows])
    pred = np.array([predict(r[4], min_detail, max_period3, max_smooth3, max_predict3, pattern_detail, max_cycle2,
                             max_cycle3) for r in rows])
    tp, fn = int((pred & (labels == 1)).sum()), int((~pred & (labels == 1)).sum())
    fp, tn = int((pred & (labels == 0)).sum()), int((~pred & (labels == 0)).sum())
    print(f"\n{title}  (detail < {min_detail:g} grey levels (scaled with contrast), period3 > {max_period3:g}, smooth3 > {max_smooth3:g} "
          f"or predict3 > {max_predict3:g} with detail < {pattern_detail:g}, or cycle2 > {max_cycle2:g}, "
          f"cycle3 > {max_cycle3:g})")
    print(f"{'':22}{'flagged':>9}{'not flagged':>13}")
    print(f"{'upscaled':22}{tp:9d}{fn:13d}")
    print(f"{'native':22}{fp:9d}{tn:13d}")
    precision = tp / max(1, tp + fp)
    print(f"precision {precision:.3f}  recall {tp / max(1, tp + fn):.3f}  "
          f"natives flagged {fp}/{fp + tn}")
    by_kind = defaultdict(lambda: [0, 0])
    for r, p in zip(rows, pred):
        by_kind[r[2]][0] += int(p)
        by_kind[r[2]][1] += 1
    print("  " + "; ".join(f"{k} {a}/{n}" for k, (a, n) in by_kind.items() if k.startswith("native")))
    missed = [r[0] for r, p in zip(rows, pred) if r[1] == 1 and not p]
    wrong = [r[0] for r, p in zip(rows, pred) if r[1] == 0 and p]
    if missed:
        print(f"  missed upscales: {', '.join(missed[:12])}" + (f" and {len(missed) - 12} more" if len(missed) > 12 else ""))
    if wrong:
        print(f"  natives flagged: {', '.join(wrong)}")


def _default_dreambooth() -> Path:
    if os.environ.get("DREAMBOOTH_DIR"):
        return Path(os.environ["DREAMBOOTH_DIR"])
    for up in Path(__file__).resolve().parents[2:5]:
        candidate = up / "shared/realsets/dreambooth/dataset"
        if candidate.is_dir():
            return candidate
    return Path("dreambooth/dataset")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dreambooth", type=Path, default=_default_dreambooth(),
        help="the DreamBooth dataset's dataset/ folder (subject folders of JPEGs); default $DREAMBOOTH_DIR or "
             "shared/realsets/dreambooth/dataset beside the checkout")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache", type=Path, help="keep the measurements in this file (re-used while upscale.py "
                    "and this script are unchanged) to re-run the reports in seconds")
    args = ap.parse_args()
    sets = photo_sets(args.dreambooth)
    if not sets["DreamBooth"]:
        sys.exit(f"no DreamBooth photos under {args.dreambooth} (use --dreambooth DIR)")
    # the measurements depend on the detector's code, not on its decision thresholds
    code = [line for line in Path(upscale.__file__).read_text().splitlines()
            if not line.startswith(("MIN_DETAIL =", "CONTRAST_REF =", "MAX_PERIOD3 =", "MAX_SMOOTH3 =", "MAX_PREDICT3 =",
                                                 "PATTERN_DETAIL =", "MAX_CYCLE2 =", "MAX_CYCLE3 =", "#"))]
    key = hashlib.sha256("\n".join(code).encode() + Path(__file__).read_bytes()).hexdigest()
    cached = {}
    if args.cache and args.cache.exists():
        with open(args.cache, "rb") as f:
            saved = pickle.load(f)
        cached = saved["rows"] if saved.get("key") == key else {}
    rows = {}
    with Pool(args.workers) as pool:
        for name, photos in sets.items():
            cs = cases(photos)
            if name in cached and [r[:3] for r in cached[name]] == [c[:3] for c in cs]:
                rows[name] = cached[name]
            else:
                evs = pool.map(measure, cs, chunksize=4)
                rows[name] = [c + (e,) for c, e in zip(cs, evs)]
            print(f"{name}: {len(photos)} photos -> {sum(1 for c in cs if c[1] == 0)} native, "
                  f"{sum(1 for c in cs if c[1] == 1)} upscaled test images")
    if args.cache:
        with open(args.cache, "wb") as f:
            pickle.dump({"key": key, "rows": rows}, f)
    for tune_on, test_on in (("scikit-image", "DreamBooth"), ("DreamBooth", "scikit-image")):
        chosen = tune(rows[tune_on])
        print(f"\n=== thresholds chosen on {tune_on}: detail {chosen[0]:g}, period3 {chosen[1]:g}, smooth3 {chosen[2]:g}, "
              f"predict3 {chosen[3]:g} below detail {chosen[4]:g}, cycle2 {chosen[5]:g}, cycle3 {chosen[6]:g}")
        report(f"held-out {test_on}", rows[test_on], *chosen)
    print("\n=== thresholds shipped in pmd_tui/imaging/upscale.py")
    for name in rows:
        report(name, rows[name], upscale.MIN_DETAIL, upscale.MAX_PERIOD3, upscale.MAX_SMOOTH3, upscale.MAX_PREDICT3,
               upscale.PATTERN_DETAIL, upscale.MAX_CYCLE2, upscale.MAX_CYCLE3)


if __name__ == "__main__":
    main()
