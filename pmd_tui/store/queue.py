"""QueueStore: every read and write of the review queue goes through here (no SQL outside ``store/``).

SQLite in WAL mode with a generous busy timeout lets the TUI and a headless command share one file.
Writes run in ``BEGIN IMMEDIATE`` transactions, and state changes are compare-and-set, so two
processes can never both approve, publish or half-write the same submission.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

from pmd_tui import paths
from pmd_tui.errors import InputError, StateError, StoreError, describe_os_error
from pmd_tui.store.benchmark import BenchmarkRecords
from pmd_tui.store.migrations import MIGRATIONS, SCHEMA_VERSION
from pmd_tui.store.states import Status, ensure_transition
from pmd_tui.store.vocabulary import SEVERITY, CONCEPT_TYPES, LIKENESS_CHOICES, severity_rank, severity_rank_sql  # noqa: F401 (SEVERITY: imported from here)


def _import_sqlite_utils():
    """sqlite-utils imports pandas when it is installed, only to map ``pandas.Timestamp`` columns (never used
    here); that was about a second of every start-up. Import it with pandas hidden; pandas stays importable."""
    import sys

    if "pandas" in sys.modules:
        import sqlite_utils
        return sqlite_utils
    sys.modules["pandas"] = None  # type: ignore[assignment]
    try:
        import sqlite_utils
    finally:
        del sys.modules["pandas"]
    return sqlite_utils


sqlite_utils = _import_sqlite_utils()

EDITABLE_FIELDS = (
    "name",
    "concept_type",
    "concept",
    "trigger_words",
    "caption_method",
    "repeats",
    "submitter",
    "issue_number",
    "readme_text",
    "class_word",
)


MAX_ID = 2**63 - 1  # SQLite's INTEGER; a larger id cannot exist (and would overflow the driver)


def database_problem(path: Path, exc: sqlite3.Error) -> str:
    """One line that says what is wrong with the queue file and what to do."""
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    low = msg.lower()
    if _read_only(Path(path)):
        why = "is read-only: the queue needs write access to the file and its folder"
    elif "not a database" in low or "malformed" in low:
        why = "is not a pmd-tui queue (not an SQLite database, or damaged)"
    elif "readonly" in low or "read-only" in low:
        why = "is read-only: the queue needs write access to the file and its folder"
    elif "disk is full" in low or "disk i/o" in low:
        why = "cannot be written: the disk is full or failing"
    elif "unable to open" in low:
        why = "cannot be opened (missing folder, no permission, or a file where a folder should be)"
    else:
        why = "cannot be used"
    return f"the queue {path} {why} ({msg})"


def _read_only(path: Path) -> bool:
    """The file or its file system cannot be written (a read-only mount; root ignores file modes)."""
    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return (path.exists() and not os.access(path, os.W_OK)) or (folder.is_dir() and not os.access(folder, os.W_OK))


def check_id(submission_id) -> int:
    """A submission id as SQLite can store it; anything else names no submission."""
    if isinstance(submission_id, bool) or not isinstance(submission_id, int) or not 0 < submission_id <= MAX_ID:
        raise InputError(f"no submission with id {submission_id}")
    return submission_id


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class QueueStore(BenchmarkRecords):
    """Thread-safe access to one queue database (one SQLite connection per thread)."""

    def __init__(self, db_path: str | Path, *, migrate: bool = True):
        self.db_path = Path(db_path)
        self.data_dir = paths.data_dir_for(self.db_path)
        self._local = threading.local()
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            if migrate:
                self.migrate()
        except OSError as exc:
            self.close()
            raise StoreError(f"cannot open the queue {self.db_path}: {describe_os_error(exc)}") from None
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(database_problem(self.db_path, exc)) from None

    # -- connections and transactions -------------------------------------------------------------
    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.db_path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls become savepoints of the outer one."""
        conn = self.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> int:
        """Bring the file up to the current schema; safe when two processes start at once."""
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.db_path} was written by a newer pmd-tui (schema {version} > {SCHEMA_VERSION})"
            )
        while version < SCHEMA_VERSION:
            target = version + 1
            script = MIGRATIONS[version]
            try:
                self.conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;")
            except sqlite3.OperationalError:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                # Another process may have applied the same step meanwhile.
                if self.schema_version() < target:
                    raise
            version = self.schema_version()
        return version

    # -- events ----------------------------------------------------------------------------------
    def log(self, submission_id: int | None, action: str, actor: str, **detail: Any) -> None:
        self.conn.execute(
            "INSERT INTO events (submission_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            (submission_id, now(), actor, action, json.dumps(detail, ensure_ascii=False) if detail else None),
        )

    def task_events(self, limit: int = 500) -> list[dict]:
        """The latest background-task outcomes (events without a submission, action ``task-*``), oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM events WHERE submission_id IS NULL AND action LIKE 'task-%' ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        out = []
        for row in reversed(rows):
            d = dict(row)
            d["detail"] = json.loads(d["detail"]) if d["detail"] else {}
            out.append(d)
        return out

    def events(self, submission_id: int | None = None) -> list[dict]:
        if submission_id is None:
            rows = self.conn.execute("SELECT * FROM events ORDER BY id")
        else:
            rows = self.conn.execute("SELECT * FROM events WHERE submission_id = ? ORDER BY id", (submission_id,))
        out = []
        for row in rows:
            d = dict(row)
            d["detail"] = json.loads(d["detail"]) if d["detail"] else {}
            out.append(d)
        return out


    def last_event_id(self) -> int:
        """The id of the newest event (0 when there is none): a mark to find the events written after it."""
        return self.conn.execute("SELECT IFNULL(MAX(id), 0) FROM events").fetchone()[0]

    def event_ids_after(self, submission_id: int, after: int) -> list[int]:
        """Ids of this submission's events newer than ``after``, oldest first."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM events WHERE submission_id = ? AND id > ? ORDER BY id", (submission_id, after))]

    def issue_urls(self) -> dict[str, int]:
        """Issue URL -> submission id, for every submission that came from an issue."""
        rows = self.conn.execute("SELECT issue_url, id FROM submissions WHERE issue_url IS NOT NULL").fetchall()
        return {r[0]: r[1] for r in rows}
    # -- submissions -----------------------------------------------------------------------------
    def add_submission(
        self,
        record: dict,
        files: Iterable[dict],
        notes: Iterable[dict] = (),
        *,
        actor: str,
    ) -> int:
        """Insert a submission with its files and intake notes in one transaction."""
        stamp = now()
        row = {"uid": record.get("uid") or uuid.uuid4().hex, "status": Status.NEW.value, "created_at": stamp,
               "updated_at": stamp, **record}
        with self.transaction():
            sid = self.db["submissions"].insert(row).last_pk
            self.db["files"].insert_all(
                ({**f, "submission_id": sid, "position": i} for i, f in enumerate(files)),
            )
            self.db["intake_notes"].insert_all(({**n, "submission_id": sid} for n in notes))
            self.log(sid, "added", actor, source=row["source"], name=row["name"])
        return sid

    def get(self, submission_id: int) -> dict:
        check_id(submission_id)
        row = self.conn.execute("SELECT * FROM submissions WHERE id = ?", (submission_id,)).fetchone()
        if row is None:
            raise InputError(f"no submission with id {submission_id}")
        return dict(row)

    def ids(self, status: str | Iterable[str] | None = None) -> list[int]:
        if status is None:
            return [r[0] for r in self.conn.execute("SELECT id FROM submissions ORDER BY id")]
        statuses = [status] if isinstance(status, str) else list(status)
        q = f"SELECT id FROM submissions WHERE status IN ({','.join('?' * len(statuses))}) ORDER BY id"
        return [r[0] for r in self.conn.execute(q, statuses)]

    def same_images(self, hashes: Iterable[str]) -> list[int]:
        """Submissions whose images are exactly these contents (by sha256), oldest first."""
        wanted = set(hashes)
        if not wanted:
            return []
        probe = min(wanted)
        candidates = [r[0] for r in self.conn.execute(
            "SELECT DISTINCT submission_id FROM files WHERE kind = 'image' AND sha256 = ? ORDER BY submission_id",
            (probe,))]
        out = []
        for sid in candidates:
            have = {r[0] for r in self.conn.execute(
                "SELECT sha256 FROM files WHERE submission_id = ? AND kind = 'image'", (sid,))}
            if have == wanted:
                out.append(sid)
        return out

    def find_by_issue(self, issue_number: int) -> dict | None:
        row = self.conn.execute(
            "SELECT * FROM submissions WHERE issue_number = ? ORDER BY id DESC LIMIT 1", (issue_number,)
        ).fetchone()
        return dict(row) if row else None

    def summaries(self, status: str | None = None, text: str | None = None) -> list[dict]:
        """One row per submission with counts and worst finding, newest first (the queue view)."""
        where, params = [], []
        if status:
            where.append("s.status = ?")
            params.append(status)
        if text:
            where.append(
                "(s.name LIKE ? OR IFNULL(s.submitter,'') LIKE ? OR IFNULL(s.concept,'') LIKE ?"
                " OR CAST(IFNULL(s.issue_number,'') AS TEXT) LIKE ? OR IFNULL(s.concept_type,'') LIKE ?)"
            )
            params += [f"%{text}%"] * 5
        sql = f"""
            SELECT s.*,
              (SELECT COUNT(*) FROM files f WHERE f.submission_id = s.id AND f.kind = 'image'
                 AND NOT f.excluded) AS images,
              (SELECT COUNT(*) FROM files f WHERE f.submission_id = s.id AND f.kind = 'image'
                 AND NOT f.excluded AND f.caption IS NOT NULL AND TRIM(f.caption) != '') AS captions,
              (SELECT COUNT(*) FROM files f WHERE f.submission_id = s.id AND f.kind = 'image'
                 AND f.excluded) AS excluded,
              (SELECT c.status || ' ' || c.rule FROM checks c WHERE c.submission_id = s.id
                 ORDER BY {severity_rank_sql("c.status")} DESC, c.rule LIMIT 1) AS worst
            FROM submissions s
            {"WHERE " + " AND ".join(where) if where else ""}
            ORDER BY s.created_at DESC, s.id DESC
        """
        out = []
        for row in self.conn.execute(sql, params):
            d = dict(row)
            worst = d.pop("worst")
            if worst and not worst.startswith("pass"):
                d["worst_status"], d["worst_rule"] = worst.split(" ", 1)
            else:
                d["worst_status"], d["worst_rule"] = ("pass" if worst else None), None
            out.append(d)
        return out

    def update_fields(self, submission_id: int, changes: dict, *, actor: str) -> dict:
        """Edit metadata fields; each edit is logged with its old and new value."""
        bad = set(changes) - set(EDITABLE_FIELDS)
        if bad:
            raise InputError(f"cannot edit {', '.join(sorted(bad))}")
        if changes.get("concept_type") not in (None, "", *CONCEPT_TYPES):
            raise InputError(f"concept type must be one of {', '.join(CONCEPT_TYPES)}")
        with self.transaction():
            current = self.get(submission_id)
            diff = {k: v for k, v in changes.items() if current.get(k) != v}
            if diff:
                self.db["submissions"].update(submission_id, diff)
                self.touch(submission_id)
                self.log(submission_id, "metadata-edited", actor,
                         changes={k: [current.get(k), v] for k, v in diff.items()})
        return self.get(submission_id)

    def attest(self, submission_id: int, *, actor: str, likeness: str | None = None,
               artist_ok: bool | None = None, same_person_ok: bool | None = None) -> None:
        """Record the maintainer's word on the rules a program cannot settle (consent, opt-out)."""
        if likeness is not None and likeness not in LIKENESS_CHOICES:
            raise InputError(f"likeness must be one of {', '.join(LIKENESS_CHOICES)}")
        with self.transaction():
            self.get(submission_id)
            changes: dict[str, Any] = {}
            if likeness is not None:
                changes["likeness_attestation"] = likeness
            if artist_ok is not None:
                changes["artist_attestation"] = "artist-has-not-objected" if artist_ok else None
            if same_person_ok is not None:
                changes["published_person_attestation"] = "may-be-in-this-set" if same_person_ok else None
            if changes:
                self.db["submissions"].update(submission_id, changes)
                self.touch(submission_id)
                self.log(submission_id, "attested", actor, **changes)

    def transition(self, submission_id: int, target: Status | str, *, actor: str, action: str,
                   reason: str | None = None, expect: Iterable[str] | None = None, **detail: Any) -> None:
        """Move to ``target`` if the current state allows it; the read and the write share one IMMEDIATE
        transaction, so no other writer can change the status in between."""
        target = Status(target)
        with self.transaction():
            current = self.get(submission_id)["status"]
            if expect is not None and current not in set(expect):
                raise StateError(f"submission {submission_id} is {current}")
            ensure_transition(current, target, submission_id)
            # BEGIN IMMEDIATE holds the write lock since the read above: nobody can have changed the status.
            self.conn.execute(
                "UPDATE submissions SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
                (target.value, reason, now(), submission_id),
            )
            if target not in (Status.APPROVED, Status.PUBLISHED):  # an approval ends with its status
                self.conn.execute("UPDATE submissions SET approved_revision = NULL WHERE id = ?", (submission_id,))
            extra = {"from": current, "to": target.value, **detail}
            if reason:
                extra["reason"] = reason
            self.log(submission_id, action, actor, **extra)

    # -- files and captions ----------------------------------------------------------------------
    def files(self, submission_id: int, kind: str | None = None) -> list[dict]:
        if kind:
            rows = self.conn.execute(
                "SELECT * FROM files WHERE submission_id = ? AND kind = ? ORDER BY position", (submission_id, kind)
            )
        else:
            rows = self.conn.execute("SELECT * FROM files WHERE submission_id = ? ORDER BY position", (submission_id,))
        return [dict(r) for r in rows]

    def file(self, file_id: int) -> dict:
        row = self.conn.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        if row is None:
            raise InputError(f"no file with id {file_id}")
        return dict(row)

    def notes(self, submission_id: int, kind: str | None = None) -> list[dict]:
        q = "SELECT * FROM intake_notes WHERE submission_id = ?" + (" AND kind = ?" if kind else "") + " ORDER BY id"
        return [dict(r) for r in self.conn.execute(q, (submission_id, kind) if kind else (submission_id,))]

    def set_caption(self, file_id: int, text: str | None, *, actor: str, source: str = "edited",
                    detail: str | None = None, action: str = "caption-edited", **extra: Any) -> bool:
        """Store a caption with where it came from; returns False when nothing changed."""
        with self.transaction():
            f = self.file(file_id)
            if f["kind"] != "image":
                raise InputError(f"{f['name']} is not an image")
            if f["caption"] == text and f["caption_source"] == source and (detail is None or f["caption_detail"] == detail):
                return False
            self.conn.execute(
                "UPDATE files SET caption = ?, caption_source = ?, caption_detail = ? WHERE id = ?",
                (text, source, detail, file_id),
            )
            self.touch(f["submission_id"])
            self.log(f["submission_id"], action, actor, file_id=file_id, file=f["name"],
                     old=f["caption"], old_source=f["caption_source"], old_detail=f["caption_detail"],
                     new=text, source=source, detail=detail, **extra)
        return True

    def undo_caption(self, file_id: int, *, actor: str) -> str | None:
        """Restore the caption as it was before its latest change that is not yet undone."""
        f = self.file(file_id)
        history = [e for e in self.events(f["submission_id"])
                   if e["action"].startswith("caption-") and e["detail"].get("file_id") == file_id]
        undone = {e["detail"].get("undoes") for e in history if e["action"] == "caption-undone"}
        for event in reversed(history):
            if event["action"] == "caption-undone" or event["id"] in undone:
                continue
            d = event["detail"]
            self.set_caption(file_id, d.get("old"), actor=actor, source=d.get("old_source") or "submitted",
                             detail=d.get("old_detail"), action="caption-undone", undoes=event["id"])
            return d.get("old")
        raise StateError(f"nothing to undo for {f['name']}")

    def set_excluded(self, submission_id: int, names: Iterable[str], excluded: bool, *, actor: str,
                     reason: str | None = None) -> list[str]:
        """Leave images out of (or take them back into) a submission; returns the names that changed.

        An excluded image and its caption stay in the staged copy and the log; the checks, the statistics
        and publishing skip it.
        """
        names = list(dict.fromkeys(names))
        with self.transaction():
            rows = {f["name"]: f for f in self.files(submission_id, "image")}
            unknown = [n for n in names if n not in rows]
            if unknown:
                raise InputError(f"#{submission_id} has no image named {unknown[0]!r}")
            changed = [n for n in names if bool(rows[n]["excluded"]) != excluded]
            if changed:
                self.conn.executemany("UPDATE files SET excluded = ? WHERE id = ?",
                                      [(int(excluded), rows[n]["id"]) for n in changed])
                self.touch(submission_id)
                extra = {"reason": reason} if reason else {}
                self.log(submission_id, "images-excluded" if excluded else "images-restored", actor,
                         files=changed, **extra)
        return changed

    IMAGE_FIELDS = ("name", "sha256", "size_bytes", "width", "height", "format", "mode")

    def update_images(self, submission_id: int, updates: list[tuple[int, dict]], *, actor: str, action: str,
                      **detail: Any) -> int:
        """Record new staged content for images (a fix or its undo) in one event; returns the event id.

        Each update names a file id and its new ``IMAGE_FIELDS``; the event keeps the old and new values,
        so the change can be undone.
        """
        with self.transaction():
            changes = []
            for file_id, fields in updates:
                bad = set(fields) - set(self.IMAGE_FIELDS)
                if bad:
                    raise InputError(f"cannot change {', '.join(sorted(bad))} of an image")
                f = self.file(file_id)
                if f["submission_id"] != submission_id or f["kind"] != "image":
                    raise InputError(f"file {file_id} is not an image of #{submission_id}")
                if "name" in fields and fields["name"] != f["name"]:
                    clash = self.conn.execute("SELECT 1 FROM files WHERE submission_id = ? AND name = ? AND id != ?",
                                              (submission_id, fields["name"], file_id)).fetchone()
                    if clash:
                        raise InputError(f"#{submission_id} already has a file named {fields['name']!r}")
                sets = ", ".join(f"{k} = ?" for k in fields)
                self.conn.execute(f"UPDATE files SET {sets} WHERE id = ?", (*fields.values(), file_id))
                changes.append({"file_id": file_id, "file": f["name"],
                                "old": {k: f[k] for k in self.IMAGE_FIELDS}, "new": {**{k: f[k] for k in self.IMAGE_FIELDS}, **fields}})
            self.touch(submission_id)
            self.log(submission_id, action, actor, changes=changes, **detail)
            return self.conn.execute("SELECT MAX(id) FROM events WHERE submission_id = ?", (submission_id,)).fetchone()[0]

    # -- checks ----------------------------------------------------------------------------------
    def save_checks(self, submission_id: int, findings: list[dict], *, actor: str,
                    keep_status: bool = False, revision: int | None = None) -> bool:
        """Replace the findings; a new, checked, approved or rejected one becomes ``checked`` unless
        ``keep_status`` (re-judging after an edit decides the status itself); a published one stays.

        ``revision`` is the revision the findings were computed on (read before the rules read the
        submission). When the submission moved on meanwhile, nothing is saved and False is returned: the
        caller computes them again, so stored findings never describe an older state than they claim
        (a check started before an edit cannot overwrite the edit's own re-check)."""
        stamp = now()
        with self.transaction():
            sub = self.get(submission_id)
            if revision is not None and sub["revision"] != revision:
                return False
            self.conn.execute("DELETE FROM checks WHERE submission_id = ?", (submission_id,))
            self.db["checks"].insert_all(
                {
                    "submission_id": submission_id,
                    "rule": f["rule"],
                    "status": f["status"],
                    "message": f["message"],
                    "files": json.dumps(f.get("files", []), ensure_ascii=False),
                    "data": json.dumps(f["data"], ensure_ascii=False) if f.get("data") else None,
                    "checked_at": stamp,
                }
                for f in findings
            )
            self.conn.execute("UPDATE submissions SET checked_revision = ? WHERE id = ?",
                              (sub["revision"] if revision is None else revision, submission_id))
            current = sub["status"]
            counts = {}
            for f in findings:
                counts[f["status"]] = counts.get(f["status"], 0) + 1
            if current != Status.PUBLISHED and not keep_status:
                self.transition(submission_id, Status.CHECKED, actor=actor, action="checked", counts=counts,
                                revision=sub["revision"] if revision is None else revision)
            else:
                self.log(submission_id, "checked", actor, counts=counts,
                         revision=sub["revision"] if revision is None else revision)
        return True

    def confirm_approval(self, submission_id: int, revision: int, *, actor: str, what: str) -> str | None:
        """After an edit was judged again on ``revision`` with nothing new blocking: the approval now covers
        that revision (a published set becomes approved, so the next publish updates its folder). Refused
        (None returned, nothing written) when the submission moved on meanwhile; returns the old status."""
        with self.transaction():
            sub = self.get(submission_id)
            if sub["revision"] != revision or sub["status"] not in (Status.APPROVED, Status.PUBLISHED):
                return None
            if sub["status"] == Status.PUBLISHED:
                self.transition(submission_id, Status.APPROVED, actor=actor, action="reopened", reason=what,
                                expect=(Status.PUBLISHED,), what=what, revision=revision)
            elif sub["approved_revision"] != revision:
                self.log(submission_id, "rejudged", actor, what=what, revision=revision,
                         was=sub["approved_revision"])
            self.conn.execute("UPDATE submissions SET approved_revision = ? WHERE id = ?", (revision, submission_id))
            return sub["status"]

    def findings_stale(self, submission_id: int) -> tuple[int, int | None] | None:
        """(current revision, revision the stored findings describe) when the findings are older than the
        content (an edit whose re-check has not run: a crash, or another process), else None."""
        sub = self.get(submission_id)
        if sub["status"] == Status.NEW or sub["checked_revision"] == sub["revision"]:
            return None
        return sub["revision"], sub["checked_revision"]

    def approve_revision(self, submission_id: int, revision: int, *, blocking: Iterable[str], actor: str,
                         action: str = "approved", expect: Iterable[str] = ("checked",),
                         reason: str | None = None, **detail: Any) -> None:
        """Approve exactly ``revision``: in one transaction, refuse unless the submission is still at that
        revision, its findings were computed on it, and its blocking findings are exactly ``blocking`` (the
        ones the approver saw and, with an override, covered); then record it as the approved revision."""
        from pmd_tui.store.vocabulary import BLOCKING

        with self.transaction():
            sub = self.get(submission_id)
            if sub["status"] not in set(expect):
                raise StateError(f"submission {submission_id} is {sub['status']}")
            if sub["revision"] != revision:
                raise StateError(f"submission {submission_id} changed since it was shown (revision {revision}, "
                                 f"now {sub['revision']}): look at it again")
            if sub["checked_revision"] != revision:
                raise StateError(f"submission {submission_id}'s findings are stale (computed on revision "
                                 f"{sub['checked_revision']}, now {revision}): check it again")
            now_blocking = {c["rule"] for c in self.checks(submission_id) if c["status"] in BLOCKING}
            new = sorted(now_blocking - set(blocking))
            if new:
                raise StateError(f"submission {submission_id} has new blocking findings not shown when it was "
                                 f"judged: {', '.join(new)}; look at it again")
            self.transition(submission_id, Status.APPROVED, actor=actor, action=action, reason=reason,
                            expect=expect, revision=revision, **detail)
            self.conn.execute("UPDATE submissions SET approved_revision = ? WHERE id = ?", (revision, submission_id))

    EDIT_ACTIONS = ("caption-edited", "caption-generated", "caption-undone", "metadata-edited", "attested",
                    "images-excluded", "images-restored", "images-fixed", "fix-undone",
                    "split-changed", "benchmark-edited", "identity-forgotten")

    def changed_since_check(self, submission_id: int) -> bool:
        """True when captions, metadata or attestations changed after the latest check."""
        q = f"""SELECT 1 FROM events WHERE submission_id = ? AND action IN ({','.join('?' * len(self.EDIT_ACTIONS))})
                AND id > (SELECT IFNULL(MAX(id), 0) FROM events WHERE submission_id = ? AND action = 'checked')
                LIMIT 1"""
        return self.conn.execute(q, (submission_id, *self.EDIT_ACTIONS, submission_id)).fetchone() is not None

    def checks(self, submission_id: int) -> list[dict]:
        rows = self.conn.execute(
            "SELECT rule, status, message, files, data, checked_at FROM checks WHERE submission_id = ?",
            (submission_id,),
        )
        out = []
        for r in rows:
            d = dict(r)
            d["files"] = json.loads(d["files"])
            d["data"] = json.loads(d["data"]) if d["data"] else None
            out.append(d)
        out.sort(key=lambda c: (-severity_rank(c["status"]), c["rule"]))
        return out

    def _json_by_hash(self, table: str, key_column: str, key, hashes: Iterable[str]) -> dict[str, dict]:
        """Rows of a hash-keyed cache table (analyses, model results) for these hashes, in chunks of 500."""
        hashes = list(set(hashes))
        out: dict[str, dict] = {}
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            q = (f"SELECT sha256, data FROM {table} WHERE {key_column} = ? "
                 f"AND sha256 IN ({','.join('?' * len(chunk))})")
            for row in self.conn.execute(q, [key, *chunk]):
                out[row[0]] = json.loads(row[1])
        return out

    def _put_json_by_hash(self, table: str, key_column: str, key, items: dict[str, dict]) -> None:
        if not items:
            return
        with self.transaction():
            self.conn.executemany(
                f"INSERT OR REPLACE INTO {table} (sha256, {key_column}, data) VALUES (?, ?, ?)",
                [(h, key, json.dumps(d)) for h, d in items.items()],
            )

    def cache_get_many(self, hashes: Iterable[str], version: int) -> dict[str, dict]:
        return self._json_by_hash("analysis_cache", "version", version, hashes)

    def cache_put_many(self, items: dict[str, dict], version: int) -> None:
        self._put_json_by_hash("analysis_cache", "version", version, items)

    # -- model results ---------------------------------------------------------------------------
    def model_results(self, hashes: Iterable[str], model: str) -> dict[str, dict]:
        """Cached results of one model (``kind:model-id``) for these content hashes."""
        return self._json_by_hash("model_results", "model", model, hashes)

    def model_result_hashes(self, hashes: Iterable[str], model: str) -> set[str]:
        """Which of these hashes have a cached result of ``model`` (without reading the results)."""
        hashes = list(set(hashes))
        out: set[str] = set()
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            q = f"SELECT sha256 FROM model_results WHERE model = ? AND sha256 IN ({','.join('?' * len(chunk))})"
            out.update(r[0] for r in self.conn.execute(q, [model, *chunk]))
        return out

    def put_model_results(self, items: dict[str, dict], model: str) -> None:
        self._put_json_by_hash("model_results", "model", model, items)

    # -- face identities (biometric: local only) -------------------------------------------------
    IDENTITY_PREFIX = "identity:"

    def forget_identity(self, submission_id: int, *, actor: str) -> int:
        """Delete the face-identity embeddings of a submission's images and keep them from being computed
        again; returns how many cached image records were deleted. The audit event holds only the count."""
        with self.transaction():
            self.get(submission_id)
            hashes = sorted({f["sha256"] for f in self.files(submission_id, "image") if f["sha256"]})
            deleted = 0
            for i in range(0, len(hashes), 500):
                chunk = hashes[i : i + 500]
                deleted += self.conn.execute(
                    f"DELETE FROM model_results WHERE model LIKE ? AND sha256 IN ({','.join('?' * len(chunk))})",
                    [self.IDENTITY_PREFIX + "%", *chunk]).rowcount
            self.conn.execute("UPDATE submissions SET identity_forgotten_at = ?, updated_at = ? WHERE id = ?",
                              (now(), now(), submission_id))
            self.log(submission_id, "identity-forgotten", actor, records=deleted)
        return deleted

    def identity_forgotten(self, ids: Iterable[int]) -> set[int]:
        ids = list(ids)
        if not ids:
            return set()
        q = f"SELECT id FROM submissions WHERE identity_forgotten_at IS NOT NULL AND id IN ({','.join('?' * len(ids))})"
        return {r[0] for r in self.conn.execute(q, ids)}

    def decided_images(self, exclude: int, statuses: Iterable[str] = ("approved", "published")) -> list[dict]:
        """Images of other submissions in these states, with the submission's id, name, submitter and status."""
        statuses = list(statuses)
        q = f"""SELECT s.id AS submission_id, s.name AS dataset, s.submitter, s.status, f.name, f.sha256
                FROM files f JOIN submissions s ON s.id = f.submission_id
                WHERE f.kind = 'image' AND f.sha256 IS NOT NULL AND NOT f.excluded AND s.id != ?
                  AND s.status IN ({','.join('?' * len(statuses))}) AND s.identity_forgotten_at IS NULL
                ORDER BY s.id, f.position"""
        return [dict(r) for r in self.conn.execute(q, [exclude, *statuses])]

    def staged_images(self, ids: Iterable[int]) -> dict[str, Path]:
        """sha256 -> a staged file with that content, for the images of these submissions (each hash once)."""
        out: dict[str, Path] = {}
        for sid in ids:
            sub = self.get(sid)
            staged = self.staged_dir(sub)
            for f in self.files(sid, "image"):
                if f["sha256"] and not f["excluded"]:
                    out.setdefault(f["sha256"], staged / f["name"])
        return out

    def images_of_others(self, exclude: int, statuses: Iterable[str]) -> list[dict]:
        """Images (name, sha256, submission id, name and status) of the other submissions in ``statuses``."""
        statuses = [str(s) for s in statuses]
        rows = self.conn.execute(
            f"""SELECT f.name, f.sha256, s.id AS submission_id, s.name AS dataset, s.status
                FROM files f JOIN submissions s ON s.id = f.submission_id
                WHERE f.kind = 'image' AND NOT f.excluded AND s.id != ? AND s.status IN ({','.join('?' * len(statuses))})
                ORDER BY s.id, f.name""",
            (exclude, *statuses),
        ).fetchall()
        return [dict(r) for r in rows]

    def published_images(self, exclude: int | None = None) -> list[dict]:
        """name, sha256 and dataset name of every image of the published submissions (but ``exclude``)."""
        rows = self.conn.execute(
            """SELECT f.name, f.sha256, s.name AS dataset FROM files f JOIN submissions s ON s.id = f.submission_id
               WHERE s.status = ? AND f.kind = 'image' AND NOT f.excluded AND s.id != ?""",
            (Status.PUBLISHED.value, -1 if exclude is None else exclude),
        ).fetchall()
        return [dict(r) for r in rows]

    def image_sizes(self) -> list[tuple[int, int]]:
        """(width, height) of every image that is not excluded and could be measured."""
        rows = self.conn.execute(
            "SELECT width, height FROM files WHERE kind = 'image' AND NOT excluded AND width IS NOT NULL")
        return [(w, h) for w, h in rows]

    def caption_sources(self) -> list[str | None]:
        """Where each caption came from (submitted, generated, edited, or None), one per image not excluded."""
        return [r[0] for r in self.conn.execute("SELECT caption_source FROM files WHERE kind = 'image' AND NOT excluded")]

    # -- publications ----------------------------------------------------------------------------
    def publications(self, submission_id: int | None = None) -> list[dict]:
        if submission_id is None:
            rows = self.conn.execute("SELECT * FROM publications ORDER BY id")
        else:
            rows = self.conn.execute("SELECT * FROM publications WHERE submission_id = ? ORDER BY id",
                                     (submission_id,))
        return [dict(r) for r in rows]


    def record_publication(self, submission_id: int, *, target: str, folder: str, content_hash: str,
                           commit_id: str | None, url: str | None, actor: str) -> None:
        """Where a submission was published; call it inside the transaction that marks it published."""
        self.db["publications"].insert({
            "submission_id": submission_id, "target": target, "folder": folder, "content_hash": content_hash,
            "commit_id": commit_id, "url": url, "actor": actor, "published_at": now(),
        })
    def staged_dir(self, submission: dict) -> Path:
        """The normalised kohya-layout copy the checks, captioner and publisher work on."""
        return self.data_dir / paths.SUBMISSIONS / submission["uid"] / "files"

    def history_dir(self, submission: dict) -> Path:
        """Earlier contents of fixed staged images, by content hash (what an undo restores)."""
        return self.data_dir / paths.SUBMISSIONS / submission["uid"] / "history"

    def upload_dir(self, submission: dict) -> Path:
        """The untouched original upload (kept so any normalisation can be redone or audited)."""
        return self.data_dir / paths.SUBMISSIONS / submission["uid"] / "upload"

    @property
    def cache_dir(self) -> Path:
        """Derived files that can be rebuilt at any time (thumbnails)."""
        return self.data_dir / paths.CACHE
