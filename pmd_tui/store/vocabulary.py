"""The words the queue stores, each defined once: finding severities and their order, the likeness
attestations, concept types. (Submission statuses and their moves are in ``states.py``.)
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """A finding's level, declared from least to most serious (``pending``: blocks approval until a human
    attests or overrides it)."""

    PASS = "pass"
    INFO = "info"
    WARN = "warn"
    PENDING = "pending"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return SEVERITY_ORDER.index(self)


SEVERITY_ORDER: tuple[Severity, ...] = tuple(Severity)
SEVERITY: dict[str, int] = {s.value: i for i, s in enumerate(SEVERITY_ORDER)}  # name -> rank
BLOCKING: frozenset[Severity] = frozenset({Severity.PENDING, Severity.FAIL})  # stop an approval


def severity_rank(status: str) -> int:
    """The rank of a severity name (unknown names rank lowest)."""
    return SEVERITY.get(status, 0)


def worst(statuses) -> str:
    """The most serious of these severity names (``pass`` when there are none)."""
    return max(statuses, key=severity_rank, default=Severity.PASS.value)


def severity_rank_sql(column: str) -> str:
    """The same ranks as an SQL expression over ``column``, for ORDER BY in the store's queries."""
    whens = " ".join(f"WHEN '{s.value}' THEN {i}" for i, s in enumerate(SEVERITY_ORDER) if i)
    return f"CASE {column} {whens} ELSE 0 END"


CONCEPT_TYPES: tuple[str, ...] = ("person", "style", "object", "other")

# rule 2: who a likeness dataset shows -> how the maintainer's choice is labelled
LIKENESS: dict[str, str] = {
    "self": "the contributor themself",
    "public-figure": "a public figure",
    "fictional": "a fictional character",
    "not-a-likeness": "not a likeness dataset",
}
LIKENESS_CHOICES: tuple[str, ...] = tuple(LIKENESS)
