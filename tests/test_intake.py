"""Intake: safe unpacking and normalisation to the kohya layout, with real zips and images."""

import os
import zipfile

import pytest

from pmd_tui.config import Limits
from pmd_tui.errors import InputError
from pmd_tui.intake.service import add_source
from tests.helpers import add_device_entry, add_symlink_entry, image_bytes, kohya_set, make_zip, write_image


def _state(store):
    """Everything intake could leave behind: rows in every table and files in the data folder."""
    tables = {t: store.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("submissions", "files", "intake_notes", "events")}
    files = sorted(str(p.relative_to(store.data_dir)) for p in store.data_dir.rglob("*") if not p.is_dir())
    return tables, files


def test_zip_with_wrapper_and_repeat_folder_is_flattened(tmp_path, store, settings):
    entries = kohya_set(3, prefix="my set/img/10_ohwx dog/", readme=None)
    entries["my set/readme.txt"] = "Captions by BLIP.\nTrigger: ohwx\n"
    sid = add_source(store, settings, make_zip(tmp_path / "dog.zip", entries), issue=4, submitter="ann")
    sub = store.get(sid)
    assert (sub["repeats"], sub["concept"], sub["trigger_words"], sub["caption_method"]) == (10, "ohwx dog", "ohwx", "BLIP")
    assert sub["issue_number"] == 4 and sub["submitter"] == "ann" and sub["status"] == "new"
    images = store.files(sid, "image")
    assert [f["name"] for f in images] == ["img00.jpg", "img01.jpg", "img02.jpg"]
    assert images[0]["original_path"] == "my set/img/10_ohwx dog/img00.jpg"
    assert images[0]["caption"] == "photo of ohwx dog number 0" and images[0]["caption_source"] == "submitted"
    assert (images[0]["width"], images[0]["height"], images[0]["format"]) == (640, 512, "JPEG")
    staged = store.staged_dir(sub)
    assert sorted(p.name for p in staged.iterdir()) == [
        "img00.jpg", "img00.txt", "img01.jpg", "img01.txt", "img02.jpg", "img02.txt", "readme.txt"]
    notes = {(n["kind"], n["path"]) for n in store.notes(sid)}
    assert ("flattened", "img/10_ohwx dog") in notes and ("unwrapped", "my set") in notes
    # the original upload is kept untouched beside the staged copy
    assert (store.upload_dir(sub) / "dog.zip").read_bytes() == (tmp_path / "dog.zip").read_bytes()


def test_junk_is_dropped_and_not_reported(tmp_path, store, settings):
    entries = kohya_set(2)
    entries.update({"__MACOSX/._img00.jpg": b"\x00\x05", "._img01.jpg": b"x", ".DS_Store": b"x",
                    "Thumbs.db": b"x", "sub/desktop.ini": b"x"})
    sid = add_source(store, settings, make_zip(tmp_path / "j.zip", entries))
    kinds = {f["kind"] for f in store.files(sid)}
    assert kinds == {"image", "readme"}
    assert {n["path"] for n in store.notes(sid, "junk")} == {
        "__MACOSX/._img00.jpg", "._img01.jpg", ".DS_Store", "Thumbs.db", "sub/desktop.ini"}


@pytest.mark.parametrize("evil", ["../escape.txt", "a/../../escape.txt", "/etc/evil.txt", "C:/evil.txt",
                                  "..\\..\\evil.txt"])
def test_path_escapes_are_refused_and_never_written(tmp_path, store, settings, evil):
    entries = kohya_set(1)
    entries[evil] = "pwned"
    zpath = make_zip(tmp_path / "evil.zip", entries)
    sid = add_source(store, settings, zpath)
    refused = store.notes(sid, "refused")
    assert len(refused) == 1 and "escapes" in refused[0]["detail"]
    assert not any(p.name.endswith("evil.txt") or p.name == "escape.txt" for p in tmp_path.rglob("*")
                   if p != zpath)
    assert not os.path.exists("/etc/evil.txt")


def test_symlinks_and_devices_are_refused(tmp_path, store, settings):
    zpath = make_zip(tmp_path / "links.zip", kohya_set(1))
    add_symlink_entry(zpath, "passwd.jpg", "/etc/passwd")
    add_device_entry(zpath, "dev.jpg")
    sid = add_source(store, settings, zpath)
    reasons = {n["path"]: n["detail"] for n in store.notes(sid, "refused")}
    assert reasons == {"passwd.jpg": "symbolic link", "dev.jpg": "device or special file"}
    staged = store.staged_dir(store.get(sid))
    assert not (staged / "passwd.jpg").exists() and not any(p.is_symlink() for p in staged.iterdir())


def test_folder_with_symlink_is_copied_without_following_it(tmp_path, store, settings):
    folder = tmp_path / "set"
    write_image(folder / "a.jpg")
    (folder / "a.txt").write_text("a caption")
    (folder / "secret.jpg").symlink_to("/etc/passwd")
    sid = add_source(store, settings, folder)
    assert [f["name"] for f in store.files(sid, "image")] == ["a.jpg"]
    assert [n["path"] for n in store.notes(sid, "refused")] == ["secret.jpg"]
    assert (folder / "a.txt").read_text() == "a caption"  # the original is untouched


def test_zip_bomb_by_ratio_is_stopped(tmp_path, store, settings):
    entries = kohya_set(1)
    entries["bomb.bin"] = b"\0" * (30 * 1024 * 1024)  # 30 MiB of zeros compress ~1000:1
    sid = add_source(store, settings, make_zip(tmp_path / "bomb.zip", entries))
    refused = store.notes(sid, "refused")
    assert [n["path"] for n in refused] == ["bomb.bin"] and "zip bomb" in refused[0]["detail"]
    assert not any(p.name == "bomb.bin" for p in store.data_dir.rglob("*"))


def test_lying_header_is_caught_while_streaming(tmp_path, store, settings):
    """An entry whose header declares a small size but inflates to more is cut off mid-stream."""
    zpath = make_zip(tmp_path / "liar.zip", {**kohya_set(1), "big.bin": os.urandom(4096)},
                     compression=zipfile.ZIP_STORED)
    data = bytearray(zpath.read_bytes())
    # Patch the local and central-directory "uncompressed size" of big.bin to claim 100 bytes.
    with zipfile.ZipFile(zpath) as zf:
        local = zf.getinfo("big.bin").header_offset
    data[local + 22 : local + 26] = (100).to_bytes(4, "little")
    idx = 0
    while True:
        idx = data.find(b"PK\x01\x02", idx)
        if idx < 0:
            break
        nlen = int.from_bytes(data[idx + 28 : idx + 30], "little")
        if data[idx + 46 : idx + 46 + nlen] == b"big.bin":
            data[idx + 24 : idx + 28] = (100).to_bytes(4, "little")
        idx += 4
    zpath.write_bytes(bytes(data))
    sid = add_source(store, settings, zpath)
    reasons = {n["path"]: n["detail"] for n in store.notes(sid, "refused")}
    assert "big.bin" in reasons


def test_total_size_and_entry_count_limits(tmp_path, store, settings):
    from dataclasses import replace

    small = replace(settings, limits=Limits(max_entries=3, max_total_bytes=10**9))
    entries = kohya_set(4, captions=False, readme=None)
    sid = add_source(store, small, make_zip(tmp_path / "many.zip", entries))
    assert len(store.files(sid, "image")) == 3
    assert "over the limit" in store.notes(sid, "refused")[0]["detail"]

    tight = replace(settings, limits=Limits(max_total_bytes=len(entries["img00.jpg"]) + 10))
    sid = add_source(store, tight, make_zip(tmp_path / "big.zip", entries))
    assert len(store.files(sid, "image")) == 1
    assert all("total" in n["detail"] for n in store.notes(sid, "refused"))


@pytest.mark.parametrize("content,message", [
    (b"this is not a zip", "not a zip archive"),
    (b"PK\x03\x04broken", "not a zip archive"),
    (None, "the archive is empty"),
    ({"notes.txt": "hello", "data.csv": "a,b"}, "no images found"),
])
def test_bad_uploads_leave_the_queue_unchanged(tmp_path, store, settings, content, message):
    add_source(store, settings, make_zip(tmp_path / "ok.zip", kohya_set(1)))
    before = _state(store)
    path = tmp_path / "bad.zip"
    if content is None:
        make_zip(path, {})
    elif isinstance(content, dict):
        make_zip(path, content)
    else:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        add_source(store, settings, path)
    assert _state(store) == before


def test_failure_after_staging_rolls_back_files(tmp_path, store, settings, monkeypatch):
    before = _state(store)

    def boom(*a, **k):
        raise RuntimeError("database went away")

    monkeypatch.setattr(store, "add_submission", boom)
    with pytest.raises(RuntimeError):
        add_source(store, settings, make_zip(tmp_path / "x.zip", kohya_set(2)))
    assert _state(store) == before


def test_caption_pairing_encodings_and_odd_files(tmp_path, store, settings):
    entries = {
        "a.jpg": image_bytes(seed=1), "a.txt": "\ufeffBOM caption\r\n".encode("utf-8"),
        "b.JPG": image_bytes(seed=2), "B.txt": "caf\xe9 au lait".encode("cp1252"),
        "c.png": image_bytes(seed=3, fmt="PNG"), "c.caption": "kohya alt extension",
        "d.webp": image_bytes(seed=4, fmt="WEBP"), "d.txt": "txt wins", "d.cap": "wd14 tags",
        "e.jpg": image_bytes(seed=5), "e.png": image_bytes(seed=6, fmt="PNG"), "e.txt": "shared",
        "lonely.txt": "no image", "notes.pdf": b"%PDF", "README.md": "made with WD14 tagger",
    }
    sid = add_source(store, settings, make_zip(tmp_path / "odd.zip", entries))
    files = {f["name"]: f for f in store.files(sid)}
    assert files["a.jpg"]["caption"] == "BOM caption" and files["a.jpg"]["caption_encoding"] == "utf-8-bom"
    assert files["b.JPG"]["caption"] == "café au lait" and files["b.JPG"]["caption_encoding"] == "cp1252"
    assert files["c.png"]["caption"] == "kohya alt extension"
    assert files["d.webp"]["caption"] == "txt wins" and files["d.cap"]["kind"] == "extra-caption"
    assert {files["e.jpg"]["caption"], files["e.png"]["caption"]} == {"shared", None}
    assert files["lonely.txt"]["kind"] == "orphan-caption"
    assert files["notes.pdf"]["kind"] == "other"
    assert files["readme.txt"]["kind"] == "readme"
    assert store.get(sid)["caption_method"] == "WD14 tagger"


def test_same_name_in_two_folders_is_renamed_uniquely(tmp_path, store, settings):
    entries = {"x/1.jpg": image_bytes(seed=1), "x/1.txt": "one x", "y/1.jpg": image_bytes(seed=2), "y/1.txt": "one y"}
    sid = add_source(store, settings, make_zip(tmp_path / "two.zip", entries))
    files = {f["name"]: f for f in store.files(sid, "image")}
    assert files["1.jpg"]["caption"] == "one x"
    assert files["y_1.jpg"]["caption"] == "one y"
    staged = store.staged_dir(store.get(sid))
    assert (staged / "y_1.txt").read_text() == "one y\n"


def test_not_a_zip_or_folder_and_missing_path(tmp_path, store, settings):
    f = tmp_path / "photo.jpg"
    write_image(f)
    with pytest.raises(InputError, match="not a .zip file or a folder"):
        add_source(store, settings, f)
    with pytest.raises(InputError, match="no such file"):
        add_source(store, settings, tmp_path / "missing.zip")
