"""Preview thumbnails, cached on disk by content hash.

Terminal previews never need more than a few hundred pixels; scaling a 4000 px photo on every repaint
would make browsing stutter, so each image is reduced once (EXIF rotation applied) and kept.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from PIL import Image, ImageOps

THUMB_SIDE = 384


def thumbnail_path(cache_dir: Path, sha256: str) -> Path:
    return cache_dir / "thumbs" / sha256[:2] / f"{sha256}.png"


def thumbnail(source: Path, sha256: str, cache_dir: Path, side: int = THUMB_SIDE) -> Image.Image | None:
    """The cached thumbnail as an RGB image, made on first use; None when the image cannot be decoded."""
    target = thumbnail_path(cache_dir, sha256)
    if target.exists():
        try:
            with Image.open(target) as im:
                im.load()
                return im
        except OSError:
            target.unlink(missing_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(source) as im:
                if im.width * im.height > 200_000_000:
                    return None
                im.draft("RGB", (side, side))  # JPEG: decode at reduced scale directly
                im = ImageOps.exif_transpose(im)
                im.thumbnail((side, side), Image.BILINEAR)
                if im.mode not in ("RGB", "RGBA"):
                    im = im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB")
                if im.mode == "RGBA":  # flatten on a neutral grey so transparency is visible
                    bg = Image.new("RGB", im.size, (64, 64, 64))
                    bg.paste(im, mask=im.getchannel("A"))
                    im = bg
                im.load()
    except Exception:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    im.save(tmp, "PNG", compress_level=1)
    os.replace(tmp, target)
    return im
