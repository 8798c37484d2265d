"""Fixes a maintainer can apply to a staged image: each turns the file's bytes into new bytes.

Every operation keeps what it does not need to change: the pixels (other than the fix itself), the colour
profile and the EXIF block (orientation reset where it was applied). JPEG stays JPEG (re-encoded at quality
95 with full-resolution colour, as a rotation or colour conversion needs a new encode); PNG and TIFF stay
lossless; WebP is re-encoded lossless; other formats (GIF, BMP, ...) become PNG, which is lossless.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, ImageOps

from pmd_tui.errors import InputError

ORIENTATION = 0x0112
# EXIF orientations that move pixels (1 is upright; values outside 1-8 are invalid and mean nothing)
VALID_ROTATIONS = frozenset(range(2, 9))
SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif"}
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128), "gray": (128, 128, 128)}

OPS = {
    "orient": "apply the EXIF orientation to the pixels",
    "rgb": "convert CMYK to RGB",
    "8bit": "reduce 16 bits per channel to 8",
    "flatten": "flatten the alpha channel onto a background",
    "first-frame": "keep only the first frame of the animation",
    "png": "convert to PNG (lossless)",
}


@dataclass
class Fixed:
    data: bytes
    format: str  # the Pillow format name of ``data``
    ext: str  # the file extension that goes with it


def parse_background(value: str | tuple | None) -> tuple[int, int, int]:
    """``white``/``black``/``grey`` or ``#rrggbb``."""
    if value is None:
        return BACKGROUNDS["white"]
    if isinstance(value, tuple):
        return tuple(int(v) for v in value[:3])  # type: ignore[return-value]
    v = value.strip().lower()
    if v in BACKGROUNDS:
        return BACKGROUNDS[v]
    h = v.lstrip("#")
    if len(h) == 6 and all(c in "0123456789abcdef" for c in h):
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    raise InputError(f"background {value!r}: use white, black, grey or #rrggbb")


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im = Image.open(io.BytesIO(data))
        im.load()
    return im


def _exif_bytes(im: Image.Image, *, reset_orientation: bool = False) -> bytes | None:
    if im.format == "TIFF":
        return None
    exif = im.getexif()
    if not exif:
        return None
    if reset_orientation and ORIENTATION in exif:
        del exif[ORIENTATION]
    return exif.tobytes()


def _target_format(source: str | None) -> str:
    if source == "MPO":  # a camera JPEG with an embedded second image: the fixed copy is a plain JPEG
        return "JPEG"
    return source if source in ("JPEG", "PNG", "WEBP", "TIFF") else "PNG"


def _encode(im: Image.Image, fmt: str, *, icc: bytes | None, exif: bytes | None) -> bytes:
    buf = io.BytesIO()
    extra: dict = {}
    if icc:
        extra["icc_profile"] = icc
    if exif:
        extra["exif"] = exif
    if fmt == "JPEG":
        if im.mode not in ("RGB", "L", "CMYK"):
            im = im.convert("RGB")
        im.save(buf, "JPEG", quality=95, subsampling=0, **extra)
    elif fmt == "WEBP":
        if im.mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
        im.save(buf, "WEBP", lossless=True, quality=100, method=4, **extra)
    elif fmt == "TIFF":
        # a TIFF's "EXIF" is its own directory (sizes, strip offsets): never copy it onto new pixels
        extra.pop("exif", None)
        im.save(buf, "TIFF", compression="tiff_deflate", **extra)
    else:
        if im.mode == "CMYK":
            im = im.convert("RGB")
        elif im.mode == "F":
            im = _to_8bit(im)
        im.save(buf, "PNG", **extra)
    return buf.getvalue()


# the sample ranges a 32-bit integer image (TIFF "I") really comes in: 8, 10, 12, 14 and 16-bit sensors and
# scanners store their counts in 32-bit containers; only a range past 16 bits is scaled by its own maximum
_INT_RANGES = (255, 1023, 4095, 16383, 65535)


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit, 32-bit or float grey to 8-bit grey by the image's real range; other modes pass through.

    16-bit modes use the exact 65535 -> 255 scale. A 32-bit integer image is scaled from the smallest
    common range that holds its largest value (0-1023 for a 10-bit scan), so values 0-1000 do not all
    become white (nor black); negative values start the range. Floats in 0-1 scale by 255, others by their
    maximum."""
    if im.mode not in SIXTEEN_BIT_MODES:
        return im
    arr = np.asarray(im).astype(np.float64)
    if im.mode == "F":
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if arr.max(initial=0) <= 1.0 else 255.0 / max(arr.max(), 1.0)
        out = arr * scale
    elif im.mode == "I":
        low = min(float(arr.min(initial=0)), 0.0)
        arr = arr - low
        top = float(arr.max(initial=0))
        full = next((r for r in _INT_RANGES if top <= r), max(top, 1.0))
        out = arr * (255.0 / full)
    else:
        out = arr / 257.0
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "L")


def _result(im: Image.Image, source: str | None, *, fmt: str | None = None, icc: bytes | None,
            exif: bytes | None) -> Fixed:
    fmt = fmt or _target_format(source)
    return Fixed(_encode(im, fmt, icc=icc, exif=exif), fmt, EXTENSIONS[fmt])


def fix_image(data: bytes, op: str, *, background: str | tuple | None = None) -> Fixed | None:
    """Apply ``op`` (one of ``OPS``) to an image's bytes; None when the image does not need it."""
    if op not in OPS:
        raise InputError(f"unknown fix {op!r}; one of {', '.join(OPS)}")
    bg = parse_background(background) if op == "flatten" else None
    im = _open(data)
    source = im.format
    icc = im.info.get("icc_profile")
    if op == "orient":
        if im.getexif().get(ORIENTATION, 1) not in VALID_ROTATIONS:
            return None  # 1 is upright; 0, 9, 65535 ... are not orientations: nothing to apply
        upright = ImageOps.exif_transpose(im)  # a copy whose EXIF no longer has the orientation
        return _result(upright, source, icc=icc, exif=_exif_bytes(upright, reset_orientation=True))
    if op == "rgb":
        if im.mode != "CMYK":
            return None
        if icc:
            try:
                rgb = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                                ImageCms.createProfile("sRGB"), outputMode="RGB")
            except Exception:  # a broken profile: the plain conversion is still better than CMYK
                rgb = im.convert("RGB")
        else:
            rgb = im.convert("RGB")
        return _result(rgb, source, icc=None, exif=_exif_bytes(im))
    if op == "8bit":
        if im.mode in SIXTEEN_BIT_MODES:
            return _result(_to_8bit(im), source, icc=icc, exif=_exif_bytes(im))
        if source == "PNG" and data[12:16] == b"IHDR" and data[24] == 16:
            # Pillow already decodes 16-bit colour PNGs to 8 bits per channel: re-saving stores them so.
            return _result(im, source, icc=icc, exif=_exif_bytes(im))
        if source == "TIFF":
            bits = getattr(im, "tag_v2", {}).get(258)
            if bits and max(bits if isinstance(bits, tuple) else (bits,)) > 8:
                return _result(im, source, icc=icc, exif=_exif_bytes(im))
        return None
    if op == "flatten":
        has_alpha = "A" in im.getbands() or im.mode == "PA" or "transparency" in im.info
        if not has_alpha:
            return None
        base = _to_8bit(im) if im.mode in SIXTEEN_BIT_MODES else im
        rgba = base.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*bg, 255))
        flat = Image.alpha_composite(canvas, rgba).convert("RGB")
        return _result(flat, source, icc=icc, exif=_exif_bytes(im))
    if op == "first-frame":
        if not getattr(im, "is_animated", False):
            return None
        im.seek(0)
        frame = im.copy()
        if frame.mode == "P":
            frame = frame.convert("RGBA" if "transparency" in im.info else "RGB")
        return _result(frame, source, icc=icc, exif=_exif_bytes(im))
    # png
    if source in ("PNG", "JPEG", "MPO", "WEBP"):
        return None
    return _result(im, source, fmt="PNG", icc=icc, exif=_exif_bytes(im))
