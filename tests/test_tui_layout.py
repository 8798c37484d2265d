"""The TUI at the terminal sizes people have over SSH, messages that stay, the fast demo (issue #15)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, OptionList
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from pmd_tui.config import load_settings
from pmd_tui.errors import NetworkError
from pmd_tui.store import QueueStore
from pmd_tui.tasklog import TaskLog, first_line
from pmd_tui.tui.app import PmdApp
from pmd_tui.tui.preview import image_widget_class
from pmd_tui.tui.screens.dialogs import ConfirmDialog, ReasonDialog
from pmd_tui.tui.screens.review import ReviewScreen
from pmd_tui.tui.screens.tasklog import TaskLogScreen
from pmd_tui.tui.widgets import Column, StatusLine, fit_columns
from tests.test_tui import by_name, make_app, open_review

ROOT = Path(__file__).resolve().parents[1]


def status_text(app) -> str:
    return str(app.screen.query_one(StatusLine).render())


# -- layout -------------------------------------------------------------------------------------------
def test_fit_columns_drops_the_least_kept_and_shares_spare_width():
    cols = [Column("a", "a", 4, keep=50), Column("name", "name", 10, keep=100, flex=True, max_width=20),
            Column("rare", "rare", 8, keep=10), Column("worst", "worst", 10, keep=90, flex=True)]
    wide = dict((c.key, w) for c, w in fit_columns(cols, 80))
    assert set(wide) == {"a", "name", "rare", "worst"} and wide["name"] == 20 and sum(w + 2 for w in wide.values()) == 80
    narrow = fit_columns(cols, 32)
    assert [c.key for c, _ in narrow] == ["a", "name", "worst"]
    assert sum(w + 2 for _, w in narrow) <= 32
    assert [c.key for c, _ in fit_columns(cols, 10)] == ["name"]


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_review_shows_preview_files_and_findings_at_ssh_sizes(demo, size):
    store, _ = demo
    app = make_app(demo)
    async with app.run_test(size=size) as pilot:
        await open_review(pilot, store, "teapot with problems")
        screen = app.screen
        image = screen.query_one("#preview-image").region
        files = screen.query_one("#files", DataTable)
        findings = screen.query_one("#findings", OptionList).region
        # a useful preview: most of the space beside the lists (at 80x24 it was not shown at all)
        assert image.width >= size[0] * 0.4 and image.height >= size[1] * 0.55, image
        assert files.region.height >= 6 and files.region.width >= 30
        assert findings.height >= 6 and findings.width >= 30
        assert screen.query_one("#caption").region.height >= 4
        for region in (image, files.region, findings):  # nothing drawn off screen
            assert region.right <= size[0] and region.bottom <= size[1] - 2
        # the file table keeps the columns that matter, whole
        shown = files.shown_keys
        assert shown[:2] == ["mark", "name"] and "src" in shown
        assert sum(w + 2 for _, w in files.fitted) <= files.region.width
        # z: the preview takes the screen; the arrows still walk through the files; z again restores
        first = screen.current_file()["name"]
        await pilot.press("z")
        await app.workers.wait_for_complete()
        await pilot.pause()
        zoomed = screen.query_one("#preview-image").region
        assert not files.display or files.region.width == 0 or not screen.query_one("#files-pane").display
        assert zoomed.height > image.height or zoomed.width > image.width
        await pilot.press("down")
        assert screen.current_file()["name"] != first
        await pilot.press("z")
        await pilot.pause()
        assert screen.query_one("#files-pane").display and screen.query_one("#files-pane").region.width > 0


async def test_narrow_review_puts_the_details_behind_b(demo):
    store, _ = demo
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot, store, "teapot with problems")
        screen = app.screen
        assert screen.has_class("-narrow")
        assert screen.query_one("#meta-box").region.height == 0
        await pilot.press("b")
        await pilot.pause()
        assert screen.query_one("#meta-box").region.height >= 6
        assert screen.query_one("#findings-box").region.height == 0
        await pilot.press("b")
        await pilot.pause()
        assert screen.query_one("#findings-box").region.height >= 6


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (160, 50)])
async def test_queue_drops_columns_instead_of_cutting_them(demo, size):
    app = make_app(demo)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        shown = table.shown_keys
        assert {"id", "status", "name", "images", "worst"} <= set(shown)
        assert sum(w + 2 for _, w in table.fitted) <= table.region.width
        if size[0] >= 120:
            assert shown == ["id", "status", "name", "images", "captions", "concept", "from", "worst"]
        row = table.get_row(str(by_name(app.store, "teapot with problems")))
        assert str(row[shown.index("worst")]) == "fail archive.unsafe"


@pytest.mark.parametrize("where", ["queue", "review"])
async def test_footer_fits_at_160_columns(demo, where):
    store, _ = demo
    app = make_app(demo)
    async with app.run_test(size=(160, 50)) as pilot:
        if where == "review":
            await open_review(pilot, store, "rex the dog")
        await pilot.pause()
        keys = [k for k in app.screen.query(FooterKey)]
        assert len(keys) >= 8
        assert all(k.region.width > 0 and k.region.right <= 160 for k in keys), \
            [(k.key_display, k.region) for k in keys]
        shown = {k.key_display for k in keys}
        assert {"a", "r", "c", "?"} <= shown


async def test_help_lists_the_apps_keys_before_the_widgets_built_in_ones(demo):
    app = make_app(demo)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        keys = [k for k, _ in app.screen.keys]
        mine = [i for i, k in enumerate(keys) if k in ("a", "r", "/", "l", "k", "?")]
        builtin = [i for i, (k, what) in enumerate(app.screen.keys) if what in ("Cursor up", "Cursor down", "Select")]
        assert builtin, app.screen.keys
        assert max(mine) < min(builtin)
        described = dict(app.screen.keys)
        assert described["l"] == "Task log" and described["k"] == "Dismiss error"


# -- messages that stay -------------------------------------------------------------------------------
async def test_a_failed_task_stays_in_the_status_line_and_the_log(demo):
    store, _ = demo
    app = make_app(demo)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("c")  # a real check: done
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "✓ checks: checked 1 submission(s)" in status_text(app)

        def offline(progress, cancel):
            raise NetworkError("GitHub API: cannot reach api.github.com")

        app.start_task("GitHub sync", offline)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        assert "error GitHub sync: GitHub API: cannot reach api.github.com" in status_text(app)
        assert status_text(app).endswith("· k, l")  # at 80 columns the message first, the keys short
        # toasts are drawn above the status line, never over it
        toast = app.screen.query(Toast).last().region
        line = app.screen.query_one(StatusLine).region
        assert toast.bottom <= line.y
        app.clear_notifications()
        await open_review(pilot, store, "rex the dog")  # the error follows to other screens until dismissed
        assert "cannot reach api.github.com" in status_text(app)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, TaskLogScreen)
        log = app.screen.query_one("#task-log", OptionList)
        lines = [str(log.get_option_at_index(i).prompt) for i in range(log.option_count)]
        assert "failed" in lines[0] and "GitHub sync" in lines[0] and "cannot reach" in lines[0]
        assert "done" in lines[1] and "checked 1 submission(s)" in lines[1]
        await pilot.press("k")
        await pilot.pause()
        assert "error" not in status_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, ReviewScreen) and "error" not in status_text(app)
    # the log outlives the session (kept in the queue's audit log)
    again = TaskLog(store, "someone").entries()
    assert [(e["kind"], e["outcome"]) for e in again] == [("checks", "done"), ("GitHub sync", "failed")]


def test_task_log_api(tmp_path):
    store = QueueStore(tmp_path / "q.db")
    log = TaskLog(store, "me")
    log.append("captioning", "cancelled", "cancelled: captioned 4 image(s)\nmore")
    with pytest.raises(ValueError):
        log.append("x", "exploded", "no")
    store.close()
    entries = TaskLog(QueueStore(tmp_path / "q.db"), "me").entries()
    assert entries == [{"at": entries[0]["at"], "kind": "captioning", "outcome": "cancelled",
                        "message": "cancelled: captioned 4 image(s)\nmore"}]
    assert first_line(entries[0]["message"]) == "cancelled: captioned 4 image(s)…"
    assert first_line("abcdefgh", 5) == "abcd…"


# -- small things -------------------------------------------------------------------------------------
async def test_approve_says_why_not_on_approved_and_rejected_submissions(demo):
    store, _ = demo
    app = make_app(demo)
    async with app.run_test(size=(120, 36)) as pilot:
        for name, said in (("rex the dog", "is already approved"), ("mxz portraits", "is rejected (likeness")):
            await open_review(pilot, store, name)
            await pilot.press("a")
            await pilot.pause()
            assert not isinstance(app.screen, (ConfirmDialog, ReasonDialog))
            assert said in list(app._notifications)[-1].message
            await pilot.press("escape")
            await pilot.pause()
        assert store.get(by_name(store, "rex the dog"))["status"] == "approved"


def test_worst_finding_ranks_pending_above_warn(demo):
    store, _ = demo
    row = next(r for r in store.summaries() if r["name"] == "odd strings")
    statuses = {c["status"] for c in store.checks(row["id"])}
    assert {"warn", "pending"} <= statuses
    assert row["worst_status"] == "pending"
    assert [c["status"] for c in store.checks(row["id"])][:2] == ["pending", "pending"]


def test_check_prints_the_same_status_words(demo, cli, monkeypatch):
    store, settings = demo
    monkeypatch.setenv("PMD_DB", str(settings.db_path))
    r = cli("--db", settings.db_path, "check", by_name(store, "odd strings"))
    assert "PENDING consent.artist" in r.output and "wait" not in r.output


# -- the demo -----------------------------------------------------------------------------------------
async def test_demo_opens_at_once_and_fills_in_the_background(tmp_path):
    (tmp_path / "config.toml").write_text("")
    settings = load_settings(tmp_path / "demo.db", tmp_path / "config.toml")
    store = QueueStore(settings.db_path)
    app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"), demo=True, build_demo_in=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.busy and app.task_state[0].startswith("demo queue")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one(DataTable).row_count == 6
        assert app.last_outcome["outcome"] == "done" and "6 sample submissions" in app.last_outcome["message"]
    statuses = sorted(r["status"] for r in store.summaries())
    assert statuses == ["approved", "checked", "checked", "checked", "checked", "rejected"]


@pytest.mark.skipif(sys.platform == "win32", reason="signals and pseudo-terminals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_demo_folder_is_removed_on_sigterm_and_sighup(tmp_path, sig):
    import pty

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    master, slave = pty.openpty()
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-m", "pmd_tui", "--demo", "--preview", "none"], stdin=slave,
                            stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        end = time.monotonic() + 60
        while b"DEMO queue" not in seen and time.monotonic() < end and proc.poll() is None:
            import select

            if select.select([master], [], [], 0.1)[0]:
                seen += os.read(master, 65536)
        assert any(p.name.startswith("pmd-tui-demo-") for p in tmp.iterdir())
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 128 + sig
    assert not [p for p in tmp.iterdir() if p.name.startswith("pmd-tui-demo-")]


async def test_check_on_an_approved_submission_says_what_happened(demo):
    store, _ = demo
    sid = by_name(store, "rex the dog")
    app = make_app(demo)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_review(pilot, store, "rex the dog")
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert store.get(sid)["status"] == "approved"
        assert "#1 rex the dog stays approved: the checks found nothing new that blocks it" in app.last_outcome["message"]
        # the likeness attestation is gone (another process, an old queue): a new check sends it back
        store.update_fields(sid, {"concept_type": "person"}, actor="t")
        store.conn.execute("UPDATE submissions SET likeness_attestation = NULL WHERE id = ?", (sid,))
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert store.get(sid)["status"] == "checked"
        said = app.last_outcome["message"]
        assert "went back to checked after a new check" in said and "consent.likeness (pending)" in said
        assert "checked" in str(app.screen.query_one("#meta").render()).splitlines()[0]
