"""Every guard in intake, downloads, decisions and publishing has a test that fails when that guard alone
is removed (checked with mutmut, see the README's reliability section). Guards that could not be reached
were removed instead: zipfile itself stops an entry at its declared size and checks its CRC, so the
streaming size/ratio checks only guard folders, where a file may grow while it is copied.
"""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest

from pmd_tui.config import Limits
from pmd_tui.errors import InputError, RuleError
from pmd_tui.intake.archive import copy_folder, safe_relpath, unpack_zip
from tests.helpers import kohya_set, make_zip


def _refused(result) -> dict[str, str]:
    return {r.path: r.reason for r in result.refused}


# -- zip extraction: each pre-check on the declared sizes ---------------------------------------------
def test_zip_entry_over_the_per_file_limit_is_refused(tmp_path):
    z = make_zip(tmp_path / "a.zip", {"small.jpg": b"x" * 100, "big.bin": b"y" * 5000})
    r = unpack_zip(z, tmp_path / "out", Limits(max_entry_bytes=1000))
    assert _refused(r) == {"big.bin": "declares 5000 bytes, over the per-file limit"}
    assert r.files == ["small.jpg"] and not (tmp_path / "out" / "big.bin").exists()


def test_zip_entry_at_the_per_file_limit_is_unpacked(tmp_path):
    r = unpack_zip(make_zip(tmp_path / "a.zip", {"edge.bin": b"y" * 1000}), tmp_path / "out", Limits(max_entry_bytes=1000))
    assert r.files == ["edge.bin"] and not r.refused


def test_zip_entries_past_the_total_are_refused(tmp_path):
    z = make_zip(tmp_path / "a.zip", {"a.bin": b"a" * 600, "b.bin": b"b" * 600, "c.bin": b"c" * 300})
    r = unpack_zip(z, tmp_path / "out", Limits(max_total_bytes=1000))
    assert r.files == ["a.bin", "c.bin"] and _refused(r) == {"b.bin": "unpacked total would exceed the limit"}
    exact = unpack_zip(make_zip(tmp_path / "b.zip", {"a.bin": b"a" * 600, "b.bin": b"b" * 400}), tmp_path / "o2",
                       Limits(max_total_bytes=1000))
    assert exact.files == ["a.bin", "b.bin"] and not exact.refused  # the total reaches the limit exactly


def test_zip_entry_ratio_is_judged_above_the_floor_only(tmp_path):
    entries = {"zeros.bin": b"\0" * 300_000, "caption.txt": "a" * 5000}  # both compress > 200:1
    r = unpack_zip(make_zip(tmp_path / "a.zip", entries), tmp_path / "out",
                   Limits(ratio_floor_bytes=100_000, max_ratio=200.0))
    assert list(_refused(r)) == ["zeros.bin"] and "zip bomb" in _refused(r)["zeros.bin"]
    assert r.files == ["caption.txt"]  # under the floor: never judged by its ratio
    exact = unpack_zip(make_zip(tmp_path / "b.zip", {"zeros.bin": b"\0" * 300_000}), tmp_path / "out2",
                       Limits(ratio_floor_bytes=300_000, max_ratio=200.0))
    assert exact.files == ["zeros.bin"]  # at the floor exactly: not judged either
    import random
    import zipfile

    noise = make_zip(tmp_path / "c.zip", {"noise.bin": random.Random(0).randbytes(150_000)})
    assert unpack_zip(noise, tmp_path / "out3", Limits(ratio_floor_bytes=100_000, max_ratio=2.0)).files == ["noise.bin"]
    [info] = zipfile.ZipFile(tmp_path / "b.zip").infolist()
    ratio = info.file_size / info.compress_size
    assert ratio * info.compress_size == info.file_size  # exactly representable: the edge itself
    at_ratio = unpack_zip(tmp_path / "b.zip", tmp_path / "out4", Limits(ratio_floor_bytes=100_000, max_ratio=ratio))
    assert at_ratio.files == ["zeros.bin"]  # a ratio equal to the limit is allowed


def test_zip_total_ratio_refuses_the_archive_and_respects_floor_and_limit(tmp_path):
    entries = {f"{i}.bin": b"\0" * 20_000 for i in range(20)}  # each under the floor, 400 kB in all
    z = make_zip(tmp_path / "a.zip", entries)
    ratio = 400_000 / z.stat().st_size
    with pytest.raises(InputError, match="overall"):
        unpack_zip(z, tmp_path / "o1", Limits(ratio_floor_bytes=100_000, max_ratio=ratio - 1))
    assert len(unpack_zip(z, tmp_path / "o2", Limits(ratio_floor_bytes=100_000, max_ratio=ratio + 1)).files) == 20
    assert len(unpack_zip(z, tmp_path / "o3", Limits(ratio_floor_bytes=400_000, max_ratio=ratio - 1)).files) == 20
    assert ratio * z.stat().st_size == 400_000  # exactly representable: the edge itself
    assert len(unpack_zip(z, tmp_path / "o4", Limits(ratio_floor_bytes=100_000, max_ratio=ratio)).files) == 20


def test_zip_entry_count_limit(tmp_path):
    z = make_zip(tmp_path / "a.zip", {f"{i}.txt": "x" for i in range(5)})
    r = unpack_zip(z, tmp_path / "out", Limits(max_entries=3))
    assert r.files == ["0.txt", "1.txt", "2.txt"]
    assert _refused(r) == {"*": "archive has 5 entries, over the limit of 3; the rest were not unpacked"}
    at_limit = unpack_zip(z, tmp_path / "out2", Limits(max_entries=5))
    assert len(at_limit.files) == 5 and not at_limit.refused


def test_each_refusal_refuses_one_entry_and_the_rest_is_unpacked(tmp_path):
    import random
    import warnings
    import zipfile

    from tests.helpers import add_device_entry, add_symlink_entry

    z = tmp_path / "mixed.zip"
    noise = random.Random(0).randbytes

    def write(*entries):
        with warnings.catch_warnings(), zipfile.ZipFile(z, "a", zipfile.ZIP_DEFLATED) as zf:
            warnings.simplefilter("ignore")  # the duplicate name
            for name, data in entries:
                zf.writestr(name, data)

    write(("../up.txt", "x"), ("ok1.txt", "1"), ("n" * 300, "x"), ("ok2.txt", "2"))
    add_symlink_entry(z, "link", "/etc/passwd")
    write(("ok3.txt", "3"))
    add_device_entry(z, "dev")
    write(("ok4.txt", "4"), (".DS_Store", "x"), ("ok5.txt", "5"), ("ok1.txt", "again"), ("ok6.txt", "6"),
          ("big.bin", noise(5000)), ("ok7.txt", "7"), ("zeros.bin", b"\0" * 900), ("ok8.txt", "8"),
          ("fill1.bin", noise(900)), ("fill2.bin", noise(900)), ("over.bin", noise(900)), ("ok9.txt", "9"))
    zeros = zipfile.ZipFile(z).getinfo("zeros.bin")
    r = unpack_zip(z, tmp_path / "out", Limits(max_entry_bytes=1000, max_total_bytes=2000, ratio_floor_bytes=500,
                                                max_ratio=50.0))
    assert r.files == ["ok1.txt", "ok2.txt", "ok3.txt", "ok4.txt", "ok5.txt", "ok6.txt", "ok7.txt", "ok8.txt",
                       "fill1.bin", "fill2.bin", "ok9.txt"]
    assert _refused(r) == {
        "../up.txt": "path escapes the archive (absolute, drive or '..')",
        "n" * 200: "a name in the path is longer than 255 bytes",
        "link": "symbolic link", "dev": "device or special file", "ok1.txt": "duplicate entry name",
        "big.bin": "declares 5000 bytes, over the per-file limit",
        "zeros.bin": f"compression ratio {900 / zeros.compress_size:.0f}:1 (zip bomb)",
        "over.bin": "unpacked total would exceed the limit"}
    assert r.junk == [".DS_Store"] and (tmp_path / "out" / "ok1.txt").read_text() == "1"


def test_duplicate_entry_names_keep_the_first(tmp_path):
    import warnings
    import zipfile

    z = tmp_path / "dup.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(z, "w") as zf:
        warnings.simplefilter("ignore")
        zf.writestr("a.txt", "first")
        zf.writestr("a.txt", "second")
    r = unpack_zip(z, tmp_path / "out", Limits())
    assert r.files == ["a.txt"] and _refused(r) == {"a.txt": "duplicate entry name"}
    assert (tmp_path / "out" / "a.txt").read_text() == "first"


def test_an_archive_that_cannot_be_read_says_why_in_one_line(tmp_path):
    (tmp_path / "dir.zip").mkdir()
    with pytest.raises(InputError, match=r"^dir.zip: cannot read \(Is a directory\)$"):
        unpack_zip(tmp_path / "dir.zip", tmp_path / "out", Limits())


# -- encrypted entries: tampered archives ----------------------------------------------------------------
def _stored_zip(path, entries) -> bytearray:
    import zipfile

    return bytearray(make_zip(path, entries, compression=zipfile.ZIP_STORED).read_bytes())


def _central_records(data: bytes) -> list[int]:
    """Offsets of a zip's central directory records (flags at +8, method at +10, local header offset at +42)."""
    start = data.rfind(b"PK\x05\x06")
    first = struct.unpack_from("<I", data, start + 16)[0]
    return [i for i in range(first, start) if data[i:i + 4] == b"PK\x01\x02"]


@pytest.mark.parametrize("field, bits", [(8, 0x01), (10, 99)])  # the encryption flag; WinZip AES as the method
def test_an_archive_encrypted_by_its_central_directory_alone_is_refused(tmp_path, field, bits):
    data = _stored_zip(tmp_path / "a.zip", {"a.txt": "a" * 50})
    [record] = _central_records(data)
    struct.pack_into("<H", data, record + field, struct.unpack_from("<H", data, record + field)[0] | bits)
    (tmp_path / "a.zip").write_bytes(data)
    with pytest.raises(InputError, match=r"^a.zip: the archive is password-protected \(encrypted entries\); "
                                         "ask for an unencrypted zip$"):
        unpack_zip(tmp_path / "a.zip", tmp_path / "out", Limits())


def test_local_headers_are_judged_past_one_that_cannot_be_read(tmp_path):
    """An encrypted entry behind one whose local header lies before the file's start is still found."""
    data = _stored_zip(tmp_path / "a.zip", {"a.txt": "a" * 50, "b.txt": "b" * 50})
    _, b = _central_records(data)
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, eocd + 16, struct.unpack_from("<I", data, eocd + 16)[0] + 10)  # offsets read 10 low
    b_local = struct.unpack_from("<I", data, b + 42)[0]
    struct.pack_into("<I", data, b + 42, b_local + 10)  # b.txt is still found; a.txt's header is at -10
    data[b_local + 6] |= 0x01
    (tmp_path / "a.zip").write_bytes(data)
    with pytest.raises(InputError, match="password-protected"):
        unpack_zip(tmp_path / "a.zip", tmp_path / "out", Limits())


def test_bytes_that_are_not_a_local_header_are_not_read_as_one(tmp_path):
    """A central record pointing into another entry's data: a damaged entry, not an encrypted archive."""
    data = _stored_zip(tmp_path / "a.zip", {"a.txt": b"\x01" * 100, "b.txt": "b" * 50})
    _, b = _central_records(data)
    struct.pack_into("<I", data, b + 42, 30 + len("a.txt"))  # a.txt's data: 0x01 where the flags would be
    (tmp_path / "a.zip").write_bytes(data)
    r = unpack_zip(tmp_path / "a.zip", tmp_path / "out", Limits())
    assert r.files == ["a.txt"] and _refused(r)["b.txt"].startswith("damaged entry")


@pytest.mark.parametrize("name", ["/etc/passwd", "C:/x.txt", "a/../../x.txt", "..", "a\x00b", "", "./"])
def test_unsafe_names_have_no_relative_path(name):
    assert safe_relpath(name) is None


def test_name_and_path_lengths_are_judged_to_the_byte():
    from pmd_tui.intake.archive import path_problem

    assert path_problem("a" * 255) is None and path_problem("d/" + "é" * 127 + "a") is None
    assert path_problem("d/" + "a" * 256) == "a name in the path is longer than 255 bytes"
    assert path_problem("é" * 128) == "a name in the path is longer than 255 bytes"
    path = "/".join(["a" * 200] * 5) + "/" + "b" * 19
    assert len(path) == 1024 and path_problem(path) is None
    assert path_problem(path + "b") == "path longer than 1024 bytes"


def test_ids_outside_what_sqlite_stores_name_no_submission():
    from pmd_tui.store.queue import MAX_ID, check_id

    assert check_id(1) == 1 and check_id(MAX_ID) == MAX_ID
    for bad in (0, -1, MAX_ID + 1, True, "1", 1.0):
        with pytest.raises(InputError, match=f"^no submission with id {bad}$"):
            check_id(bad)


def test_safe_names_are_normalised():
    assert safe_relpath("a\\b/./c.txt") == "a/b/c.txt" and safe_relpath("x/") == "x"


# -- folders: the streaming checks are theirs ------------------------------------------------------------
def test_folder_file_over_the_per_file_limit_is_refused_while_copying(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jpg").write_bytes(b"a" * 100)
    (src / "big.bin").write_bytes(b"b" * 5000)
    r = copy_folder(src, tmp_path / "out", Limits(max_entry_bytes=1000))
    assert _refused(r) == {"big.bin": "larger than the per-file limit of 1000 bytes"}
    assert not (tmp_path / "out" / "big.bin").exists()
    exact = copy_folder(src, tmp_path / "out2", Limits(max_entry_bytes=5000))
    assert sorted(exact.files) == ["a.jpg", "big.bin"]


def test_folder_total_is_counted_while_copying(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for n, size in (("a.bin", 600), ("b.bin", 600), ("c.bin", 300), ("d.bin", 200)):
        (src / n).write_bytes(b"x" * size)
    r = copy_folder(src, tmp_path / "out", Limits(max_total_bytes=1000))
    assert r.files == ["a.bin", "c.bin"]  # 900 bytes: d would make it 1100
    assert _refused(r) == {"b.bin": "unpacked total would exceed the limit of 1000 bytes",
                           "d.bin": "unpacked total would exceed the limit of 1000 bytes"}
    assert copy_folder(src, tmp_path / "out2", Limits(max_total_bytes=1700)).files == ["a.bin", "b.bin", "c.bin", "d.bin"]


def test_a_file_that_keeps_growing_is_read_in_chunks_and_stopped(tmp_path):
    """A folder's file may grow while it is copied (a log, a pipe behind a path): it is read a chunk at a
    time and stopped at the per-file limit, never read whole."""
    from pmd_tui.intake.archive import CHUNK, _Budget, _copy_stream

    class Endless:
        reads = 0

        def read(self, n=-1):
            assert n is not None and 0 < n <= CHUNK, f"read({n}) of an endless file"
            self.reads += 1
            assert self.reads < 50, "not stopped"
            return b"\0" * n

    budget = _Budget(Limits(max_entry_bytes=5 * CHUNK))
    src = Endless()
    assert _copy_stream(src, tmp_path / "f", budget) == f"larger than the per-file limit of {5 * CHUNK} bytes"
    assert src.reads == 6 and not (tmp_path / "f").exists() and budget.total == 0


def test_folder_entry_limit(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"{i}.txt").write_text("x")
    r = copy_folder(src, tmp_path / "out", Limits(max_entries=3))
    assert r.files == ["0.txt", "1.txt", "2.txt"]
    assert _refused(r) == {"3.txt": "over the limit of 3 files", "4.txt": "over the limit of 3 files"}
    assert len(copy_folder(src, tmp_path / "out2", Limits(max_entries=5)).files) == 5


def test_folder_junk_is_skipped_and_the_rest_copied(tmp_path):
    src = tmp_path / "src"
    (src / "__MACOSX").mkdir(parents=True)
    (src / "__MACOSX" / "x.jpg").write_bytes(b"x")
    for name in (".DS_Store", "._a.jpg", "a.jpg", "b.jpg"):
        (src / name).write_bytes(b"a")
    r = copy_folder(src, tmp_path / "out", Limits())
    assert r.files == ["a.jpg", "b.jpg"] and r.junk == [".DS_Store", "._a.jpg", "__MACOSX/x.jpg"]


# -- downloads ---------------------------------------------------------------------------------------------
@pytest.fixture
def web():
    from tests.fakeweb import FakeWeb

    server = FakeWeb()
    yield server
    server.stop()


def test_every_redirect_is_checked_before_it_is_followed(web, settings):
    """A redirect to another scheme is refused by name; the per-redirect check is what says so (without it
    the client would try and fail on the scheme three times)."""
    from pmd_tui.intake.download import Downloader

    web.redirects["/hop"] = "file:///etc/passwd"
    with Downloader(settings.data_dir / "dl", settings.limits) as dl:
        with pytest.raises(InputError, match="only http and https links are downloaded"):
            dl.fetch(web.url + "/hop")
    assert [p for m, p, h in web.requests] == ["/hop"]


def test_redirect_limit_is_exact(web, settings):
    from pmd_tui.errors import NetworkError
    from pmd_tui.intake.download import Downloader

    web.add_file("/end.zip", make_zip(settings.data_dir.parent / "e.zip", kohya_set(1)).read_bytes())
    for i in range(3):
        web.redirects[f"/r{i}"] = f"{web.url}/r{i + 1}"
    web.redirects["/r3"] = f"{web.url}/end.zip"
    with Downloader(settings.data_dir / "dl", replace(settings.limits, max_redirects=4)) as dl:
        assert dl.fetch(web.url + "/r0").read_bytes().startswith(b"PK")
    with Downloader(settings.data_dir / "dl2", replace(settings.limits, max_redirects=3)) as dl:
        with pytest.raises(NetworkError, match="too many redirects"):
            dl.fetch(web.url + "/r0")


@pytest.mark.parametrize("record", [None, "{not json"])
def test_a_part_file_without_a_readable_record_is_downloaded_afresh(web, settings, record):
    """A .part whose .part.json (what it is a part of) is missing or unreadable is never resumed from."""
    import hashlib

    from pmd_tui.intake.download import Downloader

    data = make_zip(settings.data_dir.parent / "e.zip", kohya_set(1)).read_bytes()
    web.add_file("/set.zip", data)
    folder = settings.data_dir / "dl"
    folder.mkdir(parents=True)
    part = folder / f"{hashlib.sha256((web.url + '/set.zip').encode()).hexdigest()[:16]}.part"
    part.write_bytes(b"stale" * 100)
    if record is not None:
        part.with_suffix(".part.json").write_text(record)
    with Downloader(folder, settings.limits) as dl:
        assert dl.fetch(web.url + "/set.zip").read_bytes() == data
    assert [p for m, p, h in web.requests] == ["/set.zip"]
    assert not any(k.lower() == "range" for m, p, h in web.requests for k in h)


def test_a_resume_asks_the_final_address_for_the_rest_of_the_same_file(web, settings):
    """A broken transfer resumes where the redirects led, with If-Range: a file that changed in between is
    sent whole instead of its tail being appended to the old head. A restart from nothing starts at the link."""
    import hashlib

    from pmd_tui.intake.download import Downloader

    data = make_zip(settings.data_dir.parent / "e.zip", kohya_set(2)).read_bytes()
    web.redirects["/share"] = "/set.zip"
    web.add_file("/set.zip", data, fail_after=[len(data) // 3])
    with Downloader(settings.data_dir / "dl", settings.limits) as dl:
        assert dl.fetch(web.url + "/share").read_bytes() == data
    etag = '"' + hashlib.sha1(data).hexdigest() + '"'
    sent = [(p, {k.lower(): v for k, v in h.items() if k.lower() in ("range", "if-range")}) for m, p, h in web.requests]
    assert sent == [("/share", {}), ("/set.zip", {}),
                    ("/set.zip", {"range": f"bytes={len(data) // 3}-", "if-range": etag})]
    web.requests.clear()
    web.add_file("/set.zip", data, fail_after=[0])
    with Downloader(settings.data_dir / "dl2", settings.limits) as dl:
        assert dl.fetch(web.url + "/share").read_bytes() == data
    assert [p for m, p, h in web.requests] == ["/share", "/set.zip", "/share", "/set.zip"]


def test_every_kind_of_redirect_is_followed_and_one_without_a_location_is_refused(web, settings):
    from pmd_tui.errors import NetworkError
    from pmd_tui.intake.download import Downloader

    data = make_zip(settings.data_dir.parent / "e.zip", kohya_set(1)).read_bytes()
    web.add_file("/end.zip", data)
    codes = (301, 302, 303, 307, 308)
    for code, after in zip(codes, codes[1:] + ("end",)):
        web.redirects[f"/r{code}"] = (code, f"/r{after}" if after != "end" else "/end.zip")
    web.redirects["/nowhere"] = (302, None)
    with Downloader(settings.data_dir / "dl", settings.limits) as dl:
        assert dl.fetch(web.url + "/r301").read_bytes() == data
        with pytest.raises(NetworkError, match=rf"^HTTP 302 without a Location for {web.url}/nowhere$"):
            dl.fetch(web.url + "/nowhere")
    assert [p for m, p, h in web.requests] == ["/r301", "/r302", "/r303", "/r307", "/r308", "/end.zip", "/nowhere"]


def test_a_complete_part_is_kept_only_while_the_server_says_it_is_complete(web, settings):
    """416 finishes a resume only when the part is whole by its record; a file that changed (If-Range answered
    with the whole new file) or shrank (416 for an incomplete part) never leaves the old bytes as the result."""
    import hashlib
    import json

    from pmd_tui.errors import NetworkError
    from pmd_tui.intake.download import Downloader

    def left_over(folder, url, data, total, etag):
        folder.mkdir(parents=True)
        part = folder / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}.part"
        part.write_bytes(data)
        part.with_suffix(".part.json").write_text(json.dumps(
            {"url": url, "final_url": url, "etag": etag, "total": total, "name": "set.zip"}))

    whole = b"whole" * 100
    url = web.add_file("/whole.zip", whole)
    left_over(settings.data_dir / "dl0", url, whole, len(whole), '"' + hashlib.sha1(whole).hexdigest() + '"')
    with Downloader(settings.data_dir / "dl0", settings.limits) as dl:
        assert dl.fetch(url).read_bytes() == whole  # 416: nothing more to send, the part is the file
    assert [h.get("Range") for m, p, h in web.requests] == [f"bytes={len(whole)}-"]
    new = b"new!" * 100
    url = web.add_file("/set.zip", new)
    left_over(settings.data_dir / "dl", url, b"old" * 100, 300, '"an older version"')
    with Downloader(settings.data_dir / "dl", settings.limits) as dl:
        assert dl.fetch(url).read_bytes() == new  # If-Range did not match: the whole new file came
    url = web.add_file("/shrunk.zip", b"s" * 50)
    left_over(settings.data_dir / "dl2", url, b"s" * 100, 200, '"' + hashlib.sha1(b"s" * 50).hexdigest() + '"')
    with Downloader(settings.data_dir / "dl2", settings.limits) as dl:
        with pytest.raises(NetworkError, match="^HTTP 416 for "):
            dl.fetch(url)


def test_error_statuses_and_web_pages_are_refused_not_saved_as_the_archive(web, settings):
    from pmd_tui.errors import NetworkError
    from pmd_tui.intake.download import Downloader

    web.add_file("/bad.zip", b"", status=400)
    pages = ("text/html", "Text/HTML; charset=utf-8", "application/xhtml+xml")
    for i, ctype in enumerate(pages):
        web.add_file(f"/page{i}.zip", b'<html><a href="/file.zip?confirm=t">a share page</a></html>', content_type=ctype)
    data = make_zip(settings.data_dir.parent / "e.zip", kohya_set(1)).read_bytes()
    web.add_file("/plain.zip", data, content_type=None)  # a server that does not say: taken as the file
    with Downloader(settings.data_dir / "dl", settings.limits) as dl:
        with pytest.raises(NetworkError, match=rf"^HTTP 400 for {web.url}/bad.zip: refused$"):
            dl.fetch(web.url + "/bad.zip")
        for i in range(len(pages)):
            with pytest.raises(NetworkError, match=rf"^{web.url}/page{i}.zip returned a web page, not a file: is it a "
                                                   r"share page rather than a download link, or not shared publicly\?$"):
                dl.fetch(f"{web.url}/page{i}.zip")
        assert dl.fetch(web.url + "/plain.zip").read_bytes() == data
    assert "/file.zip?confirm=t" not in [p for m, p, h in web.requests]  # a confirm link is Google Drive's only


def test_private_addresses_are_checked_at_connect(monkeypatch):
    from pmd_tui.intake.download import public_address

    monkeypatch.delenv("PMD_ALLOW_PRIVATE_URLS")
    with pytest.raises(InputError, match=r"^refusing 127\.0\.0\.1: it is a private or loopback address \(127\.0\.0\.1\); "
                                         "set PMD_ALLOW_PRIVATE_URLS=1 to allow it$"):
        public_address("127.0.0.1", 80)
    with pytest.raises(InputError, match=r"\(fe80::1\)"):
        public_address("fe80::1%1", 80)
    assert public_address("8.8.8.8", 80) == "8.8.8.8"


# -- intake: work folders left by a killed intake ---------------------------------------------------------
def test_stale_work_folders_are_swept_and_live_or_recent_ones_kept(tmp_path):
    import fcntl
    import os
    import time

    from pmd_tui.intake.service import STALE_UNLOCKED_S, sweep_stale

    root = tmp_path / "tmp"
    assert sweep_stale(root) == []  # no work folder yet
    root.mkdir()
    (root / "a.lock").symlink_to(root / "nowhere")  # a lock that cannot be opened is passed over
    for name in ("busy", "dead1", "dead2"):  # in this order: the sweep goes on past a live lock
        (root / name).mkdir()
        (root / name / "x.jpg").write_bytes(b"x")
        (root / f"{name}.lock").write_text("")
    (root / "dead3.lock").write_text("")  # killed before it made its folder
    fd = os.open(root / "busy.lock", os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a running intake holds its lock, however old its folder
    old, recent = time.time() - STALE_UNLOCKED_S - 5, time.time() - STALE_UNLOCKED_S + 60
    (root / "old").mkdir()  # folders without a lock (an older version's) go once they are old
    (root / "recent").mkdir()
    (root / "stray.txt").write_text("")
    for name, stamp in (("busy", old), ("busy.lock", old), ("stray.txt", old), ("old", old), ("recent", recent)):
        os.utime(root / name, (stamp, stamp))
    try:
        assert sweep_stale(root) == ["dead1", "dead2", "dead3", "old"]
    finally:
        os.close(fd)
    assert sorted(p.name for p in root.iterdir()) == ["a.lock", "busy", "busy.lock", "recent", "stray.txt"]


# -- decisions -----------------------------------------------------------------------------------------
def test_findings_older_than_an_edit_are_judged_again_before_approval(tmp_path, store, settings):
    """Checked clean, then the trigger word names an opted-out artist: approving re-runs the checks first."""
    from pmd_tui.checks.engine import run_checks
    from pmd_tui.decisions import approve
    from pmd_tui.intake.service import add_source

    settings = replace(settings, opt_out_artists=("Jane Q. Painter",))
    sid = add_source(store, settings, make_zip(tmp_path / "s.zip", kohya_set(2)), name="Ink style")
    store.update_fields(sid, {"concept_type": "object"}, actor="t")
    store.attest(sid, actor="t", likeness="not-a-likeness", artist_ok=True)
    run_checks(store, settings, [sid])
    store.update_fields(sid, {"trigger_words": "Jane Q. Painter style"}, actor="t")
    with pytest.raises(RuleError, match="consent.artist"):
        approve(store, settings, sid)
    assert store.get(sid)["status"] == "checked"


def test_approval_needs_checks_and_a_real_override_reason(tmp_path, store, settings):
    from pmd_tui.checks.engine import run_checks
    from pmd_tui.decisions import approve, reject
    from pmd_tui.errors import StateError
    from pmd_tui.intake.service import add_source

    sid = add_source(store, settings, make_zip(tmp_path / "s.zip", kohya_set(2)))
    with pytest.raises(StateError, match="has not been checked"):
        approve(store, settings, sid, override="x")
    run_checks(store, settings, [sid])
    with pytest.raises(RuleError):
        approve(store, settings, sid, override="   ")  # blank is no reason
    with pytest.raises(InputError, match="^a reason is required to reject a submission$"):
        reject(store, settings, sid, reason="  ")
    approve(store, settings, sid, override="consent given by mail")
    event = [e for e in store.events(sid) if e["action"] == "approved"][-1]["detail"]
    assert event["override_reason"] == "consent given by mail" and "consent.likeness" in event["overridden"]



def test_an_approval_names_what_blocks_it_and_records_why(tmp_path, store, settings):
    from pmd_tui.checks.model import finding
    from pmd_tui.decisions import approve
    from pmd_tui.intake.service import add_source

    sid = add_source(store, settings, make_zip(tmp_path / "s.zip", kohya_set(1)))
    pending = finding("consent.likeness", "pending", "attest the likeness")
    store.save_checks(sid, [pending, finding("format.layout", "pass", "ok")], actor="t")
    with pytest.raises(RuleError) as refused:
        approve(store, settings, sid)
    assert str(refused.value) == (f"cannot approve #{sid}: consent.likeness (pending); "
                                  "fix them, attest, or override with a reason")
    store.save_checks(sid, [pending, finding("format.missing-caption", "fail", "no caption")], actor="t")
    with pytest.raises(RuleError) as refused:
        approve(store, settings, sid)
    assert sorted(str(refused.value).split("; ")[0].split(": ")[1].split(", ")) == [
        "consent.likeness (pending)", "format.missing-caption (fail)"]
    assert str(refused.value).endswith("; fix them, caption them (g / pmd-tui caption), attest, or override with a reason")

    store.save_checks(sid, [pending], actor="t")
    approve(store, replace(settings, actor="maint"), sid, note="seen in person", override="consent by mail")
    event = store.events(sid)[-1]
    assert (event["action"], event["actor"]) == ("approved", "maint")
    assert event["detail"] == {"from": "checked", "to": "approved", "reason": "consent by mail",
                               "overridden": ["consent.likeness"], "overridden_status": {"consent.likeness": "pending"},
                               "overridden_messages": {"consent.likeness": "attest the likeness"},
                               "findings": {"consent.likeness": "pending"}, "revision": 0,
                               "override_reason": "consent by mail", "note": "seen in person"}

    store.save_checks(sid, [finding("format.layout", "pass", "ok")], actor="t")  # approved -> checked
    approve(store, settings, sid, note="fine as it is")
    assert store.events(sid)[-1]["detail"] == {"from": "checked", "to": "approved", "reason": "fine as it is",
                                               "note": "fine as it is", "findings": {}, "revision": 0}
    assert store.get(sid)["status_reason"] == "fine as it is"


def test_no_override_passes_a_folder_too_big_for_the_hub(tmp_path, store, settings):
    from pmd_tui.checks.model import finding
    from pmd_tui.decisions import approve
    from pmd_tui.intake.service import add_source

    sid = add_source(store, settings, make_zip(tmp_path / "s.zip", kohya_set(1)))
    store.save_checks(sid, [finding("consent.likeness", "pending", "attest"),
                            finding("format.folder-size", "fail", "the folder would hold 20,002 files")], actor="t")
    with pytest.raises(RuleError) as refused:
        approve(store, settings, sid, override="I know")
    assert str(refused.value) == f"cannot approve #{sid}: the folder would hold 20,002 files"
    assert store.get(sid)["status"] == "checked"


def test_an_edited_rejected_submission_is_not_approved_by_its_recheck(tmp_path, store, settings):
    """approve() re-runs stale checks only for a checked submission: re-running them for a rejected one
    would re-open it (rejected -> checked) and approve it in the same breath."""
    from pmd_tui.checks.model import finding
    from pmd_tui.decisions import approve, reject
    from pmd_tui.errors import StateError
    from pmd_tui.intake.service import add_source

    sid = add_source(store, settings, make_zip(tmp_path / "s.zip", kohya_set(1)))
    store.save_checks(sid, [finding("format.layout", "pass", "ok")], actor="t")
    reject(store, settings, sid, reason="blurry")
    store.update_fields(sid, {"concept_type": "object"}, actor="t")
    with pytest.raises(StateError, match=f"^submission {sid} is rejected$"):
        approve(store, settings, sid, override="x")
    assert store.get(sid)["status"] == "rejected"


def test_a_refused_transition_names_the_submission(tmp_path, store, settings):
    from pmd_tui.errors import StateError
    from pmd_tui.intake.service import add_source

    sid = add_source(store, settings, make_zip(tmp_path / "s.zip", kohya_set(1)))
    with pytest.raises(StateError) as refused:
        store.transition(sid, "published", actor="t", action="published")
    assert str(refused.value) == f"submission {sid} is new; it cannot become published (only approved submissions are published)"

# -- publishing --------------------------------------------------------------------------------------------
def test_republishing_an_unchanged_set_records_nothing(tmp_path, store, settings):
    from tests.test_publish import approved

    from pmd_tui.publish.service import publish

    sid = approved(store, settings, tmp_path)
    out = str(tmp_path / "out")
    [first] = publish(store, settings, [sid], to_dir=out)
    events, pubs = len(store.events(sid)), len(store.publications(sid))
    [again] = publish(store, settings, [sid], to_dir=out)
    assert (first.outcome, again.outcome) == ("published", "unchanged")
    assert len(store.events(sid)) == events and len(store.publications(sid)) == pubs


def test_only_approved_submissions_are_published(tmp_path, store, settings):
    from pmd_tui.errors import StateError
    from pmd_tui.intake.service import add_source
    from pmd_tui.publish.service import publish

    sid = add_source(store, settings, make_zip(tmp_path / "s.zip", kohya_set(1)))
    with pytest.raises(StateError, match="only approved submissions are published"):
        publish(store, settings, [sid], to_dir=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_folder_links_devices_and_deep_paths_are_refused_and_the_rest_copied(tmp_path):
    import os

    src = tmp_path / "src"
    (src / "real").mkdir(parents=True)
    (src / "real" / "a.jpg").write_bytes(b"a")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"s")
    (src / "linkdir1").symlink_to(outside, target_is_directory=True)
    (src / "linkdir2").symlink_to(outside, target_is_directory=True)
    (src / "l1.jpg").symlink_to(outside / "secret.jpg")
    (src / "l2.jpg").symlink_to(outside / "secret.jpg")
    os.mkfifo(src / "m1.fifo")
    os.mkfifo(src / "m2.fifo")
    deep = src.joinpath(*["d" * 200] * 6)
    deep.mkdir(parents=True)
    (deep / "x.jpg").write_bytes(b"x")
    (deep / "y.jpg").write_bytes(b"y")
    (src / "z.jpg").write_bytes(b"z")
    r = copy_folder(src, tmp_path / "out", Limits())
    deep_rel = "/".join(["d" * 200] * 6)
    assert _refused(r) == {"linkdir1": "symbolic link", "linkdir2": "symbolic link", "l1.jpg": "symbolic link",
                           "l2.jpg": "symbolic link", "m1.fifo": "device or special file",
                           "m2.fifo": "device or special file", deep_rel[:200]: "path longer than 1024 bytes"}
    assert sum(1 for x in r.refused if x.reason == "path longer than 1024 bytes") == 2
    assert sorted(r.files) == ["real/a.jpg", "z.jpg"]
    assert not list((tmp_path / "out").rglob("secret.jpg"))


def test_an_empty_folder_is_an_error_but_a_fully_refused_one_is_reported(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty: the folder is empty"):
        copy_folder(empty, tmp_path / "o1", Limits())
    links = tmp_path / "links"
    links.mkdir()
    (links / "l.jpg").symlink_to(tmp_path)
    r = copy_folder(links, tmp_path / "o2", Limits())
    assert r.files == [] and _refused(r) == {"l.jpg": "symbolic link"}


def test_a_rejection_records_who_why_and_what(tmp_path, store, settings):
    from pmd_tui.decisions import reject
    from pmd_tui.intake.service import add_source

    sid = add_source(store, settings, make_zip(tmp_path / "s.zip", kohya_set(1)))
    reject(store, replace(settings, actor="maint"), sid, reason="  blurry  ")
    event = store.events(sid)[-1]
    assert (event["action"], event["actor"], event["detail"].get("reason")) == ("rejected", "maint", "blurry")
    assert store.get(sid)["status"] == "rejected" and store.get(sid)["status_reason"] == "blurry"


@pytest.mark.parametrize("address", ["224.0.1.1", "[ff0e::1]", "[ff02::1]"])
def test_multicast_is_refused(address, monkeypatch):
    from pmd_tui.intake.download import check_url

    monkeypatch.delenv("PMD_ALLOW_PRIVATE_URLS")
    with pytest.raises(InputError, match="private or loopback"):
        check_url(f"http://{address}/x.zip")


def test_ipv6_forms_of_public_addresses_pass(monkeypatch):
    """NAT64 and 6to4 forms are judged by the IPv4 address inside: a public one passes."""
    from pmd_tui.intake.download import check_url

    monkeypatch.delenv("PMD_ALLOW_PRIVATE_URLS")
    for address in ("[64:ff9b::808:808]", "[2002:808:808::1]"):
        check_url(f"http://{address}/x.zip")


def test_republishing_a_changed_set_to_a_folder_swaps_it_in_and_leaves_nothing_hidden(tmp_path, store, settings):
    from tests.test_publish import approved

    from pmd_tui.publish.service import publish

    sid = approved(store, settings, tmp_path)
    out = tmp_path / "out"
    [first] = publish(store, settings, [sid], to_dir=str(out))
    folder = out / first.folder
    img = store.files(sid, "image")[0]
    store.set_caption(img["id"], "a new caption", actor="t")
    from pmd_tui.decisions import rejudge_after_edit

    rejudge_after_edit(store, settings, sid, actor="t", what="caption edit")  # what the edit services do
    [again] = publish(store, settings, [sid], to_dir=str(out))
    assert again.outcome == "published" and again.plan.update
    assert (folder / (img["name"].rsplit(".", 1)[0] + ".txt")).read_text() == "a new caption\n"
    assert sorted(p.name for p in out.iterdir()) == ["README.md", first.folder, "stats.json"]


def test_left_overs_of_a_publish_that_died_are_cleaned_or_rolled_back(tmp_path, store, settings):
    """Killed between writing and swapping: hidden .tmp copies are removed; a folder moved aside (.old)
    whose new version never arrived comes back."""
    from tests.test_publish import approved

    from pmd_tui.publish.service import publish

    out = tmp_path / "out"
    (out / ".half-set.0123abcd.tmp").mkdir(parents=True)
    (out / ".half-set.0123abcd.tmp" / "a.jpg").write_bytes(b"x")
    (out / ".stats.json.0123abcd.tmp").write_text("{}")
    (out / ".README.md.4567cdef.tmp").write_text("x")
    (out / ".earlier-set.0123abcd.old").mkdir()
    (out / ".earlier-set.0123abcd.old" / "keep.jpg").write_bytes(b"k")
    (out / ".v1.5 style.0123abcd.old").mkdir()  # a name with dots: only the last two parts are the rename's
    (out / ".v1.5 style.0123abcd.old" / "keep.jpg").write_bytes(b"v")
    (out / ".kept-set.89ab0123.old").mkdir()  # its folder is in place: the old copy goes
    (out / "kept-set").mkdir()
    (out / "notes.txt").write_text("mine")
    (out / ".hidden-but-mine").write_text("mine")
    sid = approved(store, settings, tmp_path)
    [r] = publish(store, settings, [sid], to_dir=str(out))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".hidden-but-mine", "README.md", "earlier-set", "kept-set", "notes.txt", r.folder, "stats.json", "v1.5 style"])
    assert (out / "earlier-set" / "keep.jpg").read_bytes() == b"k"
    assert (out / "v1.5 style" / "keep.jpg").read_bytes() == b"v"


def test_a_folder_target_reads_its_stats_json_strictly(tmp_path):
    from pmd_tui.errors import PmdError
    from pmd_tui.publish.local import FolderTarget

    target = FolderTarget(tmp_path / "t")
    assert target.remote_datasets() == {}  # nothing published there yet
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "stats.json").write_text('{"datasets": {"a": {"images": 3}}}')
    assert target.remote_datasets() == {"a": {"images": 3}}
    (tmp_path / "t" / "stats.json").write_text('{"generated_by": "someone"}')  # no datasets listed: none
    assert target.remote_datasets() == {}
    for bad in ('{"datasets": ["a"]}', "[1, 2]", "{not json"):
        (tmp_path / "t" / "stats.json").write_text(bad)
        with pytest.raises(PmdError, match=r"stats.json cannot be read \(.*\); fix it by hand before publishing, "
                                           r"or the card would lose the datasets it lists$"):
            target.remote_datasets()
    (tmp_path / "t" / "stats.json").write_text('{"datasets": ["a"]}')
    with pytest.raises(PmdError, match=r"cannot be read \('datasets' is not an object\)"):
        target.remote_datasets()


def test_a_folder_target_that_cannot_be_written_is_refused(tmp_path):
    from pmd_tui.errors import PmdError
    from pmd_tui.publish.local import FolderTarget

    (tmp_path / "file").write_text("x")
    with pytest.raises((PmdError, OSError)):
        FolderTarget(tmp_path / "file").check_access()
    FolderTarget(tmp_path / "a" / "b").check_access()  # missing parents are made
    assert (tmp_path / "a" / "b").is_dir()
