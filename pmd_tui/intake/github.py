"""The real submission channel: GitHub issues with an attached zip or a download link.

``sync`` reads open issues through the REST API (``GITHUB_TOKEN`` if set, ``GITHUB_API_URL`` for another
server), takes the first usable link of each new issue through the same safe download and intake, and
records the issue's number, title, author, URL and text. ``notify`` posts the maintainer's decision back.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

import httpx

from pmd_tui.config import Settings
from pmd_tui.errors import DuplicateError, InputError, NetworkError, PmdError
from pmd_tui.intake.links import find_links
from pmd_tui.jobs import Job, JobReport, Progress, is_cancelled
from pmd_tui.store import QueueStore

DEFAULT_API = "https://api.github.com"
MAX_PAGES = 50  # 5,000 issues or comments at 100 a page; a Link chain longer than this is refused


def _origin(url: str) -> tuple[str, str, int | None]:
    u = httpx.URL(url)
    return u.scheme, u.host, u.port


class GitHub:
    def __init__(self, repo: str, *, token: str | None = None, api: str | None = None):
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo or ""):
            raise InputError(f"--github must be OWNER/REPO, not {repo!r}")
        self.repo = repo
        self.api = (api or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
        token = token if token is not None else os.environ.get("GITHUB_TOKEN")
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": "pmd-tui"}
        # The token is added per request, and only for the API's own origin: a Link header or a redirect
        # that points elsewhere never receives it (httpx also drops it on cross-origin redirects).
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(headers=headers, timeout=30.0, follow_redirects=True)

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, method: str, url: str, **kw) -> httpx.Response:
        if _origin(url) == _origin(self.api):
            kw["headers"] = {**kw.get("headers", {}), **self._auth}
        try:
            r = self.client.request(method, url, **kw)
        except httpx.TransportError as exc:
            raise NetworkError(f"cannot reach the GitHub API at {self.api}: {type(exc).__name__}") from None
        if r.status_code == 401:
            raise PmdError("GitHub rejected the token (HTTP 401); check GITHUB_TOKEN")
        if r.status_code == 403 and r.headers.get("x-ratelimit-remaining") == "0":
            raise NetworkError("GitHub API rate limit reached; set GITHUB_TOKEN or wait an hour")
        if r.status_code == 404:
            raise PmdError(f"GitHub repository {self.repo} not found (or private and no GITHUB_TOKEN)")
        if r.status_code >= 400:
            try:
                message = r.json().get("message", "")
            except ValueError:
                message = r.reason_phrase
            raise NetworkError(f"GitHub API: HTTP {r.status_code} {message}".strip())
        return r

    def _pages(self, url: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a paginated list: at most ``MAX_PAGES`` pages, each a JSON array of objects,
        and only pages on the API's own origin (a ``Link: next`` elsewhere is refused)."""
        params = {"per_page": 100, **(params or {})}
        pages = 0
        while url:
            pages += 1
            if pages > MAX_PAGES:
                raise NetworkError(f"GitHub API: more than {MAX_PAGES} pages of results; stopped "
                                   "(narrow it with --label)")
            if _origin(url) != _origin(self.api):
                raise NetworkError(f"GitHub API: the next page points to another server ({httpx.URL(url).host}); "
                                   "refused")
            r = self._request("GET", url, params=params)
            try:
                items = r.json()
            except ValueError:
                raise NetworkError("GitHub API: the answer is not JSON") from None
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                what = type(items).__name__ if not isinstance(items, list) else "a list of other things"
                message = items.get("message") if isinstance(items, dict) else None
                raise NetworkError(f"GitHub API: expected a list, got {'an object' if what == 'dict' else what}"
                                   + (f": {str(message)[:100]}" if message else ""))
            yield from items
            url = r.links.get("next", {}).get("url")
            params = None  # the next link carries them

    def open_issues(self, label: str | None = None) -> list[dict]:
        params = {"state": "open", "sort": "created", "direction": "asc"}
        if label:
            params["labels"] = label
        return [i for i in self._pages(f"{self.api}/repos/{self.repo}/issues", params) if "pull_request" not in i]

    def comments(self, number: int) -> list[dict]:
        return list(self._pages(f"{self.api}/repos/{self.repo}/issues/{number}/comments"))

    def comment(self, number: int, body: str) -> None:
        self._request("POST", f"{self.api}/repos/{self.repo}/issues/{number}/comments", json={"body": body})


@dataclass
class SyncOutcome:
    number: int
    title: str
    status: str  # added | known | no-link | failed
    detail: str
    submission_id: int | None = None


def tally(outcomes: list[SyncOutcome]) -> tuple[list[SyncOutcome], int, list[SyncOutcome]]:
    """(added, how many were already known, those without a usable submission)."""
    return ([o for o in outcomes if o.status == "added"], sum(o.status == "known" for o in outcomes),
            [o for o in outcomes if o.status in ("no-link", "failed")])


def sync(store: QueueStore, settings: Settings, repo: str, *, label: str | None = None,
         progress: Progress | None = None, cancel: threading.Event | None = None,
         say: Callable[[str], None] | None = None) -> list[SyncOutcome]:
    """One submission per open issue not yet in the queue; each outcome says what happened and why."""
    from pmd_tui.intake.download import shown
    from pmd_tui.intake.service import add_url

    outcomes: list[SyncOutcome] = []
    with GitHub(repo) as gh:
        issues = gh.open_issues(label)
        known = store.issue_urls()
        for i, issue in enumerate(issues):
            if is_cancelled(cancel):
                break
            number, title = issue.get("number"), str(issue.get("title") or "").strip()
            if not isinstance(number, int):
                outcomes.append(SyncOutcome(0, title, "failed", "the GitHub API gave an issue without a number"))
                continue
            if progress:
                progress(i, len(issues), f"#{number}")
            url = issue.get("html_url") or f"https://github.com/{repo}/issues/{number}"
            if url in known:
                outcomes.append(SyncOutcome(number, title, "known", f"already in the queue as #{known[url]}", known[url]))
                continue
            author = (issue.get("user") or {}).get("login")
            texts = [issue.get("body") or ""]
            if issue.get("comments"):
                texts += [c.get("body") or "" for c in gh.comments(number) if (c.get("user") or {}).get("login") == author]
            links = [lk for t in texts for lk in find_links(t)]
            if not links:
                outcomes.append(SyncOutcome(number, title, "no-link", "no attached zip or download link in the issue"))
                continue
            extra = {"issue_url": url, "issue_title": title, "issue_text": "\n\n".join(t for t in texts if t.strip())}
            errors = []
            for link in links:
                try:
                    sid = add_url(store, settings, link.url, name=title or None, issue=number, submitter=author,
                                  extra=extra, progress=say, again=False)
                except DuplicateError as exc:  # the same images re-posted in another issue: not a second submission
                    outcomes.append(SyncOutcome(number, title, "known", f"the same images are already in the queue as "
                                                f"#{exc.other_id} (from another issue or upload)", exc.other_id))
                    break
                except PmdError as exc:  # one bad submission never stops the others
                    errors.append(str(exc))
                    continue
                except OSError as exc:
                    errors.append(f"cannot take it in: {exc.strerror or type(exc).__name__}")
                    continue
                outcomes.append(SyncOutcome(number, title, "added", f"{link.kind} link {shown(link.url, 200)}", sid))
                known[url] = sid
                break
            else:
                outcomes.append(SyncOutcome(number, title, "failed", errors[-1]))
        if progress:
            progress(len(issues), len(issues), "done")
    return outcomes


@dataclass
class SyncReport(JobReport):
    """The sync job's report: what happened to each open issue."""

    repo: str = ""
    outcomes: list[SyncOutcome] = field(default_factory=list)

    def describe(self) -> str:
        added, known, unusable = tally(self.outcomes)
        text = f"{self.repo}: {len(added)} added, {known} already known"
        if unusable:
            text += "; without a usable submission: " + "; ".join(f"#{o.number} {o.detail}" for o in unusable[:5])
        return text


def sync_job(store: QueueStore, settings: Settings, repo: str, *, label: str | None = None) -> Job:
    """The sync as a job: stops between issues when cancelled, keeping the submissions already added."""

    def job(progress: Progress, cancel: threading.Event) -> SyncReport:
        report = SyncReport(repo=repo)
        report.outcomes = sync(store, settings, repo, label=label, progress=progress, cancel=cancel)
        report.cancelled = is_cancelled(cancel)
        report.failed = [f"#{o.number} {o.detail}" for o in report.outcomes if o.status == "failed"]
        return report

    return job


# -- notifications ------------------------------------------------------------------------------------
def issue_of(sub: dict) -> tuple[str, int] | None:
    """(OWNER/REPO, number) from the submission's issue URL."""
    m = re.search(r"/([\w.-]+/[\w.-]+)/issues/(\d+)", sub.get("issue_url") or "")
    return (m.group(1), int(m.group(2))) if m else None


def decision_message(sub: dict, action: str, *, reason: str | None = None, url: str | None = None,
                     folder: str | None = None) -> str:
    if action == "approved":
        return f"Thank you! **{sub['name']}** was reviewed and approved; it will be published soon."
    if action == "rejected":
        return f"Thank you for the submission. **{sub['name']}** was not accepted: {reason or 'see the rules'}."
    if action == "published":
        where = f" as `{folder}/`" if folder else ""
        return f"**{sub['name']}** is published{where}: {url}" if url else f"**{sub['name']}** is published{where}."
    raise ValueError(action)


def notify(store: QueueStore, submission_id: int, action: str, *, actor: str, **kw) -> str | None:
    """Comment on the submission's issue; returns a warning line instead of raising (the decision stands)."""
    sub = store.get(submission_id)
    where = issue_of(sub)
    if where is None:
        return f"#{submission_id} has no GitHub issue to notify"
    repo, number = where
    try:
        with GitHub(repo) as gh:
            gh.comment(number, decision_message(sub, action, **kw))
    except PmdError as exc:
        return f"could not comment on {repo}#{number}: {exc}"
    with store.transaction():
        store.log(submission_id, "issue-notified", actor, issue=f"{repo}#{number}", about=action)
    return None
