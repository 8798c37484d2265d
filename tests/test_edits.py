"""Changing a submission in place: excluded images, fixes on staged copies, bulk caption operations.

Every test works on real files taken in through the real intake; pixels are checked after each fix, and
the original upload's bytes are compared before and after.
"""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from pmd_tui import bulk_captions as bulk
from pmd_tui import fixes
from pmd_tui.checks.engine import run_checks
from pmd_tui.decisions import approve
from pmd_tui.errors import InputError, StateError
from pmd_tui.intake.service import add_source
from pmd_tui.publish.bundle import build_bundle
from pmd_tui.stats import queue_stats, submission_stats
from tests.helpers import image_bytes, kohya_set, make_zip

ORIENTATION = 0x0112


def halves(size=(96, 48), left=(220, 30, 30), right=(30, 30, 220)) -> Image.Image:
    """Left half one colour, right half another: where each half ends up shows a rotation."""
    w, h = size
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:, : w // 2] = left
    arr[:, w // 2 :] = right
    return Image.fromarray(arr, "RGB")


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def rotated_jpeg(orientation=6) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return encode(halves(), "JPEG", quality=95, exif=exif)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree_hashes(folder) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha(p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()}


def add(store, settings, tmp_path, entries, name="set") -> int:
    zpath = make_zip(tmp_path / f"{name}.zip", entries)
    return add_source(store, settings, zpath, name=name)


def staged_image(store, sid, name) -> Image.Image:
    path = store.staged_dir(store.get(sid)) / name
    with Image.open(path) as im:
        im.load()
        return im


def rule(store, sid, rule_id) -> dict:
    return next(c for c in store.checks(sid) if c["rule"] == rule_id)


# -- excluding images ----------------------------------------------------------------------------
def test_excluded_images_leave_checks_stats_and_publishing_and_come_back(store, settings, tmp_path):
    entries = kohya_set(4)
    entries["img00 copy.jpg"] = entries["img00.jpg"]
    entries["img00 copy.txt"] = "photo of ohwx dog again"
    sid = add(store, settings, tmp_path, entries)
    run_checks(store, settings, [sid])
    assert rule(store, sid, "images.duplicate")["status"] == "warn"

    out = fixes.set_excluded(store, settings, sid, ["img00 copy.jpg"], True, reason="duplicate of img00")
    assert out.changed == ["img00 copy.jpg"]
    # the check ran again: the finding that named the excluded image with its twin is gone
    assert rule(store, sid, "images.duplicate")["status"] == "pass"
    events = [e for e in store.events(sid) if e["action"] == "images-excluded"]
    assert events[-1]["actor"] == settings.actor
    assert events[-1]["detail"] == {"files": ["img00 copy.jpg"], "reason": "duplicate of img00"}
    # still staged, still listed, counted apart
    assert (store.staged_dir(store.get(sid)) / "img00 copy.jpg").exists()
    assert [f["excluded"] for f in store.files(sid, "image")].count(1) == 1
    assert submission_stats(store, sid)["images"] == 4 and submission_stats(store, sid)["excluded"] == 1
    qs = queue_stats(store)
    assert qs["images"] == 4 and qs["excluded_images"] == 1
    assert store.summaries()[0]["images"] == 4 and store.summaries()[0]["excluded"] == 1
    bundle = build_bundle(store, sid)
    assert "img00 copy.jpg" not in bundle.files and "img00 copy.txt" not in bundle.files
    assert "img00.jpg" in bundle.files
    assert all(json.loads(line)["file_name"] != "img00 copy.jpg"
               for line in bundle.files["metadata.jsonl"].decode().splitlines())

    # excluding again changes nothing; restoring brings the finding back
    assert fixes.set_excluded(store, settings, sid, ["img00 copy.jpg"], True).changed == []
    fixes.set_excluded(store, settings, sid, ["img00 copy.jpg"], False)
    assert rule(store, sid, "images.duplicate")["status"] == "warn"
    assert store.events(sid)[-2]["action"] == "images-restored" or store.events(sid)[-1]["action"] == "checked"
    with pytest.raises(InputError):
        fixes.set_excluded(store, settings, sid, ["nope.jpg"], True)


def test_a_finding_only_about_excluded_images_goes_away(store, settings, tmp_path):
    entries = kohya_set(3)
    entries["tiny.jpg"] = image_bytes(size=(200, 160), seed=9)
    entries["tiny.txt"] = "photo of ohwx dog, small"
    sid = add(store, settings, tmp_path, entries)
    run_checks(store, settings, [sid])
    assert rule(store, sid, "images.small")["files"] == ["tiny.jpg"]
    names = fixes.finding_images(store, sid, "images.small")
    fixes.set_excluded(store, settings, sid, names, True)
    assert rule(store, sid, "images.small")["status"] == "pass"


def test_exclude_and_restore_from_the_command_line(cli, store, settings, tmp_path):
    entries = kohya_set(3)
    entries["tiny.jpg"] = image_bytes(size=(200, 160), seed=9)
    sid = add(store, settings, tmp_path, entries)
    cli("check", sid)
    r = cli("exclude", sid, "--finding", "images.small", "--reason", "too small")
    assert r.exit_code == 0, r.output
    assert "excluded 1 image(s): tiny.jpg" in r.stderr
    shown = cli("show", sid, "--json")
    files = {f["name"]: f for f in json.loads(shown.stdout)["files"]}
    assert files["tiny.jpg"]["excluded"] is True and files["img00.jpg"]["excluded"] is False
    assert "[excluded]" in cli("show", sid).stdout
    r = cli("restore", sid, "tiny.jpg")
    assert r.exit_code == 0 and "restored 1 image(s)" in r.stderr
    assert cli("exclude", sid, "missing.jpg").exit_code == 2
    assert cli("restore", sid).exit_code == 2


# -- judged again after approval ------------------------------------------------------------------
def test_a_change_after_approval_is_judged_again(store, settings, tmp_path):
    entries = kohya_set(3)
    entries["broken.jpg"] = image_bytes(seed=7)[:3000]
    entries["broken.txt"] = "photo of ohwx dog, cut off"
    sid = add(store, settings, tmp_path, entries)
    fixes.set_excluded(store, settings, sid, ["broken.jpg"], True)  # new: nothing re-runs yet
    run_checks(store, settings, [sid])
    store.attest(sid, actor="t", likeness="not-a-likeness", artist_ok=True)
    approve(store, settings, sid)
    assert store.get(sid)["status"] == "approved"

    # a harmless change keeps the approval and leaves a fresh check behind
    out = fixes.set_excluded(store, settings, sid, ["img02.jpg"], True)
    assert out.message is None and store.get(sid)["status"] == "approved"
    # ... and the approval moves to the new revision (judged on it): publishable again
    assert [e["action"] for e in store.events(sid)[-2:]] == ["checked", "rejudged"]
    sub = store.get(sid)
    assert sub["approved_revision"] == sub["revision"] == sub["checked_revision"]

    # bringing back the corrupt image reopens it: the decision rests on the current state
    out = fixes.set_excluded(store, settings, sid, ["broken.jpg"], False)
    assert store.get(sid)["status"] == "checked"
    assert "images.corrupt" in out.message
    reopened = [e for e in store.events(sid) if e["action"] == "reopened"][-1]
    assert reopened["detail"]["blocking"] == ["images.corrupt"] and "restoring" in reopened["detail"]["what"]


def test_a_published_submission_changed_becomes_approved_again(store, settings, tmp_path):
    sid = add(store, settings, tmp_path, kohya_set(3))
    run_checks(store, settings, [sid])
    store.attest(sid, actor="t", likeness="not-a-likeness", artist_ok=True)
    approve(store, settings, sid)
    store.transition(sid, "published", actor="t", action="published")
    msg = bulk.apply(store, settings, bulk.plan(store, sid, "replace", find="dog", replace="puppy"))
    assert store.get(sid)["status"] == "approved"
    assert "approved again" in msg


# -- fixes on the staged copy ----------------------------------------------------------------------
def test_exif_orientation_is_applied_to_the_pixels_and_undone(store, settings, tmp_path):
    entries = kohya_set(2)
    entries["turned.jpg"] = rotated_jpeg(6)
    entries["turned.txt"] = "photo of ohwx dog, sideways"
    zpath = make_zip(tmp_path / "turned.zip", entries)
    upload_before = sha(zpath.read_bytes())
    sid = add_source(store, settings, zpath, name="turned")
    sub = store.get(sid)
    uploads_before = tree_hashes(store.upload_dir(sub))
    original = (store.staged_dir(sub) / "turned.jpg").read_bytes()
    run_checks(store, settings, [sid])
    assert rule(store, sid, "images.exif-rotation")["files"] == ["turned.jpg"]

    out = fixes.apply_fix(store, settings, sid, "orient")
    assert out.changed == ["turned.jpg"] and out.skipped == []
    im = staged_image(store, sid, "turned.jpg")
    # orientation 6: the stored 96x48 picture is shown turned 90 degrees clockwise, left half on top
    assert im.size == (48, 96) and im.format == "JPEG"
    assert im.getexif().get(ORIENTATION) in (None, 1)
    top, bottom = np.asarray(im)[10, 24].astype(int), np.asarray(im)[86, 24].astype(int)
    assert np.abs(top - (220, 30, 30)).max() < 12 and np.abs(bottom - (30, 30, 220)).max() < 12
    row = next(f for f in store.files(sid, "image") if f["name"] == "turned.jpg")
    assert (row["width"], row["height"]) == (48, 96) and row["sha256"] != sha(original)
    assert rule(store, sid, "images.exif-rotation")["status"] == "pass"  # checked again
    event = [e for e in store.events(sid) if e["action"] == "images-fixed"][-1]
    assert event["actor"] == settings.actor and event["detail"]["op"] == "orient"

    out = fixes.undo_fix(store, settings, sid)
    assert out.changed == ["turned.jpg"]
    assert (store.staged_dir(sub) / "turned.jpg").read_bytes() == original
    assert rule(store, sid, "images.exif-rotation")["status"] == "info"
    with pytest.raises(StateError):
        fixes.undo_fix(store, settings, sid)
    # the upload was never written
    assert sha(zpath.read_bytes()) == upload_before
    assert tree_hashes(store.upload_dir(sub)) == uploads_before


def test_cmyk_becomes_rgb_with_the_right_colours(store, settings, tmp_path):
    cmyk = np.zeros((40, 60, 4), np.uint8)
    cmyk[:, :30] = (255, 0, 0, 0)  # cyan
    cmyk[:, 30:] = (0, 255, 255, 0)  # magenta + yellow = red
    im = Image.fromarray(cmyk, "CMYK")
    entries = kohya_set(2)
    entries["print.tif"] = encode(im, "TIFF")
    entries["print.txt"] = "photo of ohwx dog, printed"
    sid = add(store, settings, tmp_path, entries)
    run_checks(store, settings, [sid])
    assert rule(store, sid, "images.cmyk")["files"] == ["print.tif"]
    fixes.apply_fix(store, settings, sid, "rgb")
    out = staged_image(store, sid, "print.tif")
    assert out.mode == "RGB" and out.format == "TIFF"
    arr = np.asarray(out)
    assert tuple(arr[5, 5]) == (0, 255, 255) and tuple(arr[5, 45]) == (255, 0, 0)
    assert rule(store, sid, "images.cmyk")["status"] == "pass"


def test_sixteen_bit_becomes_eight_bit_by_the_exact_scale(store, settings, tmp_path):
    values = np.array([[0, 257 * 100, 65535, 257 * 37]] * 8, dtype=np.uint16)
    im16 = Image.fromarray(np.tile(values, (1, 8)))
    assert im16.mode.startswith("I;16")
    entries = kohya_set(2)
    entries["deep.png"] = encode(im16, "PNG")
    entries["deep.txt"] = "photo of ohwx dog, deep"
    sid = add(store, settings, tmp_path, entries)
    run_checks(store, settings, [sid])
    assert rule(store, sid, "images.16bit")["files"] == ["deep.png"]
    fixes.apply_fix(store, settings, sid, "8bit")
    out = staged_image(store, sid, "deep.png")
    assert out.mode == "L"
    assert list(np.asarray(out)[0, :4]) == [0, 100, 255, 37]
    assert rule(store, sid, "images.16bit")["status"] == "pass"


def test_alpha_is_flattened_on_the_chosen_background_or_kept(store, settings, tmp_path):
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[:, :16] = (255, 0, 0, 128)  # half-transparent red
    rgba[:, 16:] = (0, 0, 255, 0)  # fully transparent
    entries = kohya_set(2)
    entries["cut.png"] = encode(Image.fromarray(rgba, "RGBA"), "PNG")
    entries["cut.txt"] = "photo of ohwx dog, cut out"
    sid = add(store, settings, tmp_path, entries)
    run_checks(store, settings, [sid])
    fixes.keep_as_is(store, settings, sid, "images.alpha")
    assert store.events(sid)[-1]["action"] == "fix-declined"
    assert store.events(sid)[-1]["detail"]["files"] == ["cut.png"]
    with pytest.raises(InputError):
        fixes.apply_fix(store, settings, sid, "flatten", background="mauve-ish")
    fixes.apply_fix(store, settings, sid, "flatten", background="#00ff00")
    arr = np.asarray(staged_image(store, sid, "cut.png"))
    assert arr.shape == (32, 32, 3)
    assert np.abs(arr[4, 4].astype(int) - (128, 127, 0)).max() <= 1  # red at 50% over green
    assert tuple(arr[4, 20]) == (0, 255, 0)
    assert rule(store, sid, "images.alpha")["status"] == "pass"


def test_first_frame_of_an_animation_becomes_a_png(store, settings, tmp_path):
    frames = [Image.new("RGB", (40, 30), c) for c in ((200, 0, 0), (0, 200, 0), (0, 0, 200))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    entries = kohya_set(2)
    entries["wave.gif"] = buf.getvalue()
    entries["wave.txt"] = "photo of ohwx dog waving"
    sid = add(store, settings, tmp_path, entries)
    run_checks(store, settings, [sid])
    assert rule(store, sid, "images.animated")["files"] == ["wave.gif"]
    out = fixes.apply_fix(store, settings, sid, "first-frame")
    assert out.changed == ["wave.gif -> wave.png"]
    staged = store.staged_dir(store.get(sid))
    assert not (staged / "wave.gif").exists()
    im = staged_image(store, sid, "wave.png")
    assert im.format == "PNG" and not getattr(im, "is_animated", False)
    assert np.abs(np.asarray(im.convert("RGB"))[10, 10].astype(int) - (200, 0, 0)).max() <= 4
    row = next(f for f in store.files(sid, "image") if f["name"] == "wave.png")
    assert row["caption"] == "photo of ohwx dog waving"  # the caption follows the image
    assert rule(store, sid, "images.animated")["status"] == "pass"
    assert "wave.png" in build_bundle(store, sid).files and "wave.txt" in build_bundle(store, sid).files
    fixes.undo_fix(store, settings, sid)
    assert (staged / "wave.gif").exists() and not (staged / "wave.png").exists()
    assert {f["name"] for f in store.files(sid, "image")} >= {"wave.gif"}


def test_unusual_format_converts_to_png_losslessly(store, settings, tmp_path):
    src = Image.open(io.BytesIO(image_bytes(size=(64, 48), fmt="PNG", seed=3))).convert("RGB")
    entries = kohya_set(2)
    entries["scan.bmp"] = encode(src, "BMP")
    entries["scan.txt"] = "photo of ohwx dog, scanned"
    sid = add(store, settings, tmp_path, entries)
    run_checks(store, settings, [sid])
    assert rule(store, sid, "images.unusual-format")["files"] == ["scan.bmp"]
    fixes.apply_fix(store, settings, sid, "png")
    im = staged_image(store, sid, "scan.png")
    assert im.format == "PNG" and np.array_equal(np.asarray(im.convert("RGB")), np.asarray(src))
    assert rule(store, sid, "images.unusual-format")["status"] == "pass"


def test_fix_from_the_command_line_with_undo(cli, store, settings, tmp_path):
    entries = kohya_set(2)
    entries["turned.jpg"] = rotated_jpeg(8)
    sid = add(store, settings, tmp_path, entries)
    cli("check", sid)
    r = cli("fix", sid, "--op", "orient")
    assert r.exit_code == 0 and "fixed 1 image(s): turned.jpg" in r.stderr
    assert staged_image(store, sid, "turned.jpg").size == (48, 96)
    r = cli("fix", sid, "img00.jpg", "--op", "orient")  # named explicitly, needs nothing
    assert "fixed 0 image(s); 1 needed nothing" in r.stderr
    assert cli("fix", sid, "--undo").exit_code == 0
    assert staged_image(store, sid, "turned.jpg").size == (96, 48)
    assert cli("fix", sid, "--undo").exit_code == 2
    assert cli("fix", sid).exit_code == 2


# -- bulk captions ------------------------------------------------------------------------------
def captions(store, sid) -> dict[str, str | None]:
    return {f["name"]: f["caption"] for f in store.files(sid, "image")}


def test_add_trigger_previews_then_applies_and_undoes(store, settings, tmp_path):
    entries = {f"p{i}.jpg": image_bytes(seed=i) for i in range(4)}
    entries.update({"p0.txt": "a dog on grass", "p1.txt": "ohwx dog at the beach", "p2.txt": "", "p3.txt": "tasks, dog"})
    entries["readme.txt"] = "Trigger word: ohwx\n"
    sid = add(store, settings, tmp_path, entries)
    before = captions(store, sid)
    p = bulk.plan(store, sid, "add-trigger")
    assert captions(store, sid) == before  # a preview writes nothing
    assert [(c.name, c.new) for c in p.changes] == [("p0.jpg", "ohwx, a dog on grass"), ("p2.jpg", "ohwx"),
                                                    ("p3.jpg", "ohwx, tasks, dog")]
    assert p.unchanged == 1 and "p0.jpg:" in p.lines()
    bulk.apply(store, settings, p)
    assert captions(store, sid)["p0.jpg"] == "ohwx, a dog on grass"
    assert store.file(p.changes[0].file_id)["caption_source"] == "submitted"  # provenance kept
    assert store.events(sid)[-1]["action"] == "captions-bulk"
    with pytest.raises(InputError):
        bulk.plan(store, sid, "replace", find="")
    suffix = bulk.plan(store, sid, "add-trigger", word="zzq", suffix=True)
    assert suffix.changes[0].new == "ohwx, a dog on grass, zzq"
    bulk.undo(store, settings, sid)
    assert captions(store, sid) == before
    with pytest.raises(StateError):
        bulk.undo(store, settings, sid)


def test_rename_trigger_covers_captions_readme_and_trigger_words(store, settings, tmp_path):
    entries = kohya_set(3, readme="Captioning method: manual\nTrigger word: ohwx\nShot by me.\n")
    entries["img02.txt"] = "photo of OHWX dog, ohwxdog is not it"
    sid = add(store, settings, tmp_path, entries)
    p = bulk.plan(store, sid, "rename-trigger", old="ohwx", new="rex_dog")
    assert {c.name: c.new for c in p.changes}["img02.jpg"] == "photo of rex_dog dog, ohwxdog is not it"
    assert p.fields["trigger_words"] == ("ohwx", "rex_dog")
    assert "Trigger word: rex_dog" in p.fields["readme_text"][1]
    bulk.apply(store, settings, p)
    sub = store.get(sid)
    assert sub["trigger_words"] == "rex_dog" and "rex_dog" in sub["readme_text"]
    assert all("ohwx " not in c for c in captions(store, sid).values())
    bulk.undo(store, settings, sid)
    sub = store.get(sid)
    assert sub["trigger_words"] == "ohwx" and "Trigger word: ohwx" in sub["readme_text"]
    assert captions(store, sid)["img02.jpg"] == "photo of OHWX dog, ohwxdog is not it"


def test_replace_normalise_and_remove_tag(store, settings, tmp_path):
    entries = {f"t{i}.png": image_bytes(seed=i, fmt="PNG", size=(600, 520)) for i in range(3)}
    entries.update({"t0.txt": "1girl,  red hair ,solo,, smile", "t1.txt": "1girl, blue  hair, solo",
                    "t2.txt": "landscape,\tsolo"})
    sid = add(store, settings, tmp_path, entries)
    bulk.apply(store, settings, bulk.plan(store, sid, "normalise"))
    assert captions(store, sid) == {"t0.png": "1girl, red hair, solo, smile", "t1.png": "1girl, blue hair, solo",
                                    "t2.png": "landscape, solo"}
    bulk.apply(store, settings, bulk.plan(store, sid, "remove-tag", tag="SOLO"))
    assert captions(store, sid)["t0.png"] == "1girl, red hair, smile" and captions(store, sid)["t2.png"] == "landscape"
    bulk.apply(store, settings, bulk.plan(store, sid, "replace", find=r"(\w+) hair", replace=r"hair: \1", regex=True))
    assert captions(store, sid)["t1.png"] == "1girl, hair: blue"
    p = bulk.plan(store, sid, "replace", find="1girl", replace="1woman")
    assert len(p.changes) == 2
    with pytest.raises(InputError):
        bulk.plan(store, sid, "replace", find="(", replace="x", regex=True)
    # a caption edited between the preview and applying it: the plan is refused
    store.set_caption(p.changes[0].file_id, "edited meanwhile", actor="t")
    with pytest.raises(StateError):
        bulk.apply(store, settings, p)
    # undo goes back one operation at a time, and not over a later edit
    with pytest.raises(StateError):
        bulk.undo(store, settings, sid)
    store.undo_caption(p.changes[0].file_id, actor="t")
    bulk.undo(store, settings, sid)  # the regex replace
    assert captions(store, sid)["t1.png"] == "1girl, blue hair"
    # excluded images are left alone
    fixes.set_excluded(store, settings, sid, ["t2.png"], True)
    assert [c.name for c in bulk.plan(store, sid, "replace", find="a", replace="A").changes] == ["t0.png", "t1.png"]


def test_captions_command_dry_run_then_apply_and_undo(cli, store, settings, tmp_path):
    entries = {f"p{i}.jpg": image_bytes(seed=i) for i in range(3)}
    entries.update({"p0.txt": "a dog", "p1.txt": "a dog\x1b[31m", "p2.txt": "ohwx dog"})
    sid = add(store, settings, tmp_path, entries)
    r = cli("captions", sid, "--add-trigger", "ohwx", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "  - a dog\n  + ohwx, a dog" in r.stdout and "\\x1b" in r.stdout and "\x1b" not in r.stdout
    assert "would change 2 caption(s)" in r.stderr and "1 unchanged" in r.stderr
    assert captions(store, sid)["p0.jpg"] == "a dog"
    assert cli("captions", sid, "--add-trigger", "--dry-run").exit_code == 2  # no trigger word known
    r = cli("captions", sid, "--replace", "dog", "cat")
    assert r.exit_code == 0 and "3 caption(s) changed" in r.stderr
    assert captions(store, sid)["p2.jpg"] == "ohwx cat"
    r = cli("captions", sid, "--rename-trigger", "ohwx", "sks", "--dry-run")
    assert "[trigger words]:" in r.stdout
    assert cli("captions", sid, "--replace", "(", "x", "--regex").exit_code == 2
    assert cli("captions", sid, "--normalise", "--remove-tag", "x").exit_code == 2
    assert cli("captions", sid, "--undo").exit_code == 0
    assert captions(store, sid)["p2.jpg"] == "ohwx dog"


# -- what leaves the queue ------------------------------------------------------------------------
def test_publishing_skips_excluded_images_and_writes_the_fixed_ones(cli, store, settings, tmp_path):
    entries = kohya_set(3)
    entries["turned.jpg"] = rotated_jpeg(6)
    entries["turned.txt"] = "photo of ohwx dog, sideways"
    sid = add(store, settings, tmp_path, entries)
    run_checks(store, settings, [sid])
    fixes.apply_fix(store, settings, sid, "orient")
    fixes.set_excluded(store, settings, sid, ["img01.jpg"], True, reason="blurry")
    store.attest(sid, actor="t", likeness="not-a-likeness", artist_ok=True)
    approve(store, settings, sid)
    out = tmp_path / "published"
    r = cli("publish", sid, "--to", out)
    assert r.exit_code == 0, r.output
    folder = next(p for p in out.iterdir() if p.is_dir())
    names = {p.name for p in folder.iterdir()}
    assert "img01.jpg" not in names and "img01.txt" not in names
    assert {"img00.jpg", "img02.jpg", "turned.jpg", "turned.txt"} <= names
    with Image.open(folder / "turned.jpg") as im:
        assert im.size == (48, 96) and im.getexif().get(ORIENTATION) in (None, 1)
    assert "img01.jpg" not in (folder / "metadata.jsonl").read_text()


def test_captioning_and_the_format_rule_leave_excluded_and_camera_files_alone(store, settings, tmp_path):
    from pmd_tui.captioning.service import pending

    base = Image.open(io.BytesIO(image_bytes(size=(640, 512), seed=5)))
    buf = io.BytesIO()
    base.save(buf, "MPO", save_all=True, append_images=[base.resize((160, 128))])  # a phone camera's JPEG
    entries = {"a.jpg": image_bytes(seed=1), "b.jpg": image_bytes(seed=2), "camera.jpg": buf.getvalue()}
    sid = add(store, settings, tmp_path, entries)
    run_checks(store, settings, [sid])
    assert rule(store, sid, "images.unusual-format")["status"] == "pass"
    assert rule(store, sid, "images.animated")["status"] == "pass"
    fixes.set_excluded(store, settings, sid, ["b.jpg"], True)
    assert [i.name for i in pending(store, [sid])] == ["a.jpg", "camera.jpg"]


def test_a_fix_that_would_take_another_files_name_changes_nothing(store, settings, tmp_path):
    frames = [Image.new("RGB", (40, 30), c) for c in ((200, 0, 0), (0, 200, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    entries = {"wave.gif": buf.getvalue(), "wave2.png": image_bytes(fmt="PNG", seed=1), "x.jpg": image_bytes(seed=2)}
    sid = add(store, settings, tmp_path, entries)
    staged = store.staged_dir(store.get(sid))
    (staged / "wave2.png").rename(staged / "wave.png")
    store.conn.execute("UPDATE files SET name = 'wave.png' WHERE name = 'wave2.png'")
    before = tree_hashes(staged)
    with pytest.raises(InputError, match="already has"):
        fixes.apply_fix(store, settings, sid, "first-frame", ["wave.gif"])
    assert tree_hashes(staged) == before
    assert not [e for e in store.events(sid) if e["action"] == "images-fixed"]
