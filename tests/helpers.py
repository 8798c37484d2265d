"""Real files for tests: photographic-looking images, zips (hostile ones too)."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def image_bytes(size=(640, 512), fmt="JPEG", seed=0, mode="RGB", **save) -> bytes:
    """A sharp, textured image (smoothed noise plus fine grain), distinct per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    coarse = rng.random((max(2, h // 32), max(2, w // 32), 3))
    base = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC), dtype=np.float32)
    grain = rng.normal(0, 25, (h, w, 3))
    arr = np.clip(base + grain, 0, 255).astype(np.uint8)
    im = Image.fromarray(arr, "RGB")
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def write_image(path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = kw.pop("fmt", None) or {".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".gif": "GIF",
                                  ".tif": "TIFF", ".tiff": "TIFF"}.get(path.suffix.lower(), "JPEG")
    path.write_bytes(image_bytes(fmt=fmt, **kw))
    return path


def make_zip(path: Path, entries: dict[str, bytes | str], *, compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def add_symlink_entry(path: Path, name: str, target: str) -> None:
    with zipfile.ZipFile(path, "a") as zf:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, target)


def add_device_entry(path: Path, name: str) -> None:
    with zipfile.ZipFile(path, "a") as zf:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFCHR | 0o600) << 16
        zf.writestr(info, b"")


def kohya_set(n=3, *, prefix="", captions=True, readme="Captioning method: manual\nTrigger word: ohwx\n",
              seed=0, size=(640, 512)) -> dict[str, bytes | str]:
    entries: dict[str, bytes | str] = {}
    for i in range(n):
        entries[f"{prefix}img{i:02d}.jpg"] = image_bytes(size=size, seed=seed + i)
        if captions:
            entries[f"{prefix}img{i:02d}.txt"] = f"photo of ohwx dog number {i}"
    if readme is not None:
        entries[f"{prefix}readme.txt"] = readme
    return entries
