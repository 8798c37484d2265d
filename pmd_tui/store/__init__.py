"""The review queue: one SQLite file that is the single source of truth."""

from pmd_tui.store.queue import QueueStore
from pmd_tui.store.states import Status
from pmd_tui.store.vocabulary import CONCEPT_TYPES, LIKENESS, LIKENESS_CHOICES, SEVERITY_ORDER, Severity

__all__ = ["QueueStore", "Status", "Severity", "SEVERITY_ORDER", "LIKENESS", "LIKENESS_CHOICES", "CONCEPT_TYPES"]
