"""New image rules reach the review screen with no TUI change: findings are listed by rule id."""

from PIL import ImageFilter
from textual.widgets import DataTable, OptionList

from pmd_tui.checks.engine import run_checks
from pmd_tui.intake.service import add_source
from pmd_tui.tui.app import PmdApp
from pmd_tui.tui.preview import image_widget_class
from pmd_tui.tui.screens.review import ReviewScreen
from tests.helpers import image_bytes, kohya_set, make_zip
from tests.test_checks import enc, photo


async def test_review_lists_quality_and_queue_duplicate_findings(tmp_path, store, settings):
    first = add_source(store, settings, make_zip(tmp_path / "first.zip", kohya_set(2)))
    blurred = enc(photo("coffee.png").filter(ImageFilter.GaussianBlur(4)), quality=92)
    entries = {"img00.jpg": image_bytes(seed=0), "soft.jpg": blurred, "soft.txt": "x", "img00.txt": "y"}
    sid = add_source(store, settings, make_zip(tmp_path / "second.zip", entries))
    run_checks(store, settings, [first, sid])
    app = PmdApp(store, settings, image_cls=image_widget_class("halfcell"))
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(str(sid)))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        rules = {f["rule"]: f for f in app.screen.findings}
        assert rules["images.blurry"]["status"] == "warn" and rules["images.blurry"]["files"] == ["soft.jpg"]
        assert rules["images.queue-duplicate"]["files"] == ["img00.jpg"]
        options = app.screen.query_one("#findings", OptionList)
        shown = "\n".join(str(options.get_option_at_index(i).prompt) for i in range(options.option_count))
        assert "images.blurry" in shown and "images.queue-duplicate" in shown
        assert f"#{first} first" in shown and "edge strength" in shown
        for rule in ("images.dark", "images.bright", "images.low-information", "images.grayscale",
                     "images.odd-aspect-ratio"):
            assert rule in shown  # passing rules are listed too
        # selecting the finding narrows the file list to its image
        options.focus()
        options.highlighted = next(i for i, f in enumerate(app.screen.findings) if f["rule"] == "images.blurry")
        await pilot.press("enter")
        await pilot.pause()
        assert [f["name"] for f in app.screen.visible_files] == ["soft.jpg"]
