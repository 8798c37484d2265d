"""Running the screening models over submissions: results cached by content hash and model, so an image
is screened once however often it is re-checked (and the same photo in two submissions costs nothing).

The rules read these cached results (``checks/rules/screening.py``); ``pmd-tui check --models`` and the
TUI's ``M`` key run this first, then the checks.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pmd_tui.config import Settings
from pmd_tui.errors import PmdError
from pmd_tui.jobs import JobReport, Progress, is_cancelled
from pmd_tui.model_runtime import BatchBackoff
from pmd_tui.imaging.decode import try_load_rgb
from pmd_tui.store import QueueStore



def enabled(spec: str | None) -> bool:
    return bool(spec) and spec.strip().lower() not in ("off", "none", "false", "")


def model_keys(settings: Settings) -> dict[str, str]:
    """The cache key of each enabled model: what the rules look up."""
    keys = {}
    if enabled(settings.nsfw_model):
        keys["nsfw"] = f"nsfw:{settings.nsfw_model}"
    if enabled(settings.face_model):
        keys["faces"] = f"faces:{settings.face_model}"
        if enabled(settings.face_recognizer):  # SFace aligns on the detector's landmarks
            from pmd_tui.screening.identity import identity_key

            keys["identity"] = identity_key(settings.face_recognizer, settings.face_model)
    return keys


@dataclass
class ScreenReport(JobReport):
    screened: int = 0
    cached: int = 0

    def describe(self) -> str:
        if self.cancelled:
            return f"cancelled after screening {self.screened} image(s)"
        return f"screened {self.screened} image(s) ({self.cached} already known)"


def screen(store: QueueStore, settings: Settings, ids: list[int], *, device: str = "auto",
           batch_size: int | None = None, progress: Progress | None = None,
           cancel: threading.Event | None = None) -> ScreenReport:
    """Run every enabled model on the images of ``ids`` that it has not seen yet."""
    keys = model_keys(settings)
    report = ScreenReport()
    if not keys:
        return report
    wanted = store.staged_images(ids)
    todo = _todo(store, ids, wanted, keys, report)
    hashes = sorted(set(todo.get("nsfw", [])) | set(todo.get("faces", [])) | set(todo.get("identity", [])))
    if not hashes:
        return report
    if progress and todo.get("nsfw"):
        progress(0, len(hashes), f"loading {settings.nsfw_model}")
    nsfw, faces, recognizer = _load_models(settings, todo, device)
    size = batch_size or (32 if nsfw is not None and nsfw.device == "cuda" else 8)
    backoff = BatchBackoff(size, nsfw.device) if nsfw is not None else None
    need_nsfw, need_faces = set(todo.get("nsfw", [])), set(todo.get("faces", []))
    need_identity = set(todo.get("identity", []))

    def decode(h):
        image = try_load_rgb(wanted[h], 768)
        return h, (f"{wanted[h].name}: {image}" if isinstance(image, str) else image)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="pmd-screen") as pool:
        for start in range(0, len(hashes), size):
            if is_cancelled(cancel):
                report.cancelled = True
                break
            batch = list(pool.map(decode, hashes[start:start + size]))
            good = [(h, im) for h, im in batch if not isinstance(im, str)]
            report.failed += [im for _, im in batch if isinstance(im, str)]
            nsfw_items = [(h, im) for h, im in good if h in need_nsfw]
            if nsfw_items:
                scores = _nsfw_scores(nsfw, backoff, [im for _, im in nsfw_items])
                store.put_model_results({h: {"score": s} for (h, _), s in zip(nsfw_items, scores)}, keys["nsfw"])
            face_items = [(h, im) for h, im in good if h in need_faces or h in need_identity]
            if face_items:
                _faces_and_identities(face_items, faces, recognizer, need_faces, need_identity, store, keys)
            report.screened += len(good)
            if progress:
                progress(min(start + size, len(hashes)), len(hashes), "screening images")
    return report


def _todo(store: QueueStore, ids: list[int], wanted: dict, keys: dict[str, str],
          report: ScreenReport) -> dict[str, list[str]]:
    """Per model, the image hashes it has not seen (its cached results are counted in the report)."""
    todo: dict[str, list[str]] = {}
    for kind, key in keys.items():
        known = store.model_results(wanted, key)
        todo[kind] = [h for h in wanted if h not in known]
        report.cached += len(known)
    if todo.get("identity"):  # embeddings deleted on request are not computed again
        forgotten = store.identity_forgotten(ids)
        if forgotten:
            allowed = store.staged_images([i for i in ids if i not in forgotten])
            todo["identity"] = [h for h in todo["identity"] if h in allowed]
    return todo


def _load_models(settings: Settings, todo: dict[str, list[str]], device: str):
    """(SFW classifier, face detector, face recognizer), each None when no image needs it."""
    nsfw = faces = recognizer = None
    if todo.get("nsfw"):
        from pmd_tui.screening.nsfw import load_nsfw

        nsfw = load_nsfw(settings.nsfw_model, device)
    if todo.get("faces") or todo.get("identity"):
        from pmd_tui.screening.faces import load_faces

        faces = load_faces(settings.face_model)
    if todo.get("identity"):
        from pmd_tui.screening.identity import load_recognizer

        recognizer = load_recognizer(settings.face_recognizer)
    return nsfw, faces, recognizer


def _nsfw_scores(nsfw, backoff: BatchBackoff, images: list) -> list[float]:
    """Scores in batches that shrink on out-of-memory; a model failure is one line, not a traceback."""
    try:
        return backoff.run(len(images), lambda a, b: nsfw.scores(images[a:b]))
    except PmdError:
        raise
    except Exception as exc:
        raise PmdError(f"the SFW classifier failed: {str(exc).strip().splitlines()[0]}") from None


def _faces_and_identities(items, detector, recognizer, need_faces, need_identity, store, keys) -> None:
    """One detection per image serves both caches; every face crop of the batch is embedded in one pass."""
    counts, records, crops = {}, {}, []
    for h, im in items:
        bgr, rows = detector.detect(im)
        if h in need_faces:
            counts[h] = detector.summary(bgr, rows)
        if h in need_identity:
            records[h] = recognizer.faces(bgr, rows)
            crops += [f.pop("crop") for f in records[h]]
    embeddings = iter(recognizer.embed(crops)) if crops else iter(())
    for faces in records.values():
        for f in faces:
            f["embedding"] = next(embeddings)
    store.put_model_results(counts, keys["faces"])
    if records:
        store.put_model_results({h: {"faces": faces} for h, faces in records.items()}, keys["identity"])


def results_for(store: QueueStore, settings: Settings, files: list[dict]) -> dict[str, dict]:
    """image name -> {"nsfw": {...}, "faces": {...}, "identity": {...}} for what has been screened (empty dict:
    not yet). The identity records hold embeddings: for the rules and the review screen, never for output."""
    images = [f for f in files if f["kind"] == "image" and f["sha256"]]
    per_kind = {kind: store.model_results({f["sha256"] for f in images}, key)
                for kind, key in model_keys(settings).items()}
    return {f["name"]: {kind: found[f["sha256"]] for kind, found in per_kind.items() if f["sha256"] in found}
            for f in images}
