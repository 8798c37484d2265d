"""Benchmark: what a maintainer's in-place change costs, on a set of N 1024x768 JPEGs.

Run by hand:  python tests/bench/bench_edits.py [--n 40]
Times, on a throw-away queue: the cold check (every image analysed); the EXIF-orientation fix on the 3
rotated images with the re-check that follows (only the changed files are analysed again, because the
analysis cache is keyed by content hash); a bulk add-trigger preview and its application; one exclusion.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pmd_tui import bulk_captions as bulk  # noqa: E402
from pmd_tui import fixes  # noqa: E402
from pmd_tui.checks import engine  # noqa: E402
from pmd_tui.config import load_settings  # noqa: E402
from pmd_tui.intake.service import add_source  # noqa: E402
from pmd_tui.store import QueueStore  # noqa: E402
from tests.helpers import image_bytes, make_zip  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    n = ap.parse_args().n
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "cfg.toml").write_text("")
        settings = load_settings(root / "q.db", root / "cfg.toml")
        store = QueueStore(settings.db_path)
        entries: dict[str, bytes | str] = {"readme.txt": "Trigger word: ohwx\n"}
        for i in range(n):
            data = image_bytes(size=(1024, 768), seed=i)
            if i < 3:
                exif = Image.Exif()
                exif[0x0112] = 6
                buf = io.BytesIO()
                Image.open(io.BytesIO(data)).save(buf, "JPEG", quality=92, exif=exif)
                data = buf.getvalue()
            entries[f"p{i:03d}.jpg"] = data
            entries[f"p{i:03d}.txt"] = f"a photo of a dog, {i}"
        sid = add_source(store, settings, make_zip(root / "set.zip", entries), name="bench")
        analysed: list[int] = []
        original = engine.analyse_many

        def counting(paths, *a, **k):
            paths = list(paths)
            analysed.append(len(paths))
            return original(paths, *a, **k)

        engine.analyse_many = counting

        def timed(fn):
            t = time.perf_counter()
            result = fn()
            return result, time.perf_counter() - t

        _, cold = timed(lambda: engine.run_checks(store, settings, [sid]))
        out, fix = timed(lambda: fixes.apply_fix(store, settings, sid, "orient"))
        plan, preview = timed(lambda: bulk.plan(store, sid, "add-trigger"))
        _, apply = timed(lambda: bulk.apply(store, settings, plan))
        _, exclude = timed(lambda: fixes.set_excluded(store, settings, sid, ["p010.jpg"], True))
        print(f"{n} images 1024x768: cold check {cold:.2f} s ({analysed[0]} analysed); orientation fix on "
              f"{len(out.changed)} images + re-check {fix:.2f} s ({analysed[1]} analysed again); add-trigger "
              f"preview {preview * 1000:.0f} ms for {len(plan.changes)} captions, apply + re-check "
              f"{apply * 1000:.0f} ms; exclude + re-check {exclude * 1000:.0f} ms")
        store.close()


if __name__ == "__main__":
    main()
