"""Everything the image rules need, from one decode per image.

Runs in worker processes; results are plain JSON-able dicts cached in the queue by content hash and
``ANALYSIS_VERSION`` (bump it whenever the output changes), so an unchanged file is analysed once.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable

import imagehash
import numpy as np
from PIL import Image

from pmd_tui.imaging import quality
from pmd_tui.imaging.upscale import upscale_evidence

ANALYSIS_VERSION = 6  # 2: location found in XMP, extended XMP and PNG raw profiles too; 3: tile-based
# upscale evidence, quality figures; 4: predictability of one pixel in three (upscale evidence); 5: the
# mirrored-spectrum coherences at a 2- and a 3-pixel period (upscale evidence); 6: its luminance spread
ORIENTATION = 0x0112
GPS_IFD = 0x8825
SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}

# Pillow's own bomb limit (MAX_IMAGE_PIXELS) stays as the process has it: analyse() compares the declared
# size with our configurable limit before any pixel is allocated, and Pillow's warning is silenced there.


def matchable_phash(analysis: dict | None) -> str | None:
    """The perceptual hash to match copies by, or None for a flat image (luminance spread or tones under the
    low-information thresholds): its hash is decided by rounding noise, so every black, white or grey image
    hashes alike, and a 1x1 black dot would "match" a grey 768 px square. Identical bytes still match."""
    if not analysis or not analysis.get("phash"):
        return None
    m = analysis.get("quality")
    return None if m and quality.is_flat(m) else analysis["phash"]


def _bit_depth(path: str, im: Image.Image) -> int:
    if im.mode in SIXTEEN_BIT_MODES:
        return 16
    if im.format == "PNG":
        with open(path, "rb") as f:
            head = f.read(25)
        if len(head) == 25 and head[12:16] == b"IHDR":
            return head[24]
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        if bits:
            return int(max(bits) if isinstance(bits, tuple) else bits)
    return 8


def _has_location(path: str) -> bool:
    """Location metadata by the container-aware parsers publishing strips with (EXIF GPS, XMP and extended
    XMP, PNG text chunks and ImageMagick's raw EXIF profiles)."""
    from pmd_tui.imaging.metadata import location_sources

    with open(path, "rb") as f:
        return bool(location_sources(f.read()))


def analyse(path: str, max_pixels: int) -> dict:
    """Decode ``path`` once and derive every per-image fact the rules use."""
    out: dict = {"ok": False}
    try:
        if os.path.getsize(path) == 0:
            out["error"] = "empty file (0 bytes)"
            return out
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                w, h = im.size
                out.update(width=w, height=h, format=im.format, mode=im.mode)
                if w * h > max_pixels:
                    out["error"] = f"{w}x{h} is {w * h:,} pixels, over the limit of {max_pixels:,}"
                    return out
                exif = im.getexif()
                orientation = exif.get(ORIENTATION)
                out["orientation"] = int(orientation) if orientation else 1
                out["gps"] = _has_location(path)
                out["frames"] = int(getattr(im, "n_frames", 1) or 1)
                out["animated"] = bool(getattr(im, "is_animated", False))
                out["cmyk"] = im.mode == "CMYK"
                out["bits"] = _bit_depth(path, im)
                out["alpha"] = "A" in im.getbands() or im.mode == "PA" or "transparency" in im.info
                mode = im.mode
                if im.format == "JPEG" and im.mode == "RGB":
                    # JPEG stores luminance: take it straight from the decoder (the same Y that
                    # convert("L") computes) and skip the colour conversion of every pixel
                    im.draft("YCbCr", None)
                im.load()
                colour = None
                if im.mode in SIXTEEN_BIT_MODES:
                    arr = np.asarray(im, dtype=np.float32)
                    gray = Image.fromarray(np.clip(arr / max(arr.max(), 1) * 255, 0, 255).astype(np.uint8))
                else:
                    gray = im.getchannel(0) if im.mode == "YCbCr" else im.convert("L")
                    if mode not in quality.GRAYSCALE_MODES:
                        colour = quality.colour_sample(im)
        small = gray
        factor = max(1, min(gray.size) // 256)
        if factor > 1:
            small = gray.reduce(factor)
        out["phash"] = str(imagehash.phash(small))
        pixels = np.asarray(gray)  # one copy out of Pillow, shared by the upscale and quality measures
        out["upscale"] = upscale_evidence(pixels)
        k = quality.reduction(w, h)
        if k > 1:
            gray_small = gray.reduce(k)
            out["quality"] = quality.measure(gray_small, colour, mode)
        else:
            out["quality"] = quality.measure(gray, colour, mode, pixels)
        out["ok"] = True
    except Image.DecompressionBombError:  # Pillow's own limit, met at open: read the size from the header
        from pmd_tui.imaging.probe import open_header

        try:
            with open_header(path) as im:
                w, h = im.size
            out.update(width=w, height=h, format=im.format, mode=im.mode)
            out["error"] = f"{w}x{h} is {w * h:,} pixels, over the limit of {max_pixels:,}"
        except Exception:
            out["error"] = f"over the limit of {max_pixels:,} pixels"
    except Exception as exc:  # a bad image is a finding, never a crash
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        # Pillow names the file by its staged path: the maintainer knows it by its name in the set
        out["error"] = f"cannot decode: {msg.replace(repr(path), 'the file').replace(path, 'the file')}"
    return out


def _analyse_chunk(paths: list[str], max_pixels: int) -> list[dict]:
    return [analyse(p, max_pixels) for p in paths]


def _chunks(n: int, workers: int) -> list[tuple[int, int]]:
    """(start, stop) of the pieces ``n`` images are handed out in: up to 16 at first (few round trips),
    shrinking to single images at the end, so no worker sits idle while another finishes a long piece."""
    out, start = [], 0
    while start < n:
        size = max(1, min(16, (n - start) // (workers * 4)))
        out.append((start, start + size))
        start += size
    return out


def _die_with_parent() -> None:
    """In each worker: exit as soon as the process that started it is gone (``kill -9`` of a ``check``
    would otherwise leave workers blocked on their task queue for ever)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.25)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with a real stderr.

    Inside the TUI, ``sys.stderr`` is Textual's print capture, whose ``fileno()`` is -1; the tracker (started
    on the first pool) passes that descriptor to its process, which fails with "bad value(s) in
    fds_to_keep". So when stderr has no descriptor, the tracker starts with /dev/null as stderr.
    """
    try:
        if sys.stderr is not None and sys.stderr.fileno() >= 0:
            return
    except (AttributeError, OSError, ValueError):
        pass
    from multiprocessing import resource_tracker

    saved = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = saved


def analyse_many(paths: Iterable[str], max_pixels: int, *, workers: int | None = None,
                 on_result: Callable[[int, int], None] | None = None) -> list[dict]:
    """Analyse in parallel on every core; order of results matches ``paths``."""
    paths = list(paths)
    workers = workers or os.cpu_count() or 1
    if len(paths) < 4 or workers == 1:
        results = []
        for i, p in enumerate(paths):
            results.append(analyse(p, max_pixels))
            if on_result:
                on_result(i + 1, len(paths))
        return results
    results = []
    # fork starts instantly, but forking a threaded process (the TUI) is unsafe: use forkserver there.
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("fork")
    else:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["pmd_tui.checks.analysis"])
    _start_resource_tracker()
    with ProcessPoolExecutor(max_workers=min(workers, len(paths)), mp_context=ctx,
                             initializer=_die_with_parent) as pool:
        futures = [pool.submit(_analyse_chunk, paths[a:b], max_pixels) for a, b in _chunks(len(paths), workers)]
        try:
            for future in futures:
                for r in future.result():
                    results.append(r)
                    if on_result:
                        on_result(len(results), len(paths))
        finally:
            for future in futures:  # an error or a cancel in on_result: the queued pieces are dropped
                future.cancel()
    return results
