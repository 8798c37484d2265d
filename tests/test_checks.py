"""Every rule fires on a real file that breaks it and stays quiet on one that does not."""

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import skimage
from PIL import Image, ImageFilter

from pmd_tui.checks.engine import ALL_RULES, run_checks
from pmd_tui.intake.service import add_source
from pmd_tui.store import Status
from tests.helpers import image_bytes, kohya_set, make_zip

PHOTOS = Path(skimage.__file__).parent / "data"


def submit(store, settings, tmp_path, entries, name="s.zip", **kw):
    kw.setdefault("again", True)  # these tests submit the same generated images in variations on purpose
    sid = add_source(store, settings, make_zip(tmp_path / name, entries), **kw)
    findings = run_checks(store, settings, [sid])[sid]
    return sid, {f["rule"]: f for f in findings}


def enc(im: Image.Image, fmt="JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def photo(name="astronaut.png") -> Image.Image:
    return Image.open(PHOTOS / name).convert("RGB")


def test_clean_set_passes_everything_but_consent(tmp_path, store, settings):
    sid, r = submit(store, settings, tmp_path, kohya_set(3))
    assert set(r) == set(ALL_RULES)
    not_pass = {k: v["status"] for k, v in r.items() if v["status"] != "pass"}
    assert not_pass == {"consent.likeness": "pending", "consent.artist": "pending", "safety.nsfw": "info",
                        # who is in it is not known before the face models ran (check --models)
                        **{rule: "info" for rule in ("likeness.mixed-identity", "likeness.bystanders",
                                                     "likeness.no-face", "likeness.published-person")}}
    assert store.get(sid)["status"] == "checked"


def test_layout_rules_fire(tmp_path, store, settings):
    entries = {
        "img/5_zz cat/a.jpg": image_bytes(seed=1), "img/5_zz cat/a.txt": "zz cat",
        "img/5_zz cat/a.png": image_bytes(seed=2, fmt="PNG"),
        "img/5_zz cat/B.jpg": image_bytes(seed=3), "img/5_zz cat/B.txt": "zz cat",
        "other/b.jpg": image_bytes(seed=4), "other/b.txt": "zz cat b",
        "stray.txt": "no image here", "train.py": "print(1)",
        "readme.txt": "captions: manual\ntrigger: zz\n",
    }
    _, r = submit(store, settings, tmp_path, entries)
    assert r["format.nested-folders"]["status"] == "info"
    assert "img/5_zz cat/" in r["format.nested-folders"]["message"] and "repeats 5" in r["format.nested-folders"]["message"]
    assert r["format.missing-caption"]["status"] == "pending" and r["format.missing-caption"]["files"] == ["a.png"]
    assert r["format.orphan-caption"]["status"] == "warn" and r["format.orphan-caption"]["files"] == ["stray.txt"]
    assert r["format.name-collision"]["status"] == "fail"
    assert r["format.name-collision"]["files"] == ["B.jpg", "a.jpg", "a.png", "b.jpg"]
    assert r["format.unsupported-file"]["status"] == "warn" and r["format.unsupported-file"]["files"] == ["train.py"]
    assert r["archive.unsafe"]["status"] == "pass"


def test_no_captions_waits_for_captions_before_approval(tmp_path, store, settings, cli):
    """Rule 6 is a gate: uncaptioned images block approval until captioned or overridden with a reason."""
    sid, r = submit(store, settings, tmp_path, kohya_set(2, captions=False, readme=None))
    assert r["format.missing-caption"]["status"] == "pending" and "Florence-2" in r["format.missing-caption"]["message"]
    assert r["format.missing-caption"]["files"] == ["img00.jpg", "img01.jpg"]
    assert r["readme.missing"]["status"] == "pass" and r["readme.caption-method"]["status"] == "pass"
    res = cli("approve", sid)
    assert res.exit_code != 0 and "format.missing-caption (pending)" in res.stderr and "pmd-tui caption" in res.stderr
    assert store.get(sid)["status"] == "checked"
    # captioning one image still leaves the other waiting; captioning both clears the gate
    first, second = store.files(sid, "image")
    store.set_caption(first["id"], "a photo", actor="t", source="generated", detail="m <CAPTION>")
    assert cli("approve", sid).exit_code != 0
    assert next(c for c in store.checks(sid) if c["rule"] == "format.missing-caption")["files"] == ["img01.jpg"]
    store.set_caption(second["id"], "   ", actor="t")  # a blank caption is no caption
    assert cli("approve", sid).exit_code != 0
    res = cli("approve", sid, "--override", "publish the captioned one only")
    assert res.exit_code == 0, res.stderr
    assert "format.missing-caption" in store.events(sid)[-1]["detail"]["overridden"]


def test_unsafe_archive_is_a_fail(tmp_path, store, settings):
    _, r = submit(store, settings, tmp_path, {**kohya_set(1), "../x.txt": "x"})
    assert r["archive.unsafe"]["status"] == "fail" and "../x.txt" in r["archive.unsafe"]["message"]


def test_caption_and_readme_rules(tmp_path, store, settings):
    entries = kohya_set(4, readme=None)
    entries["img00.txt"] = "   "
    entries["img01.txt"] = "caf\xe9 photo".encode("cp1252")
    _, r = submit(store, settings, tmp_path, entries, name="a.zip")
    assert r["captions.empty"]["status"] == "warn" and r["captions.empty"]["files"] == ["img00.jpg"]
    assert r["captions.encoding"]["status"] == "warn" and r["captions.encoding"]["files"] == ["img01.jpg"]
    assert "cp1252" in r["captions.encoding"]["message"]
    assert r["readme.missing"]["status"] == "warn"
    assert r["readme.caption-method"]["status"] == "warn"
    assert r["readme.trigger-word"]["status"] == "warn"

    entries = kohya_set(4, readme="Made with BLIP-2. Trigger word: sks\n")
    entries["img00.txt"] = "\ufeffsks dog".encode()
    _, r = submit(store, settings, tmp_path, entries, name="b.zip")
    assert r["captions.encoding"]["status"] == "info"
    assert r["readme.caption-method"]["status"] == "pass" and "BLIP-2" in r["readme.caption-method"]["message"]
    assert r["readme.trigger-word"]["status"] == "warn" and "25%" in r["readme.trigger-word"]["message"]
    _, r = submit(store, settings, tmp_path, kohya_set(2), name="c.zip")
    assert r["readme.trigger-word"]["status"] == "pass" and r["captions.encoding"]["status"] == "pass"


def _bomb_png() -> bytes:
    raw = enc(Image.new("L", (1, 1)), "PNG")
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return raw[:8] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + raw[33:]


def test_corrupt_images_are_findings_not_crashes(tmp_path, store, settings):
    good = image_bytes(seed=1)
    entries = {
        "ok.jpg": good, "ok.txt": "ok",
        "empty.jpg": b"", "empty.txt": "x",
        "truncated.jpg": good[: len(good) // 2], "truncated.txt": "x",
        "garbage.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "garbage.txt": "x",
        "bomb.png": _bomb_png(), "bomb.txt": "x",
        "readme.txt": "captions: manual",
    }
    _, r = submit(store, settings, tmp_path, entries)
    f = r["images.corrupt"]
    assert f["status"] == "fail"
    assert f["files"] == ["bomb.png", "empty.jpg", "garbage.png", "truncated.jpg"]
    errors = f["data"]["errors"]
    assert "0 bytes" in errors["empty.jpg"] and "over the limit" in errors["bomb.png"]
    assert "100000x100000" in errors["bomb.png"]


def test_upscaled_small_and_duplicates(tmp_path, store, settings):
    p = photo()
    native = enc(p)
    up = enc(p.resize((1024, 1024), Image.BICUBIC), quality=90)
    near = enc(p.resize((500, 500), Image.LANCZOS), quality=70)
    tiny = enc(photo("coffee.png").resize((300, 200)))
    entries = {"native.jpg": native, "up.jpg": up, "copy.jpg": native, "near.jpg": near, "tiny.jpg": tiny,
               "chelsea.jpg": enc(photo("chelsea.png").resize((600, 400)))}
    _, r = submit(store, settings, tmp_path, entries)
    assert r["images.upscaled"]["status"] == "warn" and r["images.upscaled"]["files"] == ["up.jpg"]
    est = r["images.upscaled"]["data"]["estimates"]["up.jpg"]
    assert est["factor"] == 2.0 and est["native"] == [512, 512]
    assert "512x512" in r["images.upscaled"]["message"]
    assert r["images.small"]["files"] == ["chelsea.jpg", "near.jpg", "tiny.jpg"]
    assert r["images.duplicate"]["files"] == ["copy.jpg", "native.jpg"]
    near_files = r["images.near-duplicate"]["files"]
    assert "near.jpg" in near_files and "up.jpg" in near_files and "tiny.jpg" not in near_files


def test_metadata_infos_and_gps(tmp_path, store, settings):
    base = photo().resize((600, 600))
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = enc(base, exif=exif)
    gps_exif = Image.Exif()
    gps_exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    with_gps = enc(base, exif=gps_exif)
    cmyk = enc(base.convert("CMYK"))
    arr16 = (np.asarray(base.convert("L"), dtype=np.uint16) * 257)
    sixteen = enc(Image.fromarray(arr16), "PNG")
    alpha = enc(base.convert("RGBA"), "PNG")
    frames = [base, base.rotate(90)]
    anim = io.BytesIO()
    frames[0].save(anim, "GIF", save_all=True, append_images=frames[1:], duration=100)
    entries = {"rot.jpg": rotated, "gps.jpg": with_gps, "cmyk.jpg": cmyk, "deep.png": sixteen, "alpha.png": alpha,
               "anim.gif": anim.getvalue(), "plain.jpg": enc(photo("coffee.png").resize((600, 900)))}
    _, r = submit(store, settings, tmp_path, entries)
    assert r["images.exif-rotation"] == {**r["images.exif-rotation"], "status": "info", "files": ["rot.jpg"]}
    assert r["images.gps-metadata"]["status"] == "warn" and r["images.gps-metadata"]["files"] == ["gps.jpg"]
    assert r["images.cmyk"]["files"] == ["cmyk.jpg"] and r["images.cmyk"]["status"] == "info"
    assert r["images.16bit"]["files"] == ["deep.png"]
    assert r["images.alpha"]["files"] == ["alpha.png"]
    assert r["images.animated"]["files"] == ["anim.gif"]
    # none of these is mistaken for a defect
    assert r["images.corrupt"]["status"] == "pass"


def test_published_duplicate(tmp_path, store, settings):
    sid, _ = submit(store, settings, tmp_path, kohya_set(2), name="first.zip")
    store.attest(sid, actor="t", likeness="not-a-likeness", artist_ok=True)
    store.transition(sid, Status.APPROVED, actor="t", action="approved")
    store.transition(sid, Status.PUBLISHED, actor="t", action="published")
    entries = kohya_set(1, seed=0)
    entries["fresh.jpg"] = image_bytes(seed=77)
    _, r = submit(store, settings, tmp_path, entries, name="second.zip")
    f = r["images.published-duplicate"]
    assert f["status"] == "warn" and f["files"] == ["img00.jpg"]
    assert f["data"]["matches"]["img00.jpg"] == "first/img00.jpg"


def test_consent_attestations(tmp_path, store, settings):
    sid, r = submit(store, settings, tmp_path, kohya_set(1))
    assert r["consent.likeness"]["status"] == "pending" and r["consent.artist"]["status"] == "pending"
    store.attest(sid, actor="t", likeness="public-figure")
    r = {f["rule"]: f for f in run_checks(store, settings, [sid])[sid]}
    assert r["consent.likeness"]["status"] == "pass" and "public figure" in r["consent.likeness"]["message"]
    assert r["consent.artist"]["status"] == "pending"
    store.update_fields(sid, {"concept_type": "person"}, actor="t")
    r = {f["rule"]: f for f in run_checks(store, settings, [sid])[sid]}
    assert r["consent.artist"]["status"] == "pass"


def test_analysis_is_cached_by_content_hash(tmp_path, store, settings, monkeypatch):
    sid, _ = submit(store, settings, tmp_path, kohya_set(3))
    import pmd_tui.checks.engine as engine

    calls = []
    monkeypatch.setattr(engine, "analyse_many", lambda paths, *a, **k: calls.append(list(paths)) or [])
    run_checks(store, settings, [sid])
    assert calls == []


def test_check_cli_json_report_and_exit_codes(tmp_path, cli):
    ok = make_zip(tmp_path / "ok.zip", kohya_set(2))
    bad = make_zip(tmp_path / "bad.zip", {**kohya_set(1, seed=5), "broken.jpg": b"\xff\xd8\xff junk"})
    cli("add", ok)
    cli("add", bad)
    r = cli("check", "1", "--json")
    assert r.exit_code == 0
    r = cli("check", "--all", "--json")
    assert r.exit_code == 1
    lines = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert [d["submission"]["id"] for d in lines] == [1, 2]
    for d in lines:
        assert set(d) == {"submission", "checks"}
        assert {"id", "name", "status"} <= set(d["submission"])
        assert [c["rule"] for c in d["checks"]] == list(ALL_RULES)
        for c in d["checks"]:
            assert {"rule", "status", "message", "files"} <= set(c) <= {"rule", "status", "message", "files", "data"}
            assert c["status"] in ("pass", "info", "warn", "fail", "pending")
            assert isinstance(c["message"], str) and c["message"]
            assert all(isinstance(x, str) for x in c["files"])
    bad_corrupt = next(c for c in lines[1]["checks"] if c["rule"] == "images.corrupt")
    assert bad_corrupt["status"] == "fail" and bad_corrupt["files"] == ["broken.jpg"]
    assert set(bad_corrupt["data"]["errors"]) == {"broken.jpg"}  # every image's reason, not only the first
    r = cli("check", "99")
    assert r.exit_code == 2 and "no submission with id 99" in r.stderr
    r = cli("check")
    assert r.exit_code == 1  # human-readable output, same verdicts
    assert "FAIL images.corrupt" in r.stdout


def test_approve_and_reject_cli(tmp_path, cli):
    cli("add", make_zip(tmp_path / "ok.zip", kohya_set(2)))
    r = cli("approve", "1")
    assert r.exit_code == 2 and "not been checked" in r.stderr
    cli("check", "1")
    r = cli("approve", "1")
    assert r.exit_code == 2 and "consent.likeness (pending)" in r.stderr
    r = cli("attest", "1", "--likeness", "self", "--artist-ok")
    assert r.exit_code == 0
    r = cli("approve", "1", "--note", "lovely")
    assert r.exit_code == 0, r.stderr
    r = cli("reject", "1", "--reason", "  ")
    assert r.exit_code == 2 and "reason is required" in r.stderr
    r = cli("reject", "1", "--reason", "duplicate of #3")
    assert r.exit_code == 0
    log = json.loads(cli("log", "1", "--json").stdout)
    assert log[-1]["action"] == "rejected" and log[-1]["detail"]["reason"] == "duplicate of #3"
    approved = next(e for e in log if e["action"] == "approved")
    assert approved["detail"]["note"] == "lovely"


def test_override_needs_a_reason(tmp_path, cli):
    cli("add", make_zip(tmp_path / "bad.zip", {**kohya_set(1), "../x": "x"}))
    cli("check", "1")
    cli("attest", "1", "--likeness", "self", "--artist-ok")
    r = cli("approve", "1")
    assert r.exit_code == 2 and "archive.unsafe (fail)" in r.stderr
    r = cli("approve", "1", "--override", "the refused entry was a stray file")
    assert r.exit_code == 0
    log = json.loads(cli("log", "1", "--json").stdout)
    assert log[-1]["detail"]["overridden"] == ["archive.unsafe"]


def test_kohya_folder_token_counts_as_a_stated_trigger(tmp_path, store, settings):
    entries = {f"img/10_darius kawasaki person/{i}.jpg": image_bytes(seed=i) for i in range(3)}
    entries.update({f"img/10_darius kawasaki person/{i}.txt": "a painting of a tree, darius kawasaki" for i in range(3)})
    sid, r = submit(store, settings, tmp_path, entries)
    assert r["readme.trigger-word"]["status"] == "info"
    assert "'darius kawasaki' appears in 100% of captions" in r["readme.trigger-word"]["message"]
    entries = {k: (v if k.endswith(".jpg") else "a painting of a tree") for k, v in entries.items()}
    (tmp_path / "b").mkdir()
    sid, r = submit(store, settings, tmp_path / "b", entries)
    assert r["readme.trigger-word"]["status"] == "warn"


def test_licence_and_attribution_files_are_kept_and_reported(tmp_path, store, settings, cli):
    entries = {**kohya_set(2), "LICENSE": "CC-BY 4.0\n", "images.md": "img00: by A (CC0)\n",
               "prompts.txt": "a photo of ohwx dog\n", "references/sources.txt": "https://example.org\n",
               "notes.docx": b"PK not a doc"}
    sid, r = submit(store, settings, tmp_path, entries)
    f = r["format.attribution-files"]
    assert f["status"] == "info" and f["files"] == ["LICENSE", "images.md", "prompts.txt", "sources.txt"]
    assert r["format.unsupported-file"]["files"] == ["notes.docx"]  # only that one is not published
    assert r["format.orphan-caption"]["status"] == "pass"  # prompts.txt is not a stray caption
    staged = store.staged_dir(store.get(sid))
    assert (staged / "images.md").read_text() == "img00: by A (CC0)\n"
    out = cli("show", sid).stdout
    assert "LICENSE  attribution" in out and "images.md  attribution" in out


def test_a_folder_over_the_hubs_limit_cannot_be_approved(tmp_path, store, settings, monkeypatch):
    from pmd_tui.checks.rules import layout
    from pmd_tui.decisions import approve
    from pmd_tui.errors import RuleError

    monkeypatch.setattr(layout, "MAX_FOLDER_FILES", 5)  # 2 images: 2 + 2 captions + readme + metadata = 6
    sid, r = submit(store, settings, tmp_path, kohya_set(2))
    assert r["format.folder-size"]["status"] == "fail" and "6 files" in r["format.folder-size"]["message"]
    with pytest.raises(RuleError, match="split the dataset"):
        approve(store, settings, sid, override="please")
    assert store.get(sid)["status"] == "checked"


def test_quality_rules_fire_with_their_measured_figures(tmp_path, store, settings):
    p = photo("coffee.png")  # 600x400, sharp
    arr = np.asarray(p, dtype=np.float32)
    flat = np.full((400, 600, 3), 120, np.float32) + np.random.default_rng(0).normal(0, 1.5, (400, 600, 3))
    background = p.filter(ImageFilter.GaussianBlur(6))
    background.paste(p.crop((250, 120, 380, 250)), (250, 120))  # sharp subject, blurred background
    entries = {
        "sharp.jpg": enc(p, quality=92),
        "blurred.jpg": enc(p.filter(ImageFilter.GaussianBlur(4)), quality=92),
        "bokeh.jpg": enc(background, quality=92),
        "dark.jpg": enc(Image.fromarray((arr * 0.12).astype(np.uint8)), quality=92),
        "bright.jpg": enc(Image.fromarray((arr * 0.12 + 222).astype(np.uint8)), quality=92),
        "flat.png": enc(Image.fromarray(np.clip(flat, 0, 255).astype(np.uint8)), "PNG"),
        "grey-rgb.jpg": enc(p.convert("L").convert("RGB"), quality=92),
        "grey-l.png": enc(p.convert("L"), "PNG"),
        "wide.jpg": enc(photo("motorcycle_left.png").crop((0, 150, 741, 400)).resize((900, 300)), quality=92),
    }
    _, r = submit(store, settings, tmp_path, entries)
    assert r["images.blurry"]["status"] == "warn" and r["images.blurry"]["files"] == ["blurred.jpg"]
    assert "edge strength" in r["images.blurry"]["message"] and "under 0.25" in r["images.blurry"]["message"]
    assert r["images.dark"]["status"] == "info" and r["images.dark"]["files"] == ["dark.jpg"]
    assert "40/255" in r["images.dark"]["message"]
    assert r["images.bright"]["status"] == "info" and r["images.bright"]["files"] == ["bright.jpg"]
    assert r["images.low-information"]["status"] == "warn" and r["images.low-information"]["files"] == ["flat.png"]
    assert "grey levels" in r["images.low-information"]["message"]
    assert r["images.grayscale"]["status"] == "info"
    assert r["images.grayscale"]["files"] == ["grey-l.png", "grey-rgb.jpg"]
    assert r["images.odd-aspect-ratio"]["files"] == ["wide.jpg"] and "3.00:1" in r["images.odd-aspect-ratio"]["message"]
    measured = r["images.blurry"]["data"]["measured"]
    assert set(measured) == {"blurred.jpg"} and measured["blurred.jpg"].startswith("edge strength")


def test_quality_rules_stay_quiet_on_ordinary_photos(tmp_path, store, settings):
    names = ["astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg"]
    entries = {n.rsplit(".", 1)[0] + ".jpg": enc(photo(n), quality=90) for n in names}
    _, r = submit(store, settings, tmp_path, entries)
    for rule in ("images.blurry", "images.dark", "images.bright", "images.low-information", "images.grayscale",
                 "images.odd-aspect-ratio", "images.upscaled"):
        assert r[rule]["status"] == "pass", r[rule]


def test_queue_duplicate_names_the_other_submission(tmp_path, store, settings):
    first, _ = submit(store, settings, tmp_path, kohya_set(2), name="first.zip")
    rejected, _ = submit(store, settings, tmp_path, {"other.jpg": image_bytes(seed=50)}, name="rejected.zip")
    store.transition(rejected, Status.REJECTED, actor="t", action="rejected")
    entries = {"mine.jpg": image_bytes(seed=1), "again.jpg": image_bytes(seed=50), "fresh.jpg": image_bytes(seed=99)}
    second, r = submit(store, settings, tmp_path, entries, name="second.zip")
    f = r["images.queue-duplicate"]
    assert f["status"] == "warn" and f["files"] == ["mine.jpg"]  # the rejected one does not count
    assert f"#{first} first" in f["message"] and "img01.jpg" in f["message"]
    assert f["data"]["submissions"] == [first]
    # the first submission now sees the second one, also once it is approved
    store.attest(first, actor="t", likeness="not-a-likeness", artist_ok=True)
    r1 = {x["rule"]: x for x in run_checks(store, settings, [first])[first]}
    assert r1["images.queue-duplicate"]["files"] == ["img01.jpg"] and f"#{second}" in r1["images.queue-duplicate"]["message"]
    store.transition(second, Status.APPROVED, actor="t", action="approved")
    r1 = {x["rule"]: x for x in run_checks(store, settings, [first])[first]}
    assert r1["images.queue-duplicate"]["status"] == "warn"
    store.transition(second, Status.PUBLISHED, actor="t", action="published")
    r1 = {x["rule"]: x for x in run_checks(store, settings, [first])[first]}
    assert r1["images.queue-duplicate"]["status"] == "pass"
    assert r1["images.published-duplicate"]["status"] == "warn"


def _png(arr) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def test_flat_images_are_no_perceptual_copies_of_each_other(tmp_path, store, settings):
    # a flat image's perceptual hash is decided by rounding noise: a 1x1 black dot, a black strip and a grey
    # square with a little noise all hash alike, yet none is a copy of another
    rng = np.random.default_rng(0)
    grey = (128 + rng.integers(-1, 2, (256, 256))).astype(np.uint8)
    first, _ = submit(store, settings, tmp_path, {"grey.png": _png(grey), "pic.jpg": image_bytes(seed=3)},
                      name="first.zip")
    entries = {"dot.png": _png(np.zeros((1, 1), np.uint8)), "strip.png": _png(np.zeros((3, 2000), np.uint8)),
               "dot-again.png": _png(np.zeros((1, 1), np.uint8)), "white.png": _png(np.full((300, 200), 255, np.uint8))}
    _, r = submit(store, settings, tmp_path, entries, name="second.zip")
    assert r["images.queue-duplicate"]["status"] == "pass", r["images.queue-duplicate"]
    assert r["images.near-duplicate"]["status"] == "pass", r["images.near-duplicate"]
    assert sorted(r["images.duplicate"]["files"]) == ["dot-again.png", "dot.png"]  # identical bytes still are


def test_a_set_with_no_image_to_hash_is_checked_not_crashed(tmp_path, store, settings):
    # no perceptual hash at all (every image undecodable): the near-duplicate index is empty, not an error
    _, r = submit(store, settings, tmp_path, {"broken.jpg": b"\xff\xd8 not a jpeg", "empty.png": b""})
    assert r["images.corrupt"]["status"] == "fail" and r["images.near-duplicate"]["status"] == "pass"
    errors = r["images.corrupt"]["data"]["errors"]
    assert set(errors) == {"broken.jpg", "empty.png"} and errors["empty.png"] == "empty file (0 bytes)"
    # Pillow's message names the staged copy's path, which means nothing to the maintainer
    assert errors["broken.jpg"].startswith("cannot decode") and "/" not in errors["broken.jpg"], errors


def test_caption_lint_rules(tmp_path, store, settings, cli):
    from dataclasses import replace

    entries = {"readme.txt": "Captioning method: manual\nTrigger word: ohwx\n"}
    captions = ["photo of ohwx dog on the grass", "a dog on a sofa",  # the second lacks the trigger word
                "ohwx, a dog", "OHWX, a dog.", "ohwx, a dog",  # three images share one caption
                "photo of ohwxdog " + " ".join(["word"] * 60)]  # too long, and ohwxdog is not the trigger word
    for i, c in enumerate(captions):
        entries[f"img{i}.jpg"] = image_bytes(seed=i)
        entries[f"img{i}.txt"] = c
    sid, r = submit(store, settings, tmp_path, entries)
    missing = r["captions.trigger-missing"]
    assert missing["status"] == "warn" and missing["files"] == ["img1.jpg", "img5.jpg"]
    assert "2 captions of 6 without the trigger word 'ohwx': img1.jpg, img5.jpg" in missing["message"]
    dup = r["captions.duplicate"]
    assert dup["status"] == "warn" and dup["files"] == ["img2.jpg", "img3.jpg", "img4.jpg"]
    assert dup["message"].startswith("3 of 6 images have the same caption 'ohwx, a dog'")
    long = r["captions.too-long"]
    assert long["status"] == "warn" and long["files"] == ["img5.jpg"] and "over 55 words (longest 63" in long["message"]
    # the word budget comes from the config
    loose = replace(settings, caption_max_words=80)
    assert {f["rule"]: f for f in run_checks(store, loose, [sid])[sid]}["captions.too-long"]["status"] == "pass"
    # check --json carries them with their stable ids
    out = json.loads(cli("check", sid, "--json").stdout)
    rules = {c["rule"]: c for c in out[0]["checks"]} if isinstance(out, list) else {c["rule"]: c for c in out["checks"]}
    assert {"captions.trigger-missing", "captions.duplicate", "captions.too-long"} <= set(rules)
    assert rules["captions.duplicate"]["files"] == ["img2.jpg", "img3.jpg", "img4.jpg"]


def test_every_rule_is_in_the_readme_table():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme[readme.index("| rule id | level |"):]
    assert [r for r in ALL_RULES if f"`{r}`" not in table] == []
