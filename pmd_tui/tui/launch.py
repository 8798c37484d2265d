"""Starting the TUI: pick the preview renderer first, then open the queue (or a fresh demo queue)."""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from pmd_tui.config import load_settings


def prepare_demo(settings):
    """A throw-away queue filled with generated sample submissions."""
    from pmd_tui.demo import build_demo_queue
    from pmd_tui.store import QueueStore

    workdir = Path(tempfile.mkdtemp(prefix="pmd-tui-demo-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    demo_settings = replace(settings, db_path=workdir / "demo.db")
    store = QueueStore(demo_settings.db_path)
    print("building the demo queue…", file=sys.stderr)
    build_demo_queue(store, demo_settings, workdir)
    return demo_settings, store


def launch(ctx, *, demo: bool = False, preview: str = "auto", repo: str | None = None,
           to_dir: str | None = None) -> None:
    from pmd_tui.tui.preview import image_widget_class

    image_cls = image_widget_class(None if preview == "auto" else preview)
    if demo:
        settings, store = prepare_demo(ctx._settings or load_settings(ctx._db, ctx._config))
        # the demo publishes to a folder beside its throw-away queue, never to the Hub
        to_dir = to_dir or str(settings.db_path.parent / "published")
    else:
        settings, store = ctx.settings, ctx.store
    if repo:
        settings = replace(settings, repo=repo)
    from pmd_tui.tui.app import PmdApp

    PmdApp(store, settings, image_cls=image_cls, demo=demo, publish_to=to_dir).run()
