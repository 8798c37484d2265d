"""Starting the TUI: pick the preview renderer first, then open the queue (or a fresh demo queue).

The demo opens at once on an empty throw-away queue and fills it in a background task; its temporary
folder is removed when the app ends: on quit, on SIGTERM and on SIGHUP (a closed SSH session).
"""

from __future__ import annotations

import atexit
import shutil
import signal
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from pmd_tui.config import load_settings

EXIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def prepare_demo(settings):
    """A throw-away queue (empty: the app fills it in the background); returns settings, store, folder."""
    from pmd_tui.store import QueueStore

    workdir = Path(tempfile.mkdtemp(prefix="pmd-tui-demo-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    demo_settings = replace(settings, db_path=workdir / "demo.db")
    return demo_settings, QueueStore(demo_settings.db_path), workdir


def _exit_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def launch(ctx, *, demo: bool = False, preview: str = "auto", repo: str | None = None,
           to_dir: str | None = None) -> None:
    from pmd_tui.tui.preview import image_widget_class

    image_cls = image_widget_class(None if preview == "auto" else preview)
    workdir = None
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in EXIT_SIGNALS}  # until the app takes over
    try:
        if demo:
            settings, store, workdir = prepare_demo(ctx._settings or load_settings(ctx._db, ctx._config))
            # the demo publishes to a folder beside its throw-away queue, never to the Hub
            to_dir = to_dir or str(workdir / "published")
        else:
            settings, store = ctx.settings, ctx.store
        if repo:
            settings = replace(settings, repo=repo)
        from pmd_tui.tui.app import PmdApp

        app = PmdApp(store, settings, image_cls=image_cls, demo=demo, publish_to=to_dir,
                     build_demo_in=workdir, exit_signals=EXIT_SIGNALS)
        app.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if workdir is not None:
            store.close()
            shutil.rmtree(workdir, ignore_errors=True)
    if app.return_code:
        sys.exit(app.return_code)
