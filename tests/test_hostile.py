"""Hostile input, third round (issue 28): patterns, files, settings and edge values on the newer surfaces.

Each case is one line on stderr with exit status 2 (or the right result), never a traceback, a hang or a
silently disabled guard. The CLI cases that could hang run the real command in a subprocess with a timeout.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import image_bytes, kohya_set, make_zip
from tests.test_hardening import one_line_error

ROOT = Path(__file__).resolve().parent.parent


def _add(cli, tmp_path, entries=None, name="s") -> int:
    z = make_zip(tmp_path / f"{name}.zip", entries or kohya_set(3))
    return int(cli("add", z).stdout.split()[-1])


def _run(tmp_path, *args, timeout=60, env=None):
    env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "pmd_tui", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def _one_line(r, *needles) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pmd-tui: error: "), r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


# -- patterns ---------------------------------------------------------------------------------------------

def test_a_catastrophic_pattern_is_stopped_and_refused(tmp_path, cli, store):
    sid = _add(cli, tmp_path)
    f = store.files(sid, "image")[0]
    store.set_caption(f["id"], "a" * 40 + "!", actor="t")
    # the pattern: Python's re backtracked for ever; the bounded engine answers at once
    r = _run(tmp_path, "captions", sid, "--replace", "(a+)+$", "x", "--regex", "--dry-run", timeout=60)
    assert r.returncode == 0 and "would change 0 caption(s)" in r.stderr, r.stderr
    # one that backtracks in any engine is stopped after the time limit, in one line
    start = time.monotonic()
    r = _run(tmp_path, "captions", sid, "--replace", "(a|aa)+$", "x", "--regex", "--dry-run", timeout=60)
    _one_line(r, "took longer than")
    assert time.monotonic() - start < 30


def test_a_catastrophic_pattern_in_the_core_is_bounded(tmp_path, cli, store, monkeypatch):
    from pmd_tui import bulk_captions as bulk
    from pmd_tui.errors import InputError

    sid = _add(cli, tmp_path)
    for f in store.files(sid, "image"):
        store.set_caption(f["id"], "a" * 40 + "!", actor="t")
    monkeypatch.setattr(bulk, "PATTERN_TIMEOUT_S", 0.05)
    start = time.monotonic()
    with pytest.raises(InputError, match="took longer than"):
        bulk.plan(store, sid, "replace", find=r"(a|aa)+$", replace="q", regex=True)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("pattern", ["a{99999999999}", "(", "a**", "[z-a]"])
def test_malformed_patterns_are_one_line(tmp_path, cli, pattern):
    sid = _add(cli, tmp_path)
    one_line_error(cli("captions", sid, "--replace", pattern, "x", "--regex", "--dry-run"),
                   "bad regular expression")


@pytest.mark.parametrize("new", ["a, b", "a\nb", "a;b"])
def test_one_trigger_per_argument(tmp_path, cli, new):
    sid = _add(cli, tmp_path)
    one_line_error(cli("captions", sid, "--rename-trigger", "ohwx", new, "--dry-run"), "not one trigger word")
    one_line_error(cli("captions", sid, "--add-trigger", new, "--dry-run"), "not one trigger word")


# -- files a user names -----------------------------------------------------------------------------------

def test_prompt_files_are_read_with_limits(tmp_path, cli):
    sid = _add(cli, tmp_path)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("a photo of {subject}\ncaf\xe9 {subject}\n".encode("latin-1"))
    line = one_line_error(cli("prompts", sid, "--set", bad), "not UTF-8", "byte offset 24")
    assert str(bad) in line
    one_line_error(cli("prompts", sid, "--set", "/dev/zero"), "not a regular file")
    one_line_error(cli("prompts", sid, "--set", tmp_path / "missing.txt"), "does not exist")
    long = tmp_path / "long.txt"
    long.write_text("a photo of {subject} " + "very " * 1000 + "\n")
    one_line_error(cli("prompts", sid, "--set", long), "over the limit")
    ok = tmp_path / "ok.txt"
    ok.write_text("a photo of {subject} on a beach\n")
    assert cli("prompts", sid, "--set", ok).exit_code == 0


def test_a_config_that_is_a_device_or_missing_is_one_line(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("PMD_CONFIG", "/dev/zero")
    one_line_error(cli("list"), "config file /dev/zero", "not a regular file")
    monkeypatch.setenv("PMD_CONFIG", str(tmp_path / "nowhere.toml"))
    one_line_error(cli("list"), "does not exist")


@pytest.mark.parametrize("path", ["/dev/zero", "missing.txt"])
def test_a_named_opt_out_list_that_cannot_be_read_is_refused(tmp_path, cli, monkeypatch, path):
    target = path if path.startswith("/") else str(tmp_path / path)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'opt_out_file = "{target}"\n')
    monkeypatch.setenv("PMD_CONFIG", str(cfg))
    one_line_error(cli("list"), "opt_out_file", "artist opt-out")


# -- configuration ranges ---------------------------------------------------------------------------------

@pytest.mark.parametrize("line, key", [
    ("nsfw_threshold = nan", "nsfw_threshold"),
    ("nsfw_threshold = 5.0", "nsfw_threshold"),
    ("nsfw_threshold = -0.1", "nsfw_threshold"),
    ("identity_threshold = inf", "identity_threshold"),
    ("caption_max_words = -3", "caption_max_words"),
    ("[limits]\nmax_ratio = nan", "[limits] max_ratio"),
    ("[limits]\nmax_ratio = 0.5", "[limits] max_ratio"),
    ("[limits]\ndownload_timeout_s = 1e308", "[limits] download_timeout_s"),
    ("[limits]\ndownload_timeout_s = 0.0", "[limits] download_timeout_s"),
    ("[limits]\nmax_entries = -1", "[limits] max_entries"),
    ("[limits]\nmax_redirects = 100000", "[limits] max_redirects"),
])
def test_numbers_out_of_range_are_refused(tmp_path, cli, monkeypatch, line, key):
    cfg = tmp_path / "c.toml"
    cfg.write_text(line + "\n")
    monkeypatch.setenv("PMD_CONFIG", str(cfg))
    one_line_error(cli("list"), key, str(cfg))


def test_numbers_in_range_pass(tmp_path, monkeypatch):
    from pmd_tui.config import load_settings

    cfg = tmp_path / "c.toml"
    cfg.write_text("nsfw_threshold = 1.0\nidentity_threshold = 0.5\n[limits]\nmax_ratio = 1.0\n"
                   "download_timeout_s = 0.5\nmax_redirects = 0\n")
    s = load_settings(tmp_path / "q.db", cfg)
    assert s.nsfw_threshold == 1.0 and s.limits.max_ratio == 1.0 and s.limits.max_redirects == 0


def test_a_bad_preview_variable_is_one_line(tmp_path):
    env = {"PMD_PREVIEW": "bogus", "PMD_DB": str(tmp_path / "q.db")}
    _one_line(_run(tmp_path, env=env, timeout=60), "PMD_PREVIEW", "halfcell")


# -- split, fix, text ---------------------------------------------------------------------------------------

def test_split_never_holds_out_every_image(tmp_path, cli, store):
    sid = _add(cli, tmp_path)
    names = [f["name"] for f in store.files(sid, "image")]
    every = [a for n in names for a in ("--files", n)]
    one_line_error(cli("split", sid, *every), "none to train on")
    assert store.split_names(sid) == []
    assert cli("split", sid, "--files", names[0]).exit_code == 0
    one_line_error(cli("split", sid, *every[2:]), "none to train on")
    assert store.split_names(sid) == [names[0]]


def test_split_val_skips_a_truncated_image(tmp_path, cli, store):
    sid = _add(cli, tmp_path, kohya_set(4))
    f = store.files(sid, "image")[1]
    path = store.staged_dir(store.get(sid)) / f["name"]
    path.write_bytes(path.read_bytes()[:600])
    assert cli("split", sid, "--val", "0").exit_code == 0
    r = cli("split", sid, "--val", "1")
    assert r.exit_code == 0, r.stderr
    assert f"not held out: {f['name']}: does not decode" in r.stderr
    held = store.split_names(sid)
    assert len(held) == 1 and held[0] != f["name"]


def _with_orientation(value: int) -> bytes:
    im = Image.open(io.BytesIO(image_bytes(size=(64, 48))))
    exif = im.getexif()
    exif[0x0112] = value
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes(), quality=90)
    return buf.getvalue()


@pytest.mark.parametrize("value", [0, 9, 65535])
def test_an_invalid_orientation_is_not_fixed(value):
    from pmd_tui.imaging.fixes import fix_image

    assert fix_image(_with_orientation(value), "orient") is None


def test_a_valid_orientation_is_fixed():
    from pmd_tui.imaging.fixes import fix_image

    fixed = fix_image(_with_orientation(6), "orient")
    assert fixed is not None and Image.open(io.BytesIO(fixed.data)).size == (48, 64)


def test_32_bit_integers_reduce_by_their_real_range():
    from pmd_tui.imaging.fixes import fix_image

    ramp = np.tile(np.linspace(0, 1000, 64).astype(np.int32), (32, 1))
    buf = io.BytesIO()
    Image.fromarray(ramp, "I").save(buf, "TIFF")
    fixed = fix_image(buf.getvalue(), "8bit")
    out = np.asarray(Image.open(io.BytesIO(fixed.data)))
    assert out.min() == 0 and 240 <= out.max() <= 255  # 0-1000 in a 10-bit range: a full ramp
    assert (out >= 250).mean() < 0.1


def test_invisible_characters_are_escaped_in_cli_output(tmp_path, cli, store):
    from pmd_tui.safetext import dumps, escape

    assert escape("ohwx\u202edog\u200b") == "ohwx\\u202edog\\u200b"
    assert "\\u2066" in dumps({"t": "a\u2066b"})
    sid = _add(cli, tmp_path)
    cli("edit", sid, "--trigger", "oh\u202ewx")
    shown = cli("show", sid).stdout
    assert "\u202e" not in shown and "\\u202e" in shown
    assert "\u202e" not in cli("show", sid, "--json").stdout


def test_library_warnings_are_one_line_without_paths(tmp_path):
    code = ("import warnings, sys; from click.testing import CliRunner; from pmd_tui.cli import main, _one_line_warning\n"
            "warnings.showwarning = _one_line_warning\n"
            "warnings.warn('Image size (1 pixels) exceeds limit', RuntimeWarning)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stderr.strip() == "pmd-tui: warning: Image size (1 pixels) exceeds limit (RuntimeWarning)"
    assert "site-packages" not in r.stderr


# -- score --------------------------------------------------------------------------------------------------

def _samples(tmp_path) -> Path:
    folder = tmp_path / "samples"
    folder.mkdir()
    for i in range(2):
        (folder / f"{i + 1:02d}.png").write_bytes(image_bytes(size=(64, 64), fmt="PNG", seed=i))
    return folder


def test_score_refuses_a_null_prompt_and_a_huge_line(tmp_path):
    from pmd_tui.benchmark.score import collect_samples
    from pmd_tui.errors import InputError

    folder = _samples(tmp_path)
    (folder / "prompts.jsonl").write_text(json.dumps({"file_name": "01.png", "prompt": None}) + "\n")
    with pytest.raises(InputError, match="line 1: file_name and prompt should be non-empty text"):
        collect_samples(folder, {}, ["a photo of {subject}"])
    (folder / "prompts.jsonl").write_text(json.dumps({"file_name": "01.png", "prompt": "x" * 10_000}) + "\n")
    with pytest.raises(InputError, match="over the limit"):
        collect_samples(folder, {}, ["a photo of {subject}"])
    os.remove(folder / "prompts.jsonl")
    os.symlink("/dev/zero", folder / "prompts.jsonl")
    with pytest.raises(InputError, match="leads out of the samples folder"):
        collect_samples(folder, {}, ["a photo of {subject}"])


def test_score_does_not_follow_links_out_of_the_samples_folder(tmp_path):
    from pmd_tui.benchmark.score import collect_samples

    folder = _samples(tmp_path)
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(image_bytes(size=(64, 64), fmt="PNG", seed=7))
    os.symlink(outside, folder / "03.png")
    samples, warnings = collect_samples(folder, {}, ["a photo of {subject}"] * 3)
    assert [s.path.name for s in samples] == ["01.png", "02.png"]
    assert any("03.png" in w and "leads out" in w for w in warnings)
