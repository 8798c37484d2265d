"""What rules see (CheckContext) and what they produce (findings as plain dicts)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pmd_tui.config import Settings
from pmd_tui.store.vocabulary import SEVERITY_ORDER

STATUSES = tuple(s.value for s in SEVERITY_ORDER)


def finding(rule: str, status: str, message: str, files: list[str] | None = None, **data) -> dict:
    assert status in STATUSES, status
    out = {"rule": rule, "status": status, "message": message, "files": sorted(set(files or []))}
    if data:
        out["data"] = data
    return out


@dataclass
class CheckContext:
    submission: dict
    files: list[dict]
    notes: list[dict]
    settings: Settings
    analyses: dict[str, dict] = field(default_factory=dict)  # image name -> analysis
    published: list[dict] = field(default_factory=list)  # images of other, published submissions
    queued: list[dict] = field(default_factory=list)  # images of other new, checked or approved submissions
    screening: dict[str, dict] = field(default_factory=dict)  # image name -> {"nsfw": .., "faces": .., "identity": ..}
    # people in approved and published submissions (likeness.published-person), see engine.known_people
    people: list[dict] = field(default_factory=list)

    @property
    def images(self) -> list[dict]:
        return [f for f in self.files if f["kind"] == "image"]

    @property
    def captioned(self) -> list[dict]:
        return [f for f in self.images if f["caption"] is not None]

    @property
    def has_submitted_captions(self) -> bool:
        return any(f["caption_source"] == "submitted" for f in self.images)

    def of_kind(self, *kinds: str) -> list[dict]:
        return [f for f in self.files if f["kind"] in kinds]


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def names(files: list[dict], limit: int = 3) -> str:
    shown = ", ".join(f["name"] if isinstance(f, dict) else f for f in files[:limit])
    return shown + (f" and {len(files) - limit} more" if len(files) > limit else "")
