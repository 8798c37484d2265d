"""The difference between what a target holds and what a publish would write."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Plan:
    add: dict[str, int] = field(default_factory=dict)  # path -> size
    update: dict[str, int] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    parent: str | None = None  # the target's head the plan was made against

    @property
    def empty(self) -> bool:
        return not (self.add or self.update or self.delete)

    def only(self, folder: str) -> "Plan":
        """The part of the plan inside one dataset folder, plus the repo's root files (the card)."""
        prefix = folder.rstrip("/") + "/"

        def mine(p: str) -> bool:
            return p.startswith(prefix) or "/" not in p

        return Plan({p: n for p, n in self.add.items() if mine(p)}, {p: n for p, n in self.update.items() if mine(p)},
                    [p for p in self.delete if mine(p)], [p for p in self.unchanged if mine(p)], self.parent)

    def touches(self, folder: str) -> bool:
        """Whether anything inside ``folder`` is added, changed or deleted."""
        prefix = folder.rstrip("/") + "/"
        return any(p.startswith(prefix) for p in (*self.add, *self.update, *self.delete))

    def lines(self) -> list[str]:
        out = [f"  + {p} ({n:,} bytes)" for p, n in sorted(self.add.items())]
        out += [f"  ~ {p} ({n:,} bytes)" for p, n in sorted(self.update.items())]
        out += [f"  - {p}" for p in sorted(self.delete)]
        return out

    def summary(self) -> str:
        return (f"{len(self.add)} to upload, {len(self.update)} to change, {len(self.delete)} to delete, "
                f"{len(self.unchanged)} unchanged")


def diff(desired: dict[str, bytes], current: dict[str, str], digest, folders: str | list[str]) -> Plan:
    """``current`` maps existing paths to their digest; ``digest(path, data)`` computes the same for ours.

    Only paths inside ``folders`` (and the root files we write) are ever deleted.
    """
    plan = Plan()
    for path, data in desired.items():
        if path not in current:
            plan.add[path] = len(data)
        elif current[path] != digest(path, data):
            plan.update[path] = len(data)
        else:
            plan.unchanged.append(path)
    prefixes = tuple(f.rstrip("/") + "/" for f in ([folders] if isinstance(folders, str) else folders))
    plan.delete = sorted(p for p in current if p.startswith(prefixes) and p not in desired)
    return plan
