"""``pmd-tui score``: how well a finetune's samples reproduce a dataset's subject and follow the prompts.

Metrics of the personalization literature (DreamBooth, Ruiz et al. 2023):
- ``dino``: subject fidelity, mean cosine of DINO ViT-S/16 CLS features, every sample against every
  reference image (the dataset's validation images, or its training images when none are held out);
- ``clip_i``: the same with CLIP image features;
- ``clip_t``: prompt fidelity, mean cosine of each sample's CLIP image feature with its prompt's text
  feature (the trigger word removed, as CLIP cannot know it);
- ``identity``: for likeness sets, mean cosine of face-identity embeddings (SFace) to the references,
  when the face models are configured;
- ``fd_dino`` / ``kid_dino``: distribution distances on DINO features, only when both sets are large
  enough for the figure to mean something (otherwise the report says why it is missing).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pmd_tui.benchmark import metrics, prompts
from pmd_tui.errors import InputError
from pmd_tui.imaging.decode import try_load_rgb
from pmd_tui.imaging.probe import IMAGE_EXTS
from pmd_tui.userfiles import read_user_text

Progress = Callable[[int, int, str], None]
# a prompt is a sentence or a tag list; a line past this is not one (and a 100 MB line must not be parsed)
MAX_PROMPT_LINE = 4000
MAX_INDEX_BYTES = 64 * 1024 * 1024  # prompts.jsonl: 16,000 prompts of the longest length
MAX_SIDE = 512  # every feature model here looks at 224 px; a bounded decode keeps memory flat
KID_MIN = 10  # fewer images per side and the kernel estimate's spread swamps the differences between runs
METRIC_LABELS = {"dino": "DINO", "clip_i": "CLIP-I", "clip_t": "CLIP-T", "identity": "ID", "fd_dino": "FD-DINO",
                 "kid_dino": "KID-DINO"}


@dataclass
class Sample:
    path: Path
    prompt: str | None


@dataclass
class ScoreResult:
    dataset: str
    submission_id: int
    label: str
    metrics: dict[str, float | None]
    notes: dict[str, str] = field(default_factory=dict)
    detail: dict = field(default_factory=dict)
    score_id: int | None = None


def collect_samples(folder: Path, sub: dict, templates: list[str]) -> tuple[list[Sample], list[str]]:
    """Each generated image with its prompt: ``prompts.jsonl`` (``file_name``, ``prompt``) first, then a
    same-stem ``.txt``, then a leading prompt number (``07_seed1.png`` = prompt 7 of ``pmd-tui prompts``).

    Only regular files inside the folder count: a link that leads out of it is skipped with a warning
    (a samples folder is someone's output, not a licence to read the rest of the disk)."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder of generated samples")
    root = folder.resolve()
    warnings: list[str] = []
    images = []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in IMAGE_EXTS:
            continue
        if p.is_symlink() and not _inside(p, root):
            warnings.append(f"{p.name}: a link that leads out of the samples folder; skipped")
            continue
        if p.is_file():
            images.append(p)
    if not images:
        raise InputError(f"{folder} holds no images ({', '.join(sorted(IMAGE_EXTS))})")
    mapped: dict[str, str] = {}
    index = folder / "prompts.jsonl"
    if index.exists() or index.is_symlink():
        if index.is_symlink() and not _inside(index, root):
            raise InputError(f"{index} is a link that leads out of the samples folder")
        text = read_user_text(index, what="prompt index", max_bytes=MAX_INDEX_BYTES)
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            if len(line) > MAX_PROMPT_LINE:
                raise InputError(f"{index} line {n}: {len(line):,} characters, over the limit of {MAX_PROMPT_LINE:,}")
            try:
                row = json.loads(line)
                name, prompt = row.get("file_name") or row["file"], row["prompt"]
            except (ValueError, KeyError, TypeError, AttributeError):
                raise InputError(f"{index} line {n}: expected {{\"file_name\": ..., \"prompt\": ...}}") from None
            if not isinstance(name, str) or not isinstance(prompt, str) or not prompt.strip():
                raise InputError(f"{index} line {n}: file_name and prompt should be non-empty text, "
                                 f"not {type(name).__name__} and {type(prompt).__name__}")
            mapped[name] = prompt
    out = []
    for path in images:
        prompt = mapped.get(path.name)
        side = path.with_suffix(".txt")
        if prompt is None and side.is_file():
            if side.is_symlink() and not _inside(side, root):
                warnings.append(f"{side.name}: a link that leads out of the samples folder; not read")
            else:
                try:
                    prompt = read_user_text(side, what="prompt", max_bytes=MAX_PROMPT_LINE).strip() or None
                except InputError as exc:
                    warnings.append(f"{side.name}: {exc}")
        if prompt is None:
            m = re.match(r"^p?(\d+)(?:[_\-. ]|$)", path.stem)
            if m and 1 <= int(m.group(1)) <= len(templates):
                prompt = prompts.render(templates[int(m.group(1)) - 1], sub)
            elif m:
                warnings.append(f"{path.name}: prompt number {int(m.group(1))} is not in 1-{len(templates)}")
        out.append(Sample(path, prompt))
    return out, warnings


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, links followed, stays under ``root``."""
    try:
        return path.resolve().is_relative_to(root)
    except OSError:
        return False


# images decoded at once while scoring: features are kept, pixels are not, so memory stays flat however
# many samples a folder holds (tests/bench/bench_score_memory.py measures it)
FEATURE_BATCH = 32


def _features(items: list[tuple[Path, object]], what: str, dino, clip):
    """DINO and CLIP image features of every item that decodes, a batch at a time.

    Returns (the items that decoded, DINO features, CLIP features, a line for each that did not)."""
    import numpy as np

    kept, bad, d_parts, c_parts = [], [], [], []
    for start in range(0, len(items), FEATURE_BATCH):
        images = []
        for path, item in items[start:start + FEATURE_BATCH]:
            im = try_load_rgb(path, MAX_SIDE)
            if isinstance(im, str):
                bad.append(f"{what} {path.name}: {im}")
                continue
            images.append(im)
            kept.append(item)
        if images:
            d_parts.append(dino.embed(images))
            c_parts.append(clip.embed_images(images))
        del images
    if not kept:
        return kept, np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32), bad
    return kept, np.concatenate(d_parts), np.concatenate(c_parts), bad


def score(store, settings, dataset: str, samples_dir: str | Path, *, label: str, device: str = "auto",
          progress: Progress | None = None, save: bool = True, identity: Callable | None = None) -> ScoreResult:
    """Score the samples in ``samples_dir`` against ``dataset``; stored per dataset and run label."""
    from pmd_tui.benchmark.embed import load_clip, load_dino

    if not label or not label.strip():
        raise InputError("give the run a label (--label \"LoRA r16 2000 steps\")")
    say = progress or (lambda done, total, what: None)
    sub = store.find_dataset(dataset)
    staged = store.staged_dir(sub)
    files = [f for f in store.files(sub["id"], "image") if not f.get("excluded")]
    val = [f for f in files if f.get("split") == "validation"]
    refs_files, reference = (val, "validation") if val else (files, "train")
    templates = prompts.templates(sub, store.eval_prompts(sub["id"]))
    samples, warnings = collect_samples(Path(samples_dir), sub, templates)
    say(0, 4, "loading the models")
    dino = load_dino(settings.dino_model, device)
    clip = load_clip(settings.clip_model, device)
    say(1, 4, "reference features")
    _refs, d_refs, c_refs, bad_refs = _features([(p, p) for p in (staged / f["name"] for f in refs_files)],
                                                 "reference", dino, clip)
    if not len(d_refs):
        raise InputError(f"dataset {sub['name']!r} has no readable reference image")
    say(2, 4, "sample features")
    kept, d_samples, c_samples, bad_samples = _features([(s.path, s) for s in samples], "sample", dino, clip)
    if not kept:
        raise InputError(f"no readable sample image in {samples_dir}")
    notes: dict[str, str] = {}
    result: dict[str, float | None] = {
        "dino": metrics.mean_pairwise_cosine(d_samples, d_refs),
        "clip_i": metrics.mean_pairwise_cosine(c_samples, c_refs),
    }
    say(3, 4, "distribution distances")
    prompted = _text_alignment(clip, c_samples, kept, sub, result, notes)
    _distribution_distances(d_samples, d_refs, result, notes)
    _identity(sub, identity, kept, [staged / f["name"] for f in refs_files], result, notes)
    say(4, 4, "done")
    detail = {"samples": len(kept), "prompted": len(prompted), "reference": reference, "references": len(d_refs),
              "models": {"dino": dino.model_id, "clip": clip.model_id}, "notes": notes,
              "skipped": bad_refs + bad_samples, "warnings": warnings,
              "samples_dir": str(Path(samples_dir).resolve())}
    out = ScoreResult(sub["name"], sub["id"], label.strip(), result, notes, detail)
    if save:
        out.score_id = store.add_score(sub["id"], label=out.label, metrics=result, detail=detail,
                                       actor=settings.actor)
    return out


def _text_alignment(clip, c_samples, kept: list[Sample], sub: dict, result: dict, notes: dict) -> list[int]:
    """CLIP-T over the samples whose prompt is known; returns their indices."""
    prompted = [i for i, s in enumerate(kept) if s.prompt]
    if not prompted:
        result["clip_t"] = None
        notes["clip_t"] = "no sample has a known prompt (prompts.jsonl, a same-stem .txt, or a leading prompt number)"
        return prompted
    texts = clip.embed_texts([prompts.without_trigger(kept[i].prompt, sub) for i in prompted])
    result["clip_t"] = metrics.mean_paired_cosine(c_samples[prompted], texts)
    if len(prompted) < len(kept):
        notes["clip_t"] = f"over the {len(prompted)} of {len(kept)} samples with a known prompt"
    return prompted


def _distribution_distances(d_samples, d_refs, result: dict, notes: dict) -> None:
    """FD and KID on DINO features, or None with why when there are too few images for the figure to mean much."""
    n, m = len(d_samples), len(d_refs)
    dim = d_samples.shape[1]
    if min(n, m) > dim:
        result["fd_dino"] = metrics.frechet_distance(d_samples, d_refs)
    else:
        result["fd_dino"] = None
        notes["fd_dino"] = (f"needs more than {dim} images on each side for a full-rank covariance "
                            f"({n} samples, {m} references): too few for a meaningful figure")
    if min(n, m) >= KID_MIN:
        result["kid_dino"], spread = metrics.kernel_distance(d_samples, d_refs)
        notes["kid_dino"] = f"± {spread:.4f} over subsets of {min(n, m)}"
    else:
        result["kid_dino"] = None
        notes["kid_dino"] = f"needs at least {KID_MIN} images on each side ({n} samples, {m} references)"


def _identity(sub: dict, identity: Callable | None, kept: list[Sample], refs: list[Path], result: dict,
              notes: dict) -> None:
    """Face-identity similarity, for a likeness set only."""
    likeness = sub.get("concept_type") == "person" or sub.get("likeness_attestation") not in (None, "not-a-likeness")
    if likeness and identity is not None:
        value, note = identity([s.path for s in kept], refs)
        result["identity"] = value
        if note:
            notes["identity"] = note
    elif likeness:
        result["identity"] = None
        notes["identity"] = "face identity models are not configured"


def leaderboard(store, submission_id: int | None = None) -> list[dict]:
    """Stored runs, best subject fidelity first within each dataset (the TUI table and scores.json)."""
    rows = store.scores(submission_id)
    rows.sort(key=lambda r: (r["dataset"], -(r["metrics"].get("dino") or -1.0), r["created_at"]))
    return [{"dataset": r["dataset"], "label": r["label"], "date": r["created_at"], "metrics": r["metrics"],
             "samples": r["detail"].get("samples"), "reference": r["detail"].get("reference")} for r in rows]


def format_metric(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if key.startswith("kid") else f"{value:.2f}" if key.startswith("fd") else f"{value:.3f}"


def face_identity_scorer(settings) -> Callable | None:
    """Identity similarity for likeness sets through the screening face models (YuNet + SFace), or None
    when either is switched off. Each image's largest face stands for it; the figure is the mean cosine of
    each sample's face to the references' mean identity. Embeddings are computed here and never stored."""
    from pmd_tui.screening.service import enabled

    if not (enabled(settings.face_model) and enabled(getattr(settings, "face_recognizer", None))):
        return None

    def identity(sample_paths: list[Path], reference_paths: list[Path]) -> tuple[float | None, str]:
        import numpy as np

        from pmd_tui.screening.faces import MAX_SIDE as FACE_SIDE, load_faces
        from pmd_tui.screening.identity import load_recognizer

        detector, recognizer = load_faces(settings.face_model), load_recognizer(settings.face_recognizer)

        def main_faces(paths: list[Path]) -> np.ndarray:
            crops = []
            for p in paths:
                im = try_load_rgb(p, FACE_SIDE)  # the detector's own working size, as in screening
                if isinstance(im, str):
                    continue
                bgr, rows = detector.detect(im)
                if len(rows):
                    crops.append(recognizer.align(bgr, rows[0]))
            return np.array(recognizer.embed(crops)) if crops else np.zeros((0, 128))

        samples, refs = main_faces(sample_paths), main_faces(reference_paths)
        if not len(refs):
            return None, "no face found in the reference images"
        if not len(samples):
            return None, "no face found in the samples"
        centre = refs.mean(0, keepdims=True)
        note = f"{len(samples)} of {len(sample_paths)} samples have a face; {len(refs)} reference faces"
        return metrics.mean_pairwise_cosine(samples, centre), note

    return identity
