"""Running every rule over submissions: analyse new images in parallel, then evaluate rules.

Image analysis is the only expensive part; it is cached by content hash in the queue, so re-checking a
submission after a caption edit or an attestation costs milliseconds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from pmd_tui.checks.analysis import ANALYSIS_VERSION, analyse_many, matchable_phash
from pmd_tui.checks.model import CheckContext
from pmd_tui.checks.rules import captions, consent, images, layout, likeness, quality, screening, text
from pmd_tui.config import Settings
from pmd_tui.jobs import Cancelled, Job, JobReport, Progress, is_cancelled
from pmd_tui.store import QueueStore, Status
from pmd_tui.store.vocabulary import worst as worst_severity

RULE_MODULES = (layout, text, captions, images, quality, screening, consent, likeness)
QUEUED = (Status.NEW, Status.CHECKED, Status.APPROVED)  # "in the queue" for images.queue-duplicate
ALL_RULES: tuple[str, ...] = tuple(r for m in RULE_MODULES for r in m.RULES)


def _other_images(store: QueueStore, exclude: int, statuses: tuple[Status, ...]) -> list[dict]:
    """Images of other submissions in ``statuses`` (excluded images left out), with the perceptual hash
    where it is cached (and the image is not flat: ``matchable_phash``)."""
    rows = store.images_of_others(exclude, statuses)
    cached = store.cache_get_many((r["sha256"] for r in rows if r["sha256"]), ANALYSIS_VERSION)
    for r in rows:
        r["phash"] = matchable_phash(cached.get(r["sha256"]))
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


_PEOPLE: OrderedDict[tuple, list] = OrderedDict()  # (db, model, threshold, submission, hashes) -> people
_PEOPLE_LOCK = threading.Lock()


def known_people(store: QueueStore, settings: Settings) -> list[dict]:
    """The people of every approved and published submission, from their cached face embeddings:
    [{submission_id, dataset, submitter, status, people: [Person]}]. Embeddings stay in memory; a set's
    people are grouped once per process until its embedded images change."""
    from pmd_tui.screening.identity import group
    from pmd_tui.screening.service import model_keys

    key = model_keys(settings).get("identity")
    if key is None:
        return []
    rows = store.decided_images(exclude=-1)
    present = store.model_result_hashes({r["sha256"] for r in rows}, key)
    by_sub: dict[int, dict] = {}
    for r in rows:
        entry = by_sub.setdefault(r["submission_id"], {k: r[k] for k in ("submission_id", "dataset", "submitter",
                                                                         "status")} | {"images": {}})
        if r["sha256"] in present:
            entry["images"][r["name"]] = r["sha256"]
    out = []
    for entry in by_sub.values():
        images = entry.pop("images")
        cache_key = (str(store.db_path), key, settings.identity_threshold, entry["submission_id"],
                     tuple(sorted(images.items())))
        with _PEOPLE_LOCK:
            people = _PEOPLE.get(cache_key)
        if people is None:
            found = store.model_results(set(images.values()), key)
            people = group({n: found[h]["faces"] for n, h in images.items() if h in found},
                           settings.identity_threshold).people
            with _PEOPLE_LOCK:
                _PEOPLE[cache_key] = people
                while len(_PEOPLE) > 4096:
                    _PEOPLE.popitem(last=False)
        if people:
            out.append({**entry, "people": people})
    return out


def evaluate(store: QueueStore, settings: Settings, submission_id: int, analyses: dict[str, dict],
             people: list[dict] | None = None) -> list[dict]:
    """Run every rule for one submission from already-computed analyses (cheap)."""
    sub = store.get(submission_id)
    # Excluded images are left out of the set: no rule sees them, so findings about them alone go away.
    files = [f for f in store.files(submission_id) if not f.get("excluded")]
    per_name = {f["name"]: analyses.get(f["sha256"], {"ok": False, "error": "file missing from the staged copy"})
                for f in files if f["kind"] == "image"}
    from pmd_tui.screening.service import results_for

    ctx = CheckContext(submission=sub, files=files, notes=store.notes(submission_id), settings=settings,
                       analyses=per_name, published=_other_images(store, submission_id, (Status.PUBLISHED,)),
                       queued=_other_images(store, submission_id, QUEUED),
                       screening=results_for(store, settings, files),
                       people=[p for p in (known_people(store, settings) if people is None else people)
                               if p["submission_id"] != submission_id])
    findings: list[dict] = []
    for module in RULE_MODULES:
        findings.extend(module.check(ctx))
    return findings


CHECK_ATTEMPTS = 5  # a submission edited this many times while it is being checked is reported, not guessed


def check_current(store: QueueStore, settings: Settings, submission_id: int, *, actor: str,
                  analyses: dict[str, dict] | None = None, people: list[dict] | None = None,
                  keep_status: bool = False) -> tuple[int, list[dict]]:
    """Evaluate and store one submission's findings on one revision; returns (revision, findings).

    The revision is read before the rules read anything; the store saves the findings only if it is still
    the current one, so an edit that lands while the rules run (another process) makes this evaluate again
    instead of storing findings of the older content over the edit's own re-check."""
    for _ in range(CHECK_ATTEMPTS):
        revision = store.get(submission_id)["revision"]
        if analyses is None or any(f["sha256"] not in analyses for f in store.files(submission_id, "image")
                                   if f["sha256"] and not f["excluded"]):
            analyses = {**(analyses or {}), **analyse_submissions(store, settings, [submission_id])}
        findings = evaluate(store, settings, submission_id, analyses, people)
        if store.save_checks(submission_id, findings, actor=actor, keep_status=keep_status, revision=revision):
            return revision, findings
    from pmd_tui.errors import StateError

    raise StateError(f"submission {submission_id} kept changing while it was checked; check it again")


def iter_checks(store: QueueStore, settings: Settings, ids: Iterable[int], *, progress: Progress | None = None,
                cancel: threading.Event | None = None) -> Iterator[tuple[int, list[dict]]]:
    """Check submissions one by one, storing each one's findings (it moves to ``checked``) as it goes; stops
    between submissions when ``cancel`` is set."""
    ids = list(ids)
    for sid in ids:
        store.get(sid)  # unknown ids fail before any work
    analyses = analyse_submissions(store, settings, ids, progress)
    people = known_people(store, settings)
    for i, sid in enumerate(ids):
        if is_cancelled(cancel):
            return
        _, findings = check_current(store, settings, sid, actor=settings.actor, analyses=analyses, people=people)
        yield sid, findings
        if progress:
            progress(i + 1, len(ids), f"checked #{sid}")


def run_checks(store: QueueStore, settings: Settings, ids: Iterable[int], *, progress: Progress | None = None,
               cancel: threading.Event | None = None) -> dict[int, list[dict]]:
    """Check submissions, store the findings (moving each to ``checked``) and return them; a cancel raises
    ``Cancelled`` (the findings stored so far stay)."""
    ids = list(ids)
    results = dict(iter_checks(store, settings, ids, progress=progress, cancel=cancel))
    if len(results) < len(ids):
        raise Cancelled("checks cancelled")
    return results


@dataclass
class CheckReport(JobReport):
    """The checks' job report: findings per submission, and what screening did first (``models``)."""

    results: dict[int, list[dict]] = field(default_factory=dict)
    wanted: int = 0
    screening: object | None = None  # a ScreenReport when the models ran first

    def describe(self) -> str:
        text = f"checked {len(self.results)} submission(s)" + (
            f" of {self.wanted}" if self.cancelled else "") + ": " + worst_counts(self.results)
        if self.screening is not None:
            text = f"{self.screening.describe()}; {worst_counts(self.results)}" if not self.cancelled else text
        return text.rstrip(": ")


def check_job(store: QueueStore, settings: Settings, ids: Iterable[int], *, models: bool = False,
              device: str = "auto") -> Job:
    """The checks as a job; with ``models`` the SFW classifier and the face detector screen new images first."""
    ids = list(ids)

    def job(progress: Progress, cancel: threading.Event) -> CheckReport:
        report = CheckReport(wanted=len(ids))
        if models:
            from pmd_tui.screening.service import screen

            report.screening = screen(store, settings, ids, device=device, progress=progress, cancel=cancel)
            if report.screening.cancelled:
                report.cancelled = True
                report.text = report.screening.describe()
                return report
            progress = None
        for sid, findings in iter_checks(store, settings, ids, progress=progress, cancel=cancel):
            report.results[sid] = findings
        report.cancelled = len(report.results) < len(ids)
        return report

    return job


def worst(findings: list[dict]) -> str:
    return worst_severity(f["status"] for f in findings)


def worst_counts(results: dict[int, list[dict]]) -> str:
    """"2 fail, 1 warn": how many submissions end at each worst level (for one-line summaries)."""
    levels = [worst(f) for f in results.values()]
    return ", ".join(f"{n} {s}" for s, n in sorted({w: levels.count(w) for w in levels}.items()))
