"""Choosing held-out validation images that represent the set: spread across it by perceptual distance."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def perceptual_hashes(paths: list[Path]) -> tuple[np.ndarray, list[int], list[str]]:
    """64-bit perceptual hashes as a (n, 64) boolean array (a reduced decode: hashes need 32x32 pixels),
    the indices of the paths they belong to, and one line for each image that does not decode (a
    truncated file is left out of the choice, not a reason to refuse the whole split)."""
    import imagehash
    from PIL import Image

    rows, kept, bad = [], [], []
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as im:
                im.draft("RGB", (256, 256))
                rows.append(imagehash.phash(im.convert("RGB")).hash.flatten())
            kept.append(i)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            bad.append(f"{p.name}: does not decode ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
    return np.array(rows, dtype=bool).reshape(len(rows), 64), kept, bad


def spread_pick(hashes: np.ndarray, n: int) -> list[int]:
    """Greedy k-center from the medoid: the most typical image first, then each time the image farthest
    from those already chosen, so the held-out images cover the set instead of clustering in one look."""
    count = len(hashes)
    if n <= 0 or count == 0:
        return []
    n = min(n, count)
    dist = (hashes[:, None, :] != hashes[None, :, :]).sum(-1)
    chosen = [int(np.argmin(dist.sum(1)))]
    nearest = dist[chosen[0]].astype(float)
    while len(chosen) < n:
        nearest[chosen] = -1
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        nearest = np.minimum(nearest, dist[nxt])
    return sorted(chosen)


def choose_validation(store, submission_id: int, n: int, *, actor: str,
                      notes: list[str] | None = None) -> list[str]:
    """Hold out ``n`` images spread across the set (the rest become training images); returns their names.
    Images that do not decode are never held out; each gets a line in ``notes``."""
    from pmd_tui.errors import InputError

    sub = store.get(submission_id)
    files = [f for f in store.files(submission_id, "image") if f["width"] and not f.get("excluded")]
    if n < 0:
        raise InputError("--val takes a number of images, 0 or more")
    if n and n >= len(files):
        raise InputError(f"#{submission_id} has {len(files)} readable image(s): holding out {n} leaves none to train on")
    staged = store.staged_dir(sub)
    picked: list[str] = []
    if n:
        hashes, kept, bad = perceptual_hashes([staged / f["name"] for f in files])
        if notes is not None:
            notes.extend(bad)
        if n >= len(kept):
            raise InputError(f"#{submission_id} has {len(kept)} image(s) that decode: holding out {n} leaves "
                             "none to train on")
        picked = [files[kept[i]]["name"] for i in spread_pick(hashes, n)]
    with store.transaction():
        store.set_split(submission_id, [f["name"] for f in files if f["name"] not in picked], "train", actor=actor)
        store.set_split(submission_id, picked, "validation", actor=actor)
    return picked
