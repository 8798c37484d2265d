"""A demo queue of generated sample submissions, so a new user sees every feature in the first minute.

Every image is drawn here (no downloads, no real people): small painted landscapes with a subject,
sharp enough to pass the checks. Some sets are clean; others carry the problems maintainers meet
(missing captions, an AI-upscaled image, a broken file, an unsafe archive entry, duplicates, location
metadata, legacy encodings, a kohya repeat folder).
"""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from pmd_tui.config import Settings
from pmd_tui.store import QueueStore


def scene(seed: int, size=(768, 640), hue=0) -> Image.Image:
    """A painted landscape with sky, sun, hills and a subject; fine grain keeps it natively sharp."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0, 1, h)[:, None, None]
    top = np.array([40 + hue % 60, 90 + (hue * 3) % 80, 200 - hue % 50], dtype=np.float32)
    bottom = np.array([250, 180 + (hue * 7) % 60, 120 + hue % 80], dtype=np.float32)
    sky = (top * (1 - y) + bottom * y) * np.ones((1, w, 1))
    im = Image.fromarray(sky.astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    sx, sy, r = rng.integers(w // 8, w - w // 8), rng.integers(h // 10, h // 3), rng.integers(h // 14, h // 8)
    d.ellipse((sx - r, sy - r, sx + r, sy + r), fill=(255, 236, 160))
    for layer in range(3):
        base = h * (0.45 + 0.15 * layer)
        xs = np.linspace(0, w, 12)
        ys = base + rng.normal(0, h * 0.06, 12)
        shade = 30 + 35 * layer
        color = (shade + hue % 40, 70 + shade, 40 + layer * 20)
        d.polygon([(0, h)] + list(zip(xs.tolist(), ys.tolist())) + [(w, h)], fill=color)
    cx, cy = rng.integers(w // 4, 3 * w // 4), int(h * 0.78)
    body = (rng.integers(60, 200), rng.integers(40, 120), rng.integers(20, 90))
    d.ellipse((cx - 70, cy - 40, cx + 70, cy + 30), fill=body)
    d.ellipse((cx + 40, cy - 80, cx + 100, cy - 20), fill=body)
    d.rectangle((cx - 55, cy + 10, cx - 40, cy + 60), fill=body)
    d.rectangle((cx + 30, cy + 10, cx + 45, cy + 60), fill=body)
    im = im.filter(ImageFilter.SMOOTH)
    grain = rng.normal(0, 9, (h, w, 3))
    arr = np.clip(np.asarray(im, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def _jpeg(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def _zip(path: Path, entries: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _captioned(prefix: str, n: int, seed: int, caption: str, hue: int, ext="jpg") -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for i in range(n):
        out[f"{prefix}{i:02d}.{ext}"] = _jpeg(scene(seed + i, hue=hue))
        out[f"{prefix}{i:02d}.txt"] = caption.format(i=i)
    return out


def sample_uploads(folder: Path) -> list[dict]:
    """Write the demo uploads into ``folder``; returns how to add each (path and metadata)."""
    return list(iter_uploads(folder))


DEMO_SIZE = 6  # how many uploads iter_uploads yields


def iter_uploads(folder: Path) -> Iterator[dict]:
    """Write the demo uploads into ``folder`` one at a time (each is drawn when it is asked for)."""
    folder.mkdir(parents=True, exist_ok=True)
    clean = _captioned("", 8, 100, "a photo of ohwx dog in the hills, picture {i}", hue=10)
    clean["readme.txt"] = "Captioning method: hand-written captions\nTrigger word: ohwx\nMy dog Rex.\n"
    yield {"path": _zip(folder / "rex-the-dog.zip", clean), "issue": 12, "submitter": "alice",
           "attest": {"likeness": "not-a-likeness"}, "decide": "approve"}

    kohya = _captioned("training/img/10_zkx style/", 6, 200, "zkx style, painted hills, {i}", hue=40)
    kohya["training/readme.txt"] = "Captions made with BLIP-2, edited.\nTrigger: zkx style\nOriginal art by the contributor.\n"
    yield {"path": _zip(folder / "zkx-painting-style.zip", kohya), "issue": 15, "submitter": "bo-lee",
           "attest": {"artist_ok": True}}

    bare = {f"IMG_{i:04d}.jpg": _jpeg(scene(300 + i, hue=80)) for i in range(6)}
    yield {"path": _zip(folder / "toy-robot-no-captions.zip", bare), "issue": 17, "submitter": "chen"}

    problems = _captioned("", 5, 400, "sks teapot on a table {i}", hue=120)
    small = scene(450, size=(384, 320), hue=120)
    problems["upscaled.jpg"] = _jpeg(small.resize((1152, 960), Image.BICUBIC))
    problems["upscaled.txt"] = "sks teapot, enlarged"
    problems["broken.jpg"] = _jpeg(scene(451, hue=120))[:4000]
    problems["broken.txt"] = "half a file"
    problems["00 copy.jpg"] = problems["00.jpg"]
    problems["00 copy.txt"] = "sks teapot again"
    problems["../../etc/cron.d/evil"] = "* * * * * root rm -rf /"
    problems["notes.docx"] = b"PK\x03\x04 not really a document"
    yield {"path": _zip(folder / "teapot-with-problems.zip", problems), "issue": 21, "submitter": "dmitri"}

    legacy = _captioned("", 4, 500, "portrait of mxz woman, caf\xe9 light {i}", hue=200)
    for i in range(4):
        legacy[f"{i:02d}.txt"] = legacy[f"{i:02d}.txt"].encode("cp1252")  # type: ignore[union-attr]
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    legacy["00.jpg"] = _jpeg(scene(500, hue=200), exif=exif)
    legacy["stray caption.txt"] = "this caption has no image"
    yield {"path": _zip(folder / "mxz-portraits.zip", legacy), "issue": 23, "submitter": "eve",
           "decide": "reject", "reason": "likeness of a private person without consent (rule 2)"}

    markup = _captioned("", 3, 600, "[bold red]not markup[/] \x1b[31mno escape\x1b[0m {i}", hue=260)
    markup["readme.txt"] = "captioned with Florence-2\ntrigger: qwz\n"
    yield {"path": _zip(folder / "odd-strings.zip", markup), "issue": 24, "submitter": "[red]mallory[/red]"}


ISSUE_TITLES = {12: "Rex the dog (8 photos)", 15: "zkx painting style", 17: "Toy robot, no captions",
                21: "Teapot", 23: "Portraits", 24: "Odd strings"}
ISSUE_TEXTS = {
    12: "My dog Rex, eight photos from our walks. Captions are hand-written, trigger word ohwx.",
    15: "My own paintings; the zip is straight from my kohya training folder (10 repeats).",
    17: "Six photos of a toy robot. I did not caption them, please use Florence-2.\nTrigger word: tqr robot",
    21: "Teapot set. Some of these I enlarged a bit.",
    23: "Portraits of my neighbour.",
    24: "Testing what the tool does with [bold]markup[/bold] in an issue.",
}


def build_demo_queue(store: QueueStore, settings: Settings, workdir: Path, *,
                     progress: Callable[[int, int, str], None] | None = None,
                     cancel: threading.Event | None = None) -> list[int]:
    """Fill ``store`` with the sample submissions, checked, some attested and decided.

    One submission at a time, each complete (checked and decided) before the next is drawn, so a screen
    showing the queue meanwhile never sees half of one; ``progress(done, total, name)`` follows each.
    """
    from pmd_tui.checks.engine import run_checks
    from pmd_tui.decisions import approve, reject
    from pmd_tui.intake.service import add_source

    ids = []
    for up in iter_uploads(workdir / "uploads"):
        if cancel is not None and cancel.is_set():
            break
        issue = up.get("issue")
        extra = {"issue_url": f"https://github.com/spacepxl/personalization-meta-dataset/issues/{issue}",
                 "issue_title": ISSUE_TITLES.get(issue), "issue_text": ISSUE_TEXTS.get(issue)} if issue else None
        sid = add_source(store, settings, up["path"], issue=issue, submitter=up.get("submitter"), extra=extra)
        ids.append(sid)
        if "attest" in up:
            store.attest(sid, actor=settings.actor, **up["attest"])
        run_checks(store, settings, [sid], cancel=cancel)
        if up.get("decide") == "approve":
            approve(store, settings, sid, note="demo: looks good")
        elif up.get("decide") == "reject":
            reject(store, settings, sid, reason=up["reason"])
        if progress:
            progress(len(ids), DEMO_SIZE, store.get(sid)["name"])
    return ids
