"""Normalising an unpacked upload to the kohya layout: one folder of ``name.ext`` + ``name.txt``.

Pure planning over relative paths, so the rules are easy to test; ``intake.service`` applies the plan.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from pmd_tui.imaging.probe import is_image_name

CAPTION_EXTS = (".txt", ".caption", ".cap")
README_NAMES = ("readme.txt", "readme.md", "readme", "readme.markdown")
MAX_NAME_BYTES = 255
REPEAT_DIR = re.compile(r"^(?P<n>\d+)_(?P<concept>.+)$")
# text files that carry licences, sources or prompts: kept and published beside readme.txt
ATTRIBUTION_NAME = re.compile(r"^(licen[cs]e|copying|references?|sources?|credits?|attributions?|prompts?)\b|licen[cs]|"
                              r"^images\.md$|^readme\.(md|markdown)$", re.I)
ATTRIBUTION_EXTS = ("", ".txt", ".md", ".markdown", ".rst", ".csv", ".json", ".yaml", ".yml")
RESERVED_NAMES = ("readme.txt", "metadata.jsonl")


def is_attribution(name: str) -> bool:
    p = PurePosixPath(name)
    return p.suffix.lower() in ATTRIBUTION_EXTS and bool(ATTRIBUTION_NAME.search(p.name))


@dataclass
class PlannedFile:
    name: str  # name in the staged (and published) folder
    original_path: str
    kind: str  # image | orphan-caption | extra-caption | readme | attribution | other
    caption_path: str | None = None


@dataclass
class LayoutPlan:
    files: list[PlannedFile] = field(default_factory=list)
    readme_path: str | None = None
    unwrapped: str | None = None
    folders: dict[str, int] = field(default_factory=dict)  # flattened folder -> image count
    repeats: int | None = None
    concept: str | None = None
    renamed: list[tuple[str, str]] = field(default_factory=list)
    extra_captions: list[str] = field(default_factory=list)


def _common_prefix(paths: list[PurePosixPath]) -> tuple[str, ...]:
    dirs = [p.parts[:-1] for p in paths]
    if not dirs:
        return ()
    prefix = dirs[0]
    for d in dirs[1:]:
        n = 0
        while n < min(len(prefix), len(d)) and prefix[n] == d[n]:
            n += 1
        prefix = prefix[:n]
    return prefix


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "folder"


def plan_layout(paths: list[str]) -> LayoutPlan:
    """Where each uploaded file goes: images and their captions, the readme, attribution files, the rest."""
    plan = LayoutPlan()
    rel = _unwrap(paths, plan)
    readme_candidates = _readme_candidates(rel)
    if readme_candidates:
        plan.readme_path = readme_candidates[0]
    images, used_captions = _pair_captions(rel, readme_candidates, plan)
    _name_images(rel, images, plan)
    _place_other_files(rel, used_captions, readme_candidates, plan)
    if plan.readme_path:
        plan.files.append(PlannedFile(name="readme.txt", original_path=plan.readme_path, kind="readme"))
    return plan


def _unwrap(paths: list[str], plan: LayoutPlan) -> dict[str, PurePosixPath]:
    """Each path relative to the folder(s) every file shares; a kohya repeat folder stays for its count."""
    posix = [PurePosixPath(p) for p in paths]
    prefix = _common_prefix(posix)
    keep = next((i for i, part in enumerate(prefix) if REPEAT_DIR.match(part)), len(prefix))
    prefix = prefix[:keep]
    if prefix:
        plan.unwrapped = "/".join(prefix)
    return {p.as_posix(): PurePosixPath(*p.parts[len(prefix):]) for p in posix}


def _readme_candidates(rel: dict[str, PurePosixPath]) -> list[str]:
    """Readme files, the shallowest and most conventional name first."""
    return sorted((o for o, r in rel.items() if r.name.lower() in README_NAMES),
                  key=lambda o: (len(rel[o].parts), README_NAMES.index(rel[o].name.lower())))


def _pair_captions(rel: dict[str, PurePosixPath], readme_candidates: list[str],
                   plan: LayoutPlan) -> tuple[list[tuple[str, str | None]], set[str]]:
    """(image, its caption or None) per image, folder by folder; notes folder counts and kohya repeats."""
    by_dir: dict[PurePosixPath, list[str]] = defaultdict(list)
    for orig, r in rel.items():
        by_dir[r.parent].append(orig)
    used_captions: set[str] = set()
    images: list[tuple[str, str | None]] = []
    for d in sorted(by_dir, key=lambda p: p.as_posix()):
        members = sorted(by_dir[d])
        caption_index: dict[str, list[str]] = defaultdict(list)
        for o in members:
            if rel[o].suffix.lower() in CAPTION_EXTS and o not in readme_candidates:
                caption_index[rel[o].stem.lower()].append(o)
        for o in members:
            r = rel[o]
            if not is_image_name(r.name):
                continue
            # exact-case .txt first, then any-case .txt, then .caption / .cap
            cands = sorted(caption_index.get(r.stem.lower(), []),
                           key=lambda c: (CAPTION_EXTS.index(rel[c].suffix.lower()), rel[c].stem != r.stem))
            cap = next((c for c in cands if c not in used_captions), None)
            if cap:
                used_captions.add(cap)
                plan.extra_captions += [extra for extra in cands if extra != cap and extra not in used_captions
                                        and rel[extra].suffix.lower() != ".txt"]
            images.append((o, cap))
        n = sum(1 for o in members if is_image_name(rel[o].name))
        if d.parts and n:
            plan.folders[d.as_posix()] = n
            _note_repeats(d, plan)
    return images, used_captions


def _note_repeats(folder: PurePosixPath, plan: LayoutPlan) -> None:
    """The first kohya ``N_concept`` folder gives the set's repeat count and concept."""
    for part in folder.parts:
        m = REPEAT_DIR.match(part)
        if m and plan.repeats is None:
            plan.repeats = int(m.group("n"))
            plan.concept = m.group("concept").strip()


def _name_images(rel: dict[str, PurePosixPath], images: list[tuple[str, str | None]], plan: LayoutPlan) -> None:
    """One flat folder: a name that clashes is prefixed with its folders (or, too long, a short hash)."""
    names = Counter(rel[o].name for o, _ in images)
    taken: set[str] = set()
    for o, cap in images:
        r = rel[o]
        name = r.name
        if names[name] > 1 and name in taken:
            base = _slug("_".join(r.parent.parts)) + "_" + name
            if len(base.encode("utf-8")) > MAX_NAME_BYTES - 8:  # deep folders: a short, stable name instead
                base = hashlib.sha1(o.encode("utf-8", "surrogateescape")).hexdigest()[:12] + r.suffix[:16]
            candidate, i = base, 2
            while candidate in taken or candidate in names:
                candidate = f"{PurePosixPath(base).stem}_{i}{r.suffix}"
                i += 1
            plan.renamed.append((o, candidate))
            name = candidate
        taken.add(name)
        plan.files.append(PlannedFile(name=name, original_path=o, kind="image", caption_path=cap))


def _place_other_files(rel: dict[str, PurePosixPath], used_captions: set[str], readme_candidates: list[str],
                       plan: LayoutPlan) -> None:
    """Attribution files kept under their own name (unless taken); orphan captions and the rest listed."""
    caption_names = {PurePosixPath(f.name).stem.lower() + ".txt" for f in plan.files}
    kept_names: set[str] = set()
    for o, r in sorted(rel.items()):
        if o in used_captions or is_image_name(r.name):
            continue
        if is_attribution(r.name) and o not in plan.extra_captions and (o != plan.readme_path or r.suffix.lower() != ".txt"):
            name = r.name
            if name.lower() in caption_names or name.lower() in RESERVED_NAMES or name.lower() in kept_names:
                name = _slug("_".join(r.parent.parts) or "attribution") + "_" + r.name
            kept_names.add(name.lower())
            plan.files.append(PlannedFile(name=name, original_path=o, kind="attribution"))
            continue
        if o == plan.readme_path:
            continue
        kind = "orphan-caption" if r.suffix.lower() in CAPTION_EXTS else "other"
        if o in plan.extra_captions:
            kind = "extra-caption"
        elif o in readme_candidates:
            kind = "other"
        plan.files.append(PlannedFile(name=r.name, original_path=o, kind=kind))
