"""Every guard in intake, downloads, decisions and publishing has a test that fails when that guard alone
is removed (checked with mutmut, see the README's reliability section). Guards that could not be reached
were removed instead: zipfile itself stops an entry at its declared size and checks its CRC, so the
streaming size/ratio checks only guard folders, where a file may grow while it is copied.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pmd_tui.config import Limits
from pmd_tui.errors import InputError, RuleError
from pmd_tui.intake.archive import copy_folder, safe_relpath, unpack_zip
from tests.helpers import image_bytes, kohya_set, make_zip


def _refused(result) -> dict[str, str]:
    return {r.path: r.reason for r in result.refused}


# -- zip extraction: each pre-check on the declared sizes ---------------------------------------------
def test_zip_entry_over_the_per_file_limit_is_refused(tmp_path):
    z = make_zip(tmp_path / "a.zip", {"small.jpg": b"x" * 100, "big.bin": b"y" * 5000})
    r = unpack_zip(z, tmp_path / "out", Limits(max_entry_bytes=1000))
    assert _refused(r) == {"big.bin": "declares 5000 bytes, over the per-file limit"}
    assert r.files == ["small.jpg"] and not (tmp_path / "out" / "big.bin").exists()


def test_zip_entries_past_the_total_are_refused(tmp_path):
    z = make_zip(tmp_path / "a.zip", {"a.bin": b"a" * 600, "b.bin": b"b" * 600, "c.bin": b"c" * 300})
    r = unpack_zip(z, tmp_path / "out", Limits(max_total_bytes=1000))
    assert r.files == ["a.bin", "c.bin"] and _refused(r) == {"b.bin": "unpacked total would exceed the limit"}


def test_zip_entry_ratio_is_judged_above_the_floor_only(tmp_path):
    entries = {"zeros.bin": b"\0" * 300_000, "caption.txt": "a" * 5000}  # both compress > 200:1
    r = unpack_zip(make_zip(tmp_path / "a.zip", entries), tmp_path / "out",
                   Limits(ratio_floor_bytes=100_000, max_ratio=200.0))
    assert list(_refused(r)) == ["zeros.bin"] and "zip bomb" in _refused(r)["zeros.bin"]
    assert r.files == ["caption.txt"]  # under the floor: never judged by its ratio
    exact = unpack_zip(make_zip(tmp_path / "b.zip", {"zeros.bin": b"\0" * 300_000}), tmp_path / "out2",
                       Limits(ratio_floor_bytes=300_000, max_ratio=200.0))
    assert exact.files == ["zeros.bin"]  # at the floor exactly: not judged either


def test_zip_total_ratio_refuses_the_archive_and_respects_floor_and_limit(tmp_path):
    entries = {f"{i}.bin": b"\0" * 20_000 for i in range(20)}  # each under the floor, 400 kB in all
    z = make_zip(tmp_path / "a.zip", entries)
    ratio = 400_000 / z.stat().st_size
    with pytest.raises(InputError, match="overall"):
        unpack_zip(z, tmp_path / "o1", Limits(ratio_floor_bytes=100_000, max_ratio=ratio - 1))
    assert len(unpack_zip(z, tmp_path / "o2", Limits(ratio_floor_bytes=100_000, max_ratio=ratio + 1)).files) == 20
    assert len(unpack_zip(z, tmp_path / "o3", Limits(ratio_floor_bytes=400_000, max_ratio=ratio - 1)).files) == 20


def test_zip_entry_count_limit(tmp_path):
    z = make_zip(tmp_path / "a.zip", {f"{i}.txt": "x" for i in range(5)})
    r = unpack_zip(z, tmp_path / "out", Limits(max_entries=3))
    assert r.files == ["0.txt", "1.txt", "2.txt"]
    assert _refused(r) == {"*": "archive has 5 entries, over the limit of 3; the rest were not unpacked"}
    assert len(unpack_zip(z, tmp_path / "out2", Limits(max_entries=5)).files) == 5


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


@pytest.mark.parametrize("name", ["/etc/passwd", "C:/x.txt", "a/../../x.txt", "..", "a\x00b", "", "./"])
def test_unsafe_names_have_no_relative_path(name):
    assert safe_relpath(name) is None


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
    for n, size in (("a.bin", 600), ("b.bin", 600), ("c.bin", 300)):
        (src / n).write_bytes(b"x" * size)
    r = copy_folder(src, tmp_path / "out", Limits(max_total_bytes=1000))
    assert r.files == ["a.bin", "c.bin"]
    assert _refused(r) == {"b.bin": "unpacked total would exceed the limit of 1000 bytes"}
    assert copy_folder(src, tmp_path / "out2", Limits(max_total_bytes=1500)).files == ["a.bin", "b.bin", "c.bin"]


def test_folder_entry_limit(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"{i}.txt").write_text("x")
    r = copy_folder(src, tmp_path / "out", Limits(max_entries=3))
    assert r.files == ["0.txt", "1.txt", "2.txt"]
    assert _refused(r) == {"3.txt": "over the limit of 3 files", "4.txt": "over the limit of 3 files"}
    assert len(copy_folder(src, tmp_path / "out2", Limits(max_entries=5)).files) == 5


def test_folder_junk_and_long_names(tmp_path):
    src = tmp_path / "src"
    (src / "__MACOSX").mkdir(parents=True)
    (src / "__MACOSX" / "x.jpg").write_bytes(b"x")
    (src / "a.jpg").write_bytes(b"a")
    r = copy_folder(src, tmp_path / "out", Limits())
    assert r.files == ["a.jpg"] and r.junk == ["__MACOSX/x.jpg"]


# -- downloads ---------------------------------------------------------------------------------------------
@pytest.fixture
def web():
    from tests.fakeweb import FakeWeb

    server = FakeWeb()
    server.server.handle_error = lambda *a: None
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


def test_private_addresses_are_checked_at_connect(monkeypatch):
    from pmd_tui.intake.download import public_address

    monkeypatch.delenv("PMD_ALLOW_PRIVATE_URLS")
    with pytest.raises(InputError, match="private or loopback"):
        public_address("127.0.0.1", 80)
    assert public_address("8.8.8.8", 80) == "8.8.8.8"


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
    with pytest.raises(InputError):
        reject(store, settings, sid, reason="  ")
    approve(store, settings, sid, override="consent given by mail")
    event = [e for e in store.events(sid) if e["action"] == "approved"][-1]["detail"]
    assert event["override_reason"] == "consent given by mail" and "consent.likeness" in event["overridden"]


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
