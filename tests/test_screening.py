"""SFW screening, face detection and the consent rules, with tiny models built in the test suite."""

from __future__ import annotations

import io
import json
import re

import pytest

from tests.helpers import make_zip
from tests.tiny_florence import colour_image
from tests.tiny_screening import face_photo


@pytest.fixture(autouse=True)
def fresh_models():
    from pmd_tui.screening import faces, nsfw

    nsfw.forget_loaded()
    faces.forget_loaded()
    yield


def png(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def add(cli, tmp_path, entries, name="set", readme="Trigger word: zz\nCaptioning method: hand written\n"):
    entries = dict(entries)
    if readme:
        entries["readme.txt"] = readme
    for k in list(entries):
        if k.endswith(".png"):
            entries[k[:-4] + ".txt"] = entries.get(k[:-4] + ".txt", "zz, a photo")
    r = cli("add", make_zip(tmp_path / f"{name}.zip", entries), "--name", name, "--again")  # variations of one set
    assert r.exit_code == 0, r.stderr
    return int(r.stdout.split()[-1])


def findings(cli, sid, *extra):
    r = cli("check", sid, "--json", *extra)
    assert r.exit_code in (0, 1), r.stderr
    return {f["rule"]: f for f in json.loads(r.stdout.splitlines()[-1])["checks"]}


def test_models_flag_screens_and_the_rules_use_the_results(screening_config, tmp_path, cli, store):
    big = (640, 576)
    sid = add(cli, tmp_path, {"red.png": png(colour_image("red", size=big, seed=1)),
                              "blue.png": png(colour_image("blue", size=big, seed=2)),
                              "green.png": png(colour_image("green", size=big, seed=3))})
    before = findings(cli, sid)
    assert before["safety.nsfw"]["status"] == "info" and "not screened yet" in before["safety.nsfw"]["message"]
    after = findings(cli, sid, "--models")
    nsfw = after["safety.nsfw"]
    assert nsfw["status"] == "warn" and nsfw["files"] == ["red.png"] and re.search(r"red.png \((0.9\d|1.00)\)", nsfw["message"])
    assert after["consent.likeness"]["status"] == "pending"
    assert "faces in 1 of 3 images" in after["consent.likeness"]["message"]  # the red one, to the tiny detector
    # cached by content hash: a second screening runs no model
    from pmd_tui.config import load_settings
    from pmd_tui.screening.service import screen

    report = screen(store, load_settings(), [sid])
    assert report.screened == 0 and report.cached == 9  # 3 images x (SFW, faces, identities)


def test_faces_in_most_images_make_it_a_likeness_dataset(screening_config, tmp_path, cli, store):
    photos = {f"p{i}.png": png(face_photo(1 if i < 3 else 0, size=(640, 512), seed=i)) for i in range(4)}
    sid = add(cli, tmp_path, photos, readme="Concept: object (my mug)\nTrigger word: zz\nCaptioning method: manual\n")
    assert store.get(sid)["concept_type"] == "object"
    r = findings(cli, sid, "--models")
    like = r["consent.likeness"]
    assert like["status"] == "pending" and like["message"].startswith("faces in 3 of 4 images: treated as a likeness")
    counts = {f["name"]: f for f in store.files(sid, "image")}
    from pmd_tui.config import load_settings
    from pmd_tui.screening.service import results_for

    seen = results_for(store, load_settings(), list(counts.values()))
    assert seen["p0.png"]["faces"]["faces"] >= 1 and seen["p3.png"]["faces"]["faces"] == 0
    assert cli("attest", sid, "--likeness", "self").exit_code == 0
    r = findings(cli, sid)
    assert r["consent.likeness"]["status"] == "pass" and "faces in 3 of 4" in r["consent.likeness"]["message"]


def test_opt_out_list_fails_a_named_artist(screening_config, tmp_path, cli):
    screening_config.write_text("# artists who asked not to be trained on\nGreg Example  # 2024-05 request\n")
    imgs = {"a.png": png(colour_image("blue", size=(640, 576), seed=1)),
            "b.png": png(colour_image("green", size=(640, 576), seed=2))}
    sid = add(cli, tmp_path, {**imgs, "a.txt": "zz, painting in the style of greg   example"},
              readme="Style dataset.\nTrigger word: zz\nCaptioning method: manual\n")
    r = findings(cli, sid)["consent.artist"]
    assert r["status"] == "fail" and "'Greg Example' is on the artist opt-out list" in r["message"]
    assert "captions of 1 image" in r["message"] and r["files"] == ["a.png"]
    sid2 = add(cli, tmp_path, imgs, name="other", readme="Art by Jane Q Painter.\nTrigger word: zz\nCaptioning method: manual\n")
    assert "'Jane Q. Painter'" in findings(cli, sid2)["consent.artist"]["message"]  # from the config's list
    sid3 = add(cli, tmp_path, imgs, name="third", readme="By Gregory Examples.\nTrigger word: zz\nCaptioning method: manual\n")
    assert findings(cli, sid3)["consent.artist"]["status"] != "fail"  # whole names only
    r = cli("approve", sid, "--note", "x")
    assert r.exit_code == 2 and "consent.artist (fail)" in r.stderr


def test_screening_off_and_model_errors(screening_config, tiny_screeners, tmp_path, cli, monkeypatch):
    cfg = tmp_path / "off.toml"
    cfg.write_text('nsfw_model = "off"\nface_model = "off"\n')
    monkeypatch.setenv("PMD_CONFIG", str(cfg))
    sid = add(cli, tmp_path, {"a.png": png(colour_image("red", size=(640, 576)))})
    r = findings(cli, sid, "--models")
    assert r["safety.nsfw"]["status"] == "info" and "off" in r["safety.nsfw"]["message"]
    cfg.write_text(f'nsfw_model = "{tiny_screeners[0]}"\nface_model = "opencv/face_detection_yunet/missing.onnx"\n')
    r = cli("check", sid, "--models")
    assert r.exit_code == 2 and "not in the local Hugging Face cache" in r.stderr
    not_sfw = tmp_path / "not-sfw"
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    ViTForImageClassification(ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1,
                                        num_attention_heads=2, intermediate_size=32,
                                        id2label={0: "cat", 1: "dog"})).save_pretrained(not_sfw)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(not_sfw)
    cfg.write_text(f'nsfw_model = "{not_sfw}"\nface_model = "off"\n')
    r = cli("check", sid, "--models")
    assert r.exit_code == 2 and "not an SFW classifier" in r.stderr
