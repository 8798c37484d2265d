"""Publishing submissions: plan, one commit per dataset, then record it in the queue.

Nothing is marked published unless the commit succeeded; a dataset whose folder already matches the
target is not committed again, but is marked published if it was not yet (so a re-run after a crash
between the commit and the bookkeeping completes it). When many datasets wait, they are grouped into
fewer commits (each still all or nothing against the head it was planned on).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from pmd_tui.config import Settings
from pmd_tui.errors import StateError
from pmd_tui.jobs import Cancelled, Job, JobReport, Progress, is_cancelled
from pmd_tui.publish.bundle import build_bundle
from pmd_tui.publish.card import render_card, render_scores, render_stats
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
    skipped: tuple[str, ...] = ()  # left out: they do not decode
    uncaptioned: tuple[str, ...] = ()  # left out: no caption (approved over rule 6 with an override)


def make_target(settings: Settings, repo: str | None = None, to_dir: str | None = None, *,
                progress_bars: bool | None = None) -> PublishTarget:
    if to_dir:
        from pmd_tui.publish.local import FolderTarget

        return FolderTarget(to_dir)
    from pmd_tui.publish.hub import HubTarget

    return HubTarget(repo or settings.repo, progress_bars=progress_bars)


def _local_datasets(store: QueueStore, target_label: str) -> dict[str, dict]:
    """Figures of the datasets this queue published to the target, counted as they are written."""
    from pmd_tui.publish.bundle import excluded_count, published_stats, publishable_images

    out = {}
    for pub in store.publications():
        sub = store.get(pub["submission_id"])
        if pub["target"] == target_label and sub["status"] == Status.PUBLISHED:
            images, _, _ = publishable_images(store, pub["submission_id"])
            stats = published_stats(sub, images, excluded_count(store, pub["submission_id"]))
            stats["folder"] = pub["folder"]
            out[pub["folder"]] = stats
    return out


def group_ids(ids: list[int], max_commits: int | None) -> list[list[int]]:
    """One group (one commit) per dataset, or, when more wait than ``max_commits``, evenly filled groups."""
    if not max_commits or len(ids) <= max_commits:
        return [[sid] for sid in ids]
    size = -(-len(ids) // max_commits)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _message(store: QueueStore, subs: list[dict], bundles: list) -> str:
    if len(bundles) == 1:
        sub, bundle = subs[0], bundles[0]
        issue = f" (issue #{sub['issue_number']})" if sub["issue_number"] else ""
        verb = "Update" if store.publications(sub["id"]) else "Add"
        return f"{verb} dataset {bundle.folder}{issue}"
    names = ", ".join(b.folder for b in bundles)
    return f"Publish {len(bundles)} datasets: {names}"[:200]


def publishable_revision(store: QueueStore, submission_id: int) -> int:
    """The revision that may be published: the approved one, and only while it is the current one. A change
    after approval (even one whose re-judgement never ran: a crash) moved the revision, so it is refused
    until the set is judged again."""
    sub = store.get(submission_id)
    if sub["status"] not in (Status.APPROVED, Status.PUBLISHED):
        raise StateError(f"submission {submission_id} is {sub['status']}: only approved submissions are published")
    if sub["approved_revision"] is None or sub["approved_revision"] != sub["revision"]:
        raise StateError(f"submission {submission_id} changed after it was approved (approved revision "
                         f"{sub['approved_revision']}, now {sub['revision']}): judge it again "
                         f"(pmd-tui check {submission_id}, then approve) before publishing")
    return sub["revision"]


def bundle_at(store: QueueStore, submission_id: int, revision: int):
    """The folder's content read under the approval: the revision is the approved one before the files are
    listed and still after their bytes are read (every change moves it), and each image's bytes match the
    sha256 the queue holds at that revision; otherwise the set is refused."""
    bundle = build_bundle(store, submission_id)
    if store.get(submission_id)["revision"] != revision:
        raise StateError(f"submission {submission_id} changed while it was being read for publishing: "
                         "judge it again before publishing")
    return bundle


def publish_group(store: QueueStore, settings: Settings, target: PublishTarget, ids: list[int], *,
                  dry_run: bool = False) -> list[PublishResult]:
    """Publish these submissions in one commit (all or nothing); one result per submission."""
    subs = [store.get(sid) for sid in ids]
    revisions = [publishable_revision(store, sid) for sid in ids]
    bundles = [bundle_at(store, sid, rev) for sid, rev in zip(ids, revisions)]
    for sub, rev in zip(subs, revisions):
        sub["approved_revision"] = rev
    with target.transaction():  # read, plan and commit on one state of the target (lock or compare-and-swap)
        return _publish_bundles(store, settings, target, subs, bundles, dry_run=dry_run)


def _publish_bundles(store: QueueStore, settings: Settings, target: PublishTarget, subs: list[dict],
                     bundles: list, *, dry_run: bool) -> list[PublishResult]:
    datasets = {**target.remote_datasets(), **_local_datasets(store, target.label)}
    datasets.update({b.folder: b.stats for b in bundles})
    desired: dict[str, bytes] = {}
    for b in bundles:
        desired.update(b.paths())
    # the card's loading example names what load_dataset takes: the repo id, or the folder's path
    desired["README.md"] = render_card(datasets, getattr(target, "repo", None) or target.label).encode("utf-8")
    desired["stats.json"] = render_stats(datasets).encode("utf-8")
    if settings.publish_scores:  # the leaderboard, only when the maintainer chooses to publish it
        desired["scores.json"] = render_scores(store).encode("utf-8")
    plan = target.plan(desired, [b.folder for b in bundles])
    results = [PublishResult(sub["id"], sub["name"], b.folder, "would-publish",
                             plan if len(bundles) == 1 else plan.only(b.folder),
                             skipped=tuple(b.skipped), uncaptioned=tuple(b.uncaptioned))
               for sub, b in zip(subs, bundles)]
    if dry_run:
        return results
    if plan.empty:
        commit, url = plan.parent, None
        for r in results:
            r.outcome = "unchanged"
    else:
        description = "; ".join(
            f"{b.folder}: {b.stats['images']} images, captioning: {b.stats['caption_method']}, "
            f"concept: {sub['concept_type'] or 'n/a'}" for sub, b in zip(subs, bundles))
        description += f". Published with pmd-tui by {settings.actor}."
        for sub in subs:  # the last look before the upload: an edit since the bundle was read stops it
            if store.get(sub["id"])["revision"] != sub["approved_revision"]:
                raise StateError(f"submission {sub['id']} changed while it was being published: judge it again")
        from pmd_tui.crashpoints import kill_point

        kill_point("publish-before-commit")
        commit, url = target.commit(desired, plan, _message(store, subs, bundles), description)
        for r in results:
            r.outcome = "published" if len(bundles) == 1 or plan.touches(r.folder) else "unchanged"
    with store.transaction():
        for sub, b, r in zip(subs, bundles, results):
            if r.outcome == "unchanged" and sub["status"] == Status.PUBLISHED:
                continue
            r.commit, r.url = commit, url
            store.record_publication(sub["id"], target=target.label, folder=b.folder, content_hash=b.content_hash(),
                                     commit_id=commit, url=url, actor=settings.actor)
            if store.get(sub["id"])["revision"] != sub["approved_revision"]:
                # changed during the upload: the folder holds the approved revision, the queue a newer one that
                # nobody judged; it stays approved-but-unmatched (not published) until judged and published again
                r.outcome = "changed"
                continue
            store.transition(sub["id"], Status.PUBLISHED, actor=settings.actor, action="published",
                             destination=target.label, folder=b.folder, commit=commit, url=url,
                             changes=r.plan.summary(), expect=(sub["status"],))
    return results


def publish_one(store: QueueStore, settings: Settings, target: PublishTarget, submission_id: int, *,
                dry_run: bool = False) -> PublishResult:
    return publish_group(store, settings, target, [submission_id], dry_run=dry_run)[0]


def publish(store: QueueStore, settings: Settings, ids: list[int], *, repo: str | None = None,
            to_dir: str | None = None, dry_run: bool = False,
            progress: Progress | None = None,
            cancel: threading.Event | None = None, progress_bars: bool | None = None,
            say: Callable[[str], None] | None = None) -> list[PublishResult]:
    """Publish ``ids``: one commit per dataset, or fewer, grouped, when more wait than the target's
    ``max_commits`` (the Hub's commit rate); ``say`` hears of rate-limit waits."""
    target = make_target(settings, repo, to_dir, progress_bars=progress_bars)
    if say is not None:
        target.say = say
    target.cancel = cancel
    if not dry_run:
        target.check_access()
    results: list[PublishResult] = []
    groups = group_ids(list(ids), getattr(target, "max_commits", None))
    done = 0
    for group in groups:
        if is_cancelled(cancel):
            raise Cancelled(f"publishing cancelled after {done} of {len(ids)}")
        if progress:
            progress(done, len(ids), ", ".join(f"#{sid}" for sid in group))
        results += publish_group(store, settings, target, group, dry_run=dry_run)
        done += len(group)
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

        def say(msg: str) -> None:  # a rate-limit wait shows on the task bar
            progress(0, None, msg)

        report.results = publish(store, settings, ids, to_dir=to_dir, progress=progress, cancel=cancel,
                                 progress_bars=False, dry_run=dry_run, say=say)
        if settings.notify and not to_dir and not dry_run:
            from pmd_tui.intake.github import notify

            for r in report.results:
                if r.outcome == "published" and store.get(r.submission_id).get("issue_url"):
                    w = notify(store, r.submission_id, "published", actor=settings.actor, url=r.url, folder=r.folder)
                    if w:
                        report.warnings.append(w)
        return report

    return job
