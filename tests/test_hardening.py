"""Hostile input never crashes, leaks or slips through: each reproduction of issue 14 as a test.

Terminal injection, a broken or unwritable queue database, impossible ids; intake, downloads, publishing
and the guards each of them keeps are tested in the files next to this one (``test_guards.py``).
"""

from __future__ import annotations

import gc
import json
import os
import re
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest

from pmd_tui import safetext
from tests.helpers import image_bytes, kohya_set, make_zip

HOSTILE = "\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x9b31m\x7f"
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # every control but \t and \n, which lines need


def assert_no_controls(text: str, where: str) -> None:
    m = RAW.search(text)
    assert m is None, f"{where}: raw {m.group()!r} at {m.start()}: {text[max(0, m.start() - 60):m.start() + 20]!r}"


# -- one rule for untrusted text ------------------------------------------------------------------
def test_escape_makes_c0_del_and_c1_visible_and_json_escapes_c1():
    assert safetext.escape("a\x1b[2Jb\x07c\x7fd\x9be\tf\ng") == "a\\x1b[2Jb\\x07c\\x7fd\\x9be\\x09f\\x0ag"
    assert safetext.escape("a\tb\nc\x1b", keep="\t\n") == "a\tb\nc\\x1b"
    assert safetext.escape("ünïcode ✓ 日本") == "ünïcode ✓ 日本"
    text = safetext.dumps({"n": "x\x9by\x1bz\x7f ü\u2028"})
    assert text == '{"n": "x\\u009by\\u001bz\\u007f ü\\u2028"}'
    assert json.loads(text) == {"n": "x\x9by\x1bz\x7f ü\u2028"}


def test_contributor_strings_never_reach_the_terminal_raw(tmp_path, cli, store):
    """Zip, entry and issue names, captions and readmes with OSC title/clipboard writes, clear screen, BEL
    and the 8-bit CSI: every CLI command prints them escaped, JSON as \\u escapes."""
    entries = kohya_set(2)
    entries[f"img{HOSTILE}.jpg"] = image_bytes(seed=5)
    entries[f"img{HOSTILE}.txt"] = f"caption {HOSTILE}"
    entries["readme.txt"] = f"Trigger word: ohwx\nCaptioning method: {HOSTILE}\n"
    z = make_zip(tmp_path / f"set{HOSTILE.replace('/', '_')}.zip", entries)
    runs = {"add": cli("add", z, "--submitter", f"eve{HOSTILE}")}
    assert runs["add"].exit_code == 0, runs["add"].stderr
    runs["edit"] = cli("edit", "1", "--concept", f"concept{HOSTILE}")
    for args in (("list",), ("list", "--json"), ("show", "1"), ("show", "1", "--json"), ("check", "1"),
                 ("check", "1", "--json"), ("log",), ("log", "1", "--json")):
        runs[" ".join(args)] = cli(*args)
    for what, r in runs.items():
        assert "Traceback" not in r.stderr, what
        assert_no_controls(r.stdout, f"{what} stdout")
        assert_no_controls(r.stderr, f"{what} stderr")
    assert "\\x1b]0;pwned\\x07" in runs["show 1"].stdout  # escaped, still readable
    shown = json.loads(runs["show 1 --json"].stdout)
    assert shown["submitter"] == f"eve{HOSTILE}"  # JSON keeps the exact string, escaped
    assert "\\u009b" in runs["show 1 --json"].stdout and "\\u001b" in runs["list --json"].stdout


def test_every_cli_line_goes_through_the_one_escaping_function():
    """A new command that prints with click.echo directly would bypass the rule."""
    root = Path(__file__).resolve().parent.parent / "pmd_tui" / "cli"
    offenders = [f"{p.name}:{i}" for p in sorted(root.glob("*.py")) if p.name != "common.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"\b(click\.echo|click\.secho|print)\(", line)]
    assert offenders == []


# -- the queue database ---------------------------------------------------------------------------
def one_line_error(r, *needles) -> str:
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("pmd-tui: error: "), r.stderr
    assert not any(line.startswith("pmd-tui: error") for line in lines[:-1]), r.stderr
    for n in needles:
        assert n in lines[-1], lines[-1]
    return lines[-1]


def test_a_file_that_is_not_sqlite_is_one_line(tmp_path, cli):
    db = tmp_path / "notes.db"
    db.write_bytes(b"these are my notes, not a database\n" * 200)
    one_line_error(cli("--db", db, "list"), "is not a pmd-tui queue")
    assert db.read_bytes().startswith(b"these are my notes")  # and it is left as it was


def test_a_truncated_queue_is_one_line(tmp_path, cli):
    db = tmp_path / "q.db"
    for i in range(3):
        assert cli("--db", db, "add", make_zip(tmp_path / f"s{i}.zip", kohya_set(2, seed=i * 7))).exit_code == 0
    gc.collect()  # the in-process runs leave their connections to the garbage collector
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    for args in (("list",), ("show", "3"), ("log",)):
        one_line_error(cli("--db", db, *args), "q.db")


def test_db_under_a_regular_file_is_one_line(tmp_path, cli):
    (tmp_path / "plain").write_text("x")
    one_line_error(cli("--db", tmp_path / "plain" / "q.db", "list"), "cannot open the queue", "plain")


@pytest.mark.parametrize("args", [("show",), ("check",), ("log",), ("publish",), ("approve",), ("attest", "--artist-ok"),
                                  ("edit", "--name", "x"), ("reject", "--reason", "r")])
def test_ids_beyond_sqlite_integers_are_unknown_ids(cli, args, tmp_path):
    huge = str(2**63)
    r = cli(args[0], huge, *args[1:])
    one_line_error(r, f"no submission with id {huge}")
    r = cli(args[0], str(2**70), *args[1:])
    one_line_error(r, "no submission with id")


def _mount(path: Path, *options: str) -> bool:
    """A small tmpfs (for a full or read-only disk); False where this process may not mount."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A real file system of 3 MB (a tmpfs) that fills up; skipped where mounting is not allowed."""
    mnt = tmp_path / "small"
    if not _mount(mnt, "size=3m"):
        pytest.skip("needs permission to mount a tmpfs")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def read_only(tmp_path):
    """A folder the queue cannot write to: chmod for a normal user, a read-only mount for root."""
    ro = tmp_path / "ro"
    if os.geteuid() != 0:
        ro.mkdir()
        yield ro, lambda: (ro.chmod(0o555), [p.chmod(0o444) for p in ro.iterdir()])
        ro.chmod(0o755)
        return
    if not _mount(ro, "size=4m"):
        pytest.skip("needs permission to mount a tmpfs")

    def lock():
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)

    yield ro, lock
    subprocess.run(["umount", "-l", str(ro)], check=False)


def test_a_read_only_queue_is_one_line(tmp_path, cli, read_only):
    ro, lock = read_only
    db = ro / "q.db"
    assert cli("--db", db, "add", make_zip(tmp_path / "s.zip", kohya_set(2))).exit_code == 0
    gc.collect()
    lock()
    for args in (("edit", "1", "--name", "renamed"), ("add", make_zip(tmp_path / "t.zip", kohya_set(2, seed=4))),
                 ("list",)):
        one_line_error(cli("--db", db, *args), "q.db is read-only")


def test_a_full_disk_is_one_line_and_leaves_nothing_behind(tmp_path, cli, small_disk):
    db = small_disk / "q.db"
    big = {f"img{i:02d}.png": image_bytes(size=(600, 600), seed=i, fmt="PNG") for i in range(6)}
    z = make_zip(tmp_path / "big.zip", big, compression=zipfile.ZIP_STORED)
    assert z.stat().st_size > 3 * 1024**2 // 2
    r = cli("--db", db, "add", z)
    one_line_error(r, "No space left on device")
    tmp = small_disk / "q-files" / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())
    r = cli("--db", db, "list")
    assert r.exit_code == 0 and "Traceback" not in r.stderr

