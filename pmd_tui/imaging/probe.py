"""Cheap image facts read from the header only (no pixel decode), for intake and listings."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

from PIL import Image

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_EXTS


def open_header(path: str | Path) -> Image.Image:
    """The image opened for its header only, without Pillow's decompression-bomb check, which
    ``Image.open`` applies (and which this project never switches off process-wide): the plugin is called
    the way ``Image.open`` calls it. Never load pixels from the result; it is for sizes and formats."""
    Image.init()
    with open(path, "rb") as f:
        prefix = f.read(16)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        if accept and not accept(prefix):
            continue
        try:
            return factory(str(path))
        except (SyntaxError, IndexError, TypeError, ValueError, OSError, struct.error):
            continue
    raise Image.UnidentifiedImageError(f"cannot identify image file {str(path)!r}")


def probe(path: Path) -> dict:
    """Width, height, format and mode from the header; empty values when the file is unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                im = Image.open(path)
            except Image.DecompressionBombError:  # huge: still say how huge (the checks refuse it)
                im = open_header(path)
            with im:
                return {"width": im.width, "height": im.height, "format": im.format, "mode": im.mode}
    except Exception:  # any decoder error means "not readable", which the checks report
        return {"width": None, "height": None, "format": None, "mode": None}
