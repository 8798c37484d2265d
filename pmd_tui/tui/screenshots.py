"""Screens of the real app on the demo queue, for ``screenshots/`` and the snapshot tests.

    python -m pmd_tui.tui.screenshots [FOLDER]     # writes FOLDER/*.svg (default: screenshots)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from textual.widgets import DataTable

SIZE = (160, 50)
# Scenes shown at other sizes too (the layout follows the terminal): name -> (scene, size)
SIZED = {
    "queue-80x24": ("queue", (80, 24)),
    "queue-120x36": ("queue", (120, 36)),
    "review-80x24": ("review", (80, 24)),
    "review-120x36": ("review", (120, 36)),
    "review-zoom-80x24": ("review-zoom", (80, 24)),
}


async def _select(pilot, name: str) -> None:
    store = pilot.app.store
    sid = next(r["id"] for r in store.summaries() if r["name"] == name)
    table = pilot.app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(str(sid)))
    await pilot.pause()


async def _open(pilot, name: str) -> None:
    """The review screen of the submission called ``name``, settled."""
    await _select(pilot, name)
    await pilot.press("enter")
    await _settle(pilot)


async def _settle(pilot) -> None:
    """Wait until the screen stops changing: workers done, then the same picture twice in a row.

    A preview worker hands its image to the UI thread, which mounts and lays it out over the next frames;
    on a busy machine one pause was not always enough. Text cursors stop blinking and stay shown: the
    approve-override snapshot failed now and then because its reason field's cursor blinks every 0.5 s and
    the picture was taken in either phase."""
    for field in pilot.app.screen.query("Input, TextArea"):
        field.cursor_blink = False
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    previous = None
    for _ in range(40):
        await pilot.app.workers.wait_for_complete()
        picture = pilot.app.export_screenshot()
        if picture == previous:
            return
        previous = picture
        await pilot.pause(0.05)


async def queue(pilot) -> None:
    await _select(pilot, "teapot with problems")
    await _settle(pilot)


async def review(pilot) -> None:
    await _open(pilot, "teapot with problems")
    await pilot.press("down", "down")
    await _settle(pilot)


async def review_zoom(pilot) -> None:
    await review(pilot)
    await pilot.press("z")
    await _settle(pilot)


async def task_log(pilot) -> None:
    """A check that ends well and a task that fails: the error stays in the status line, both in the log."""
    from pmd_tui.errors import NetworkError

    await _select(pilot, "teapot with problems")
    await pilot.press("c")
    await _settle(pilot)

    def offline(progress, cancel):
        raise NetworkError("GitHub API: cannot reach api.github.com (offline?)")

    pilot.app.start_task("GitHub sync", offline)
    await _settle(pilot)
    await pilot.press("l")
    await _settle(pilot)
    pilot.app.screen.when = lambda stamp: "09:41:07"  # a fixed clock for a stable picture
    pilot.app.screen.action_refresh()
    await _settle(pilot)


async def review_literal(pilot) -> None:
    await _open(pilot, "odd strings")


async def approve_override(pilot) -> None:
    await review(pilot)
    await pilot.press("a")
    await _settle(pilot)


async def caption_dialog(pilot) -> None:
    await _open(pilot, "toy robot no captions")
    await pilot.press("g")
    await _settle(pilot)


async def caption_preview(pilot) -> None:
    """B on the review screen, find and replace, then the preview of every caption it would change."""
    from textual.widgets import Input, RadioButton

    await _open(pilot, "teapot with problems")
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
    "review-zoom": review_zoom,
    "task-log": task_log,
}


def scene_of(name: str):
    """(run_before, terminal size) of a scene or a sized scene."""
    if name in SIZED:
        base, size = SIZED[name]
        return SCENES[base], size
    return SCENES[name], SIZE


ALL_SCENES = [name for name in (*SCENES, *SIZED) if name != "review-zoom"]  # zoom: at 80x24 only


_TEMPLATE: list[Path] = []


def shared_demo_template() -> Path:
    """The demo queue, built once per process (every scene starts from a copy of it)."""
    if not _TEMPLATE:
        import atexit
        import shutil

        from pmd_tui.config import load_settings
        from pmd_tui.demo import build_demo_queue
        from pmd_tui.store import QueueStore

        root = Path(tempfile.mkdtemp(prefix="pmd-tui-scenes-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        (root / "config.toml").write_text("")
        settings = load_settings(root / "demo.db", root / "config.toml")
        store = QueueStore(settings.db_path)
        build_demo_queue(store, settings, root)
        store.close()  # the last connection closing writes the WAL into demo.db: the file alone is the queue
        _TEMPLATE.append(root)
    return _TEMPLATE[0]


def demo_app(workdir: Path):
    import shutil

    from pmd_tui.config import load_settings
    from pmd_tui.store import QueueStore
    from pmd_tui.tui.app import PmdApp
    from pmd_tui.tui.preview import image_widget_class

    (workdir / "config.toml").write_text("")
    if not (workdir / "demo.db").exists():
        template = shared_demo_template()
        shutil.copy(template / "demo.db", workdir / "demo.db")
        shutil.copytree(template / "demo-files", workdir / "demo-files")
    settings = load_settings(workdir / "demo.db", workdir / "config.toml")
    store = QueueStore(settings.db_path)
    return PmdApp(store, settings, image_cls=image_widget_class("halfcell"), demo=True)


async def _save(name: str, folder: Path, workdir: Path) -> None:
    app = demo_app(workdir)
    scene, size = scene_of(name)
    async with app.run_test(size=size) as pilot:
        await scene(pilot)
        app.save_screenshot(str(folder / f"{name}.svg"))


def main(argv: list[str]) -> None:
    folder = Path(argv[0] if argv else "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ALL_SCENES:
            workdir = Path(tmp) / name  # each scene starts from the same fresh demo queue
            workdir.mkdir()
            asyncio.run(_save(name, folder, workdir))
            print(folder / f"{name}.svg")


if __name__ == "__main__":
    main(sys.argv[1:])
