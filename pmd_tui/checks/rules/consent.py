"""The human-only rules (1-3): a person must attest them before approval."""

from __future__ import annotations

from pmd_tui.checks.model import CheckContext, finding

RULES = ("consent.likeness", "consent.artist")

LIKENESS_LABELS = {
    "self": "the contributor themself",
    "public-figure": "a public figure",
    "fictional": "a fictional character",
    "not-a-likeness": "not a likeness dataset",
}


def check(ctx: CheckContext) -> list[dict]:
    sub = ctx.submission
    concept = sub.get("concept_type")
    out = []
    attested = sub.get("likeness_attestation")
    if attested:
        out.append(finding("consent.likeness", "pass", f"attested: {LIKENESS_LABELS.get(attested, attested)}",
                           attestation=attested))
    elif concept in ("style", "object"):
        out.append(finding("consent.likeness", "pass", f"concept type is {concept}: no likeness to attest"))
    else:
        out.append(finding("consent.likeness", "pending",
                           "attest the likeness: the contributor, a public figure or a fictional character "
                           "(rule 2)"))
    artist = sub.get("artist_attestation")
    if artist:
        out.append(finding("consent.artist", "pass", "attested: the artist has not objected to training",
                           attestation=artist))
    elif concept in ("person", "object"):
        out.append(finding("consent.artist", "pass", f"concept type is {concept}: no artist style to attest"))
    else:
        out.append(finding("consent.artist", "pending",
                           "attest that the artist has not objected to their work being used for training (rule 3)"))
    return out
