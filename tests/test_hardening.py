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



# -- intake: names, clashes, bombs, encryption, links ---------------------------------------------
def notes_of(cli, sid) -> dict[str, str]:
    return {n["path"]: n["detail"] for n in json.loads(cli("show", sid, "--json").stdout)["intake"]
            if n["kind"] == "refused"}


def test_long_names_and_a_file_folder_clash_are_refused_entries(tmp_path, cli):
    """A 300-character name, a 5,000-character path and ``a.jpg`` next to ``a.jpg/b.jpg`` used to crash
    intake (``File name too long``, ``FileExistsError``); now each is one refused entry."""
    long_name, deep = "n" * 300 + ".jpg", "/".join(["d" * 100] * 50) + "/x.jpg"
    entries = {**kohya_set(2), long_name: image_bytes(seed=3), deep: image_bytes(seed=4),
               "a.jpg": image_bytes(seed=5), "a.jpg/b.jpg": image_bytes(seed=6),
               "c/d.jpg": image_bytes(seed=7), "c": image_bytes(seed=8)}
    r = cli("add", make_zip(tmp_path / "names.zip", entries))
    assert r.exit_code == 0, r.stderr
    refused = notes_of(cli, 1)
    assert refused[long_name[:200]] == "a name in the path is longer than 255 bytes"
    assert refused[deep[:200]] == "a name in the path is longer than 255 bytes" or \
        refused[deep[:200]] == "path longer than 1024 bytes"
    assert refused["a.jpg/b.jpg"].startswith("clashes with another entry") and refused["c"].startswith("clashes")
    names = {f["name"] for f in json.loads(cli("show", 1, "--json").stdout)["files"]}
    assert {"img00.jpg", "img01.jpg", "a.jpg", "d.jpg"} <= names
    deep2 = "/".join(["e" * 200] * 6) + "/x.jpg"  # every name fits, the path does not
    r = cli("add", make_zip(tmp_path / "deep.zip", {**kohya_set(1), deep2: image_bytes(seed=9)}))
    assert notes_of(cli, 2)[deep2[:200]] == "path longer than 1024 bytes"


def test_renamed_duplicates_from_deep_folders_get_names_that_fit(tmp_path, cli):
    entries = {("f" * 120 + "/") * 2 + "same.jpg": image_bytes(seed=1), ("g" * 120 + "/") * 2 + "same.jpg": image_bytes(seed=2)}
    r = cli("add", make_zip(tmp_path / "dupes.zip", entries))
    assert r.exit_code == 0, r.stderr
    names = [f["name"] for f in json.loads(cli("show", 1, "--json").stdout)["files"]]
    assert len(names) == 2 and all(len(n.encode()) <= 255 for n in names)


def test_a_split_zip_bomb_is_judged_as_a_whole(tmp_path, settings, store):
    """Many entries, each under the 1 MiB floor where one entry's ratio is judged: the archive's total
    declared size against its own size stops it before a byte is written."""
    from pmd_tui.errors import InputError
    from pmd_tui.intake.service import add_source

    entries = {**kohya_set(1), **{f"pad/{i:04d}.bin": b"\0" * (1024**2 - 1) for i in range(60)}}
    z = make_zip(tmp_path / "split.zip", entries)
    assert z.stat().st_size < 400_000
    with pytest.raises(InputError, match=r"more than 200:1 overall \(zip bomb\)"):
        add_source(store, settings, z)
    assert store.summaries() == [] and not (settings.data_dir / "tmp").exists()


def _flag_local_headers_encrypted(path: Path) -> None:
    """Set the encryption bit in every local header, leaving the central directory saying 'plain'."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            data[info.header_offset + 6] |= 0x01
    path.write_bytes(bytes(data))


def test_encrypted_archives_are_refused_whole(tmp_path, cli):
    z = make_zip(tmp_path / "locked.zip", kohya_set(2), compression=zipfile.ZIP_STORED)
    _flag_local_headers_encrypted(z)
    r = cli("add", z)
    one_line_error(r, "locked.zip: the archive is password-protected")
    assert json.loads(cli("list", "--json").stdout) == []


def test_add_each_does_not_follow_a_linked_sub_folder(tmp_path, cli):
    outside = tmp_path / "outside"
    for i in range(2):
        (outside / f"secret{i}.jpg").parent.mkdir(parents=True, exist_ok=True)
        (outside / f"secret{i}.jpg").write_bytes(image_bytes(seed=i))
    tree = tmp_path / "collection"
    (tree / "dog").mkdir(parents=True)
    (tree / "dog" / "a.jpg").write_bytes(image_bytes(seed=5))
    (tree / "link").symlink_to(outside, target_is_directory=True)
    r = cli("add", tree, "--each")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.split() == ["1"] and "skipped link: a symbolic link" in r.stderr
    assert [s["name"] for s in json.loads(cli("list", "--json").stdout)] == ["dog"]


@pytest.mark.parametrize("address", [
    "100.64.0.1", "100.100.100.200", "100.127.255.254",  # carrier-grade NAT (Alibaba's metadata service)
    "[2002:7f00:1::1]", "[2002:a9fe:a9fe::]", "[2002:c0a8:101::1]", "[2002:a00:1::]",  # 6to4 of 127/8, 169.254/16, ...
    "[::ffff:10.0.0.1]", "[64:ff9b::a9fe:a9fe]", "[2001:0:4136:e378:8000:63bf:f5ff:fffe]",  # mapped, NAT64, Teredo
    "0.0.0.0", "192.0.0.1", "198.18.0.1", "240.0.0.1",
])
def test_internal_addresses_in_every_form_are_refused(address, monkeypatch):
    from pmd_tui.errors import InputError
    from pmd_tui.intake.download import check_url

    monkeypatch.delenv("PMD_ALLOW_PRIVATE_URLS")
    with pytest.raises(InputError, match="private or loopback"):
        check_url(f"http://{address}/set.zip")
    check_url("http://8.8.8.8/set.zip")  # a public address passes (an IP literal needs no DNS)
    check_url("http://[2606:4700::1111]/set.zip")


def test_credentials_in_a_link_are_never_echoed(web, tmp_path, cli, store, monkeypatch):
    url = web.add_file("/set.zip", b"", status=404).replace("http://", "http://maint:s3cr3t-token@")
    r = cli("add", url)
    one_line_error(r, "HTTP 404")
    assert "s3cr3t" not in r.stderr + r.stdout and "maint" not in r.stderr
    monkeypatch.delenv("PMD_ALLOW_PRIVATE_URLS")
    r = cli("add", url)
    one_line_error(r, "private or loopback")
    assert "s3cr3t" not in r.stderr
    good = web.add_file("/good.zip", make_zip(tmp_path / "g.zip", kohya_set(1)).read_bytes())
    monkeypatch.setenv("PMD_ALLOW_PRIVATE_URLS", "1")
    r = cli("add", good.replace("http://", "http://maint:s3cr3t-token@"))
    assert r.exit_code == 0, r.stderr
    assert "s3cr3t" not in r.stderr and "s3cr3t" not in store.get(1)["source"]


@pytest.fixture
def web():
    from tests.fakeweb import FakeWeb

    server = FakeWeb()
    yield server
    server.stop()


class _Api:
    """A GitHub-shaped API whose answers each test shapes: endless pages, a next page on another origin,
    an object where a list belongs."""

    def __init__(self, pages):
        from http.server import ThreadingHTTPServer
        import threading

        from tests.httpfake import JsonHandler

        api = self
        self.requests: list[tuple[str, str | None]] = []
        self.pages = pages  # (path, query) -> (body, next url or None)

        class Handler(JsonHandler):
            def do_GET(self):
                api.requests.append((self.path, self.headers.get("Authorization")))
                body, nxt = api.pages(self.path)
                self._send(200, body, {"Link": f'<{nxt}>; rel="next"'} if nxt else {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def apis():
    made = []
    yield lambda pages: made.append(_Api(pages)) or made[-1]
    for a in made:
        a.stop()


def test_sync_stops_at_a_page_limit(apis, cli, monkeypatch):
    from pmd_tui.intake.github import MAX_PAGES

    api = apis(lambda path: ([], f"{api.url}/repos/o/r/issues?page={len(api.requests) + 1}"))
    monkeypatch.setenv("GITHUB_API_URL", api.url)
    r = cli("sync", "--github", "o/r")
    one_line_error(r, f"more than {MAX_PAGES} pages")
    assert len(api.requests) == MAX_PAGES


def test_sync_never_sends_the_token_to_another_origin(apis, cli, monkeypatch):
    other = apis(lambda path: ([], None))
    api = apis(lambda path: ([], f"{other.url}/repos/o/r/issues?page=2"))
    monkeypatch.setenv("GITHUB_API_URL", api.url)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    r = cli("sync", "--github", "o/r")
    one_line_error(r, "points to another server")
    assert api.requests and all(auth == "Bearer ghp_secret" for _, auth in api.requests)
    assert other.requests == []  # not even asked, let alone with the token


def test_sync_with_an_object_where_a_list_belongs_is_one_line(apis, cli, monkeypatch):
    api = apis(lambda path: ({"message": "Moved Permanently", "url": "x"}, None))
    monkeypatch.setenv("GITHUB_API_URL", api.url)
    one_line_error(cli("sync", "--github", "o/r"), "expected a list, got an object: Moved Permanently")


def test_one_bad_submission_never_blocks_the_channel(web, tmp_path, cli, store, monkeypatch):
    """An issue whose zip used to crash intake (a 300-character name) is taken in without that entry,
    and the issues after it are synced too."""
    monkeypatch.setenv("GITHUB_API_URL", web.url)
    repo = "o/r"
    bad = make_zip(tmp_path / "bad.zip", {"n" * 300 + ".jpg": image_bytes(seed=1), "a.jpg": image_bytes(seed=2),
                                          "a.jpg/b.jpg": image_bytes(seed=3)})
    locked = make_zip(tmp_path / "locked.zip", kohya_set(1), compression=zipfile.ZIP_STORED)
    _flag_local_headers_encrypted(locked)
    good = make_zip(tmp_path / "good.zip", kohya_set(2))
    for n, (title, z) in enumerate((("bad", bad), ("locked", locked), ("good", good)), 1):
        web.add_issue(repo, n, title, web.add_file(f"/user-attachments/files/{n}/{z.name}", z.read_bytes()))
    r = cli("sync", "--github", repo)
    assert r.exit_code == 0, r.stderr
    assert "FAIL  issue #2 'locked': locked.zip: the archive is password-protected" in r.stderr
    assert sorted(s["name"] for s in store.summaries()) == ["bad", "good"]
    r = cli("sync", "--github", repo)
    assert r.exit_code == 0 and "2 already known" in r.stderr


# -- processes and left-overs ---------------------------------------------------------------------
def test_importing_the_analysis_leaves_pillows_bomb_limit_alone():
    import sys

    code = ("from PIL import Image; before = Image.MAX_IMAGE_PIXELS\n"
            "import pmd_tui.checks.analysis, pmd_tui.checks.engine, pmd_tui.cli\n"
            "print(before == Image.MAX_IMAGE_PIXELS and Image.MAX_IMAGE_PIXELS is not None)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parent.parent)
    assert r.stdout.strip() == "True", r.stderr


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state and "\nState:\tX" not in state


WORKERS_SCRIPT = """
import multiprocessing, sys, time
from pmd_tui.checks.analysis import analyse_many

def on_result(done, total):
    if done == 1:
        print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        time.sleep(120)  # killed here, while the workers still have work queued

analyse_many(sys.argv[1:], 10**9, workers=2, on_result=on_result)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_analysis_workers_die_with_a_killed_parent(tmp_path):
    import signal
    import sys
    import time

    paths = []
    for i in range(24):
        p = tmp_path / f"i{i}.png"
        p.write_bytes(image_bytes(size=(300, 300), seed=i, fmt="PNG"))
        paths.append(str(p))
    proc = subprocess.Popen([sys.executable, "-c", WORKERS_SCRIPT, *paths], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    try:
        workers = [int(x) for x in proc.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(w) for w in workers)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "analysis workers outlived their parent"
    finally:
        proc.kill()
        for w in workers if "workers" in locals() else ():
            if _alive(w):
                os.kill(w, signal.SIGKILL)


ADD_SCRIPT = """
import sys, time
from pathlib import Path
from pmd_tui.config import load_settings
from pmd_tui.intake import service
from pmd_tui.store import QueueStore

settings = load_settings(sys.argv[1])
real_stage = service._stage

def slow_stage(unpacked, staged):
    print("staging", flush=True)
    time.sleep(120)  # killed here, with the extraction folder full

service._stage = slow_stage
service.add_source(QueueStore(settings.db_path), settings, sys.argv[2])
"""


def test_extraction_folders_of_a_killed_add_are_swept_by_the_next(tmp_path, store, settings):
    """``kill -9`` during ``add`` leaves the extraction folder; the next intake removes it (its lock died
    with the process), while a running intake's folder is left alone."""
    import signal
    import sys

    from pmd_tui.intake.service import add_source, work_folder

    z = make_zip(tmp_path / "s.zip", kohya_set(3))
    (tmp_path / "none.toml").write_text("")
    proc = subprocess.Popen([sys.executable, "-c", ADD_SCRIPT, str(settings.db_path), str(z)], stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parent.parent,
                            env={**os.environ, "PMD_CONFIG": str(tmp_path / "none.toml")})
    assert proc.stdout.readline().strip() == "staging"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    tmp_root = settings.data_dir / "tmp"
    left = [p for p in tmp_root.iterdir() if p.is_dir()]
    assert len(left) == 1 and any(left[0].rglob("*.jpg"))
    with work_folder(settings.data_dir) as (_uid, busy):  # another intake, still running
        (busy / "x").write_text("in use")
        add_source(store, settings, z)
        assert not left[0].exists()
        assert (busy / "x").exists()
    assert not tmp_root.exists()


# -- location metadata ------------------------------------------------------------------------------
GPS = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
XMP_GPS = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="52,31.2N" '
           b'exif:GPSLongitude="13,24.6E"/></rdf:RDF></x:xmpmeta>')
XMP_PLAIN = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
             b'<rdf:Description xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
             b'xmpNote:HasExtendedXMP="0123456789ABCDEF0123456789ABCDEF"/></rdf:RDF></x:xmpmeta>')


def _gps_exif():
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif.get_ifd(0x8825).update(GPS)
    return exif


def _app1(payload: bytes) -> bytes:
    import struct

    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_fill_bytes() -> bytes:
    """EXIF GPS in APP1, with legal 0xFF fill bytes before the APP1 marker and before the next one."""
    import io

    from PIL import Image

    im = Image.open(io.BytesIO(image_bytes((320, 240), seed=1)))
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=_gps_exif())
    data = buf.getvalue()
    i = data.index(b"\xff\xe1")
    data = data[:i] + b"\xff\xff\xff" + data[i:]
    j = data.index(b"\xff\xdb")
    return data[:j] + b"\xff\xff" + data[j:]


def jpeg_with_xmp(extended: bool) -> bytes:
    data = image_bytes((320, 240), seed=2)
    if extended:  # location only in the extended part, the main packet points to it
        import struct

        body = XMP_GPS
        ext = (b"http://ns.adobe.com/xmp/extension/\x00" + b"0123456789ABCDEF0123456789ABCDEF"
               + struct.pack(">II", len(body), 0) + body)
        segments = _app1(b"http://ns.adobe.com/xap/1.0/\x00" + XMP_PLAIN) + _app1(ext)
    else:
        segments = _app1(b"http://ns.adobe.com/xap/1.0/\x00" + XMP_GPS)
    return data[:2] + segments + data[2:]


def png_with_raw_exif_profile(compressed: bool = True) -> bytes:
    """ImageMagick's way: the EXIF block hex-encoded in a 'Raw profile type exif' text chunk (zTXt)."""
    import io

    from PIL import Image, PngImagePlugin

    payload = _gps_exif().tobytes()
    hexed = payload.hex()
    text = f"\nexif\n{len(payload):8d}\n" + "\n".join(hexed[i:i + 72] for i in range(0, len(hexed), 72)) + "\n"
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", text, zip=compressed)
    im = Image.open(io.BytesIO(image_bytes((320, 240), seed=3, fmt="PNG")))
    buf = io.BytesIO()
    im.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def png_with_compressed_xmp() -> bytes:
    import io

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_GPS.decode(), zip=True)
    im = Image.open(io.BytesIO(image_bytes((320, 240), seed=4, fmt="PNG")))
    buf = io.BytesIO()
    im.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def webp_with_xmp() -> bytes:
    import io

    from PIL import Image

    im = Image.open(io.BytesIO(image_bytes((320, 240), seed=5, fmt="PNG")))
    buf = io.BytesIO()
    im.save(buf, "WEBP", lossless=True, xmp=XMP_GPS, exif=_gps_exif())
    return buf.getvalue()


LOCATED = {"fill.jpg": jpeg_with_fill_bytes, "xmp.jpg": lambda: jpeg_with_xmp(False),
           "extxmp.jpg": lambda: jpeg_with_xmp(True), "raw-exif.png": png_with_raw_exif_profile,
           "raw-exif-text.png": lambda: png_with_raw_exif_profile(False), "xmp-png.png": png_with_compressed_xmp,
           "xmp-webp.webp": webp_with_xmp}  # one stem each: every image has its own caption (rule 6)


def _pixels(data: bytes):
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("name", sorted(LOCATED))
def test_location_is_found_and_removed_in_every_container(name):
    import numpy as np

    from pmd_tui.imaging.metadata import independent_location_check, location_sources, strip_location

    data = LOCATED[name]()
    assert location_sources(data), name
    assert independent_location_check(data), f"the independent reader misses the location in {name}"
    out = strip_location(data)
    assert out is not None
    assert location_sources(out) == [] and independent_location_check(out) == [], name
    assert np.array_equal(_pixels(out), _pixels(data))  # pixels untouched
    if name.endswith(".jpg"):  # the compressed scan is copied byte for byte
        assert out[out.index(b"\xff\xda"):] == data[data.index(b"\xff\xda"):]


def test_published_files_carry_no_location_read_back_independently(tmp_path, cli):
    from pmd_tui.imaging.metadata import independent_location_check

    entries = {name: make() for name, make in LOCATED.items()}
    entries.update({f"{n.rsplit('.', 1)[0]}.txt": f"ohwx photo {n}" for n in LOCATED})
    entries["readme.txt"] = "Trigger word: ohwx\nCaptioning method: by hand\n"
    cli("add", make_zip(tmp_path / "gps.zip", entries))
    r = cli("check", "1", "--json")
    gps = next(c for c in json.loads(r.stdout)["checks"] if c["rule"] == "images.gps-metadata")
    assert gps["status"] == "warn" and sorted(gps["files"]) == sorted(LOCATED)
    assert cli("approve", "1", "--override", "test").exit_code == 0
    out = tmp_path / "published"
    r = cli("publish", "1", "--to", out)
    assert r.exit_code == 0, r.stderr
    published = [p for p in out.rglob("*") if p.suffix in (".jpg", ".png", ".webp")]
    assert sorted(p.name for p in published) == sorted(LOCATED)
    for p in published:
        assert independent_location_check(p.read_bytes()) == [], p.name


def test_an_image_whose_location_cannot_be_removed_is_not_published(tmp_path, store, settings, monkeypatch):
    """The read-back is a guard of its own: if the stripper misses something, nothing is published."""
    from tests.test_publish import approved
    from pmd_tui.errors import PmdError
    from pmd_tui.publish import bundle
    from pmd_tui.publish.service import publish

    sid = approved(store, settings, tmp_path, gps=True)
    monkeypatch.setattr(bundle, "strip_location", lambda data: None)  # a stripper that misses it
    with pytest.raises(PmdError, match="location metadata could not be removed"):
        publish(store, settings, [sid], to_dir=str(tmp_path / "out"))
    assert store.get(sid)["status"] == "approved"
    assert not list((tmp_path / "out").rglob("*.jpg"))


# -- publishing: shared files, failed reads, full disks -------------------------------------------------
@pytest.fixture
def hub(monkeypatch):
    import huggingface_hub.constants as c

    from tests.fakehub import FakeHub

    server = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_TOKEN", "hf_write")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setattr(c, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
    yield server
    server.stop()


def test_a_failed_read_of_stats_json_stops_the_publish(hub, store, settings, tmp_path, monkeypatch):
    """HTTP 500 on stats.json (``LocalEntryNotFoundError`` is a subclass of ``EntryNotFoundError``) used to
    read as 'no datasets': the card and stats.json lost every dataset not in this queue."""
    from tests.test_publish import REPO, approved, publish

    from pmd_tui.errors import NetworkError

    first = approved(store, settings, tmp_path, name="First set", issue=1)
    publish(store, settings, [first])
    stats = json.loads(hub.files(REPO)["stats.json"])
    stats["datasets"]["from-another-queue"] = {**stats["datasets"]["first-set"], "name": "From another queue"}
    hub.push(REPO, {"stats.json": json.dumps(stats).encode()})
    before = dict(hub.files(REPO))
    commits = len(hub.commits(REPO))
    second = approved(store, settings, tmp_path, name="Second set", issue=2)
    import types

    import huggingface_hub.utils._http as hf_http

    # the client retries a 500 with back-off (seconds each): the same answers, without the waiting
    monkeypatch.setattr(hf_http, "time", types.SimpleNamespace(**{**vars(hf_http.time), "sleep": lambda s: None}))
    hub.fail("resolve", *["500"] * 20)
    with pytest.raises(NetworkError, match="reading stats.json .* failed"):
        publish(store, settings, [second])
    assert len(hub.commits(REPO)) == commits and hub.files(REPO) == before
    assert store.get(second)["status"] == "approved"
    hub.failures.clear()
    publish(store, settings, [second])
    after = json.loads(hub.files(REPO)["stats.json"])["datasets"]
    assert set(after) == {"first-set", "from-another-queue", "second-set"}


def test_a_damaged_stats_json_stops_the_publish(store, settings, tmp_path):
    from tests.test_publish import approved

    from pmd_tui.errors import PmdError
    from pmd_tui.publish.service import publish

    out = tmp_path / "out"
    out.mkdir()
    (out / "stats.json").write_text('{"datasets": {"kept": {')
    sid = approved(store, settings, tmp_path)
    with pytest.raises(PmdError, match="stats.json cannot be read"):
        publish(store, settings, [sid], to_dir=str(out))
    assert (out / "stats.json").read_text() == '{"datasets": {"kept": {'


def _publish_in_child(db, sid, out, barrier):
    from pmd_tui.config import load_settings
    from pmd_tui.publish.service import publish
    from pmd_tui.store import QueueStore

    settings = load_settings(db)
    store = QueueStore(db)
    barrier.wait()
    publish(store, settings, [sid], to_dir=out)


def test_parallel_publishes_to_one_folder_lose_no_dataset(tmp_path, store, settings):
    import multiprocessing

    from tests.test_publish import approved

    n = 8
    ids = [approved(store, settings, tmp_path, name=f"Set {i}", issue=i + 1, n=1) for i in range(n)]
    out = tmp_path / "out"
    out.mkdir()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(n)
    procs = [ctx.Process(target=_publish_in_child, args=(str(settings.db_path), sid, str(out), barrier)) for sid in ids]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * n
    listed = json.loads((out / "stats.json").read_text())["datasets"]
    assert sorted(listed) == sorted(f"set-{i}" for i in range(n))
    card = (out / "README.md").read_text()
    assert all(f"set-{i}" in card for i in range(n))


def test_a_full_disk_while_publishing_to_a_folder_leaves_no_hidden_left_overs(tmp_path, store, settings, cli,
                                                                            small_disk):
    from tests.test_publish import approved

    small = approved(store, settings, tmp_path, name="Small", issue=1, n=1)
    out = small_disk / "out"
    assert cli("publish", small, "--to", out).exit_code == 0
    stats = (out / "stats.json").read_bytes()
    entries = {f"big{i}.png": image_bytes(size=(700, 700), seed=i, fmt="PNG") for i in range(5)}
    entries.update({f"big{i}.txt": f"big picture {i}" for i in range(5)})  # rule 6: captioned, so it is written
    cli("add", make_zip(tmp_path / "big.zip", entries, compression=zipfile.ZIP_STORED), "--name", "Big")
    big = max(store.ids())
    assert cli("approve", big, "--override", "t").exit_code == 2  # not checked yet
    cli("check", big)
    assert cli("approve", big, "--override", "t").exit_code == 0
    r = cli("publish", big, "--to", out)
    one_line_error(r, "No space left on device")
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "small", "stats.json"]
    assert (out / "stats.json").read_bytes() == stats
    assert store.get(big)["status"] == "approved"


# -- near duplicates that scale ---------------------------------------------------------------------------
def test_near_duplicate_search_counts_exactly_like_all_pairs():
    import itertools
    import random

    from pmd_tui.checks.neardup import find_near_duplicates

    rng = random.Random(7)
    centre = rng.getrandbits(64)
    hashes = []
    for i in range(600):  # a third near the centre (1-3 bits off), the rest random
        h = centre
        if i % 3 == 0:
            for b in rng.sample(range(64), rng.randint(1, 3)):
                h ^= 1 << b
        else:
            h = rng.getrandbits(64)
        hashes.append((f"i{i}.jpg", h))
    hashes += [("copy-a.jpg", centre), ("copy-b.jpg", centre)]
    brute = [(a, b) for (a, x), (b, y) in itertools.combinations(hashes, 2) if (x ^ y).bit_count() <= 6]
    r = find_near_duplicates(hashes, 6)
    assert r.pair_count == len(brute) and not r.truncated
    assert sorted(r.files) == sorted({n for p in brute for n in p})
    assert len(r.pairs) == 100 and all((x ^ y).bit_count() == d for (a, b, d) in r.pairs
                                       for x, y in [(dict(hashes)[a], dict(hashes)[b])])


def test_6000_tiny_images_are_not_quadratic_and_the_finding_stays_small(tmp_path, store, settings):
    """The reproduction: thousands of tiny distinct PNGs whose perceptual hashes are nearly all alike used to
    take a minute, gigabytes and store 18 M pairs (594 MB of JSON). Now the check and `show --json` stay fast
    and the stored finding small, with the exact pair count."""
    import time

    from pmd_tui.checks.model import CheckContext
    from pmd_tui.checks.rules import images as image_rules

    n = 6000
    analyses = {f"t{i:04d}.png": {"ok": True, "phash": f"{(0x8000000000000000 | (i % 7)):016x}", "width": 8,
                                   "height": 8} for i in range(n)}
    ctx = CheckContext(submission={}, files=[{"name": k, "sha256": k, "kind": "image"} for k in analyses],
                       notes=[], settings=settings, analyses=analyses)
    start = time.monotonic()
    near = next(f for f in image_rules.check(ctx) if f["rule"] == "images.near-duplicate")
    took = time.monotonic() - start
    assert near["status"] == "warn" and near["data"]["pair_count"] == n * (n - 1) // 2
    assert len(json.dumps(near)) < 200_000 and len(near["data"]["pairs"]) == 100
    assert took < 10, took


def test_an_edit_after_approval_naming_an_opted_out_artist_is_never_published(tmp_path, cli, monkeypatch):
    """The issue's reproduction: approve, then ``edit --trigger "<opted-out artist> style"``, then publish."""
    cfg = tmp_path / "opt-out.toml"
    cfg.write_text('opt_out_artists = ["Jane Q. Painter"]\n')
    monkeypatch.setenv("PMD_CONFIG", str(cfg))
    assert cli("add", make_zip(tmp_path / "ink.zip", kohya_set(2)), "--name", "Ink").exit_code == 0
    assert cli("attest", "1", "--likeness", "not-a-likeness", "--artist-ok").exit_code == 0
    cli("check", "1")
    assert cli("approve", "1").exit_code == 0
    r = cli("edit", "1", "--trigger", "Jane Q. Painter style")
    assert r.exit_code == 0, r.stderr
    shown = json.loads(cli("show", "1", "--json").stdout)
    assert shown["status"] == "checked"
    assert next(c for c in shown["checks"] if c["rule"] == "consent.artist")["status"] == "fail"
    r = cli("publish", "1", "--to", tmp_path / "out")
    one_line_error(r, "only approved submissions are published")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.jpg"))


def test_what_is_patched_or_private_is_pinned():
    """httpx's pool and textual-image's terminal module are private API: an upgrade must be a decision."""
    import tomllib

    from packaging.requirements import Requirement

    meta = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    reqs = {Requirement(r).name.lower(): Requirement(r) for r in meta["project"]["dependencies"]}
    for name in ("httpx", "httpcore", "textual-image"):
        assert name in reqs, f"{name} is used directly but not declared"
        assert any(s.operator in ("<", "==", "~=") for s in reqs[name].specifier), f"{name} has no upper bound"
    build = [Requirement(r) for r in meta["build-system"]["requires"]]
    setuptools = next(r for r in build if r.name == "setuptools")
    assert not setuptools.specifier.contains("76.9") and setuptools.specifier.contains("77.0")


def test_sync_with_a_list_of_other_things_or_no_json_is_one_line(apis, cli, monkeypatch):
    api = apis(lambda path: (["#1", "#2"], None))
    monkeypatch.setenv("GITHUB_API_URL", api.url)
    one_line_error(cli("sync", "--github", "o/r"), "GitHub API: expected a list, got a list of other things")
    api2 = apis(lambda path: (b"<html>maintenance</html>", None))
    monkeypatch.setenv("GITHUB_API_URL", api2.url)
    one_line_error(cli("sync", "--github", "o/r"), "GitHub API: the answer is not JSON")
