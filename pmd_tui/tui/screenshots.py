"""Screens of the real app on the demo queue, for ``screenshots/`` and the snapshot tests.

    python -m pmd_tui.tui.screenshots [FOLDER]     # writes FOLDER/*.svg (default: screenshots)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from textual.widgets import DataTable

SIZE = (160, 48)


async def _select(pilot, name: str) -> None:
    store = pilot.app.store
    sid = next(r["id"] for r in store.summaries() if r["name"] == name)
    table = pilot.app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(str(sid)))
    await pilot.pause()


async def _settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def queue(pilot) -> None:
    await _select(pilot, "teapot with problems")
    await _settle(pilot)


async def review(pilot) -> None:
    await _select(pilot, "teapot with problems")
    await pilot.press("enter")
    await _settle(pilot)
    await pilot.press("down", "down")
    await _settle(pilot)


async def review_literal(pilot) -> None:
    await _select(pilot, "odd strings")
    await pilot.press("enter")
    await _settle(pilot)


async def approve_override(pilot) -> None:
    await review(pilot)
    await pilot.press("a")
    await _settle(pilot)


async def caption_dialog(pilot) -> None:
    await _select(pilot, "toy robot no captions")
    await pilot.press("enter")
    await _settle(pilot)
    await pilot.press("g")
    await _settle(pilot)


async def caption_preview(pilot) -> None:
    """B on the review screen, find and replace, then the preview of every caption it would change."""
    from textual.widgets import Input, RadioButton

    await _select(pilot, "teapot with problems")
    await pilot.press("enter")
    await _settle(pilot)
    await pilot.press("B")
    await _settle(pilot)
    dialog = pilot.app.screen
    next(b for b in dialog.query(RadioButton) if b.name == "replace").value = True
    await pilot.pause()
    dialog.query_one("#a", Input).value = "sks teapot"
    dialog.query_one("#b", Input).value = "sks kettle"
    await pilot.press("ctrl+s")
    await _settle(pilot)


async def stats(pilot) -> None:
    await pilot.press("s")
    await _settle(pilot)


async def help_screen(pilot) -> None:
    await pilot.press("question_mark")
    await _settle(pilot)


SCENES = {
    "queue": queue,
    "review": review,
    "review-literal-strings": review_literal,
    "approve-override": approve_override,
    "caption-dialog": caption_dialog,
    "caption-preview": caption_preview,
    "stats": stats,
    "help": help_screen,
}


def demo_app(workdir: Path):
    from pmd_tui.config import load_settings
    from pmd_tui.demo import build_demo_queue
    from pmd_tui.store import QueueStore
    from pmd_tui.tui.app import PmdApp
    from pmd_tui.tui.preview import image_widget_class

    (workdir / "config.toml").write_text("")
    settings = load_settings(workdir / "demo.db", workdir / "config.toml")
    store = QueueStore(settings.db_path)
    if not store.ids():
        build_demo_queue(store, settings, workdir)
    return PmdApp(store, settings, image_cls=image_widget_class("halfcell"), demo=True)


async def _save(name: str, folder: Path, workdir: Path) -> None:
    app = demo_app(workdir)
    async with app.run_test(size=SIZE) as pilot:
        await SCENES[name](pilot)
        app.save_screenshot(str(folder / f"{name}.svg"))


def main(argv: list[str]) -> None:
    folder = Path(argv[0] if argv else "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in SCENES:
            asyncio.run(_save(name, folder, Path(tmp)))
            print(folder / f"{name}.svg")


if __name__ == "__main__":
    main(sys.argv[1:])
