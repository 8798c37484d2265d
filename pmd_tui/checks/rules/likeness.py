"""Who is in a likeness set (rule 2): one person per set, bystanders, and people already in the meta-dataset.

From the face detector's boxes and SFace's identity embeddings (``check --models``, ``M``): the set's main
person is the identity of most images' main (largest) face, A; others are B, C ... Findings name images,
letters and cosine similarities, never embeddings. Thresholds come from the config and are in the messages.
"""

from __future__ import annotations

from pmd_tui.checks.model import CheckContext, finding, names, plural
from pmd_tui.checks.rules.consent import FACE_MAJORITY
from pmd_tui.screening.identity import Identities, cosine, group
from pmd_tui.screening.service import enabled

RULES = ("likeness.mixed-identity", "likeness.bystanders", "likeness.no-face", "likeness.published-person")
SHOWN = 4


def is_likeness(ctx: CheckContext, records: dict[str, list[dict]]) -> bool:
    """A person concept, or faces in most screened images, unless attested as not a likeness dataset."""
    sub = ctx.submission
    if sub.get("likeness_attestation") == "not-a-likeness":
        return False
    if sub.get("concept_type") == "person":
        return True
    return bool(records) and sum(1 for faces in records.values() if faces) / len(records) >= FACE_MAJORITY


def face_records(images: list[dict], screening: dict[str, dict]) -> dict[str, list[dict]]:
    """image -> its faces, largest first: SFace's records when embedded, else the detector's boxes."""
    out = {}
    for f in images:
        seen = screening.get(f["name"], {})
        if "identity" in seen:
            out[f["name"]] = seen["identity"]["faces"]
        elif "faces" in seen:
            faces = seen["faces"]
            boxes, sizes = faces.get("boxes"), faces.get("sizes")
            if boxes is not None and sizes is not None:
                out[f["name"]] = [{"box": b, "size": s} for b, s in zip(boxes, sizes)]
            elif faces.get("faces", 0):  # cached before boxes were kept: only the largest face's size is known
                out[f["name"]] = [{"size": faces.get("largest", 0.0)}] + [{} for _ in range(faces["faces"] - 1)]
            else:
                out[f["name"]] = []
    return out


def set_identities(settings, images: list[dict], screening: dict[str, dict]) -> Identities:
    """Who is where in a set (letters, similarities, boxes) from its cached screening results."""
    return group(face_records(images, screening), settings.identity_threshold)


def _shown(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def mixed_identity(ctx: CheckContext, ids: Identities, embedded: int) -> dict:
    thr = ctx.settings.identity_threshold
    rule = "likeness.mixed-identity"
    a = ids.dominant
    if a is None or embedded < 2:
        return finding(rule, "pass", f"{plural(embedded, 'image')} with an identity embedding: nothing to compare")
    others = sorted((n for n, letter in ids.main.items() if letter != a.letter), key=lambda n: ids.similarity[n])
    if not others:
        low = min(ids.similarity.values())
        return finding(rule, "pass", f"one person (A) in all {embedded} images with a face; lowest similarity "
                       f"{low:.2f} (same person at >= {thr:g})", people=1)
    shown = [f"{n} ({ids.main[n]}, {ids.similarity[n]:.2f})" for n in others]
    letters = ", ".join(f"{p.letter} in {plural(len(p.images), 'image')}" for p in ids.people[1:])
    return finding(rule, "warn", f"{len(others)} of {embedded} images show someone other than the set's main person "
                   f"A ({plural(len(a.images), 'image')}; cosine similarity to A below {thr:g}): {_shown(shown)}; "
                   f"{letters}. One person per likeness set (rule 2): remove them or split the set",
                   others, people=len(ids.people), similarity={n: ids.similarity[n] for n in others})


def bystanders(ctx: CheckContext, ids: Identities) -> dict:
    s = ctx.settings
    rule = "likeness.bystanders"
    a = ids.dominant.letter if ids.dominant else None
    found = {}
    for name, faces in ids.faces.items():
        extra = [f["size"] for f in faces[1:] if f.get("size", 0) >= s.bystander_min_size
                 and (a is None or f.get("letter") != a)]
        if extra:
            found[name] = extra
    if not found:
        return finding(rule, "pass", f"no other face at least {s.bystander_min_size:.0%} of the short side")
    worst = sorted(found, key=lambda n: -max(found[n]))
    status = "warn" if any(max(v) >= s.bystander_warn_size for v in found.values()) else "info"
    shown = [f"{n} ({plural(len(found[n]), 'face')}, {max(found[n]):.0%})" for n in worst]
    return finding(rule, status, f"other people's faces in {plural(len(found), 'image')} (face height at least "
                   f"{s.bystander_min_size:.0%} of the short side; warn from {s.bystander_warn_size:.0%}): "
                   f"{_shown(shown)}; a LoRA learns them too: crop or remove them", worst,
                   sizes={n: max(v) for n, v in found.items()})


def no_face(ctx: CheckContext, records: dict[str, list[dict]]) -> dict:
    rule = "likeness.no-face"
    missing = [f["name"] for f in ctx.images if f["name"] in records and not records[f["name"]]]
    if not missing:
        return finding(rule, "pass", f"a face in each of the {plural(len(records), 'screened image')}")
    return finding(rule, "info", f"{len(missing)} of {len(records)} images of this likeness set have no detectable "
                   f"face: {names(missing, SHOWN)} (fine for body or outfit shots; nothing of the face to learn)",
                   missing)


def _same_submitter(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.strip().casefold() == b.strip().casefold()


def published_person(ctx: CheckContext, ids: Identities) -> dict:
    s = ctx.settings
    rule = "likeness.published-person"
    a = ids.dominant
    if a is None:
        return finding(rule, "pass", "no identity to compare with other datasets")
    mine = ctx.submission.get("submitter")
    matches = []
    for other in ctx.people:
        if _same_submitter(mine, other.get("submitter")):
            continue
        for person in other["people"]:
            sim = cosine(a.medoid, person.medoid)
            if sim >= s.identity_threshold:
                matches.append((sim, other))
                break
    if not matches:
        others = plural(len(ctx.people), "approved or published dataset")
        return finding(rule, "pass", f"the main person (A) matches no one in {others} of another submitter "
                       f"(similarity below {s.identity_threshold:g})")
    matches.sort(key=lambda m: -m[0])
    shown = [f"{o['dataset']!r} (#{o['submission_id']}, {o['status']}, submitted by {o.get('submitter') or 'unknown'}; "
             f"similarity {sim:.2f})" for sim, o in matches]
    data = {"matches": [{"submission_id": o["submission_id"], "dataset": o["dataset"], "similarity": round(sim, 3)}
                        for sim, o in matches]}
    who = f"submitted by {mine}" if mine else "of an unknown submitter"
    if ctx.submission.get("published_person_attestation"):
        return finding(rule, "pass", f"attested: this person may be in this set (A matches {_shown(shown)})", **data)
    return finding(rule, "pending", f"the set's main person (A) is already in {_shown(shown)} at >= "
                   f"{s.identity_threshold:g}, but this set is {who}: make sure they may submit this person (rule 2), "
                   "then attest (t, or pmd-tui attest ID --same-person-ok) or reject", **data)


def check(ctx: CheckContext) -> list[dict]:
    s = ctx.settings
    if not enabled(s.face_model):
        return [finding(r, "info", "face detection is off (face_model = \"off\" in the config)") for r in RULES]
    records = face_records(ctx.images, ctx.screening)
    concept = ctx.submission.get("concept_type")
    if ctx.submission.get("likeness_attestation") == "not-a-likeness":
        return [finding(r, "pass", "attested: not a likeness dataset") for r in RULES]
    if not records:
        if concept in ("style", "object"):
            return [finding(r, "pass", f"concept type is {concept}: not a likeness dataset (faces not screened yet)")
                    for r in RULES]
        return [finding(r, "info", "not screened yet (check --models, M)") for r in RULES]
    if not is_likeness(ctx, records):
        with_faces = sum(1 for faces in records.values() if faces)
        return [finding(r, "pass", f"not a likeness dataset (faces in {with_faces} of {len(records)} images)")
                for r in RULES]
    ids = group(records, s.identity_threshold)
    out = []
    embedded = sum(1 for faces in records.values() if faces and faces[0].get("embedding"))
    identity_on = enabled(s.face_recognizer)
    if not identity_on:
        note = "identity embeddings are off (face_recognizer = \"off\" in the config)"
    elif ctx.submission.get("identity_forgotten_at"):
        note = "the face-identity embeddings of this submission were deleted on request (pmd-tui forget)"
    elif not any("identity" in ctx.screening.get(f["name"], {}) for f in ctx.images):
        note = "identities not screened yet: run `pmd-tui check --models` (M in the TUI)"
    else:
        note = None
    out.append(finding("likeness.mixed-identity", "info", note) if note else mixed_identity(ctx, ids, embedded))
    out.append(bystanders(ctx, ids))
    out.append(no_face(ctx, records))
    out.append(finding("likeness.published-person", "info", note) if note else published_person(ctx, ids))
    return out
