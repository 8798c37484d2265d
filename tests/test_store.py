"""The queue store: migrations, states, the audit log, caption history and concurrent writers."""

import multiprocessing
import sqlite3

import pytest

from pmd_tui.errors import InputError, StateError
from pmd_tui.store import QueueStore, Status
from pmd_tui.store.migrations import MIGRATIONS, SCHEMA_VERSION


def _add(store, name="set", n=2):
    files = [{"name": f"{i}.jpg", "original_path": f"{i}.jpg", "kind": "image", "sha256": f"h{i}",
              "caption": f"cap {i}", "caption_source": "submitted"} for i in range(n)]
    return store.add_submission({"name": name, "source": "/x.zip", "source_kind": "zip"}, files, actor="t")


def test_new_database_is_wal_and_current(store):
    assert store.schema_version() == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_older_file_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute("INSERT INTO submissions (uid, name, source, source_kind, status, created_at, updated_at)"
                 " VALUES ('u1', 'kept', '/a.zip', 'zip', 'checked', '2025-01-01', '2025-01-01')")
    conn.commit()
    conn.close()
    store = QueueStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    sub = store.get(1)
    assert sub["name"] == "kept" and sub["status"] == "checked" and sub["issue_url"] is None
    assert store.publications() == [] and store.model_results(["h"], "nsfw:x") == {}


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StateError, match="newer pmd-tui"):
        QueueStore(path)


def test_transitions_follow_the_state_machine(store):
    sid = _add(store)
    with pytest.raises(StateError, match="run the checks first"):
        store.transition(sid, Status.APPROVED, actor="t", action="approved")
    with pytest.raises(StateError, match="only approved submissions are published"):
        store.transition(sid, Status.PUBLISHED, actor="t", action="published")
    store.transition(sid, Status.CHECKED, actor="t", action="checked")
    store.transition(sid, Status.REJECTED, actor="t", action="rejected", reason="blurry")
    assert store.get(sid)["status_reason"] == "blurry"
    with pytest.raises(StateError):
        store.transition(sid, Status.APPROVED, actor="t", action="approved")
    actions = [e["action"] for e in store.events(sid)]
    assert actions == ["added", "checked", "rejected"]
    assert store.events(sid)[-1]["detail"] == {"from": "checked", "to": "rejected", "reason": "blurry"}


def test_event_log_is_append_only(store):
    sid = _add(store)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE events SET action = 'x' WHERE submission_id = ?", (sid,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM events")


def test_caption_edit_history_and_undo(store):
    sid = _add(store)
    fid = store.files(sid, "image")[0]["id"]
    assert store.set_caption(fid, "first edit", actor="ann")
    assert store.set_caption(fid, "second edit", actor="ann")
    assert not store.set_caption(fid, "second edit", actor="ann")
    assert store.undo_caption(fid, actor="ann") == "first edit"
    assert store.file(fid)["caption"] == "first edit"
    assert store.undo_caption(fid, actor="ann") == "cap 0"
    f = store.file(fid)
    assert (f["caption"], f["caption_source"]) == ("cap 0", "submitted")
    with pytest.raises(StateError, match="nothing to undo"):
        store.undo_caption(fid, actor="ann")
    edits = [e for e in store.events(sid) if e["action"].startswith("caption")]
    assert [e["action"] for e in edits] == ["caption-edited", "caption-edited", "caption-undone", "caption-undone"]
    assert edits[0]["detail"]["old"] == "cap 0" and edits[0]["detail"]["new"] == "first edit"


def test_metadata_edit_is_validated_and_logged(store):
    sid = _add(store)
    store.update_fields(sid, {"trigger_words": "ohwx", "concept_type": "person"}, actor="ann")
    assert store.get(sid)["trigger_words"] == "ohwx"
    assert store.events(sid)[-1]["detail"]["changes"]["trigger_words"] == [None, "ohwx"]
    with pytest.raises(InputError):
        store.update_fields(sid, {"status": "approved"}, actor="ann")
    with pytest.raises(InputError):
        store.update_fields(sid, {"concept_type": "planet"}, actor="ann")
    with pytest.raises(InputError, match="no submission"):
        store.get(999)


def _hammer(path, worker, n):
    store = QueueStore(path)
    sid = 1
    fid = store.files(sid, "image")[0]["id"]
    for i in range(n):
        store.set_caption(fid, f"w{worker}-{i}", actor=f"w{worker}")
        try:
            store.transition(sid, Status.CHECKED, actor=f"w{worker}", action="checked")
        except StateError:
            pass
    store.close()


def test_two_processes_write_without_loss(store):
    _add(store)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(store.db_path, w, 40)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    edits = [e for e in store.events(1) if e["action"] == "caption-edited"]
    assert len(edits) == 80
    # every edit's "old" is exactly the previous edit's "new": no write was lost or interleaved
    for prev, cur in zip(edits, edits[1:]):
        assert cur["detail"]["old"] == prev["detail"]["new"]
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
