"""The human-only rules (2, 3): a person must attest them before approval.

The face detector's counts make a set with faces in most images a likeness dataset, whatever its stated
concept type; the maintainer's opt-out list of artists turns a named artist into a fail.
"""

from __future__ import annotations

import re
from pathlib import Path

from pmd_tui.checks.model import CheckContext, finding, plural
from pmd_tui.screening.service import enabled

RULES = ("consent.likeness", "consent.artist")
FACE_MAJORITY = 0.5

LIKENESS_LABELS = {
    "self": "the contributor themself",
    "public-figure": "a public figure",
    "fictional": "a fictional character",
    "not-a-likeness": "not a likeness dataset",
}


def opt_out_names(settings) -> list[str]:
    """The config's list plus the maintainer's file (one name per line, # comments)."""
    found = list(settings.opt_out_artists)
    path: Path | None = settings.opt_out_file
    if path is not None and path.exists():
        from pmd_tui.userfiles import read_user_text

        for line in read_user_text(path, what="artist opt-out list").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                found.append(line)
    return sorted({n for n in found if _norm(n).strip()}, key=str.casefold)


def _norm(text: str) -> str:
    return " " + re.sub(r"[\W_]+", " ", text.casefold()).strip() + " "


def _face_summary(ctx: CheckContext) -> tuple[int, int] | None:
    """(images with a face, images screened), or None when the detector has not run."""
    counts = [ctx.screening.get(f["name"], {}).get("faces") for f in ctx.images]
    counts = [c for c in counts if c is not None]
    if not counts:
        return None
    return sum(1 for c in counts if c.get("faces", 0) > 0), len(counts)


def likeness(ctx: CheckContext) -> dict:
    sub = ctx.submission
    concept = sub.get("concept_type")
    faces = _face_summary(ctx)
    face_note = f"faces in {faces[0]} of {faces[1]} images" if faces else None
    mostly_faces = bool(faces and faces[1] and faces[0] / faces[1] >= FACE_MAJORITY)
    attested = sub.get("likeness_attestation")
    data = {"faces": {"with_faces": faces[0], "screened": faces[1]}} if faces else {}
    if attested:
        msg = f"attested: {LIKENESS_LABELS.get(attested, attested)}" + (f" ({face_note})" if face_note else "")
        return finding("consent.likeness", "pass", msg, attestation=attested, **data)
    if concept in ("style", "object") and not mostly_faces:
        msg = f"concept type is {concept}: no likeness to attest" + (f" ({face_note})" if face_note else "")
        return finding("consent.likeness", "pass", msg, **data)
    if mostly_faces and concept in ("style", "object"):
        msg = (f"{face_note}: treated as a likeness dataset although its concept type is {concept}; attest who is "
               "shown: the contributor, a public figure or a fictional character (rule 2)")
    else:
        msg = "attest the likeness: the contributor, a public figure or a fictional character (rule 2)"
        if face_note:
            msg += f"; {face_note}"
        elif enabled(ctx.settings.face_model):
            msg += "; faces not screened yet (check --models)"
    return finding("consent.likeness", "pending", msg, **data)


def artist(ctx: CheckContext) -> dict:
    sub = ctx.submission
    blocked = opt_out_names(ctx.settings)
    if blocked:
        fields = {"name": sub.get("name"), "readme": sub.get("readme_text"), "issue": " ".join(
            x for x in (sub.get("issue_title"), sub.get("issue_text")) if x), "trigger words": sub.get("trigger_words"),
            "concept": sub.get("concept")}
        texts = {k: _norm(v) for k, v in fields.items() if v}
        captions = {f["name"]: _norm(f["caption"]) for f in ctx.images if f.get("caption")}
        for name in blocked:
            needle = _norm(name)
            where = [k for k, t in texts.items() if needle in t]
            files = [n for n, t in captions.items() if needle in t]
            if files:
                where.append(f"captions of {plural(len(files), 'image')}")
            if where:
                return finding("consent.artist", "fail", f"{name!r} is on the artist opt-out list and is named in "
                               f"{', '.join(where)} (rule 3)", files, artist=name)
    concept = sub.get("concept_type")
    if sub.get("artist_attestation"):
        return finding("consent.artist", "pass", "attested: the artist has not objected to training",
                       attestation=sub["artist_attestation"])
    if concept in ("person", "object"):
        return finding("consent.artist", "pass", f"concept type is {concept}: no artist style to attest")
    return finding("consent.artist", "pending",
                   "attest that the artist has not objected to their work being used for training (rule 3)")


def check(ctx: CheckContext) -> list[dict]:
    return [likeness(ctx), artist(ctx)]
