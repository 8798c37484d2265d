"""What people submit: dataset sizes, resolutions, captioning methods, concepts, decisions.

Plain numbers from the queue, shared by the TUI's stats screen, the CLI and the published card.
"""

from __future__ import annotations

from collections import Counter
from statistics import median

from pmd_tui.store import QueueStore, Status

SIZE_BUCKETS = ((1, 9), (10, 24), (25, 49), (50, 99), (100, 249), (250, 10**9))
SIDE_BUCKETS = ((0, 511), (512, 767), (768, 1023), (1024, 1535), (1536, 2047), (2048, 10**9))


def _bucket_label(lo: int, hi: int, unit: str = "") -> str:
    return f"{lo}+{unit}" if hi >= 10**9 else f"{lo}-{hi}{unit}"


def queue_stats(store: QueueStore) -> dict:
    subs = store.summaries()
    statuses = Counter(s["status"] for s in subs)
    decided = statuses[Status.APPROVED] + statuses[Status.PUBLISHED] + statuses[Status.REJECTED]
    sizes = [s["images"] for s in subs]
    shorts = [min(w, h) for w, h in store.image_sizes()]
    sources = Counter(store.caption_sources())
    return {
        "submissions": len(subs),
        "images": sum(sizes),
        "excluded_images": sum(s["excluded"] for s in subs),
        "status": dict(statuses),
        "approval_rate": (statuses[Status.APPROVED] + statuses[Status.PUBLISHED]) / decided if decided else None,
        "dataset_size": {
            "median": median(sizes) if sizes else 0,
            "min": min(sizes, default=0),
            "max": max(sizes, default=0),
            "buckets": {_bucket_label(lo, hi): sum(lo <= n <= hi for n in sizes) for lo, hi in SIZE_BUCKETS},
        },
        "resolution": {
            "median_short_side": median(shorts) if shorts else 0,
            "buckets": {_bucket_label(lo, hi, " px"): sum(lo <= s <= hi for s in shorts) for lo, hi in SIDE_BUCKETS},
        },
        "caption_methods": dict(Counter(s["caption_method"] or "none stated" for s in subs).most_common()),
        "caption_sources": {k or "no caption": v for k, v in sources.most_common()},
        "concept_types": dict(Counter(s["concept_type"] or "unknown" for s in subs).most_common()),
        "published": statuses[Status.PUBLISHED],
    }


def submission_stats(store: QueueStore, submission_id: int) -> dict:
    """Per-dataset figures for the published card and stats.json."""
    sub = store.get(submission_id)
    every = store.files(submission_id, "image")
    images = [f for f in every if not f["excluded"]]
    shorts = [min(f["width"], f["height"]) for f in images if f["width"]]
    sides = [(f["width"], f["height"]) for f in images if f["width"]]
    return {
        "name": sub["name"],
        "images": len(images),
        "excluded": len(every) - len(images),
        "captioned": sum(1 for f in images if f["caption"]),
        "caption_method": sub["caption_method"],
        "concept_type": sub["concept_type"],
        "trigger_words": sub["trigger_words"],
        "median_short_side": median(shorts) if shorts else None,
        "min_resolution": list(min(sides, key=lambda s: s[0] * s[1])) if sides else None,
        "max_resolution": list(max(sides, key=lambda s: s[0] * s[1])) if sides else None,
        "issue": sub["issue_number"],
    }
