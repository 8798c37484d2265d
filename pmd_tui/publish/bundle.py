"""What one published dataset folder contains, built from the queue (the source of truth).

images (location metadata stripped, pixels untouched), ``name.txt`` captions, a generated
``readme.txt`` and a ``metadata.jsonl`` (file_name + text) for the Hub's dataset viewer.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from pmd_tui.errors import PmdError
from pmd_tui.imaging.metadata import independent_location_check, location_sources, strip_location
from pmd_tui.store import QueueStore

LICENCE_NOTE = (
    "Contributed to the personalization meta-dataset for research on finetuning image generators. "
    "Rights remain with the contributor; see the source issue for the licence they stated."
)
LIKENESS_NOTES = {
    "self": "The person shown is the contributor, who consented.",
    "public-figure": "The person shown is a public figure.",
    "fictional": "The character shown is fictional.",
    "not-a-likeness": "Not a likeness dataset.",
}


@dataclass
class Bundle:
    submission_id: int
    folder: str
    files: dict[str, bytes] = field(default_factory=dict)  # path inside the folder -> content
    skipped: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for path in sorted(self.files):
            h.update(path.encode() + b"\0" + hashlib.sha256(self.files[path]).digest())
        return h.hexdigest()

    def paths(self) -> dict[str, bytes]:
        return {f"{self.folder}/{p}": data for p, data in self.files.items()}


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:64] or "dataset"


def folder_for(store: QueueStore, sub: dict) -> str:
    """A stable folder name: the one used before, else a slug of the name unique in the repo."""
    previous = store.publications(sub["id"])
    if previous:
        return previous[-1]["folder"]
    taken = {p["folder"] for p in store.publications() if p["submission_id"] != sub["id"]}
    base = slugify(sub["name"])
    return base if base not in taken else f"{base}-{sub['id']}"


def readme_text(sub: dict, stats: dict) -> str:
    lines = [f"# {sub['name']}", ""]
    facts = [
        ("Concept type", sub.get("concept_type")),
        ("Concept", sub.get("concept")),
        ("Trigger words", sub.get("trigger_words")),
        ("Captioning method", sub.get("caption_method") or ("none" if not stats["captioned"] else "not stated")),
        ("Images", stats["images"]),
        ("kohya repeats", sub.get("repeats")),
        ("Source issue", f"#{sub['issue_number']}" if sub.get("issue_number") else None),
        ("Issue URL", sub.get("issue_url")),
        ("Contributor", sub.get("submitter")),
    ]
    lines += [f"{k}: {v}" for k, v in facts if v not in (None, "")]
    lines += ["", "Consent and licence:"]
    if sub.get("likeness_attestation"):
        lines.append("- " + LIKENESS_NOTES.get(sub["likeness_attestation"], sub["likeness_attestation"]))
    if sub.get("artist_attestation"):
        lines.append("- The artist has not objected to their work being used for training.")
    lines.append("- " + LICENCE_NOTE)
    if sub.get("readme_text"):
        lines += ["", "Contributor's readme:", "", sub["readme_text"].strip()]
    return "\n".join(lines) + "\n"


def build_bundle(store: QueueStore, submission_id: int) -> Bundle:
    from pmd_tui.stats import submission_stats

    sub = store.get(submission_id)
    staged = store.staged_dir(sub)
    corrupt = set()
    for c in store.checks(submission_id):
        if c["rule"] == "images.corrupt" and c["status"] == "fail":
            corrupt.update(c["files"])
    bundle = Bundle(submission_id=submission_id, folder=folder_for(store, sub))
    metadata = []
    for f in store.files(submission_id, "image"):
        if f.get("excluded"):  # left out by the maintainer: never published
            continue
        if f["name"] in corrupt:
            bundle.skipped.append(f["name"])
            continue
        data = (staged / f["name"]).read_bytes()
        data = strip_location(data) or data
        left = independent_location_check(data) or location_sources(data)
        if left:  # read back by another reader than the stripper: never publish a location
            raise PmdError(f"#{submission_id} {f['name']}: location metadata could not be removed "
                           f"({', '.join(left)}); remove it by hand (the image stays unpublished)")
        bundle.files[f["name"]] = data
        caption = (f["caption"] or "").strip()
        if caption:
            bundle.files[PurePosixPath(f["name"]).stem + ".txt"] = (caption + "\n").encode("utf-8")
            metadata.append({"file_name": f["name"], "text": caption})
    stats = submission_stats(store, submission_id)
    stats["images"] = sum(1 for p in bundle.files if not p.endswith(".txt"))
    stats["folder"] = bundle.folder
    bundle.stats = stats
    bundle.files["readme.txt"] = readme_text(sub, stats).encode("utf-8")
    bundle.files["metadata.jsonl"] = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in metadata).encode()
    return bundle
