"""Counting faces (rule 2): OpenCV's YuNet detector, a 230 KB ONNX model that runs offline on the CPU.

YuNet is maintained in the OpenCV model zoo and runs through ``cv2.FaceDetectorYN`` (part of
opencv-python), so no extra runtime is needed. The weights come from a local ``.onnx`` path or from the
Hub (``REPO/FILE``), which works offline once the file is in the Hugging Face cache.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from pmd_tui.model_runtime import ModelError, WarmCache, hub_offline, hub_reachable, looks_like_path

MAX_SIDE = 640  # YuNet is trained for faces of 10-300 px; larger inputs only cost time
_WARM: WarmCache["FaceDetector"] = WarmCache()


def resolve_weights(spec: str, what: str = "face detector", key: str = "face_model") -> Path:
    """A local .onnx file, or REPO/FILE.onnx from the Hugging Face cache (downloaded when the Hub answers).
    A missing file, or weights that are not cached while offline, fail at once with one line."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    parts = spec.split("/")
    hub_like = len(parts) >= 3 and spec.endswith(".onnx") and not spec.startswith(("/", "~", "."))
    if not hub_like:
        if looks_like_path(spec) or spec.endswith(".onnx"):
            raise ModelError(f"the {what} {spec} does not exist: no such file (set {key} to a local "
                             ".onnx file, to REPO/FILE.onnx on the Hub, or to \"off\")")
        raise ModelError(f"{what} {spec!r}: not a file, and not REPO/FILE.onnx on the Hugging Face Hub")
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
    cached = try_to_load_from_cache(repo, filename)
    if isinstance(cached, str):
        return Path(cached)
    if hub_offline() or not hub_reachable():
        why = "HF_HUB_OFFLINE is set" if hub_offline() else "the Hugging Face Hub cannot be reached"
        raise ModelError(f"{what} weights {spec} are not in the local Hugging Face cache and {why}; run "
                         f"`hf download {repo} {filename}` where the Hub is reachable, or set {key} to a local "
                         ".onnx file (or \"off\")") from None
    try:
        return Path(hf_hub_download(repo, filename))
    except Exception as exc:
        raise ModelError(f"{what} weights {spec} could not be downloaded ({type(exc).__name__}); run "
                         f"`hf download {repo} {filename}` where the Hub is reachable, or set {key} to a local "
                         ".onnx file (or \"off\")") from None


def quiet_opencv() -> None:
    """OpenCV's own notices would be printed over the TUI: errors only (where this build can say so)."""
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:
        pass


@dataclass
class FaceDetector:
    spec: str
    weights: Path
    score_threshold: float = 0.8

    def __post_init__(self):
        import cv2

        quiet_opencv()
        try:
            self._net = cv2.FaceDetectorYN.create(str(self.weights), "", (320, 320), self.score_threshold, 0.3, 5000)
        except cv2.error as exc:
            raise ModelError(f"cannot load the face detector {self.weights.name}: "
                             f"{str(exc).strip().splitlines()[-1]}") from None
        self._lock = threading.Lock()  # one OpenCV net, used by one thread at a time

    def detect(self, image):
        """(BGR array at most MAX_SIDE, YuNet's rows: x, y, w, h, 5 landmarks, score), largest face first."""
        import cv2
        import numpy as np

        im = image.copy()
        im.thumbnail((MAX_SIDE, MAX_SIDE))
        bgr = cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR)
        with self._lock:
            self._net.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, faces = self._net.detect(bgr)
        if faces is None or len(faces) == 0:
            return bgr, np.zeros((0, 15), np.float32)
        order = np.lexsort((-faces[:, 14], -faces[:, 2] * faces[:, 3]))  # area, then score
        return bgr, faces[order]

    @staticmethod
    def summary(bgr, rows) -> dict:
        """What the cache keeps: the count, each face's height as a share of the short side (and the largest),
        and the boxes as fractions of the image's width and height (for drawing on any preview size)."""
        if len(rows) == 0:
            return {"faces": 0, "largest": 0.0, "boxes": [], "sizes": []}
        h, w = bgr.shape[:2]
        boxes = [[round(float(r[0]) / w, 4), round(float(r[1]) / h, 4), round(float(r[2]) / w, 4),
                  round(float(r[3]) / h, 4)] for r in rows]
        sizes = [round(float(r[3]) / min(h, w), 3) for r in rows]
        return {"faces": int(len(rows)), "largest": max(sizes), "boxes": boxes, "sizes": sizes}

    def count(self, image) -> dict:
        """Faces in one RGB PIL image: ``summary`` of ``detect``."""
        return self.summary(*self.detect(image))


def load_faces(spec: str) -> FaceDetector:
    return _WARM.get(spec, lambda: FaceDetector(spec, resolve_weights(spec)))


def forget_loaded() -> None:
    _WARM.clear()
