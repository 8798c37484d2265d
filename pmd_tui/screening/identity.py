"""Who is in a set (rule 2): OpenCV's SFace face-identity embeddings, and grouping them into people.

SFace is the face-recognition model of the OpenCV model zoo that also holds the YuNet detector; it runs
through ``cv2.FaceRecognizerSF`` (part of opencv-python). Each face YuNet finds is aligned on its five
landmarks (``alignCrop``, 112x112) and embedded (128 numbers); two faces with a cosine similarity at or
above SFace's published threshold (0.363) are taken to be the same person. Crops of one batch of images go
through the network together (one forward pass), falling back to one at a time for a checkpoint whose graph
cannot take a batch.

Embeddings are biometric data. They are kept only in the local queue database (table ``model_results``,
models ``identity:...``), never published, printed or written to ``stats.json``; ``pmd-tui forget ID``
deletes a submission's embeddings. Findings carry letters and similarities, never embeddings.
"""

from __future__ import annotations

import string
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pmd_tui.model_runtime import ModelError, WarmCache
from pmd_tui.screening.faces import quiet_opencv, resolve_weights

MAX_FACES = 8  # faces embedded per image, largest first: a crowd behind the subject adds nothing
LETTERS = string.ascii_uppercase
_WARM: WarmCache["FaceRecognizer"] = WarmCache()


def identity_key(recognizer: str, detector: str) -> str:
    """The model_results key: embeddings depend on the detector's landmarks as well as on SFace."""
    return f"identity:{recognizer}|{detector}"


@dataclass
class FaceRecognizer:
    spec: str
    weights: Path

    def __post_init__(self):
        import cv2

        quiet_opencv()
        try:
            self._sf = cv2.FaceRecognizerSF.create(str(self.weights), "")
            self._net = cv2.dnn.readNet(str(self.weights))
        except cv2.error as exc:
            raise ModelError(f"cannot load the face recognizer {self.weights.name}: "
                             f"{str(exc).strip().splitlines()[-1]}") from None
        self._lock = threading.Lock()
        self.batched = True  # until a checkpoint proves it cannot take a batch

    def align(self, bgr, row):
        """The 112x112 crop SFace expects, aligned on YuNet's five landmarks."""
        return self._sf.alignCrop(bgr, row)

    def embed(self, crops: list) -> "list[list[float]]":
        """Unit-length embeddings of aligned crops, one forward pass for the whole list when possible."""
        import cv2
        import numpy as np

        if not crops:
            return []
        out = None
        with self._lock:
            if self.batched and len(crops) > 1:
                # what FaceRecognizerSF.feature does for one crop: RGB, scale 1, no mean, 112x112
                blob = cv2.dnn.blobFromImages(crops, 1.0, (112, 112), (0, 0, 0), swapRB=True, crop=False)
                try:
                    self._net.setInput(blob)
                    out = np.asarray(self._net.forward())
                    if out.shape[0] != len(crops):  # a graph with its batch size fixed at 1
                        raise ValueError(f"{out.shape[0]} embeddings for {len(crops)} faces")
                    out = out.reshape(len(crops), -1)
                except (cv2.error, ValueError):
                    self.batched, out = False, None
            if out is None:
                out = np.stack([np.asarray(self._sf.feature(c)).ravel() for c in crops])
        out = out.astype(np.float64)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
        return [[round(float(v), 5) for v in row] for row in out]

    def faces(self, bgr, rows) -> list[dict]:
        """The cached record of one image before embedding: box, relative size and aligned crop per face."""
        h, w = bgr.shape[:2]
        out = []
        for row in rows[:MAX_FACES]:
            out.append({"box": [round(float(row[0]) / w, 4), round(float(row[1]) / h, 4),
                                round(float(row[2]) / w, 4), round(float(row[3]) / h, 4)],
                        "size": round(float(row[3]) / min(h, w), 3),
                        "crop": self.align(bgr, row)})
        return out


def load_recognizer(spec: str) -> FaceRecognizer:
    return _WARM.get(spec, lambda: FaceRecognizer(spec, resolve_weights(spec, "face recognizer", "face_recognizer")))


def forget_loaded() -> None:
    _WARM.clear()


# -- grouping faces into people ---------------------------------------------------------------------

@dataclass
class Person:
    letter: str
    images: list[str]  # images whose main face is this person
    medoid: object  # unit embedding (numpy) of the face most alike to the others: the person's reference


@dataclass
class Identities:
    """Who is where in one set. Letters: A is the set's main person (most images), then B, C ..."""

    people: list[Person] = field(default_factory=list)
    main: dict[str, str] = field(default_factory=dict)  # image -> letter of its main (largest) face
    similarity: dict[str, float] = field(default_factory=dict)  # image -> main face's cosine to A
    faces: dict[str, list[dict]] = field(default_factory=dict)  # image -> [{box, size, letter|None}]

    @property
    def dominant(self) -> Person | None:
        return self.people[0] if self.people else None

    def images_of(self, letter: str) -> list[str]:
        """Images with a face of this person anywhere in them (main face or not)."""
        return [name for name, faces in self.faces.items() if any(f.get("letter") == letter for f in faces)]

    def label(self, name: str) -> str:
        """'A', 'B', 'A+1' (one more face), '-' (faces but no embedding) or '' (no face)."""
        faces = self.faces.get(name) or []
        if not faces:
            return ""
        head = self.main.get(name) or "-"
        return head + (f"+{len(faces) - 1}" if len(faces) > 1 else "")


def _letter(i: int) -> str:
    return LETTERS[i] if i < len(LETTERS) else "*"


def group(per_image: dict[str, list[dict]], threshold: float) -> Identities:
    """Group the main faces of a set into people, then name the other faces after them.

    ``per_image``: image -> faces, largest first, each with an ``embedding`` (or without one when not
    embedded). Repeatedly, the face with the most look-alikes (cosine >= threshold) among the faces not yet
    grouped becomes a person's reference, and its look-alikes that person. Order-independent, no k to choose.
    """
    import numpy as np

    ids = Identities(faces={name: [{k: f[k] for k in ("box", "size") if k in f} for f in faces]
                            for name, faces in per_image.items()})
    mains = [(name, faces[0]["embedding"]) for name, faces in per_image.items()
             if faces and faces[0].get("embedding")]
    if not mains:
        return ids
    names = [n for n, _ in mains]
    emb = np.asarray([e for _, e in mains], dtype=np.float64)
    sim = emb @ emb.T
    alike = sim >= threshold
    # look-alikes and summed similarity among the faces not yet grouped, updated as groups are taken out
    degree, total = alike.sum(1).astype(np.int64), sim.sum(1)
    left = np.ones(len(names), dtype=bool)
    groups = []
    while left.any():
        idx = np.flatnonzero(left)
        centre = int(idx[np.lexsort((-total[idx], -degree[idx]))[0]])
        members = [int(j) for j in idx if alike[centre, j] or j == centre]
        groups.append((centre, members))
        left[members] = False
        degree -= alike[:, members].sum(1)
        total -= sim[:, members].sum(1)
    groups.sort(key=lambda g: (-len(g[1]), min(g[1])))
    for i, (centre, members) in enumerate(groups):
        person = Person(_letter(i), [names[j] for j in members], emb[centre])
        ids.people.append(person)
        for j in members:
            ids.main[names[j]] = person.letter
    reference = ids.people[0].medoid
    for j, name in enumerate(names):
        ids.similarity[name] = round(float(emb[j] @ reference), 3)
    medoids = np.asarray([p.medoid for p in ids.people])
    for name, faces in per_image.items():
        for k, f in enumerate(faces):
            if k == 0:
                ids.faces[name][0]["letter"] = ids.main.get(name)
                continue
            if not f.get("embedding"):
                ids.faces[name][k]["letter"] = None
                continue
            s = medoids @ np.asarray(f["embedding"], dtype=np.float64)
            best = int(np.argmax(s))
            ids.faces[name][k]["letter"] = ids.people[best].letter if s[best] >= threshold else None
    return ids


def cosine(a, b) -> float:
    import numpy as np

    return float(np.asarray(a, dtype=np.float64) @ np.asarray(b, dtype=np.float64))
