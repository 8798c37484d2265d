"""Cheap image facts read from the header only (no pixel decode), for intake and listings."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_EXTS


def probe(path: Path) -> dict:
    """Width, height, format and mode from the header; empty values when the file is unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                return {"width": im.width, "height": im.height, "format": im.format, "mode": im.mode}
    except Exception:  # any decoder error means "not readable", which the checks report
        return {"width": None, "height": None, "format": None, "mode": None}
