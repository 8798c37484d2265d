"""Benchmark: `check` against cleanvision and against a plain decode loop, side by side in one run.

Run by hand:  python tests/bench/bench_checks.py [--n 300]   (cleanvision: pip install -e '.[bench]')
Makes N 1024 px JPEG photos from scikit-image's public-domain photographs (random crops, flips and
colour shifts, so every file is distinct), then times:
  floor        decode every image once (PIL load), single process
  pmd check    intake excluded; cold cache (every image analysed) and warm (all cached)
  cleanvision  Imagelab(data_path).find_issues()
It also prints the CPU seconds of the floor and of the cold check (its analysis workers included): on a
machine busy with other work the wall-clock ratio swings, the CPU ratio hardly does. ``--repeat N`` times the
floor and the cold and cached checks N times (a fresh queue each time) and prints every run and the medians.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import skimage
from PIL import Image, ImageOps

PHOTOS = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg",
          "grass.png", "gravel.png", "coins.png", "hubble_deep_field.jpg", "motorcycle_right.png"]


def make_photos(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    sources = [Image.open(Path(skimage.__file__).parent / "data" / p).convert("RGB") for p in PHOTOS]
    paths = []
    for i in range(n):
        im = sources[i % len(sources)]
        w, h = im.size
        cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
        x, y = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
        crop = im.crop((x, y, x + cw, y + ch))
        if rng.random() < 0.5:
            crop = ImageOps.mirror(crop)
        arr = np.asarray(crop, dtype=np.float32) * rng.uniform(0.8, 1.2, 3)
        crop = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        scale = 1024 / max(crop.size)
        crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.LANCZOS)
        p = folder / f"photo_{i:04d}.jpg"
        crop.save(p, "JPEG", quality=92)
        paths.append(p)
    return paths


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the analysis workers), user + system."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--skip-cleanvision", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="time floor and checks this many times; print medians")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "photos"
        folder.mkdir()
        paths = make_photos(folder, args.n)
        print(f"{args.n} JPEG photos, 1024 px long side, {sum(p.stat().st_size for p in paths) / 1e6:.0f} MB; "
              f"{os.cpu_count()} cores")

        def floor():
            for p in paths:
                with Image.open(p) as im:
                    im.load()

        from pmd_tui.checks.engine import run_checks
        from pmd_tui.config import load_settings
        from pmd_tui.intake.service import add_source
        from pmd_tui.store import QueueStore

        runs = []  # (floor s, cold s, cached s, floor CPU s, cold CPU s)
        for r in range(args.repeat):
            c0 = cpu_seconds()
            t_floor, _ = timed(floor)
            c_floor = cpu_seconds() - c0
            settings = load_settings(tmp / f"q{r}.db")  # a fresh queue: its analysis cache is empty
            store = QueueStore(settings.db_path)
            sid = add_source(store, settings, folder)
            c0 = cpu_seconds()
            t_cold, _ = timed(lambda: run_checks(store, settings, [sid]))
            c_cold = cpu_seconds() - c0
            t_warm, _ = timed(lambda: run_checks(store, settings, [sid]))
            store.close()
            runs.append((t_floor, t_cold, t_warm, c_floor, c_cold))
            if args.repeat > 1:
                print(f"run {r + 1}: floor {t_floor:.2f} s, cold {t_cold:.2f} s = {t_cold / t_floor:.2f}x; "
                      f"CPU {c_floor:.2f} s / {c_cold:.2f} s = {c_cold / c_floor:.2f}x; load {os.getloadavg()[0]:.2f}")
        t_floor, t_cold, t_warm, c_floor, c_cold = (statistics.median(x) for x in zip(*runs))
        if args.repeat > 1:
            print(f"medians of {args.repeat} runs:  wall ratio {statistics.median(r[1] / r[0] for r in runs):.2f}x, "
                  f"CPU ratio {statistics.median(r[4] / r[3] for r in runs):.2f}x")

        rows = [("decode floor", t_floor), ("pmd check (cold)", t_cold), ("pmd check (cached)", t_warm)]
        t_cv = None
        if not args.skip_cleanvision:
            try:
                from cleanvision import Imagelab
            except ImportError:
                print("cleanvision is not installed (pip install cleanvision); skipping it")
            else:
                def cv():
                    lab = Imagelab(data_path=str(folder))
                    lab.find_issues()

                t_cv, _ = timed(cv)
                rows.append(("cleanvision find_issues", t_cv))
        print(f"{'':26}{'seconds':>9}{'images/s':>10}")
        for name, t in rows:
            print(f"{name:26}{t:9.2f}{args.n / t:10.1f}")
        print(f"pmd check cold / decode floor: {t_cold / t_floor:.2f}x  (target <= 1.5x)")
        # CPU seconds barely depend on what else the machine runs; wall time on a busy machine does
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        print(f"CPU: decode floor {c_floor:.2f} s, cold check {c_cold:.2f} s (all processes) = {c_cold / c_floor:.2f}x; "
              f"spread over {cores} idle cores that is about {c_cold / c_floor / cores:.2f}x the floor")
        if t_cv:
            print(f"cleanvision / pmd check cold:  {t_cv / t_cold:.1f}x faster  (target >= 5x)")


if __name__ == "__main__":
    main()
