"""Publishing submissions: plan, one commit per dataset, then record it in the queue.

Nothing is marked published unless the commit succeeded; a dataset whose folder already matches the
target is not committed again, but is marked published if it was not yet (so a re-run after a crash
between the commit and the bookkeeping completes it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pmd_tui.config import Settings
from pmd_tui.errors import StateError
from pmd_tui.jobs import Cancelled, Job, JobReport, Progress, is_cancelled
from pmd_tui.publish.bundle import build_bundle
from pmd_tui.publish.card import render_card, render_stats
from pmd_tui.publish.plan import Plan
from pmd_tui.publish.target import PublishTarget
from pmd_tui.store import QueueStore, Status


@dataclass
class PublishResult:
    submission_id: int
    name: str
    folder: str
    outcome: str  # published | unchanged | would-publish
    plan: Plan
    commit: str | None = None
    url: str | None = None
    skipped: tuple[str, ...] = ()


def make_target(settings: Settings, repo: str | None = None, to_dir: str | None = None, *,
                progress_bars: bool | None = None) -> PublishTarget:
    if to_dir:
        from pmd_tui.publish.local import FolderTarget

        return FolderTarget(to_dir)
    from pmd_tui.publish.hub import HubTarget

    return HubTarget(repo or settings.repo, progress_bars=progress_bars)


def _local_datasets(store: QueueStore, target_label: str) -> dict[str, dict]:
    from pmd_tui.stats import submission_stats

    out = {}
    for pub in store.publications():
        if pub["target"] == target_label and store.get(pub["submission_id"])["status"] == Status.PUBLISHED:
            stats = submission_stats(store, pub["submission_id"])
            stats["folder"] = pub["folder"]
            out[pub["folder"]] = stats
    return out


def publish_one(store: QueueStore, settings: Settings, target: PublishTarget, submission_id: int, *, dry_run: bool = False) -> PublishResult:
    sub = store.get(submission_id)
    if sub["status"] not in (Status.APPROVED, Status.PUBLISHED):
        raise StateError(f"submission {submission_id} is {sub['status']}: only approved submissions are published")
    bundle = build_bundle(store, submission_id)
    with target.transaction():  # read, plan and commit on one state of the target (lock or compare-and-swap)
        return _publish_bundle(store, settings, target, sub, bundle, dry_run=dry_run)


def _publish_bundle(store: QueueStore, settings: Settings, target, sub: dict, bundle, *, dry_run: bool) -> PublishResult:
    submission_id = sub["id"]
    datasets = {**target.remote_datasets(), **_local_datasets(store, target.label), bundle.folder: bundle.stats}
    desired = bundle.paths()
    desired["README.md"] = render_card(datasets).encode("utf-8")
    desired["stats.json"] = render_stats(datasets).encode("utf-8")
    plan = target.plan(desired, bundle.folder)
    result = PublishResult(submission_id, sub["name"], bundle.folder, "would-publish", plan,
                           skipped=tuple(bundle.skipped))
    if dry_run:
        return result
    content_hash = bundle.content_hash()
    if plan.empty:
        result.outcome = "unchanged"
        if sub["status"] == Status.PUBLISHED:
            return result
        commit, url = plan.parent, None
    else:
        issue = f" (issue #{sub['issue_number']})" if sub["issue_number"] else ""
        message = f"Add dataset {bundle.folder}{issue}" if not store.publications(submission_id) else \
            f"Update dataset {bundle.folder}{issue}"
        description = (f"{bundle.stats['images']} images, captioning: {sub['caption_method'] or 'n/a'}, "
                       f"concept: {sub['concept_type'] or 'n/a'}. Published with pmd-tui by {settings.actor}.")
        commit, url = target.commit(desired, plan, message, description)
        result.outcome = "published"
    result.commit, result.url = commit, url
    with store.transaction():
        store.record_publication(submission_id, target=target.label, folder=bundle.folder,
                                 content_hash=content_hash, commit_id=commit, url=url, actor=settings.actor)
        store.transition(submission_id, Status.PUBLISHED, actor=settings.actor, action="published",
                         destination=target.label, folder=bundle.folder, commit=commit, url=url,
                         changes=plan.summary())
    return result


def publish(store: QueueStore, settings: Settings, ids: list[int], *, repo: str | None = None,
            to_dir: str | None = None, dry_run: bool = False,
            progress: Progress | None = None,
            cancel: threading.Event | None = None, progress_bars: bool | None = None) -> list[PublishResult]:
    target = make_target(settings, repo, to_dir, progress_bars=progress_bars)
    if not dry_run:
        target.check_access()
    results = []
    for i, sid in enumerate(ids):
        if is_cancelled(cancel):
            raise Cancelled(f"publishing cancelled after {i} of {len(ids)}")
        if progress:
            progress(i, len(ids), f"#{sid}")
        results.append(publish_one(store, settings, target, sid, dry_run=dry_run))
    if progress:
        progress(len(ids), len(ids), "done")
    return results


@dataclass
class PublishReport(JobReport):
    """The publishing job's report: one result per submission, and the issue comments that failed."""

    results: list[PublishResult] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.text:
            return self.text
        if self.dry_run:
            lines = []
            for r in self.results:
                lines.append(f"#{r.submission_id} -> {r.folder}/: {r.plan.summary()}")
                lines += r.plan.lines()[:12] + ([f"  ... {len(r.plan.lines()) - 12} more"] if len(r.plan.lines()) > 12 else [])
            return "\n".join(lines)
        done = [r for r in self.results if r.outcome == "published"]
        same = [r for r in self.results if r.outcome == "unchanged"]
        return (f"published {len(done)}, unchanged {len(same)}" + (f": {done[-1].url}" if done and done[-1].url else "")
                + (f" ({self.warnings[0]})" if self.warnings else ""))


def publish_job(store: QueueStore, settings: Settings, ids: list[int], *, to_dir=None, dry_run: bool = False) -> Job:
    """Publishing as a job; with ``notify = true`` the issues hear of it."""

    def job(progress: Progress, cancel: threading.Event) -> PublishReport:
        report = PublishReport(dry_run=dry_run)
        report.results = publish(store, settings, ids, to_dir=to_dir, progress=progress, cancel=cancel,
                                 progress_bars=False, dry_run=dry_run)
        if settings.notify and not to_dir and not dry_run:
            from pmd_tui.intake.github import notify

            for r in report.results:
                if r.outcome == "published" and store.get(r.submission_id).get("issue_url"):
                    w = notify(store, r.submission_id, "published", actor=settings.actor, url=r.url, folder=r.folder)
                    if w:
                        report.warnings.append(w)
        return report

    return job
