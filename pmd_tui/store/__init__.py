"""The review queue: one SQLite file that is the single source of truth."""

from pmd_tui.store.queue import QueueStore
from pmd_tui.store.states import Status

__all__ = ["QueueStore", "Status"]
