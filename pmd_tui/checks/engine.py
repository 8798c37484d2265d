"""Running every rule over submissions: analyse new images in parallel, then evaluate rules.

Image analysis is the only expensive part; it is cached by content hash in the queue, so re-checking a
submission after a caption edit or an attestation costs milliseconds.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

from pmd_tui.checks.analysis import ANALYSIS_VERSION, analyse_many
from pmd_tui.checks.model import CheckContext
from pmd_tui.checks.rules import consent, images, layout, screening, text
from pmd_tui.config import Settings
from pmd_tui.errors import PmdError
from pmd_tui.store import QueueStore
from pmd_tui.store.vocabulary import worst as worst_severity

RULE_MODULES = (layout, text, images, screening, consent)
ALL_RULES: tuple[str, ...] = tuple(r for m in RULE_MODULES for r in m.RULES)

Progress = Callable[[int, int, str], None]


class Cancelled(PmdError):
    exit_code = 130


def _published_images(store: QueueStore, exclude: int) -> list[dict]:
    rows = store.conn.execute(
        """SELECT f.name, f.sha256, s.name AS dataset FROM files f JOIN submissions s ON s.id = f.submission_id
           WHERE s.status = 'published' AND f.kind = 'image' AND NOT f.excluded AND s.id != ?""",
        (exclude,),
    ).fetchall()
    rows = [dict(r) for r in rows]
    cached = store.cache_get_many((r["sha256"] for r in rows if r["sha256"]), ANALYSIS_VERSION)
    for r in rows:
        r["phash"] = cached.get(r["sha256"], {}).get("phash")
    return rows


def analyse_submissions(store: QueueStore, settings: Settings, ids: list[int],
                        progress: Progress | None = None) -> dict[str, dict]:
    """Analyse every image of ``ids`` that the cache does not know yet; returns sha256 -> analysis."""
    wanted = {h: str(p) for h, p in store.staged_images(ids).items()}
    known = store.cache_get_many(wanted, ANALYSIS_VERSION)
    todo = [(h, p) for h, p in wanted.items() if h not in known]
    if todo:
        def tick(done, total):
            if progress:
                progress(done, total, "analysing images")

        results = analyse_many([p for _, p in todo], settings.limits.max_pixels, on_result=tick)
        fresh = {h: r for (h, _), r in zip(todo, results)}
        # Only decodable results are cached: a file that failed may be fixed by replacing it
        # (its hash then changes anyway) and errors are cheap to recompute.
        store.cache_put_many({h: r for h, r in fresh.items() if r.get("ok")}, ANALYSIS_VERSION)
        known.update(fresh)
    return known


def evaluate(store: QueueStore, settings: Settings, submission_id: int, analyses: dict[str, dict]) -> list[dict]:
    """Run every rule for one submission from already-computed analyses (cheap)."""
    sub = store.get(submission_id)
    # Excluded images are left out of the set: no rule sees them, so findings about them alone go away.
    files = [f for f in store.files(submission_id) if not f.get("excluded")]
    per_name = {f["name"]: analyses.get(f["sha256"], {"ok": False, "error": "file missing from the staged copy"})
                for f in files if f["kind"] == "image"}
    from pmd_tui.screening.service import results_for

    ctx = CheckContext(submission=sub, files=files, notes=store.notes(submission_id), settings=settings,
                       analyses=per_name, published=_published_images(store, submission_id),
                       screening=results_for(store, settings, files))
    findings: list[dict] = []
    for module in RULE_MODULES:
        findings.extend(module.check(ctx))
    return findings


def run_checks(store: QueueStore, settings: Settings, ids: Iterable[int], *, progress: Progress | None = None,
               cancel: threading.Event | None = None) -> dict[int, list[dict]]:
    """Check submissions, store the findings (moving each to ``checked``) and return them."""
    ids = list(ids)
    for sid in ids:
        store.get(sid)  # unknown ids fail before any work
    analyses = analyse_submissions(store, settings, ids, progress)
    results = {}
    for i, sid in enumerate(ids):
        if cancel is not None and cancel.is_set():
            raise Cancelled("checks cancelled")
        findings = evaluate(store, settings, sid, analyses)
        store.save_checks(sid, findings, actor=settings.actor)
        results[sid] = findings
        if progress:
            progress(i + 1, len(ids), f"checked #{sid}")
    return results


def worst(findings: list[dict]) -> str:
    return worst_severity(f["status"] for f in findings)


def worst_counts(results: dict[int, list[dict]]) -> str:
    """"2 fail, 1 warn": how many submissions end at each worst level (for one-line summaries)."""
    levels = [worst(f) for f in results.values()]
    return ", ".join(f"{n} {s}" for s, n in sorted({w: levels.count(w) for w in levels}.items()))
