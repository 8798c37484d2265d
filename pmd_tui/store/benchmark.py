"""The queue's benchmark records: which images are held out, the class word and evaluation prompts of a
dataset, and the scores of finetuning runs against it.

A mixin of :class:`QueueStore`, kept in its own module because it is a separate concern with its own
tables; it uses the store's connection, transactions and event log.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from pmd_tui.errors import InputError

TRAIN, VALIDATION = "train", "validation"
SPLITS = (TRAIN, VALIDATION)


# evaluation prompts are sentences: a text-to-image prompt far past CLIP's 77 tokens is a mistake (a file
# that is not a prompt list), and each is stored in the queue and published in benchmark.json
MAX_PROMPT_CHARS = 2000
MAX_PROMPTS = 1000

class BenchmarkRecords:
    """Split flags, benchmark metadata and run scores; every change is an event with its actor."""

    def set_split(self, submission_id: int, names: Iterable[str], split: str, *, actor: str) -> list[str]:
        """Put these images of a submission into ``split``; returns the names that changed."""
        if split not in SPLITS:
            raise InputError(f"split must be one of {', '.join(SPLITS)}")
        names = list(dict.fromkeys(names))
        with self.transaction():
            files = {f["name"]: f for f in self.files(submission_id, "image")}
            unknown = [n for n in names if n not in files]
            if unknown:
                raise InputError(f"#{submission_id} has no image named {unknown[0]!r}")
            changed = [n for n in names if files[n]["split"] != split]
            if split == VALIDATION and changed:
                moving = set(changed)
                training = [f for f in files.values() if not f.get("excluded") and f["split"] != VALIDATION
                            and f["name"] not in moving]
                if not training:
                    raise InputError(f"#{submission_id}: holding out {len(moving)} more image(s) leaves none to "
                                     "train on (a dataset needs at least one training image)")
            if changed:
                self.conn.executemany("UPDATE files SET split = ? WHERE id = ?",
                                      [(split, files[n]["id"]) for n in changed])
                self.touch(submission_id)
                self.log(submission_id, "split-changed", actor, split=split, files=changed)
        return changed

    def split_names(self, submission_id: int, split: str = VALIDATION) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT name FROM files WHERE submission_id = ? AND kind = 'image' AND split = ? ORDER BY position",
            (submission_id, split))]

    def eval_prompts(self, submission_id: int) -> list[str] | None:
        """The dataset's own evaluation prompt templates, or None for the default list of its concept type."""
        raw = self.get(submission_id).get("eval_prompts")
        return json.loads(raw) if raw else None

    def set_benchmark(self, submission_id: int, *, actor: str, class_word: str | None = None,
                      prompts: list[str] | None = None, reset_prompts: bool = False) -> dict:
        """Set the class word and/or the evaluation prompts (``reset_prompts`` goes back to the default)."""
        changes: dict[str, Any] = {}
        if class_word is not None:
            changes["class_word"] = class_word.strip() or None
        if prompts is not None:
            cleaned = [p.strip() for p in prompts if p.strip()]
            if not cleaned:
                raise InputError("no evaluation prompts given (blank lines are ignored)")
            if len(cleaned) > MAX_PROMPTS:
                raise InputError(f"{len(cleaned)} evaluation prompts, over the limit of {MAX_PROMPTS}")
            for n, text in enumerate(cleaned, 1):
                if len(text) > MAX_PROMPT_CHARS:
                    raise InputError(f"evaluation prompt {n} is {len(text):,} characters long, over the limit "
                                     f"of {MAX_PROMPT_CHARS:,} (one prompt per line)")
            changes["eval_prompts"] = json.dumps(cleaned, ensure_ascii=False)
        elif reset_prompts:
            changes["eval_prompts"] = None
        with self.transaction():
            current = self.get(submission_id)
            diff = {k: v for k, v in changes.items() if current.get(k) != v}
            if diff:
                self.db["submissions"].update(submission_id, diff)
                self.touch(submission_id)
                self.log(submission_id, "benchmark-edited", actor,
                         changes={k: [current.get(k), v] for k, v in diff.items()})
        return self.get(submission_id)

    def touch(self, submission_id: int) -> None:
        """Record that the submission's content changed: the one place the revision moves. Every write
        method that changes content calls it inside its own transaction, so no approval or findings made on
        the earlier content can match the new one, even if the process dies right after the change."""
        from pmd_tui.store.queue import now

        self.conn.execute("UPDATE submissions SET revision = revision + 1, updated_at = ? WHERE id = ?",
                          (now(), submission_id))

    def find_dataset(self, name: str) -> dict:
        """The submission a dataset name refers to: published first, then approved, then any, newest first."""
        rows = [dict(r) for r in self.conn.execute(
            "SELECT * FROM submissions WHERE name = ? ORDER BY CASE status WHEN 'published' THEN 0 "
            "WHEN 'approved' THEN 1 ELSE 2 END, id DESC", (name,))]
        if not rows and name.isdigit():
            return self.get(int(name))
        if not rows:
            raise InputError(f"no dataset named {name!r} in the queue (see: pmd-tui list)")
        return rows[0]

    def add_score(self, submission_id: int, *, label: str, metrics: dict, detail: dict, actor: str) -> int:
        from pmd_tui.store.queue import now

        sub = self.get(submission_id)
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO scores (submission_id, dataset, label, metrics, detail, actor, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (submission_id, sub["name"], label, json.dumps(metrics), json.dumps(detail, ensure_ascii=False),
                 actor, now()))
            self.log(submission_id, "scored", actor, label=label, score_id=cur.lastrowid)
        return cur.lastrowid

    def scores(self, submission_id: int | None = None) -> list[dict]:
        """Scores of runs, newest first (for one dataset, or all)."""
        q = "SELECT * FROM scores" + (" WHERE submission_id = ?" if submission_id is not None else "")
        rows = self.conn.execute(q + " ORDER BY id DESC", () if submission_id is None else (submission_id,))
        out = []
        for r in rows:
            d = dict(r)
            d["metrics"] = json.loads(d["metrics"])
            d["detail"] = json.loads(d["detail"]) if d["detail"] else {}
            out.append(d)
        return out
