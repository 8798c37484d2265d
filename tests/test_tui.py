"""The TUI driven through Textual's Pilot: every flow a maintainer uses, on a real demo queue."""

from textual.binding import Binding
from textual.widgets import DataTable, Input, OptionList, TextArea

from pmd_tui.tui.app import PmdApp
from pmd_tui.tui.preview import image_widget_class
from pmd_tui.tui.screens.dialogs import AttestDialog, MetadataDialog, ReasonDialog
from pmd_tui.tui.screens.help import HelpScreen
from pmd_tui.tui.screens.review import ReviewScreen

SIZE = (160, 48)


def make_app(demo):
    store, settings = demo
    return PmdApp(store, settings, image_cls=image_widget_class("halfcell"))


def by_name(store, name):
    return next(r["id"] for r in store.summaries() if r["name"] == name)


async def open_review(pilot, store, name):
    table = pilot.app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(str(by_name(store, name))))
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ReviewScreen)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_queue_lists_submissions_newest_first_and_opens_review(demo):
    store, _ = demo
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DataTable)
        assert table.row_count == 6
        first = table.coordinate_to_cell_key((0, 0)).row_key.value
        assert int(first) == max(store.ids())
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.submission_id == int(table.coordinate_to_cell_key((1, 0)).row_key.value)
        await pilot.press("escape")
        assert not isinstance(app.screen, ReviewScreen)


async def test_filter_by_text_and_status(demo):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DataTable)
        await pilot.press("slash", *"teapot")
        assert app.screen.query_one("#filter", Input).has_focus
        assert table.row_count == 1
        await pilot.press("enter", "escape")
        assert table.row_count == 6
        await pilot.press("f", "f")  # all -> new -> checked
        assert app.screen.status_filter == "checked"
        assert table.row_count == 4
        await pilot.press("f")
        assert app.screen.status_filter == "approved" and table.row_count == 1


async def test_edit_caption_is_persisted_with_history_and_undo(demo):
    store, _ = demo
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "rex the dog")
        screen = app.screen
        f = screen.current_file()
        await pilot.press("e")
        area = screen.query_one("#caption", TextArea)
        assert area.has_focus
        area.move_cursor(area.document.end)
        await pilot.press(*" with a red ball")
        await pilot.press("ctrl+s")
        saved = store.file(f["id"])
        assert saved["caption"] == "a photo of ohwx dog in the hills, picture 0 with a red ball"
        assert saved["caption_source"] == "edited"
        # rex is approved: the edit is judged again (a check after it), and it stays approved
        # (the approval moves to the edit's revision: "rejudged")
        assert [e["action"] for e in store.events(saved["submission_id"])][-3:] == [
            "caption-edited", "checked", "rejudged"]
        assert store.get(saved["submission_id"])["status"] == "approved"
        await pilot.press("u")
        assert store.file(f["id"])["caption"] == "a photo of ohwx dog in the hills, picture 0"
        assert store.file(f["id"])["caption_source"] == "submitted"
        assert area.text == "a photo of ohwx dog in the hills, picture 0"


async def test_moving_to_the_next_file_saves_an_edited_caption(demo):
    store, _ = demo
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "rex the dog")
        f = app.screen.current_file()
        await pilot.press("e", "ctrl+a")
        area = app.screen.query_one("#caption", TextArea)
        area.load_text("replaced caption")
        await pilot.press("escape", "down")
        assert store.file(f["id"])["caption"] == "replaced caption"


async def test_approve_is_refused_on_a_fail_finding_unless_overridden(demo):
    store, _ = demo
    sid = by_name(store, "teapot with problems")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "teapot with problems")
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        assert "archive.unsafe" in app.screen.detail
        await pilot.press("escape")
        assert store.get(sid)["status"] == "checked"
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"stray file, harmless", "enter")
        await pilot.pause()
        sub = store.get(sid)
        assert sub["status"] == "approved"
        event = store.events(sid)[-1]
        assert event["action"] == "approved" and "archive.unsafe" in event["detail"]["overridden"]


async def test_clean_submission_is_approved_after_confirmation(demo):
    store, _ = demo
    sid = by_name(store, "zkx painting style")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "zkx painting style")
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("n")
        assert store.get(sid)["status"] == "checked"
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert store.get(sid)["status"] == "approved"


async def test_reject_requires_a_reason(demo):
    store, _ = demo
    sid = by_name(store, "toy robot no captions")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "toy robot no captions")
        await pilot.press("r")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ReasonDialog)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and "reason is required" in str(dialog.query_one("#error").render())
        assert store.get(sid)["status"] == "checked"
        await pilot.press(*"blurry robot", "enter")
        await pilot.pause()
        sub = store.get(sid)
        assert sub["status"] == "rejected" and sub["status_reason"] == "blurry robot"


async def test_selecting_a_finding_shows_its_files(demo):
    store, _ = demo
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "teapot with problems")
        screen = app.screen
        findings = screen.query_one("#findings", OptionList)
        idx = next(i for i, f in enumerate(screen.findings) if f["rule"] == "images.duplicate")
        findings.focus()
        findings.highlighted = idx
        await pilot.press("enter")
        await pilot.pause()
        assert [f["name"] for f in screen.visible_files] == ["00 copy.jpg", "00.jpg"]
        await pilot.press("escape")
        assert len(screen.visible_files) == 8


async def test_metadata_form_and_attestation(demo):
    store, _ = demo
    sid = by_name(store, "toy robot no captions")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "toy robot no captions")
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MetadataDialog)
        app.screen.query_one("#f-trigger_words", Input).value = "rbt"
        app.screen.query_one("#f-class_word", Input).value = "robot toy"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert store.get(sid)["trigger_words"] == "rbt"
        assert store.get(sid)["class_word"] == "robot toy"  # the benchmark's subject: "rbt robot toy"
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, AttestDialog)
        await pilot.click("#likeness RadioButton")  # first choice: the contributor themself
        app.screen.query_one("#artist").value = True
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        sub = store.get(sid)
        assert sub["likeness_attestation"] == "self" and sub["artist_attestation"]
        checks = {c["rule"]: c["status"] for c in store.checks(sid)}
        assert checks["consent.likeness"] == "pass" and checks["consent.artist"] == "pass"


async def test_check_runs_in_a_worker_and_reports(demo):
    store, _ = demo
    sid = by_name(store, "odd strings")
    store.update_fields(sid, {"trigger_words": "not markup"}, actor="t")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        checks = {c["rule"]: c["status"] for c in store.checks(sid)}
        assert checks["readme.trigger-word"] == "pass"
        assert any("checked 1 submission" in str(n.message) for n in app._notifications)


async def test_help_lists_every_key(demo):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        described = dict(app.screen.keys)
        for key, what in (("a", "Approve"), ("r", "Reject"), ("c", "Check"), ("/", "Filter"), ("P", "Publish all approved")):
            assert described[key] == what
        # enter opens the review: the table's own "Select" binding for it must not hide that
        assert described[app.get_key_display(Binding("enter", ""))] == "Review"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_submission_strings_are_shown_literally(demo):
    store, _ = demo
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DataTable)
        row = table.get_row(str(by_name(store, "odd strings")))
        assert row[6].plain == "#24 [red]mallory[/red]"
        await open_review(pilot, store, "odd strings")
        area = app.screen.query_one("#caption", TextArea)
        # markup stays text; the escape character is shown as \x1b instead of reaching the terminal
        assert area.text == "[bold red]not markup[/] \\x1b[31mno escape\\x1b[0m 0"
        await pilot.press("down")  # moving on does not rewrite the untouched caption
        sid = by_name(store, "odd strings")
        assert store.files(sid, "image")[0]["caption"] == "[bold red]not markup[/] \x1b[31mno escape\x1b[0m 0"
        files = app.screen.query_one("#files", DataTable)
        assert files.row_count == 3
        meta = str(app.screen.query_one("#meta").render())
        assert "[red]mallory[/red]" in meta
        svg = app.export_screenshot()
        i = svg.find("\x1b")
        assert i < 0, svg[i - 400 : i + 40]
        assert "not&#160;markup" in svg


async def _approve_in_tui(pilot, store, name):
    await open_review(pilot, store, name)
    await pilot.press("a")
    await pilot.pause()
    await pilot.press("y")
    await pilot.pause()
    assert store.get(by_name(store, name))["status"] == "approved"


async def test_publish_key_writes_the_local_target_with_progress(demo, tmp_path):
    store, settings = demo
    sid = by_name(store, "zkx painting style")
    out = tmp_path / "published"
    app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"), publish_to=str(out))
    async with app.run_test(size=SIZE) as pilot:
        await _approve_in_tui(pilot, store, "zkx painting style")
        await pilot.press("p")
        await pilot.pause()
        from textual.widgets import Static

        assert any(str(out) in str(w.render()) for w in app.screen.query(Static))
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert store.get(sid)["status"] == "published"
        assert (out / "zkx-painting-style" / "readme.txt").is_file() and (out / "stats.json").is_file()
        notes = [n.message for n in app._notifications]
        assert any(m.startswith("published 1, unchanged 0") for m in notes), notes


async def test_publish_all_key_commits_to_the_hub(demo, monkeypatch):
    import huggingface_hub.constants as c

    from tests.fakehub import FakeHub

    store, settings = demo
    hub = FakeHub().start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", "hf_write")
        monkeypatch.setattr(c, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
        from dataclasses import replace

        app = PmdApp(store, replace(settings, repo="maint/tui"), image_cls=image_widget_class("halfcell"))
        async with app.run_test(size=SIZE) as pilot:
            await _approve_in_tui(pilot, store, "zkx painting style")
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("P")
            await pilot.pause()
            await pilot.press("y")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert store.get(by_name(store, "zkx painting style"))["status"] == "published"
            assert any(p.startswith("zkx-painting-style/") for p in hub.files("maint/tui"))
            assert any("/datasets/maint/tui/commit/" in n.message for n in app._notifications)
            # a failure is one line in a notification, and nothing is marked
            sid = by_name(store, "odd strings")
            from pmd_tui.decisions import approve

            approve(store, settings, sid, override="test")
            hub.fail("commit", "500")
            await pilot.press("P")
            await pilot.pause()
            await pilot.press("y")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert store.get(sid)["status"] == "approved"
            assert any(n.message.startswith("committing to maint/tui failed: HTTP 500") for n in app._notifications)
    finally:
        hub.stop()


async def test_caption_key_runs_florence_in_the_background_and_can_be_cancelled(demo, tiny_model):
    import threading
    from dataclasses import replace

    from pmd_tui.captioning import model as captioning_model
    from pmd_tui.captioning.florence import FlorenceCaptioner
    from pmd_tui.captioning.model import load_captioner

    store, settings = demo
    settings = replace(settings, caption_model=str(tiny_model))
    sid = by_name(store, "toy robot no captions")
    uncaptioned = [f for f in store.files(sid, "image") if not f["caption"]]
    assert len(uncaptioned) >= 3
    real = load_captioner(str(tiny_model), "auto")
    gate = threading.Event()

    class Gated(FlorenceCaptioner):
        """The real tiny model, held after its first batch until the test has pressed x."""

        calls = 0

        def generate(self, inputs, options, **kw):
            Gated.calls += 1
            if Gated.calls == 2:
                gate.wait(10)
            return super().generate(inputs, options, **kw)

    captioning_model._WARM.put((str(tiny_model), real.device), Gated(real.model_id, real.model, real.processor,
                                                                     real.device, real.dtype))
    try:
        app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"))
        async with app.run_test(size=SIZE) as pilot:
            await open_review(pilot, store, "toy robot no captions")
            await pilot.press("g")
            await pilot.pause()
            from pmd_tui.tui.screens.dialogs import CaptionDialog

            assert isinstance(app.screen, CaptionDialog)
            assert app.screen.query_one("#trigger").value == "tqr robot"  # from the issue text
            await pilot.press("ctrl+s")
            for _ in range(100):
                await pilot.pause(0.05)
                if app.task_state and app.task_state[1] >= 2:
                    break
            label, done, total = app.task_state
            assert label.startswith("captioning: ") and "img/s, ETA" in label and total == len(uncaptioned)
            await pilot.press("x")
            gate.set()
            await app.workers.wait_for_complete()
            await pilot.pause()
            notes = [n.message for n in app._notifications]
            assert any(m.startswith("cancelled: captioned 4 image(s)") for m in notes), notes
            generated = [f for f in store.files(sid, "image") if f["caption_source"] == "generated"]
            assert len(generated) == 4 and len(uncaptioned) > 4
            # the review table shows the new captions; a second run finishes the rest with the warm model
            await pilot.press("g")
            await pilot.pause()
            await pilot.press("ctrl+s")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert all(f["caption"] for f in store.files(sid, "image"))
            assert all(f["caption"].startswith("tqr robot, a ") for f in store.files(sid, "image"))
            assert any(m.startswith("captioned ") for m in [n.message for n in app._notifications])
            # the dialog's choices reach the worker: a short caption, no prefix, replacing all
            await pilot.press("g")
            await pilot.pause()
            app.screen.query_one("#trigger").value = ""
            app.screen.query_one("#overwrite").value = True
            app.screen.query_one("#task").query("RadioButton")[0].value = True
            await pilot.press("ctrl+s")
            await app.workers.wait_for_complete()
            await pilot.pause()
            files = store.files(sid, "image")
            assert all(f["caption"].startswith("a ") and "<CAPTION>; preset custom" in f["caption_detail"] for f in files)
            # the maintainer's preset: its model is not in this machine's cache, and the error says what to do
            await pilot.press("g")
            await pilot.pause()
            app.screen.query_one("#overwrite").value = True
            maintainer = next(b for b in app.screen.query_one("#preset").query("RadioButton") if b.name == "maintainer")
            await pilot.click(maintainer)
            await pilot.pause()
            assert app.screen.query_one("#task").pressed_button.name == "caption"  # the preset's task shown
            await pilot.press("ctrl+s")
            await app.workers.wait_for_complete()
            await pilot.pause()
            error = [n for n in app._notifications if n.severity == "error"][-1].message
            assert "\n" not in error and "`hf download florence-community/Florence-2-base`" in error
    finally:
        captioning_model.forget_loaded()


async def test_sync_key_takes_in_github_issues_and_review_shows_the_issue_text(demo, tmp_path, monkeypatch):
    from dataclasses import replace

    from tests.fakeweb import FakeWeb
    from tests.helpers import image_bytes, make_zip

    store, settings = demo
    web = FakeWeb()
    try:
        monkeypatch.setenv("GITHUB_API_URL", web.url)
        z = make_zip(tmp_path / "cat.zip", {"a.jpg": image_bytes((640, 576)), "a.txt": "whiskers cat"})
        link = web.add_file("/user-attachments/files/9/cat.zip", z.read_bytes())
        web.add_issue("me/pmd", 31, "Whiskers the cat", f"My cat.\n{link}\nTrigger word: whiskers", user="zoe")
        web.add_issue("me/pmd", 32, "Hello", "just saying hi", user="yan")
        app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("G")  # no repo configured: a hint, nothing runs
            await pilot.pause()
            assert any("github_repo" in n.message for n in app._notifications) and not app.busy
            app.settings = replace(settings, github_repo="me/pmd")
            await pilot.press("G")
            await app.workers.wait_for_complete()
            await pilot.pause()
            notes = [n.message for n in app._notifications]
            assert any(m.startswith("me/pmd: 1 added, 0 already known; without a usable submission: #32") for m in notes), notes
            sid = by_name(store, "Whiskers the cat")
            table = app.screen.query_one(DataTable)
            assert table.get_row_index(str(sid)) >= 0  # the queue shows it at once
            await open_review(pilot, store, "Whiskers the cat")
            meta = str(app.screen.query_one("#meta").render())
            assert "issue text: My cat." in meta and "Trigger word: whiskers" in meta and "zoe" in meta
    finally:
        web.stop()


async def test_screen_key_runs_the_models_and_review_shows_face_counts(demo, tiny_screeners, tiny_sface):
    from dataclasses import replace

    from pmd_tui.screening import faces as faces_mod
    from pmd_tui.screening import nsfw as nsfw_mod

    store, settings = demo
    nsfw, yunet = tiny_screeners
    settings = replace(settings, nsfw_model=str(nsfw), face_model=str(yunet), face_recognizer=str(tiny_sface))
    nsfw_mod.forget_loaded()
    faces_mod.forget_loaded()
    app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"))
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "rex the dog")
        table = app.screen.query_one("#files", DataTable)
        assert str(table.get_row_at(0)[4]) == "·"  # not screened yet
        await pilot.press("M")
        await app.workers.wait_for_complete()
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert any(m.startswith("screened 8 image(s)") for m in notes), notes
        assert all(str(table.get_row_at(i)[4]).isdigit() or str(table.get_row_at(i)[4])[0].isupper()
                   for i in range(table.row_count))
        sid = by_name(store, "rex the dog")
        rules = {c["rule"]: c for c in store.checks(sid)}
        assert rules["safety.nsfw"]["status"] in ("pass", "warn") and "not screened" not in rules["safety.nsfw"]["message"]


async def test_decisions_are_commented_on_the_issue_when_notify_is_on(demo, monkeypatch):
    from dataclasses import replace

    from tests.fakeweb import FakeWeb

    store, settings = demo
    web = FakeWeb()
    try:
        monkeypatch.setenv("GITHUB_API_URL", web.url)
        app = PmdApp(store, replace(settings, notify=True), image_cls=image_widget_class("halfcell"))
        async with app.run_test(size=SIZE) as pilot:
            await _approve_in_tui(pilot, store, "zkx painting style")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert web.posted and web.posted[0][:2] == ("spacepxl/personalization-meta-dataset", 15)
            assert "approved" in web.posted[0][2]
            sid = by_name(store, "zkx painting style")
            assert any(e["action"] == "issue-notified" for e in store.events(sid))
    finally:
        web.stop()


async def test_dry_run_key_lists_the_changes_and_writes_nothing(demo, tmp_path):
    store, settings = demo
    out = tmp_path / "published"
    app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"), publish_to=str(out))
    async with app.run_test(size=SIZE) as pilot:
        await _approve_in_tui(pilot, store, "zkx painting style")
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        summary = app._notifications[-1].message if hasattr(app._notifications, "__getitem__") else \
            list(app._notifications)[-1].message
        assert "zkx-painting-style/: " in summary and " to upload" in summary
        assert "  + zkx-painting-style/00.jpg (" in summary and "  + README.md (" in summary
        assert not out.exists() and store.get(by_name(store, "zkx painting style"))["status"] == "approved"


async def test_review_shows_who_is_where_boxes_on_the_preview_and_filters_by_person(demo, tiny_screeners, tiny_sface,
                                                                                    tmp_path):
    from dataclasses import replace

    from pmd_tui.imaging.annotate import PERSON_COLOURS
    from pmd_tui.imaging.thumbs import thumbnail_path
    from pmd_tui.intake.service import add_source
    from pmd_tui.screening import faces as faces_mod
    from pmd_tui.screening import identity as identity_mod
    from tests.tiny_screening import face_photo

    store, settings = demo
    settings = replace(settings, nsfw_model="off", face_model=str(tiny_screeners[1]), face_recognizer=str(tiny_sface))
    faces_mod.forget_loaded()
    identity_mod.forget_loaded()
    folder = tmp_path / "faces"
    folder.mkdir()
    for i, colours in enumerate([("red",), ("red",), ("red", "orange"), ("magenta",), ()]):
        face_photo(len(colours), size=(640, 512), seed=i, colours=colours).save(folder / f"p{i}.png")
    (folder / "readme.txt").write_text("Concept: person (me)\nTrigger word: zz\n")
    sid = add_source(store, settings, folder, name="faces of me")
    staged = store.staged_dir(store.get(sid)) / "p0.png"
    before = staged.read_bytes()
    app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"))
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "faces of me")
        table = app.screen.query_one("#files", DataTable)
        assert [str(table.get_row_at(i)[4]) for i in range(5)] == ["·"] * 5
        await pilot.press("i")
        assert any("press M" in n.message for n in app._notifications)
        await pilot.press("M")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [str(table.get_row_at(i)[4]) for i in range(5)] == ["A", "A", "A+1", "B", "0"]
        # the preview of p0 has the main person's box drawn on it; the staged file and cached thumbnail do not
        image = app.screen.query_one("#preview-image").image
        box = app.screen.identities.faces["p0.png"][0]["box"]
        x, y = round(box[0] * image.width), round((box[1] + box[3] / 2) * image.height)
        assert image.getpixel((x, y)) == PERSON_COLOURS["A"]
        from PIL import Image

        with Image.open(thumbnail_path(store.data_dir / "cache", store.files(sid, "image")[0]["sha256"])) as plain:
            assert plain.convert("RGB").getpixel((x, y)) != PERSON_COLOURS["A"]
        assert staged.read_bytes() == before
        assert "person A (1.00 to A)" in str(app.screen.query_one("#preview-note").render())
        shown = lambda: [f["name"] for f in app.screen.visible_files]  # noqa: E731
        await pilot.press("i")
        assert shown() == ["p0.png", "p1.png", "p2.png"]
        await pilot.press("i")
        assert shown() == ["p3.png"]
        await pilot.press("i")
        assert len(shown()) == 5
        await pilot.press("i", "escape")
        assert len(shown()) == 5
        rules = {c["rule"]: c for c in store.checks(sid)}
        assert "likeness.mixed-identity" in rules, ([n.message for n in app._notifications], rules)
        assert rules["likeness.mixed-identity"]["files"] == ["p3.png"]
        assert rules["likeness.bystanders"]["files"] == ["p2.png"] and rules["likeness.no-face"]["files"] == ["p4.png"]
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, AttestDialog)
        app.screen.query_one("#same-person").value = True
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert store.get(sid)["published_person_attestation"]


async def test_v_holds_an_image_out_for_validation_and_stats_show_the_leaderboard(demo):
    store, settings = demo
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "rex the dog")
        screen = app.screen
        f = screen.current_file()
        await pilot.press("v")
        await pilot.pause()
        assert store.split_names(f["submission_id"], "validation") == [f["name"]]
        table = screen.query_one("#files", DataTable)
        assert str(table.get_row_at(table.cursor_row)[1]).startswith("val ")
        assert "1 validation image(s)" in str(screen.query_one("#meta").render())
        await pilot.press("v")
        await pilot.pause()
        assert store.split_names(f["submission_id"], "validation") == []
        assert [e["detail"]["split"] for e in store.events(f["submission_id"])
                if e["action"] == "split-changed"] == ["validation", "train"]
        store.add_score(f["submission_id"], label="LoRA r16 2000 steps", actor="t",
                        metrics={"dino": 0.612, "clip_i": 0.8, "clip_t": 0.3, "fd_dino": None, "kid_dino": None},
                        detail={"samples": 4, "reference": "train"})
        await pilot.press("escape", "escape", "s")
        await pilot.pause()
        from rich.console import Console

        console = Console(width=200, record=True, file=open("/dev/null", "w"))
        console.print(app.screen.query_one("#leaderboard").content)
        board = console.export_text()
        assert "LoRA r16 2000 steps" in board and "0.612" in board and "rex the dog" in board


async def test_caption_edit_of_a_published_set_reopens_it_as_approved(demo, tmp_path):
    from pmd_tui.publish.service import publish

    store, settings = demo
    sid = by_name(store, "rex the dog")
    publish(store, settings, [sid], to_dir=str(tmp_path / "out"))
    assert store.get(sid)["status"] == "published"
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, store, "rex the dog")
        await pilot.press("e")
        area = app.screen.query_one("#caption", TextArea)
        area.move_cursor(area.document.end)
        await pilot.press(*" at dusk", "ctrl+s")
        await pilot.pause()
        assert store.get(sid)["status"] == "approved"
        assert store.events(sid)[-1]["action"] == "reopened"
        notes = [n.message for n in app._notifications]
        assert any("approved again after the caption edit of 00.jpg" in m for m in notes), notes
        assert app.screen.sub["status"] == "approved"


async def test_review_title_is_the_name_escaped_on_one_line(demo):
    """The review screen's title shows a hostile name literally: no escape sequence, no line break."""
    store, settings = demo
    sid = by_name(store, "odd strings")
    store.update_fields(sid, {"name": "odd strings\x1b]0;pwned\x07\x9b2J\nnext"}, actor="t")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(str(sid)))
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.title == f"#{sid} odd strings\\x1b]0;pwned\\x07\\x9b2J\\x0anext"
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x9b" not in svg and "\\x1b]0;pwned" in svg.replace("&#160;", " ")
