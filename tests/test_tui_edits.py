"""The maintainer's hands in the TUI, through Textual's Pilot: a submission with a few bad images, rotated
photos and a missing trigger word becomes a clean, publishable set without leaving the review screen, and
every step is in the log and reversible."""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image
from textual.widgets import Button, DataTable, Input, OptionList

from pmd_tui.decisions import blocking_findings
from pmd_tui.intake.service import add_source
from pmd_tui.tui.app import PmdApp
from pmd_tui.tui.preview import image_widget_class
from pmd_tui.tui.screens.dialogs import ConfirmDialog
from pmd_tui.tui.screens.edits import BulkCaptionDialog, CaptionPreviewDialog, FixDialog
from pmd_tui.tui.screens.review import ReviewScreen
from tests.helpers import image_bytes, make_zip

SIZE = (160, 48)


def rotated(seed: int) -> bytes:
    """A 704x544 photo-like image stored sideways: EXIF orientation 6, left half reddened."""
    im = Image.open(io.BytesIO(image_bytes(size=(704, 544), seed=seed, fmt="PNG"))).convert("RGB")
    arr = np.asarray(im).copy()
    arr[:, :352, 0] = 250
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()


def holiday_zip(tmp_path):
    entries = {f"beach{i}.jpg": image_bytes(seed=20 + i) for i in range(4)}
    entries.update({f"beach{i}.txt": f"a photo of a woman on the beach, {i}" for i in range(4)})
    entries["turned0.jpg"], entries["turned1.jpg"] = rotated(1), rotated(2)
    entries["turned0.txt"], entries["turned1.txt"] = "a woman on a pier", "a woman with a hat"
    entries["thumb.jpg"] = image_bytes(size=(180, 140), seed=40)  # too small: a bad image
    entries["thumb.txt"] = "a tiny photo"
    entries["readme.txt"] = "Captioning method: written by hand\nTrigger word: hlx woman\n"
    return make_zip(tmp_path / "holiday.zip", entries)


async def settle(pilot):
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def select_finding(pilot, rule):
    screen = pilot.app.screen
    ol = screen.query_one("#findings", OptionList)
    ol.focus()
    ol.highlighted = next(i for i, f in enumerate(screen.findings) if f["rule"] == rule)
    await pilot.pause()


async def test_a_messy_submission_becomes_publishable_in_the_review_screen(store, settings, tmp_path):
    zpath = holiday_zip(tmp_path)
    upload_sha = hashlib.sha256(zpath.read_bytes()).hexdigest()
    sid = add_source(store, settings, zpath, name="holiday")
    store.attest(sid, actor="t", likeness="self")
    app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await pilot.press("c")
        await settle(pilot)
        rules = {f["rule"]: f for f in screen.findings}
        assert rules["images.exif-rotation"]["files"] == ["turned0.jpg", "turned1.jpg"]
        assert rules["images.small"]["files"] == ["thumb.jpg"]
        assert rules["readme.trigger-word"]["status"] == "warn"

        # F on the rotation finding: one dialog, one fix for both photos
        await select_finding(pilot, "images.exif-rotation")
        await pilot.press("F")
        await pilot.pause()
        assert isinstance(app.screen, FixDialog) and app.screen.files == ["turned0.jpg", "turned1.jpg"]
        await pilot.press("ctrl+s")
        await settle(pilot)
        staged = store.staged_dir(store.get(sid))
        with Image.open(staged / "turned0.jpg") as im:
            assert im.size == (544, 704)  # upright now
            assert np.asarray(im.convert("RGB"))[20, 272, 0] > 230  # the reddened left half is on top
        assert {f["rule"]: f for f in screen.findings}["images.exif-rotation"]["status"] == "pass"

        # X on the small-image finding: a confirmation that lists the file, then it is excluded
        await select_finding(pilot, "images.small")
        await pilot.press("X")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "thumb.jpg" in app.screen.detail and "turned0.jpg" not in app.screen.detail
        await pilot.press("y")
        await settle(pilot)
        assert next(f for f in store.files(sid, "image") if f["name"] == "thumb.jpg")["excluded"] == 1
        assert {f["rule"]: f for f in screen.findings}["images.small"]["status"] == "pass"
        assert "1 excluded" in str(screen.query_one("#files-title").render())

        # F on the trigger-word finding opens the bulk caption dialog on "add the trigger word"
        await select_finding(pilot, "readme.trigger-word")
        await pilot.press("F")
        await pilot.pause()
        assert isinstance(app.screen, BulkCaptionDialog)
        assert app.screen.query_one("#a", Input).value == "hlx woman"
        await pilot.press("ctrl+s")
        await settle(pilot)  # the preview is computed in a worker
        preview = app.screen
        assert isinstance(preview, CaptionPreviewDialog)
        assert len(preview.changes) == 6  # every caption but the excluded one, each shown before applying
        assert ("turned0.jpg", "a woman on a pier", "hlx woman, a woman on a pier") in preview.changes
        assert store.file(store.files(sid, "image")[0]["id"])["caption"].startswith("a photo")  # not yet
        await pilot.press("y")
        await settle(pilot)
        assert all(f["caption"].startswith("hlx woman, ") for f in store.files(sid, "image") if not f["excluded"])
        assert {f["rule"]: f for f in screen.findings}["readme.trigger-word"]["status"] == "pass"

        # clean: approve with a plain confirmation, no override
        assert blocking_findings(store, sid) == []
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert store.get(sid)["status"] == "approved"

        # a change after approval is judged again; undoing the bulk change keeps it approved (a warning only)
        await pilot.press("B")
        await pilot.pause()
        assert isinstance(app.screen, BulkCaptionDialog)
        await pilot.click("#undo")
        await settle(pilot)
        assert store.files(sid, "image")[0]["caption"] == "a photo of a woman on the beach, 0"
        assert store.get(sid)["status"] == "approved"

        # X on a file restores it; F with no fixable finding but a fix behind it offers the undo
        files = screen.query_one("#files", DataTable)
        files.focus()
        files.move_cursor(row=[f["name"] for f in screen.visible_files].index("thumb.jpg"))
        await pilot.press("X")
        await settle(pilot)
        assert next(f for f in store.files(sid, "image") if f["name"] == "thumb.jpg")["excluded"] == 0
        await pilot.press("F")
        await pilot.pause()
        assert isinstance(app.screen, FixDialog) and app.screen.rule is None
        await pilot.click("#undo")
        await settle(pilot)
        with Image.open(staged / "turned0.jpg") as im:
            assert im.size == (704, 544)

    actions = [e["action"] for e in store.events(sid)]
    for action in ("images-fixed", "images-excluded", "captions-bulk", "approved", "captions-bulk-undone",
                   "images-restored", "fix-undone"):
        assert action in actions
    assert all(e["actor"] == settings.actor for e in store.events(sid) if e["action"] in ("images-fixed", "captions-bulk"))
    assert hashlib.sha256(zpath.read_bytes()).hexdigest() == upload_sha
    assert hashlib.sha256(next(store.upload_dir(store.get(sid)).iterdir()).read_bytes()).hexdigest() == upload_sha


async def test_bulk_dialog_replace_with_regex_and_cancelled_preview(store, settings, tmp_path):
    sid = add_source(store, settings, holiday_zip(tmp_path), name="holiday")
    app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("B")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, BulkCaptionDialog)
        assert not dialog.query("#undo")  # nothing to undo yet
        dialog.query_one("RadioSet").query("RadioButton")[2].value = True  # find and replace
        await pilot.pause()
        assert dialog.query_one("#b").display and dialog.query_one("#regex").display
        dialog.query_one("#a", Input).value = r"woman (\w+)"
        dialog.query_one("#b", Input).value = r"person \1"
        dialog.query_one("#regex").value = True
        await pilot.press("ctrl+s")
        await settle(pilot)  # the preview is computed in a worker
        assert isinstance(app.screen, CaptionPreviewDialog)
        assert ("beach0.jpg", "a photo of a woman on the beach, 0", "a photo of a person on the beach, 0") \
            in app.screen.changes
        await pilot.press("n")
        await pilot.pause()
        assert store.files(sid, "image")[0]["caption"] == "a photo of a woman on the beach, 0"
        assert not any(isinstance(s, CaptionPreviewDialog) for s in app.screen_stack)
        assert not any(b.id == "undo" for b in app.screen.query(Button))


CHECK_IN_TUI = """
import asyncio, sys
from pathlib import Path
from pmd_tui.config import load_settings
from pmd_tui.intake.service import add_source
from pmd_tui.store import QueueStore
from pmd_tui.tui.app import PmdApp
from tests.helpers import kohya_set, make_zip


async def main(store, settings):
    app = PmdApp(store, settings)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        print([str(n.message) for n in app._notifications])


if __name__ == "__main__":
    root = Path(sys.argv[1])
    (root / "cfg.toml").write_text("")
    settings = load_settings(root / "q.db", root / "cfg.toml")
    store = QueueStore(settings.db_path)
    add_source(store, settings, make_zip(root / "a.zip", kohya_set(6)), name="six")
    asyncio.run(main(store, settings))
"""


def test_checking_new_images_from_the_tui_starts_its_process_pool(tmp_path):
    """In the TUI, stderr is Textual's capture (no file descriptor); the pool that analyses 4+ new images
    must still start (it used to fail with "bad value(s) in fds_to_keep"). A fresh process, so no earlier
    test has started multiprocessing's helpers already."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "check_in_tui.py"
    script.write_text(CHECK_IN_TUI)
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=240,
                       cwd=root, env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert "checked 1 submission(s)" in r.stdout, r.stdout + r.stderr
    assert "fds_to_keep" not in r.stdout


async def test_fix_dialog_flattens_alpha_on_the_typed_background_or_keeps_it(store, settings, tmp_path):
    from pmd_tui.checks.engine import run_checks

    entries = {f"p{i}.jpg": image_bytes(seed=i) for i in range(2)}
    rgba = np.zeros((600, 600, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 0  # fully transparent red
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    entries["cut.png"] = buf.getvalue()
    sid = add_source(store, settings, make_zip(tmp_path / "alpha.zip", entries), name="alpha")
    run_checks(store, settings, [sid])
    app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        await select_finding(pilot, "images.alpha")
        await pilot.press("F")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, FixDialog) and [op for op, _ in dialog.ops] == ["flatten", "keep"]
        next(b for b in dialog.query("RadioButton") if b.name == "keep").value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert store.events(sid)[-1]["action"] == "fix-declined"
        await select_finding(pilot, "images.alpha")
        await pilot.press("F")
        await pilot.pause()
        app.screen.query_one("#bg", Input).value = "#102030"
        await pilot.press("ctrl+s")
        await settle(pilot)
    with Image.open(store.staged_dir(store.get(sid)) / "cut.png") as im:
        assert im.mode == "RGB" and im.getpixel((5, 5)) == (16, 32, 48)
    fixed = [e for e in store.events(sid) if e["action"] == "images-fixed"][-1]
    assert fixed["detail"]["background"] == "#102030"


async def test_a_catastrophic_pattern_never_freezes_the_tui(store, settings, tmp_path, monkeypatch):
    """The preview runs in a worker, bounded by the pattern time limit: the event loop keeps answering while
    it runs and the refusal is one notification (issue 28: ``(a|aa)+$`` backtracks in any engine)."""
    import asyncio
    import time

    from pmd_tui import bulk_captions

    monkeypatch.setattr(bulk_captions, "PATTERN_TIMEOUT_S", 3.0)  # on the event loop this would block 3 s
    sid = add_source(store, settings, holiday_zip(tmp_path), name="holiday")
    f = store.files(sid, "image")[0]
    store.set_caption(f["id"], "a" * 40 + "!", actor="t")
    app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("B")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("RadioSet").query("RadioButton")[2].value = True  # find and replace
        await pilot.pause()
        dialog.query_one("#a", Input).value = r"(a|aa)+$"
        dialog.query_one("#b", Input).value = "x"
        dialog.query_one("#regex").value = True
        start = time.monotonic()
        await pilot.press("ctrl+s")
        gaps, last = [], time.monotonic()
        while any(w.group == "bulk-preview" and not w.is_finished for w in app.workers):
            await asyncio.sleep(0.05)  # the loop gets back here every 50 ms while the pattern runs
            now = time.monotonic()
            gaps.append(now - last)
            last = now
        assert time.monotonic() - start >= 3.0  # the pattern really ran until its time limit ...
        assert len(gaps) > 10 and max(gaps) < 0.5  # ... and the event loop was never blocked meanwhile
        await settle(pilot)
        assert not any(isinstance(s, CaptionPreviewDialog) for s in app.screen_stack)
        assert any("took longer than" in str(n.message) for n in app._notifications)
        assert store.file(f["id"])["caption"] == "a" * 40 + "!"
