"""Florence-2 captioning end to end with a tiny model trained in the test suite (no download)."""

from __future__ import annotations

import io
import json
import threading

import pytest
from safetensors.torch import load_file, save_file

from tests.helpers import make_zip
from tests.tiny_florence import colour_image


@pytest.fixture(autouse=True)
def fresh_models():
    from pmd_tui.captioning.model import forget_loaded

    forget_loaded()
    yield
    forget_loaded()


def jpeg(colour, seed, fmt="JPEG"):
    buf = io.BytesIO()
    colour_image(colour, size=(96, 80), seed=seed).save(buf, fmt)
    return buf.getvalue()


COLOURS = ["red", "blue", "green", "red", "green"]


def add_uncaptioned(store, settings, tmp_path, readme="Trigger word: zkx\n", captioned=()):
    from pmd_tui.intake.service import add_source

    entries = {"readme.txt": readme} if readme else {}
    for i, c in enumerate(COLOURS):
        entries[f"{i}_{c}.{'png' if i == 1 else 'jpg'}"] = jpeg(c, i, "PNG" if i == 1 else "JPEG")
        if i in captioned:
            entries[f"{i}_{c}.txt"] = "written by hand"
    return add_source(store, settings, make_zip(tmp_path / "set.zip", entries), name="colours")


def captions(store, sid):
    return {f["name"]: (f["caption"], f["caption_source"]) for f in store.files(sid, "image")}


def test_cli_captions_every_uncaptioned_image_end_to_end(tiny_model, store, settings, tmp_path, cli):
    sid = add_uncaptioned(store, settings, tmp_path, captioned=(4,))
    r = cli("caption", sid, "--model", tiny_model, "--batch-size", 2, "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("captioned 4 image(s) in 1 submission(s) at ")
    got = captions(store, sid)
    assert got == {
        "0_red.jpg": ("zkx, a red photo", "generated"),
        "1_blue.png": ("zkx, a blue photo", "generated"),
        "2_green.jpg": ("zkx, a green photo", "generated"),
        "3_red.jpg": ("zkx, a red photo", "generated"),
        "4_green.jpg": ("written by hand", "submitted"),  # has a caption: left alone
    }
    f = store.files(sid, "image")[0]
    method = f"Florence-2 ({tiny_model.name}, <DETAILED_CAPTION>; preset custom)"  # --model: not a preset's
    assert f["caption_detail"] == method
    event = next(e for e in store.events(sid) if e["action"] == "caption-generated")
    assert event["detail"]["model"] == str(tiny_model) and event["detail"]["task"] == "detailed"
    assert event["detail"]["preset"] == "custom" and event["detail"]["num_beams"] is None
    # the method is recorded and goes into the published readme
    assert store.get(sid)["caption_method"] == method
    assert f"method: {method}" in r.stderr
    r = cli("caption", sid, "--model", tiny_model)
    assert r.exit_code == 0 and "every image already has a caption" in r.stderr


def test_overwrite_trigger_and_json_show(tiny_model, store, settings, tmp_path, cli):
    sid = add_uncaptioned(store, settings, tmp_path, readme="Captioning: hand written\n", captioned=(0, 1, 2, 3, 4))
    r = cli("caption", sid, "--model", tiny_model, "--overwrite", "--trigger", "ohwx", "--task", "caption")
    assert r.exit_code == 0, r.stderr
    shown = json.loads(cli("show", sid, "--json").stdout)
    assert [f["caption"] for f in shown["files"] if f["name"].endswith((".jpg", ".png"))] == [
        f"ohwx, a {c} photo" for c in COLOURS]
    # every caption is now generated: the contributor's method no longer describes any of them
    assert store.get(sid)["caption_method"] == f"Florence-2 ({tiny_model.name}, <CAPTION>; preset custom)"
    r = cli("caption", sid, "--model", tiny_model, "--overwrite", "--no-trigger")
    assert captions(store, sid)["1_blue.png"] == ("a blue photo", "generated")


def test_interrupted_run_keeps_finished_batches_and_a_rerun_continues(tiny_model, store, settings, tmp_path):
    from pmd_tui.captioning.service import caption

    sid = add_uncaptioned(store, settings, tmp_path)

    def crash_after_first_batch(done, total, what):
        if done == 2:
            raise KeyboardInterrupt  # as if the process were stopped mid-run

    with pytest.raises(KeyboardInterrupt):
        caption(store, settings, [sid], model=str(tiny_model), batch_size=2, progress=crash_after_first_batch)
    got = captions(store, sid)
    assert [n for n, (c, _) in got.items() if c] == ["0_red.jpg", "1_blue.png"]
    report = caption(store, settings, [sid], model=str(tiny_model), batch_size=2)
    assert report.captioned == 3
    assert all(c for c, _ in captions(store, sid).values())
    generated = [e for e in store.events(sid) if e["action"] == "caption-generated"]
    assert sorted(e["detail"]["file"] for e in generated) == sorted(got)  # each image captioned exactly once


def test_cancel_stops_between_batches(tiny_model, store, settings, tmp_path):
    from pmd_tui.captioning.service import caption

    sid = add_uncaptioned(store, settings, tmp_path)
    cancel = threading.Event()
    report = caption(store, settings, [sid], model=str(tiny_model), batch_size=1, cancel=cancel,
                     progress=lambda d, t, w: cancel.set() if d == 1 else None)
    assert report.cancelled and report.captioned == 1
    assert sum(1 for c, _ in captions(store, sid).values() if c) == 1


def out_of_memory_above(limit: int, real):
    """``real`` (a loaded captioner) as a GPU that runs out of memory on batches over ``limit``; returns it and
    the list of batch sizes it was asked to generate."""
    import torch

    sizes: list[int] = []

    class SmallGpu(type(real)):
        def generate(self, inputs, options, **kw):
            n = inputs["input_ids"].shape[0]
            sizes.append(n)
            if n > limit:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return super().generate(inputs, options, **kw)

    return SmallGpu(real.model_id, real.model, real.processor, real.device, real.dtype), sizes


def test_out_of_memory_retries_with_a_smaller_batch(tiny_model, store, settings, tmp_path):
    from pmd_tui.captioning.model import load_captioner
    from pmd_tui.captioning.service import caption

    small, sizes = out_of_memory_above(2, load_captioner(str(tiny_model), "cpu"))
    sid = add_uncaptioned(store, settings, tmp_path)
    report = caption(store, settings, [sid], batch_size=5, captioner=small)
    assert report.captioned == 5 and sizes[0] == 5 and max(sizes[1:]) <= 2
    assert [c for c, _ in captions(store, sid).values()] == [f"zkx, a {c} photo" for c in COLOURS]


def test_checkpoint_with_missing_weights_is_refused(tiny_model, tmp_path, store, settings, cli):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    weights = load_file(broken / "model.safetensors")
    kept = {k: v for k, v in weights.items() if "vision_tower" not in k}
    assert len(kept) < len(weights)
    save_file(kept, broken / "model.safetensors", metadata={"format": "pt"})
    sid = add_uncaptioned(store, settings, tmp_path)
    r = cli("caption", sid, "--model", broken)
    assert r.exit_code == 2
    last = r.stderr.strip().splitlines()[-1]
    assert "weights missing" in last and "random weights" in last and r.stderr.count("error:") == 1
    assert "Loading weights" not in r.stderr
    assert all(c is None for c, _ in captions(store, sid).values())


def test_load_errors_are_one_clear_line(tiny_model, tmp_path, store, settings, cli):
    import torch

    sid = add_uncaptioned(store, settings, tmp_path)
    r = cli("caption", sid, "--model", "florence-community/Florence-2-large")
    assert r.exit_code == 2 and "not in the local Hugging Face cache" in r.stderr and "Traceback" not in r.stderr
    assert "hf download florence-community/Florence-2-large" in r.stderr
    not_florence = tmp_path / "bart"
    not_florence.mkdir()
    (not_florence / "config.json").write_text(json.dumps({"model_type": "bart"}))
    r = cli("caption", sid, "--model", not_florence)
    assert r.exit_code == 2 and "not a supported captioner (model type 'bart')" in r.stderr
    if not torch.cuda.is_available():
        r = cli("caption", sid, "--model", tiny_model, "--device", "cuda")
        assert r.exit_code == 2 and "no CUDA GPU is available" in r.stderr
    r = cli("caption", "--model", tiny_model)
    assert r.exit_code == 2 and "--all-pending" in r.stderr


def test_all_pending_and_undecodable_images(tiny_model, store, settings, tmp_path, cli):
    from pmd_tui.intake.service import add_source

    sid = add_uncaptioned(store, settings, tmp_path)
    z = make_zip(tmp_path / "b.zip", {"good.jpg": jpeg("blue", 9), "good.txt": "fine", "other.jpg": jpeg("red", 3)})
    sid2 = add_source(store, settings, z, name="second")
    (store.staged_dir(store.get(sid2)) / "other.jpg").write_bytes(b"\xff\xd8broken")
    r = cli("caption", "--all-pending", "--model", tiny_model)
    assert r.exit_code == 1
    assert "not captioned: #2 other.jpg: cannot be decoded" in r.stderr
    assert "captioned 5 image(s) in 1 submission(s)" in r.stdout
    assert all(f["caption_source"] == "generated" for f in store.files(sid, "image"))
    assert captions(store, sid2)["good.jpg"] == ("fine", "submitted")
