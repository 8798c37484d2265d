"""Decoding images for models: upright RGB at a bounded size, JPEGs decoded at reduced scale directly."""

from __future__ import annotations

from pathlib import Path


def load_rgb(path: Path, max_side: int):
    """RGB no larger than ``max_side`` on its long side (JPEG draft mode skips most of the decode work)."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.draft("RGB", (max_side, max_side))
        im = ImageOps.exif_transpose(im)
        im = im.convert("RGB")
    if max(im.size) > max_side:
        im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return im


def try_load_rgb(path: Path, max_side: int):
    """``load_rgb``, or the reason as a string: one bad file is reported, never the end of a run."""
    try:
        return load_rgb(path, max_side)
    except Exception as exc:
        return f"cannot be decoded ({type(exc).__name__})"
