"""Benchmark metadata (validation split, class word, prompts) and scoring samples with tiny local models."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from pmd_tui.benchmark import metrics
from pmd_tui.benchmark.split import spread_pick
from tests.helpers import make_zip, kohya_set


# -- the arithmetic ---------------------------------------------------------------------------------
def test_identical_sets_score_the_maximum_and_zero_distance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6))
    assert metrics.mean_pairwise_cosine(x[:1], x[:1]) == pytest.approx(1.0)
    assert metrics.mean_paired_cosine(x, 3 * x) == pytest.approx(1.0)
    assert metrics.mean_paired_cosine(x, -x) == pytest.approx(-1.0)
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    # unbiased: two draws of one distribution are ~0, a shifted one clearly above
    same, _ = metrics.kernel_distance(rng.normal(size=(300, 6)), rng.normal(size=(300, 6)))
    shifted, _ = metrics.kernel_distance(rng.normal(size=(300, 6)), rng.normal(size=(300, 6)) + 1)
    assert abs(same) < 0.02 < shifted


def test_distances_grow_with_the_shift_between_sets():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 4)), rng.normal(size=(200, 4))
    # for equal covariances FD is the squared distance of the means
    near, far = metrics.frechet_distance(x, y + 0.5), metrics.frechet_distance(x, y + 3.0)
    assert near < far and far == pytest.approx(4 * 9, rel=0.15)
    k_near, _ = metrics.kernel_distance(x, y + 0.5)
    k_far, _ = metrics.kernel_distance(x, y + 3.0)
    assert k_near < k_far


def test_spread_pick_takes_one_image_of_each_look():
    rng = np.random.default_rng(2)
    looks = [rng.random(64) > 0.5 for _ in range(3)]
    hashes, groups = [], []
    for g, look in enumerate(looks):
        for _ in range(5):
            h = look.copy()
            h[rng.choice(64, 2, replace=False)] ^= True
            hashes.append(h)
            groups.append(g)
    picked = spread_pick(np.array(hashes), 3)
    assert sorted(groups[i] for i in picked) == [0, 1, 2]
    assert spread_pick(np.array(hashes), 0) == []


# -- metadata in the queue --------------------------------------------------------------------------
@pytest.fixture
def dataset(tmp_path, cli):
    z = make_zip(tmp_path / "dog.zip", kohya_set(6, readme="Captioning method: manual\nTrigger word: ohwx\n"))
    r = cli("add", z)
    assert r.exit_code == 0, r.output
    return int(r.stdout.split()[-1])


def test_split_holds_out_images_spread_across_the_set_and_logs_it(cli, store, dataset):
    r = cli("split", dataset, "--val", 2, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert len(out["validation"]) == 2 and len(out["train"]) == 4
    assert sorted(store.split_names(dataset, "validation")) == sorted(out["validation"])
    assert [e for e in store.events(dataset) if e["action"] == "split-changed"]
    r = cli("split", dataset, "--train", out["validation"][0], "--files", "img05.jpg")
    assert r.exit_code == 0, r.output
    assert store.split_names(dataset, "validation") == sorted({out["validation"][1], "img05.jpg"})
    assert cli("split", dataset, "--val", 6).exit_code == 2  # nothing left to train on
    bad = cli("split", dataset, "--files", "nope.jpg")
    assert bad.exit_code == 2 and "no image named 'nope.jpg'" in bad.stderr


def test_prompts_default_per_concept_type_then_own_list(cli, store, dataset, tmp_path):
    cli("edit", dataset, "--concept-type", "object", "--trigger", "ohwx")
    r = cli("prompts", dataset, "--class-word", "dog", "--json")
    out = json.loads(r.stdout)
    assert out["default"] and out["subject"] == "ohwx dog" and len(out["prompts"]) == 25
    assert out["prompts"][0] == "a ohwx dog in the jungle"
    own = tmp_path / "p.txt"
    own.write_text("{subject} on the moon\n\n a {subject} in a box \n")
    cli("prompts", dataset, "--set", own)
    r = cli("prompts", dataset)
    assert r.stdout.splitlines() == ["  1  ohwx dog on the moon", "  2  a ohwx dog in a box"]
    cli("prompts", dataset, "--reset")
    assert store.eval_prompts(dataset) is None
    assert [e for e in store.events(dataset) if e["action"] == "benchmark-edited"]


# -- scoring ----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tiny_scorers(tmp_path_factory):
    from tests.tiny_bench import build_tiny_clip, build_tiny_dino

    root = tmp_path_factory.mktemp("scorers")
    return build_tiny_dino(root / "dino"), build_tiny_clip(root / "clip")


@pytest.fixture
def score_config(tiny_scorers, db_path, tmp_path, monkeypatch):
    dino, clip = tiny_scorers
    cfg = tmp_path / "score.toml"
    cfg.write_text(f'dino_model = "{dino}"\nclip_model = "{clip}"\n')
    monkeypatch.setenv("PMD_CONFIG", str(cfg))


def test_samples_identical_to_the_reference_score_the_maximum(cli, store, dataset, score_config, tmp_path):
    cli("split", dataset, "--files", "img02.jpg")
    staged = store.staged_dir(store.get(dataset))
    samples = tmp_path / "samples"
    samples.mkdir()
    for i in range(3):
        shutil.copy(staged / "img02.jpg", samples / f"{i + 1:02d}_seed{i}.jpg")
    r = cli("score", samples, "--dataset", "dog", "--label", "copy of val", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["metrics"]["dino"] == pytest.approx(1.0, abs=1e-4)
    assert out["metrics"]["clip_i"] == pytest.approx(1.0, abs=1e-4)
    assert -1 <= out["metrics"]["clip_t"] <= 1 and out["detail"]["prompted"] == 3
    assert out["detail"]["reference"] == "validation" and out["detail"]["references"] == 1
    assert out["metrics"]["fd_dino"] is None and "too few" in out["notes"]["fd_dino"]
    assert out["metrics"]["kid_dino"] is None
    # a different image scores lower than the copies
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(staged / "img04.jpg", other / "x.jpg")
    lower = json.loads(cli("score", other, "--dataset", "dog", "--label", "other", "--json").stdout)
    assert lower["metrics"]["dino"] < 0.9999 and lower["metrics"]["clip_t"] is None
    board = json.loads(cli("scores", "--json").stdout)
    assert [b["label"] for b in board] == ["copy of val", "other"]
    assert cli("scores").stdout.splitlines()[1].startswith("dog")


def test_sample_prompts_come_from_jsonl_then_txt_then_number(store, dataset):
    from pmd_tui.benchmark.score import collect_samples

    sub = {**store.get(dataset), "trigger_words": "ohwx", "class_word": "dog", "concept_type": "object"}
    folder = store.staged_dir(sub).parent / "samples"
    folder.mkdir()
    for name in ("a.png", "b.png", "03_c.png", "99_d.png"):
        (folder / name).write_bytes(b"")
    (folder / "prompts.jsonl").write_text(json.dumps({"file_name": "a.png", "prompt": "ohwx dog on mars"}) + "\n")
    (folder / "b.txt").write_text("ohwx dog, watercolor\n")
    samples, warnings = collect_samples(folder, sub, ["x {subject}", "y {subject}", "a {subject} on the beach"])
    got = {s.path.name: s.prompt for s in samples}
    assert got == {"a.png": "ohwx dog on mars", "b.png": "ohwx dog, watercolor",
                   "03_c.png": "a ohwx dog on the beach", "99_d.png": None}
    assert warnings == ["99_d.png: prompt number 99 is not in 1-3"]


def test_score_refuses_a_missing_model_and_unknown_dataset_in_one_line(cli, dataset, tmp_path, monkeypatch):
    samples = tmp_path / "s"
    samples.mkdir()
    shutil.copy(next((tmp_path).rglob("img00.jpg")), samples / "a.jpg")
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f'dino_model = "{tmp_path / "no-such-model"}"\n')
    monkeypatch.setenv("PMD_CONFIG", str(cfg))
    r = cli("score", samples, "--dataset", "dog", "--label", "x")
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1 and "DINO" in r.stderr
    r = cli("score", samples, "--dataset", "cat", "--label", "x")
    assert r.exit_code == 2 and "no dataset named 'cat'" in r.stderr
