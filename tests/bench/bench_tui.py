"""Benchmark: TUI start-up with 1,000 submissions, key-press to next preview in a 500-image set (at 160x48
and at 80x24), and start-up of ``pmd-tui --demo`` in a pseudo-terminal.

Run by hand:  python tests/bench/bench_tui.py [--queue 1000] [--images 500] [--presses 60] [--demo-runs 5]
              python tests/bench/bench_tui.py --demo          # only the demo start-up
Targets (issues #4, #15): start-up under 1 s; next image under 100 ms at the median; the demo's first
screen under 2 s, and its temporary folder gone after quitting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from textual.widgets import DataTable

ROOT = Path(__file__).resolve().parents[2]


def build(root: Path, n_queue: int, n_images: int):
    from pmd_tui.config import load_settings
    from pmd_tui.demo import scene
    from pmd_tui.intake.service import add_source
    from pmd_tui.store import QueueStore

    (root / "config.toml").write_text("")
    settings = load_settings(root / "q.db", root / "config.toml")
    store = QueueStore(settings.db_path)
    for i in range(n_queue - 1):
        files = [{"name": f"{j}.jpg", "original_path": f"{j}.jpg", "kind": "image", "sha256": f"{i}-{j}",
                  "width": 1024, "height": 768, "format": "JPEG", "caption": "a caption", "caption_source": "submitted"}
                 for j in range(20)]
        store.add_submission({"name": f"dataset {i}", "source": "/x.zip", "source_kind": "zip", "submitter": f"user{i}",
                              "issue_number": i}, files, actor="bench")
    folder = root / "big"
    folder.mkdir()
    base = [scene(s, size=(1024, 768)) for s in range(20)]
    for j in range(n_images):
        base[j % 20].save(folder / f"img{j:04d}.jpg", quality=90)
        (folder / f"img{j:04d}.txt").write_text(f"caption {j}")
    big = add_source(store, settings, folder, name="big set")
    return store, settings, big


async def measure(store, settings, big: int, presses: int, size: tuple[int, int], startup_too: bool = True):
    from pmd_tui.tui.app import PmdApp
    from pmd_tui.tui.preview import image_widget_class

    image_cls = image_widget_class("halfcell")
    t0 = time.perf_counter()
    app = PmdApp(store, settings, image_cls=image_cls)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        startup = time.perf_counter() - t0
        rows = app.screen.query_one(DataTable).row_count
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(str(big)))
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        widget = screen.query_one("#preview-image")
        # Latency = key posted -> the compositor draws the preview widget with the new image. Pilot's own
        # waiting (~90 ms per press here, measured with a key bound to nothing) is not part of it.
        drawn: dict = {}
        render_lines = widget.render_lines

        def timed_render_lines(crop):
            drawn["image"], drawn["at"] = widget.image, time.perf_counter()
            return render_lines(crop)

        widget.render_lines = timed_render_lines
        results = {}
        for label in ("cold (thumbnail made on demand)", "warm (cached thumbnails)"):
            if label.startswith("warm"):
                screen.query_one("#files", DataTable).move_cursor(row=0)
                await app.workers.wait_for_complete()
                await pilot.pause()
            lat = []
            for _ in range(presses):
                target_row = screen.query_one("#files", DataTable).cursor_row + 1
                sha = screen.visible_files[target_row]["sha256"]
                t = time.perf_counter()
                await pilot.press("down")
                while not (drawn.get("image") is not None and drawn["image"] is screen._thumbs.get(sha)):
                    await asyncio.sleep(0.0005)
                lat.append(drawn["at"] - t)
            results[label] = lat
        preview = widget.region.size
    return startup, rows, results, preview


def demo_startup(size=(120, 36), timeout: float = 60.0) -> tuple[float, float, bool]:
    """Run ``pmd-tui --demo`` in a pseudo-terminal: seconds to its first screen (the queue drawn), seconds
    until the first sample submission shows, and whether its temporary folder is gone after ctrl+q."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    master, slave = pty.openpty()
    import fcntl
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pmd_tui", "--demo"], stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=ROOT, start_new_session=True)
    os.close(slave)
    seen, first, filled = b"", None, None
    try:
        while time.perf_counter() - t0 < timeout and filled is None:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
            if first is None and b"DEMO queue" in seen and b"worst finding" in seen:
                first = time.perf_counter() - t0
            if first is not None and b"rex the dog" in seen:
                filled = time.perf_counter() - t0
        os.write(master, b"\x11")  # ctrl+q
        try:
            end = time.perf_counter() + 30
            while proc.poll() is None and time.perf_counter() < end:
                if select.select([master], [], [], 0.1)[0]:
                    try:
                        os.read(master, 65536)
                    except OSError:
                        pass
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    finally:
        os.close(master)
    left = [p.name for p in tmp.iterdir() if p.name.startswith("pmd-tui-demo-")]
    for p in tmp.iterdir():
        subprocess.run(["rm", "-rf", str(p)])
    tmp.rmdir()
    return (first if first is not None else float("nan"), filled if filled is not None else float("nan"),
            not left)


def report_demo(runs: int) -> None:
    firsts, fills, clean = [], [], []
    for _ in range(runs):
        first, filled, removed = demo_startup()
        firsts.append(first)
        fills.append(filled)
        clean.append(removed)
    print(f"pmd-tui --demo in a 120x36 pty, {runs} runs: first screen min {min(firsts):.2f} s, median "
          f"{statistics.median(firsts):.2f} s (target < 2); first sample submission shown: median "
          f"{statistics.median(fills):.2f} s; temporary folder removed after ctrl+q: {sum(clean)}/{runs}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queue", type=int, default=1000)
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--presses", type=int, default=60)
    ap.add_argument("--demo-runs", type=int, default=5)
    ap.add_argument("--demo", action="store_true", help="only measure the demo's start-up")
    args = ap.parse_args()
    report_demo(args.demo_runs)
    if args.demo:
        return
    with tempfile.TemporaryDirectory() as tmp:
        store, settings, big = build(Path(tmp), args.queue, args.images)
        for size in ((160, 48), (80, 24)):
            startup, rows, results, preview = asyncio.run(measure(store, settings, big, args.presses, size))
            print(f"{size[0]}x{size[1]}: queue of {rows} submissions: start-up to first interactive frame "
                  f"{startup * 1000:.0f} ms (target < 1000); preview {preview.width}x{preview.height} cells")
            for label, lat in results.items():
                lat_ms = sorted(x * 1000 for x in lat)
                p95 = lat_ms[int(len(lat_ms) * 0.95) - 1]
                print(f"  next image, {label}: median {statistics.median(lat_ms):.1f} ms, p95 {p95:.1f} ms "
                      f"over {len(lat_ms)} presses (target median < 100)")


if __name__ == "__main__":
    main()
