"""Publishing to a local folder in the same layout (the demo, offline use, or a mirror).

The dataset folder is written beside its final place and swapped in, and the card files are replaced
atomically, so a crash never leaves a half-written dataset in place.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

from pmd_tui.publish.plan import Plan, diff


class FolderTarget:
    """A PublishTarget (``target.py``) that writes the repo's layout into a folder."""

    max_commits = None  # a folder has no commit rate: one swap per dataset
    cancel = None

    @staticmethod
    def say(_msg: str) -> None:  # nothing to wait for
        pass

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()
        self.label = str(self.root)

    def check_access(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            from pmd_tui.errors import PmdError

            raise PmdError(f"cannot write to {self.root}")

    @contextmanager
    def transaction(self):
        """One publish at a time per target folder (``flock`` on the folder): read
        ``stats.json``, plan and write as one step, so parallel publishes never lose each other's datasets.
        Left-overs of a publish that died (hidden ``.*.tmp`` / ``.*.old``) are removed first."""
        if not self.root.is_dir():  # a dry run before the first publish: nothing to read or to guard
            yield
            return
        fd = os.open(self.root, os.O_RDONLY)  # the folder itself is the lock: no lock file in the mirror
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._sweep()
            yield
        finally:
            os.close(fd)

    def _sweep(self) -> None:
        for p in self.root.iterdir():
            if p.name.startswith(".") and (p.name.endswith(".tmp") or p.name.endswith(".old")):
                final = self.root / p.name[1:].rsplit(".", 2)[0]
                if p.name.endswith(".old") and not final.exists():
                    os.replace(p, final)  # died between the two renames: the previous version comes back
                elif p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)

    def remote_datasets(self) -> dict[str, dict]:
        """The datasets ``stats.json`` lists; a file that exists but cannot be read stops the publish."""
        path = self.root / "stats.json"
        try:
            datasets = json.loads(path.read_text(encoding="utf-8")).get("datasets", {})
            if not isinstance(datasets, dict):
                raise ValueError("'datasets' is not an object")
            return datasets
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, AttributeError) as exc:
            from pmd_tui.errors import PmdError

            raise PmdError(f"{path} cannot be read ({exc}); fix it by hand before publishing, or the card "
                           "would lose the datasets it lists") from None

    def _current(self, folders: list[str]) -> dict[str, str]:
        out = {}
        for name in ("README.md", "stats.json"):
            p = self.root / name
            if p.is_file():
                out[name] = hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders:
            base = self.root / folder
            if base.is_dir():
                for p in base.rglob("*"):
                    if p.is_file():
                        out[p.relative_to(self.root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
        return out

    def plan(self, desired: dict[str, bytes], folders: str | list[str]) -> Plan:
        folders = [folders] if isinstance(folders, str) else list(folders)
        return diff(desired, self._current(folders), lambda _p, data: hashlib.sha256(data).hexdigest(), folders)

    def commit(self, desired: dict[str, bytes], plan: Plan, message: str, description: str) -> tuple[str, str]:
        self.root.mkdir(parents=True, exist_ok=True)
        folders = {p.split("/", 1)[0] for p in desired if "/" in p}
        token = uuid.uuid4().hex[:8]
        try:
            for folder in folders:
                tmp = self.root / f".{folder}.{token}.tmp"
                for path, data in desired.items():
                    if path.startswith(folder + "/"):
                        target = tmp / path[len(folder) + 1 :]
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data)
                final, old = self.root / folder, self.root / f".{folder}.{token}.old"
                if final.exists():
                    os.replace(final, old)
                os.replace(tmp, final)
                shutil.rmtree(old, ignore_errors=True)
            for path, data in desired.items():
                if "/" not in path:
                    tmp = self.root / f".{path}.{token}.tmp"
                    tmp.write_bytes(data)
                    os.replace(tmp, self.root / path)
        except BaseException:  # a full disk or a crash half-way: no hidden left-overs, a moved folder back
            self._sweep()
            raise
        digest = hashlib.sha256(json.dumps(sorted(plan.add) + sorted(plan.update) + plan.delete).encode()
                                + message.encode()).hexdigest()[:12]
        return digest, (self.root / next(iter(folders), "")).as_uri()
