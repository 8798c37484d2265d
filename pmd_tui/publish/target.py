"""What a place to publish to does: the Hugging Face dataset repo (``hub.py``) and a local folder in the same
layout (``local.py``: the demo, offline use, a mirror). The publishing service only talks to this protocol.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Callable, Protocol, runtime_checkable

from pmd_tui.publish.plan import Plan


@runtime_checkable
class PublishTarget(Protocol):
    label: str  # where it went, recorded with each publication (a URL or an absolute path)
    max_commits: int | None  # more datasets than this in one run are grouped into this many commits (None: never)
    say: Callable[[str], None]  # hears of waits (the Hub's rate limit)
    cancel: threading.Event | None  # set by the caller: stops a wait

    def check_access(self) -> None:
        """Raise a one-line PmdError when nothing could be written (before any upload starts)."""

    def transaction(self) -> AbstractContextManager:
        """Read, plan and commit inside it on one state of the target (a lock, or compare-and-swap)."""

    def remote_datasets(self) -> dict[str, dict]:
        """{folder: stats} of the datasets the target already holds (from its ``stats.json``)."""

    def plan(self, desired: dict[str, bytes], folders: str | list[str]) -> Plan:
        """What writing ``desired`` (path -> content) would add, change and delete inside ``folders``."""

    def commit(self, desired: dict[str, bytes], plan: Plan, message: str, description: str) -> tuple[str, str | None]:
        """Write the plan as one atomic change; returns (commit id, URL of the dataset)."""
