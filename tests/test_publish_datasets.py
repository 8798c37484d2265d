"""The published layout loads with the real ``datasets`` library, by config and by default, one row per image.

Loading runs in a fresh Python process (as a user would), with every Hugging Face cache in a temporary
folder and offline, so the tests never touch the user's caches or the network.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import image_bytes, make_zip

LOADER = textwrap.dedent('''
    import json, sys
    from datasets import load_dataset

    source, configs = sys.argv[1], json.loads(sys.argv[2])
    out = {}
    for name in configs:
        ds = load_dataset(source, name, split="train") if name else load_dataset(source, split="train")
        out[name or ""] = {"columns": ds.column_names,
                           "rows": sorted([list(r["image"].size), r["text"]] for r in ds)}
    print(json.dumps(out))
''')


def load_rows(source: str, configs: list[str | None], tmp_path, **env) -> dict:
    """``{config: {"columns", "rows": [[w, h], text]}}`` from ``datasets.load_dataset`` in a new process."""
    home = tmp_path / "hf-home"
    e = {**os.environ, "HF_HOME": str(home), "HF_DATASETS_CACHE": str(home / "datasets"),
         "HF_HUB_CACHE": str(home / "hub"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
         "HF_HUB_DISABLE_TELEMETRY": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1", **env}
    proc = subprocess.run([sys.executable, "-c", LOADER, source, json.dumps(configs)], env=e,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def add_approved(store, settings, tmp_path, name, entries, readme="Captioning method: hand written\n"):
    from pmd_tui.checks.engine import run_checks
    from pmd_tui.decisions import approve
    from pmd_tui.intake.service import add_source

    z = make_zip(tmp_path / f"{name}.zip", {**entries, "readme.txt": readme})
    sid = add_source(store, settings, z, name=name)
    run_checks(store, settings, [sid])
    approve(store, settings, sid, override="tiny test images")
    return sid


@pytest.fixture
def published(store, settings, tmp_path, cli):
    """Four datasets published with ``--publish-all --to DIR``; returns (DIR, {config: [(size, text)]})."""
    sets = {
        "jpg-dog": {f"dog{i}.jpg": ((40 + i, 32), f"ohwx dog {i}") for i in range(3)},
        "png-style": {f"art{i}.png": ((50 + i, 36), f"zkx style painting {i}") for i in range(2)},
        "broken-set": {"good.jpg": ((60, 40), "the good one"), "bad.jpg": (None, "half a file")},
        "non-ascii": {"café ü.jpg": ((70, 44), "café au lait, ü"), "日本の犬.png": ((71, 44), "日本の犬 ohwx"),
                      "Ωmega [1].jpg": ((72, 44), "omega with brackets")},
    }
    expected = {}
    for name, images in sets.items():
        entries = {}
        for i, (fname, (size, caption)) in enumerate(images.items()):
            stem, ext = fname.rsplit(".", 1)
            entries[fname] = b"\xff\xd8 broken" if size is None else \
                image_bytes(size, fmt="PNG" if ext == "png" else "JPEG", seed=i)
            entries[f"{stem}.txt"] = caption
        if name == "non-ascii":
            entries["LICENSE"] = "CC-BY 4.0\n"
        add_approved(store, settings, tmp_path, name, entries)
        expected[name] = sorted([list(size), caption] for size, caption in images.values() if size)
    out = tmp_path / "published"
    r = cli("--publish-all", "--to", out)
    assert r.exit_code == 0, r.stderr
    assert "left out (cannot be decoded): bad.jpg" in r.stderr
    return out, expected


def test_every_config_and_the_default_load_one_row_per_published_image(published, tmp_path):
    out, expected = published
    loaded = load_rows(str(out), [None, *expected], tmp_path)
    for name, rows in expected.items():
        assert loaded[name]["columns"] == ["image", "text"]
        assert loaded[name]["rows"] == rows, name
    assert loaded[""]["columns"] == ["image", "text"]
    assert loaded[""]["rows"] == sorted(r for rows in expected.values() for r in rows)
    # the counts in the card and stats.json are what was written (the broken image is not counted)
    stats = json.loads((out / "stats.json").read_text())
    assert {k: v["images"] for k, v in stats["datasets"].items()} == {k: len(v) for k, v in expected.items()}
    assert stats["totals"]["images"] == 9
    assert "| [broken-set](broken-set/readme.txt) | 1 | 1 |" in (out / "README.md").read_text()
    # the kohya layout is kept: each image with its caption, the readme, the licence beside it
    assert sorted(p.name for p in (out / "non-ascii").iterdir()) == sorted(
        ["LICENSE", "café ü.jpg", "café ü.txt", "metadata.jsonl", "readme.txt", "Ωmega [1].jpg", "Ωmega [1].txt",
         "日本の犬.png", "日本の犬.txt"])
    assert (out / "non-ascii" / "日本の犬.txt").read_text(encoding="utf-8") == "日本の犬 ohwx\n"


def test_the_same_repo_loads_through_the_hub_api(published, store, settings, tmp_path, monkeypatch):
    """Through the fake Hub with the real client: the loader resolves the card's configs over HTTP."""
    import huggingface_hub.constants as c

    from pmd_tui.publish.service import publish
    from tests.fakehub import FakeHub

    _, expected = published
    hub = FakeHub().start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", "hf_write")
        monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
        monkeypatch.setattr(c, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
        for sid in store.ids():
            store.transition(sid, "approved", actor="t", action="reopened")
        publish(store, settings, store.ids(), repo="maint/pmd-test")
        loaded = load_rows("maint/pmd-test", [None, "non-ascii", "broken-set"], tmp_path, HF_HUB_OFFLINE="0",
                           HF_DATASETS_OFFLINE="0", HF_ENDPOINT=hub.url, HF_TOKEN="hf_write", HF_HUB_DISABLE_XET="1")
        got = [p for m, p in hub.requests if m == "GET" and "/resolve/" in p]
    finally:
        hub.stop()
    assert any(p.endswith("/non-ascii/日本の犬.png") for p in got) and any(p.endswith("/README.md") for p in got)
    assert loaded["non-ascii"]["rows"] == expected["non-ascii"]
    assert loaded["broken-set"]["rows"] == expected["broken-set"]
    assert loaded[""]["rows"] == sorted(r for rows in expected.values() for r in rows)


SPLIT_LOADER = textwrap.dedent('''
    import json, sys
    from datasets import load_dataset

    out = {}
    for name in json.loads(sys.argv[2]):
        ds = load_dataset(sys.argv[1], name) if name else load_dataset(sys.argv[1])
        out[name or ""] = {split: sorted(r["text"] for r in ds[split]) for split in ds}
    print(json.dumps(out))
''')


def test_validation_images_load_as_their_own_split_and_kohya_trains_on_the_rest(store, settings, tmp_path, cli):
    entries = {}
    for i in range(5):
        entries[f"dog{i}.jpg"] = image_bytes((48, 40), seed=i)
        entries[f"dog{i}.txt"] = f"ohwx dog {i}"
    sid = add_approved(store, settings, tmp_path, "dog", entries)
    add_approved(store, settings, tmp_path, "cat", {"cat.jpg": image_bytes((48, 40), seed=9),
                                                            "cat.txt": "a cat"})
    r = cli("split", sid, "--files", "dog1.jpg", "--files", "dog3.jpg")
    assert r.exit_code == 0, r.stderr
    assert store.get(sid)["status"] == "approved"  # a split change is judged again, and nothing blocks it
    cli("prompts", sid, "--class-word", "dog")
    out = tmp_path / "published"
    assert cli("--publish-all", "--to", out).exit_code == 0
    folder = out / "dog"
    assert sorted(p.name for p in folder.glob("*.jpg")) == ["dog0.jpg", "dog2.jpg", "dog4.jpg"]
    assert sorted(p.name for p in (folder / "validation").iterdir()) == [
        "dog1.jpg", "dog1.txt", "dog3.jpg", "dog3.txt", "metadata.jsonl"]
    bench = json.loads((folder / "benchmark.json").read_text())
    assert bench["validation"] == ["dog1.jpg", "dog3.jpg"] and bench["class_word"] == "dog"
    assert len(bench["prompts"]) == 25 and "Held out for validation (in validation/): 2" in (folder / "readme.txt").read_text()
    code = [sys.executable, "-c", SPLIT_LOADER, str(out), json.dumps([None, "dog", "cat"])]
    home = tmp_path / "hf-home"
    env = {**os.environ, "HF_HOME": str(home), "HF_DATASETS_CACHE": str(home / "datasets"), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    proc = subprocess.run(code, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded["dog"] == {"train": ["ohwx dog 0", "ohwx dog 2", "ohwx dog 4"],
                             "validation": ["ohwx dog 1", "ohwx dog 3"]}
    assert loaded["cat"] == {"train": ["a cat"]}
    assert loaded[""] == {"train": ["a cat", "ohwx dog 0", "ohwx dog 2", "ohwx dog 4"],
                          "validation": ["ohwx dog 1", "ohwx dog 3"]}
