"""Captions you can trust: three captioner families through one pipeline, the checkpoint's generation config
respected, outputs that are not captions refused, presets recorded, and fast clear load failures."""

from __future__ import annotations

import json
import shutil
import socket
import time

import pytest

from tests.test_caption import COLOURS, add_uncaptioned, captions, out_of_memory_above


@pytest.fixture(autouse=True)
def fresh_models():
    from pmd_tui.captioning.model import forget_loaded

    forget_loaded()
    yield
    forget_loaded()


@pytest.fixture(params=["florence", "joycaption", "qwen"])
def family_model(request):
    """(family name, checkpoint folder) for each family, built once and cached on disk."""
    fixture = {"florence": "tiny_model", "joycaption": "tiny_joycaption", "qwen": "tiny_qwen"}[request.param]
    names = {"florence": "Florence-2", "joycaption": "JoyCaption", "qwen": "Qwen2.5-VL"}
    return names[request.param], request.getfixturevalue(fixture)


def test_each_family_captions_through_the_same_pipeline(family_model, store, settings, tmp_path, cli):
    family, folder = family_model
    sid = add_uncaptioned(store, settings, tmp_path, captioned=(4,))
    store.update_fields(sid, {"concept_type": "person"}, actor="t")
    r = cli("caption", sid, "--model", folder, "--batch-size", 3, "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("captioned 4 image(s) in 1 submission(s) at ") and "(batch 3)" in r.stdout
    assert [c for c, _ in captions(store, sid).values()] == [f"zkx, a {c} photo" for c in COLOURS[:4]] + [
        "written by hand"]
    what = "<DETAILED_CAPTION>" if family == "Florence-2" else "instruction prompt"
    method = f"{family} ({folder.name}, {what}; preset custom)"
    assert store.get(sid)["caption_method"] == method
    event = next(e for e in store.events(sid) if e["action"] == "caption-generated")
    if family != "Florence-2":  # the instruction names the trigger word and what not to describe
        assert '"zkx"' in event["detail"]["prompt"] and "Do not describe the fixed traits of zkx: face, hair" in (
            event["detail"]["prompt"])
        r = cli("caption", sid, "--model", folder, "--task", "caption", "--overwrite")
        assert r.exit_code == 2 and "--task is a Florence-2 option" in r.stderr


def test_out_of_memory_halves_the_batch_for_every_family(family_model, store, settings, tmp_path):
    from pmd_tui.captioning.model import load_captioner
    from pmd_tui.captioning.service import caption

    _, folder = family_model
    small, sizes = out_of_memory_above(2, load_captioner(str(folder), "cpu"))
    sid = add_uncaptioned(store, settings, tmp_path)
    report = caption(store, settings, [sid], batch_size=5, captioner=small)
    assert report.captioned == 5 and sizes == [5, 2, 2, 1]
    # each image got its own caption: the split kept pixels and prompts together
    assert [c for c, _ in captions(store, sid).values()] == [f"zkx, a {c} photo" for c in COLOURS]


def test_prompts_of_different_lengths_batch_together(tiny_qwen, store, settings, tmp_path, cli):
    """Left padding: submissions with different trigger words and concept types share a batch."""
    from pmd_tui.intake.service import add_source
    from tests.helpers import make_zip
    from tests.test_caption import jpeg

    a = add_uncaptioned(store, settings, tmp_path)
    b = add_source(store, settings, make_zip(tmp_path / "b.zip", {
        "readme.txt": "Trigger word: a much longer trigger phrase\n", "x.jpg": jpeg("blue", 7)}), name="second")
    store.update_fields(b, {"concept_type": "style"}, actor="t")
    r = cli("caption", a, b, "--model", tiny_qwen, "--batch-size", 6)
    assert r.exit_code == 0, r.stderr
    assert captions(store, b)["x.jpg"][0] == "a much longer trigger phrase, a blue photo"
    assert captions(store, a)["1_blue.png"][0] == "zkx, a blue photo"
    prompts = {e["detail"]["file"]: e["detail"]["prompt"] for e in store.events(b) if e["action"] == "caption-generated"}
    assert prompts["x.jpg"].startswith('Write one caption') and '"a much longer trigger phrase style"' in prompts["x.jpg"]


def with_generation_config(src, dst, **values):
    shutil.copytree(src, dst)
    path = dst / "generation_config.json"
    config = json.loads(path.read_text())
    config.update(values)
    path.write_text(json.dumps(config))
    return dst


def test_empty_outputs_are_failures_never_captions(tiny_model, store, settings, tmp_path, cli):
    # the checkpoint's own generation config stops after one token (<s>): every output is empty
    short = with_generation_config(tiny_model, tmp_path / "short", max_new_tokens=1)
    sid = add_uncaptioned(store, settings, tmp_path, captioned=(4,))
    r = cli("caption", sid, "--model", short)
    assert r.exit_code == 1
    assert "captioned 0 image(s)" in r.stdout and "4 failed: 4 the model returned an empty caption" in r.stdout
    assert "not captioned: #1 0_red.jpg: the model returned an empty caption" in r.stderr
    assert [c for c, _ in captions(store, sid).values()] == [None] * 4 + ["written by hand"]
    assert not [e for e in store.events(sid) if e["action"] == "caption-generated"]
    assert not store.get(sid)["caption_method"]
    # what the maintainer sets wins over the checkpoint's config
    r = cli("caption", sid, "--model", short, "--max-new-tokens", 12)
    assert r.exit_code == 0 and captions(store, sid)["0_red.jpg"][0] == "zkx, a red photo"


def test_generate_gets_only_what_the_maintainer_set(tiny_model, store, settings, tmp_path, cli, monkeypatch):
    from pmd_tui.captioning.model import load_captioner

    folder = with_generation_config(tiny_model, tmp_path / "cfg", num_beams=2, no_repeat_ngram_size=3,
                                    max_new_tokens=12)
    captioner = load_captioner(str(folder), "auto")
    seen = []
    real_generate = captioner.model.generate

    def spy(**kwargs):
        seen.append({k: v for k, v in kwargs.items() if k not in ("input_ids", "pixel_values", "attention_mask")})
        return real_generate(**kwargs)

    monkeypatch.setattr(captioner.model, "generate", spy)
    sid = add_uncaptioned(store, settings, tmp_path)
    assert cli("caption", sid, "--model", folder, "--batch-size", 5).exit_code == 0
    assert seen == [{}]  # beams, n-gram rule and length all come from the checkpoint
    assert cli("caption", sid, "--model", folder, "--overwrite", "--beams", 3, "--max-new-tokens", 20).exit_code == 0
    assert seen[-1] == {"num_beams": 3, "max_new_tokens": 20}
    # a checkpoint with no length of its own gets the task's cap instead of transformers' 20-token default
    bare = with_generation_config(tiny_model, tmp_path / "bare")
    other = load_captioner(str(bare), "auto")
    assert other.generate_kwargs(other_options(), 160) == {"max_new_tokens": 160}


def other_options():
    from pmd_tui.captioning.base import GenerationOptions

    return GenerationOptions()


@pytest.mark.parametrize("text, why", [
    ("", "empty caption"), ("   \n ", "empty caption"), ("...", "no words"),
    ("What does the image describe?", "only repeated the prompt"), ("<CAPTION>", "only repeated the prompt"),
    ("the the the the the", "repeated one token ('the' x5)"), ("!!!!!!!!", "no words"),
    ("abababababab", "repeated one token ('ab' x6)"), ("Red, red. RED!", "repeated one token ('red' x3)"),
])
def test_outputs_that_are_not_captions(text, why):
    from pmd_tui.captioning.quality import rejection

    got = rejection(text, {"<CAPTION>", "What does the image describe?"})
    assert got is not None and why in got


@pytest.mark.parametrize("text", ["a red photo", "zkx", "red red photo", "a dog, a dog", "ok"])
def test_real_captions_pass(text):
    from pmd_tui.captioning.quality import rejection

    assert rejection(text, {"<CAPTION>", "What does the image describe?"}) is None


def test_presets_record_the_method(tiny_model, store, settings, tmp_path, cli, monkeypatch):
    from pmd_tui.captioning.presets import resolve

    plan = resolve(settings, preset="maintainer")
    assert (plan.model, plan.task, plan.options.num_beams, plan.label) == (
        "florence-community/Florence-2-base", "caption", 3, "maintainer")
    assert plan.method("Florence-2", chat=False) == "Florence-2 (Florence-2-base, <CAPTION>, 3 beams; preset maintainer)"
    assert resolve(settings, preset="maintainer", num_beams=3).label == "maintainer"
    assert resolve(settings, preset="maintainer", num_beams=1).label == "custom"
    # the default preset with the configured model is recorded as such, down to the published readme
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(f'caption_model = "{tiny_model}"\n')
    monkeypatch.setenv("PMD_CONFIG", str(cfg))
    sid = add_uncaptioned(store, settings, tmp_path)
    r = cli("caption", sid)
    assert r.exit_code == 0, r.stderr
    method = f"Florence-2 ({tiny_model.name}, <DETAILED_CAPTION>; preset default)"
    assert store.get(sid)["caption_method"] == method
    from pmd_tui.publish.bundle import readme_text

    assert f"Captioning method: {method}" in readme_text(store.get(sid), {"captioned": 5, "images": 5})
    r = cli("caption", sid, "--model", tiny_model, "--preset", "maintainer", "--overwrite")
    assert r.exit_code == 0, r.stderr
    assert store.get(sid)["caption_method"] == f"Florence-2 ({tiny_model.name}, <CAPTION>, 3 beams; preset custom)"


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def test_missing_folders_and_uncached_ids_fail_at_once(store, settings, tmp_path, cli):
    sid = add_uncaptioned(store, settings, tmp_path)
    r, seconds = timed(lambda: cli("caption", sid, "--model", "/no/such/folder"))
    assert r.exit_code == 2 and seconds < 2
    assert "the captioning model /no/such/folder does not exist: no such folder" in r.stderr
    assert r.stderr.count("\n") == 1
    # HF_HUB_OFFLINE=1 (the suite's setting) and nothing cached: say how to get the weights
    r, seconds = timed(lambda: cli("caption", sid, "--preset", "maintainer"))
    assert r.exit_code == 2 and seconds < 2
    assert "HF_HUB_OFFLINE is set" in r.stderr and "`hf download florence-community/Florence-2-base`" in r.stderr
    assert "point --model" in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli("caption", sid, "--model", empty)
    assert r.exit_code == 2 and "has no config.json: not a saved checkpoint" in r.stderr


@pytest.fixture
def no_network(monkeypatch):
    """The offline flag unset and a Hub endpoint that accepts connections but never answers."""
    from huggingface_hub import constants

    from pmd_tui import model_runtime

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setattr(model_runtime, "_REACHABLE", {})
    yield
    silent.close()


def test_no_network_fails_fast_for_every_model(no_network, store, settings, tmp_path, cli, monkeypatch):
    from pmd_tui.model_runtime import ModelError
    from pmd_tui.screening.faces import resolve_weights
    from pmd_tui.screening.nsfw import load_nsfw

    sid = add_uncaptioned(store, settings, tmp_path)
    r, seconds = timed(lambda: cli("caption", sid, "--model", "someone/uncached-captioner"))
    assert r.exit_code == 2 and seconds < 2, (seconds, r.stderr)
    assert "the Hugging Face Hub cannot be reached" in r.stderr and "hf download someone/uncached-captioner" in r.stderr
    started = time.perf_counter()
    with pytest.raises(ModelError, match="SFW classifier someone/uncached-nsfw.*hf download someone/uncached-nsfw"):
        load_nsfw("someone/uncached-nsfw")
    with pytest.raises(ModelError, match="cannot be reached; run `hf download someone/faces yunet.onnx`"):
        resolve_weights("someone/faces/yunet.onnx")
    assert time.perf_counter() - started < 2  # the probe's answer is remembered


def test_screening_models_fail_fast_and_clearly(store, settings, tmp_path, cli, monkeypatch):
    from pmd_tui.intake.service import add_source
    from tests.helpers import kohya_set, make_zip

    sid = add_source(store, settings, make_zip(tmp_path / "s.zip", kohya_set(1)), name="s")
    cfg = tmp_path / "models.toml"
    monkeypatch.setenv("PMD_CONFIG", str(cfg))
    for config, expected in [
        ('nsfw_model = "/no/such/nsfw"\nface_model = "off"\n', "the SFW classifier /no/such/nsfw does not exist"),
        ('nsfw_model = "someone/uncached-nsfw"\nface_model = "off"\n',
         "HF_HUB_OFFLINE is set; run `hf download someone/uncached-nsfw`"),
        ('nsfw_model = "off"\nface_model = "/no/such/yunet.onnx"\n', "the face detector /no/such/yunet.onnx does not exist"),
        ('nsfw_model = "off"\nface_model = "opencv/face_detection_yunet/missing.onnx"\n',
         "HF_HUB_OFFLINE is set; run `hf download opencv/face_detection_yunet missing.onnx`"),
    ]:
        cfg.write_text(config)
        r, seconds = timed(lambda: cli("check", sid, "--models"))
        assert r.exit_code == 2 and seconds < 2 and expected in r.stderr, (config, seconds, r.stderr)
        assert r.stderr.count("error:") == 1 and expected in r.stderr.strip().splitlines()[-1]
