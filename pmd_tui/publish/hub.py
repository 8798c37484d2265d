"""Publishing to a Hugging Face dataset repo: atomic commits with ``create_commit``.

``upload_folder`` may split into several commits (hf_xet); ``create_commit`` with ``parent_commit`` is
one commit that fails cleanly (412) if anybody else committed in between. The Hub allows about 128
commits per hour per repo: the publisher groups datasets when many wait (``max_commits``), and a 429
answer is waited out as its ``Retry-After`` says (cancellable), then the same commit is tried again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Callable

from pmd_tui.errors import NetworkError, PmdError
from pmd_tui.publish.plan import Plan, diff


_UNSET = object()


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


RATE_LIMIT_RETRIES = 3
MAX_WAIT_S = 3600  # a longer Retry-After is reported instead of waited for


def _retry_after(exc: Exception) -> float | None:
    """Seconds a 429 answer asks to wait (its Retry-After, else a minute); None for any other error."""
    response = getattr(exc, "response", None)
    if response is None or getattr(response, "status_code", None) != 429:
        return None
    value = (response.headers.get("Retry-After") or "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return 60.0


def _short(exc: Exception) -> str:
    """One line from a hub or network error, never including request headers (the token)."""
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        server = (exc.server_message or "").strip().splitlines()
        detail = server[0] if server else exc.response.reason_phrase
        return f"HTTP {status}: {detail}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class HubTarget:
    """A PublishTarget (``target.py``): a Hugging Face dataset repo, one ``create_commit`` per dataset
    (or per group of datasets when more wait than ``max_commits``)."""

    #: datasets are grouped into at most this many commits per run when more wait (the Hub's commit rate)
    max_commits = 16
    sleep = staticmethod(time.sleep)

    def __init__(self, repo: str, token: str | None = None, endpoint: str | None = None,
                 progress_bars: bool | None = None):
        from huggingface_hub import HfApi, get_token
        from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

        # the library's upload bars only make sense on a terminal (never inside the TUI or a log)
        if progress_bars if progress_bars is not None else sys.stderr.isatty():
            enable_progress_bars()
        else:
            disable_progress_bars()

        if "/" not in repo:
            raise PmdError(f"--repo must be OWNER/NAME, not {repo!r}")
        self.repo = repo
        self.endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
        self.token = token or get_token()
        self.api = HfApi(endpoint=self.endpoint, token=self.token)
        self.label = f"{(self.endpoint or 'https://huggingface.co').rstrip('/')}/datasets/{repo}"
        self._tree: dict[str, dict] | None = None
        self.say: Callable[[str], None] = lambda _msg: None  # where a rate-limit wait is announced
        self.cancel: threading.Event | None = None
        self._snapshot: str | None | object = _UNSET

    # -- access -----------------------------------------------------------------------------------
    def check_access(self) -> None:
        """A token that can write, before any upload starts."""
        if not self.token:
            raise PmdError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
        try:
            who = self.api.whoami(token=self.token)
        except Exception as exc:
            if "401" in _short(exc):
                raise PmdError("the Hugging Face token was rejected (HTTP 401); check HF_TOKEN") from None
            raise NetworkError(f"cannot reach the Hub: {_short(exc)}") from None
        role = (who.get("auth", {}).get("accessToken", {}) or {}).get("role")
        if role == "read":
            raise PmdError(f"the Hugging Face token of {who.get('name')} is read-only; a write token is needed")

    def _wait(self, seconds: float, what: str, attempt: int) -> None:
        if seconds > MAX_WAIT_S:
            raise NetworkError(f"{what}: the Hub's rate limit (HTTP 429) asks to wait {seconds / 60:.0f} min; "
                               "run it again later") from None
        self.say(f"the Hub's rate limit (HTTP 429): waiting {seconds:.0f} s as it asks (Retry-After), "
                 f"then trying again ({attempt}/{RATE_LIMIT_RETRIES})")
        left = seconds
        while left > 0:  # in short steps, so a cancel (x in the TUI) is heard
            if self.cancel is not None and self.cancel.is_set():
                raise PmdError(f"{what}: cancelled while waiting for the Hub's rate limit")
            step = min(left, 0.5)
            self.sleep(step)
            left -= step

    def _call(self, what: str, fn, *args, **kwargs):
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except PmdError:
                raise
            except Exception as exc:
                wait = _retry_after(exc)
                if wait is None or attempt >= RATE_LIMIT_RETRIES:
                    self._fail(what, exc)
                attempt += 1
                self._wait(wait, what, attempt)

    def _fail(self, what: str, exc: Exception):
        msg = _short(exc)
        if "412" in msg:
            raise NetworkError(f"{self.repo} changed while publishing (another commit landed); run it again") from None
        if "403" in msg:
            raise PmdError(f"no write access to {self.repo}: {msg}") from None
        if "429" in msg:
            raise NetworkError(f"{what} failed: the Hub's rate limit (HTTP 429) did not lift after "
                               f"{RATE_LIMIT_RETRIES} waits; run it again later") from None
        raise NetworkError(f"{what} failed: {msg}") from None

    # -- state ------------------------------------------------------------------------------------
    def head(self) -> str | None:
        from huggingface_hub.errors import RepositoryNotFoundError

        try:
            return self.api.repo_info(self.repo, repo_type="dataset").sha
        except RepositoryNotFoundError:
            return None
        except Exception as exc:
            raise NetworkError(f"reading {self.repo} failed: {_short(exc)}") from None

    def _listing(self, folders: list[str]) -> dict[str, dict]:
        from huggingface_hub.hf_api import RepoFile

        out = {}
        for path, recursive in ((None, False), *((f, True) for f in folders)):
            try:
                entries = list(self.api.list_repo_tree(self.repo, path_in_repo=path, recursive=recursive,
                                                       repo_type="dataset"))
            except Exception as exc:
                if "404" in _short(exc):
                    continue
                raise NetworkError(f"listing {self.repo} failed: {_short(exc)}") from None
            for e in entries:
                if isinstance(e, RepoFile):
                    out[e.path] = {"sha1": e.blob_id, "sha256": e.lfs.sha256 if e.lfs else None}
        return out

    @contextmanager
    def transaction(self):
        """Read everything a publish is planned on at one revision, and commit on top of exactly that
        revision (``parent_commit``): a commit that lands in between makes ours fail with 412 instead of
        overwriting ``stats.json`` and the card with a stale list (compare-and-swap)."""
        self._snapshot = self.head()
        try:
            yield
        finally:
            self._snapshot = _UNSET

    def remote_datasets(self) -> dict[str, dict]:
        """The published datasets listed in the repo's ``stats.json``; empty only when the repo or the file
        truly does not exist. Any failure to read it stops the publish (assuming 'empty' would drop every
        dataset that is not in the local queue from the card and ``stats.json``)."""
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

        revision = None if self._snapshot is _UNSET else self._snapshot
        if self._snapshot is None:  # the repo does not exist yet
            return {}
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = hf_hub_download(self.repo, "stats.json", repo_type="dataset", endpoint=self.endpoint,
                                       token=self.token, local_dir=tmp, revision=revision)
            except LocalEntryNotFoundError as exc:  # a subclass of EntryNotFoundError: the Hub did not answer
                raise NetworkError(f"reading stats.json from {self.repo} failed ({_short(exc)}); "
                                   "nothing was published") from None
            except (EntryNotFoundError, RepositoryNotFoundError):
                return {}
            except Exception as exc:
                raise NetworkError(f"reading stats.json from {self.repo} failed: {_short(exc)}; "
                                   "nothing was published") from None
            try:
                with open(path, encoding="utf-8") as f:
                    datasets = json.load(f).get("datasets", {})
                if not isinstance(datasets, dict):
                    raise ValueError("'datasets' is not an object")
                return datasets
            except (ValueError, OSError, AttributeError) as exc:
                raise PmdError(f"stats.json in {self.repo} cannot be read ({exc}); fix it by hand before "
                               "publishing, or the card would lose the datasets it lists") from None

    def plan(self, desired: dict[str, bytes], folders: str | list[str]) -> Plan:
        folders = [folders] if isinstance(folders, str) else list(folders)
        parent = self.head() if self._snapshot is _UNSET else self._snapshot
        current = {} if parent is None else self._listing(folders)

        def digest(path: str, data: bytes) -> str:
            return hashlib.sha256(data).hexdigest() if current[path]["sha256"] else _git_blob_sha1(data)

        plan = diff(desired, {p: (v["sha256"] or v["sha1"]) for p, v in current.items()}, digest, folders)
        plan.parent = parent
        return plan

    # -- commit -----------------------------------------------------------------------------------
    def commit(self, desired: dict[str, bytes], plan: Plan, message: str, description: str) -> tuple[str, str]:
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        if plan.parent is None:
            self._call("creating the dataset repo", self.api.create_repo, self.repo, repo_type="dataset",
                       exist_ok=True)
            plan.parent = self.head()
        ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=desired[p]) for p in (*plan.add, *plan.update)]
        ops += [CommitOperationDelete(path_in_repo=p) for p in plan.delete]
        info = self._call(f"committing to {self.repo}", self.api.create_commit, self.repo, ops,
                          commit_message=message, commit_description=description, repo_type="dataset",
                          parent_commit=plan.parent)
        return info.oid, info.commit_url
