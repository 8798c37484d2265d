"""Publishing through the real huggingface_hub client against a Hub-compatible server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
import yaml
from PIL import Image

from tests.helpers import image_bytes, make_zip
from tests.fakehub import FakeHub

REPO = "maint/pmd-test"


@pytest.fixture
def hub(monkeypatch):
    import huggingface_hub.constants as c

    server = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_TOKEN", "hf_write")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setattr(c, "HF_HUB_DISABLE_XET", True)  # the fake speaks LFS, not Xet
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
    yield server
    server.stop()


def gps_jpeg(seed=0) -> bytes:
    im = Image.open(io.BytesIO(image_bytes((640, 576), seed=seed)))
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()


def approved(store, settings, tmp_path, name="Rusty the dog", issue=12, n=3, gps=False, caption_missing=False):
    from pmd_tui.checks.engine import run_checks
    from pmd_tui.decisions import approve
    from pmd_tui.intake.service import add_source

    entries = {"readme.txt": "Trigger word: ohwx dog\nCaptioning method: hand written\nConcept: object (my dog)\n"}
    for i in range(n):
        entries[f"img{i}.jpg"] = gps_jpeg(i) if gps and i == 0 else image_bytes((640, 576), seed=100 * issue + i)
        if not (caption_missing and i == n - 1):
            entries[f"img{i}.txt"] = f"ohwx dog, photo number {i}"
    z = make_zip(tmp_path / f"{issue}.zip", entries)
    sid = add_source(store, settings, z, name=name, issue=issue, submitter="alice")
    run_checks(store, settings, [sid])
    approve(store, settings, sid, override="test fixture")
    return sid


def publish(store, settings, ids, **kw):
    from pmd_tui.publish.service import publish as run

    return run(store, settings, ids, repo=kw.pop("repo", REPO), **kw)


def test_publish_one_commit_with_lfs_images_captions_card_and_stats(hub, store, settings, tmp_path):
    sid = approved(store, settings, tmp_path, gps=True)
    [r] = publish(store, settings, [sid])
    assert r.outcome == "published" and r.folder == "rusty-the-dog"
    commits = hub.commits(REPO)
    assert len(commits) == 2  # the repo's initial commit, then exactly one for the dataset
    head = commits[-1]
    assert head.message == "Add dataset rusty-the-dog (issue #12)" and "3 images" in head.description
    files = hub.files(REPO)
    names = sorted(p for p in files if p.startswith("rusty-the-dog/"))
    assert names == ["rusty-the-dog/img0.jpg", "rusty-the-dog/img0.txt", "rusty-the-dog/img1.jpg",
                     "rusty-the-dog/img1.txt", "rusty-the-dog/img2.jpg", "rusty-the-dog/img2.txt",
                     "rusty-the-dog/metadata.jsonl", "rusty-the-dog/readme.txt"]
    # images went through the LFS batch API and a PUT; text files inline in the commit
    assert {p for p in head.lfs if p.startswith("rusty")} == {f"rusty-the-dog/img{i}.jpg" for i in range(3)}
    assert ("PUT", f"/lfs-upload/{hashlib.sha256(files['rusty-the-dog/img1.jpg']).hexdigest()}") in hub.requests
    assert files["rusty-the-dog/img1.txt"] == b"ohwx dog, photo number 1\n"
    meta = [json.loads(x) for x in files["rusty-the-dog/metadata.jsonl"].decode().splitlines()]
    assert meta[0] == {"file_name": "img0.jpg", "text": "ohwx dog, photo number 0"} and len(meta) == 3
    readme = files["rusty-the-dog/readme.txt"].decode()
    for fact in ("Trigger word", "ohwx dog", "hand written", "#12", "Consent and licence"):
        assert fact in readme
    # location gone, everything else (pixels, other EXIF) untouched
    staged = (store.staged_dir(store.get(sid)) / "img0.jpg").read_bytes()
    published = files["rusty-the-dog/img0.jpg"]
    assert 0x8825 in Image.open(io.BytesIO(staged)).getexif()
    exif = Image.open(io.BytesIO(published)).getexif()
    assert 0x8825 not in exif and exif[0x010F] == "Camera maker"
    assert Image.open(io.BytesIO(published)).tobytes() == Image.open(io.BytesIO(staged)).tobytes()
    assert published[published.index(b"\xff\xda"):] == staged[staged.index(b"\xff\xda"):]  # scan data byte-identical
    # the card: YAML with one config per dataset, a table of statistics; stats.json for scripts
    card = files["README.md"].decode()
    meta = yaml.safe_load(card.split("---")[1])
    # each config selects only the images and metadata.jsonl (never the .txt captions or readme.txt)
    assert meta["configs"] == [
        {"config_name": "default", "default": True,
         "data_files": [{"split": "train", "path": ["rusty-the-dog/*.jpg", "rusty-the-dog/metadata.jsonl"]}]},
        {"config_name": "rusty-the-dog",
         "data_files": [{"split": "train", "path": ["rusty-the-dog/*.jpg", "rusty-the-dog/metadata.jsonl"]}]}]
    assert ("| [rusty-the-dog](rusty-the-dog/readme.txt) | 3 | 3 | 576 px | submitted by the contributor "
            "(stated: manual) for 3 images | object | #12 |") in card
    stats = json.loads(files["stats.json"])
    assert stats["totals"] == {"datasets": 1, "images": 3}
    assert stats["datasets"]["rusty-the-dog"]["issue"] == 12
    # the queue records it; the event log says who
    sub = store.get(sid)
    assert sub["status"] == "published"
    [pub] = store.publications(sid)
    assert pub["commit_id"] == head.oid and pub["url"].endswith(f"/datasets/{REPO}/commit/{head.oid}")
    event = store.events(sid)[-1]
    assert event["action"] == "published" and event["detail"]["commit"] == head.oid and event["actor"] == settings.actor


def test_second_dataset_extends_the_card_and_unchanged_is_no_commit(hub, store, settings, tmp_path):
    a = approved(store, settings, tmp_path, name="Rusty", issue=1)
    b = approved(store, settings, tmp_path, name="Ink style", issue=2, n=2)
    results = publish(store, settings, [a, b])
    assert [r.outcome for r in results] == ["published", "published"]
    stats = json.loads(hub.files(REPO)["stats.json"])
    assert sorted(stats["datasets"]) == ["ink-style", "rusty"] and stats["totals"]["images"] == 5
    card = yaml.safe_load(hub.files(REPO)["README.md"].decode().split("---")[1])
    assert [c["config_name"] for c in card["configs"]] == ["default", "ink-style", "rusty"]
    n = len(hub.commits(REPO))
    [again] = publish(store, settings, [a])
    assert again.outcome == "unchanged" and len(hub.commits(REPO)) == n


def test_edited_caption_republishes_only_what_changed(hub, store, settings, tmp_path):
    sid = approved(store, settings, tmp_path)
    publish(store, settings, [sid])
    f = next(f for f in store.files(sid, "image") if f["name"] == "img1.jpg")
    store.set_caption(f["id"], "a corrected caption", actor="t")
    from pmd_tui.decisions import rejudge_after_edit
    from pmd_tui.publish.service import publish_one, make_target

    rejudge_after_edit(store, settings, sid, actor="t", what="caption edit")  # what the edit services do

    target = make_target(settings, REPO)
    r = publish_one(store, settings, target, sid, dry_run=True)
    # the caption, metadata.jsonl, and the captioning methods (readme.txt, card, stats.json: 1 image edited)
    assert sorted(r.plan.update) == ["README.md", "rusty-the-dog/img1.txt", "rusty-the-dog/metadata.jsonl",
                                     "rusty-the-dog/readme.txt", "stats.json"]
    from pmd_tui.publish.bundle import build_bundle

    readme = build_bundle(store, sid).files["readme.txt"].decode()
    assert ("Captioning method: submitted by the contributor (stated: manual) for 2 images; "
            "written or corrected by the maintainer for 1 image") in readme
    assert not r.plan.add and not r.plan.delete


def test_dry_run_prints_the_plan_and_changes_nothing(hub, store, settings, tmp_path, cli):
    sid = approved(store, settings, tmp_path)
    r = cli("publish", sid, "--repo", REPO, "--dry-run")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "rusty-the-dog/: 10 to upload, 0 to change, 0 to delete" in out
    assert "  + rusty-the-dog/img0.jpg (" in out and "  + README.md (" in out and "  + stats.json (" in out
    assert REPO not in hub.repos and store.get(sid)["status"] == "approved"
    assert not [m for m, p in hub.requests if m in ("POST", "PUT") and "validate" not in p]


def test_dry_run_after_publish_lists_deletions(hub, store, settings, tmp_path):
    sid = approved(store, settings, tmp_path)
    publish(store, settings, [sid])
    hub.push(REPO, {"rusty-the-dog/stray.png": image_bytes((64, 64), fmt="PNG")})
    [r] = publish(store, settings, [sid], dry_run=True)
    assert r.plan.delete == ["rusty-the-dog/stray.png"] and not r.plan.add and not r.plan.update


@pytest.mark.parametrize("mode", ["500", "drop", "drop-after"])
def test_failed_commit_marks_nothing_and_a_rerun_completes(hub, store, settings, tmp_path, cli, mode):
    sid = approved(store, settings, tmp_path)
    hub.create(REPO)
    hub.fail("commit", mode)
    r = cli("publish", sid, "--repo", REPO)
    assert r.exit_code == 2 and r.stdout == ""
    line = r.stderr.strip().splitlines()[-1]
    assert "Traceback" not in r.stderr and "hf_write" not in r.stderr and r.stderr.count("error:") == 1
    assert line.startswith("pmd-tui: error: committing to maint/pmd-test failed")
    assert store.get(sid)["status"] == "approved" and store.publications(sid) == []
    commits_before = len(hub.commits(REPO))
    assert commits_before == (2 if mode == "drop-after" else 1)
    r = cli("publish", "--all", "--repo", REPO)
    assert r.exit_code == 0, r.stderr
    assert store.get(sid)["status"] == "published"
    # after a lost response the commit had landed: the re-run sees matching files and only records it
    assert len(hub.commits(REPO)) == 2
    assert store.publications(sid)[0]["commit_id"] == hub.commits(REPO)[-1].oid


def test_concurrent_change_is_a_412_and_nothing_is_half_done(hub, store, settings, tmp_path, cli):
    sid = approved(store, settings, tmp_path)
    hub.create(REPO)
    hub.before_commit = lambda h, repo: h.push(repo, {"other/readme.txt": b"someone else\n"})
    r = cli("publish", sid, "--repo", REPO)
    assert r.exit_code == 2
    assert "changed while publishing" in r.stderr.splitlines()[-1] and r.stderr.count("error:") == 1
    assert not any(p.startswith("rusty") for p in hub.files(REPO))
    assert store.get(sid)["status"] == "approved"
    r = cli("publish", sid, "--repo", REPO)
    assert r.exit_code == 0, r.stderr
    files = hub.files(REPO)
    assert "other/readme.txt" in files and "rusty-the-dog/img0.jpg" in files


def test_injected_412_on_commit(hub, store, settings, tmp_path):
    from pmd_tui.errors import NetworkError

    sid = approved(store, settings, tmp_path)
    hub.create(REPO)
    hub.fail("commit", "412")
    with pytest.raises(NetworkError, match="changed while publishing"):
        publish(store, settings, [sid])
    assert store.get(sid)["status"] == "approved"


def test_missing_or_read_only_token_stops_before_any_upload(hub, store, settings, tmp_path, cli, monkeypatch):
    sid = approved(store, settings, tmp_path)
    monkeypatch.setenv("HF_TOKEN", "hf_read")
    r = cli("--publish-all", "--repo", REPO)
    assert r.exit_code == 2 and "read-only" in r.stderr and "hf_read" not in r.stderr
    monkeypatch.setenv("HF_TOKEN", "hf_bogus")
    r = cli("publish", sid, "--repo", REPO)
    assert r.exit_code == 2 and "token was rejected" in r.stderr and "hf_bogus" not in r.stderr
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-hf-home"))
    r = cli("publish", sid, "--repo", REPO)
    assert r.exit_code == 2 and "no Hugging Face token" in r.stderr
    assert not [p for m, p in hub.requests if m in ("POST", "PUT")]
    assert store.get(sid)["status"] == "approved"
    # the token never reaches the queue
    raw = settings.db_path.read_bytes() + (settings.db_path.with_name(settings.db_path.name + "-wal").read_bytes()
                                           if settings.db_path.with_name(settings.db_path.name + "-wal").exists() else b"")
    assert b"hf_read" not in raw and b"hf_bogus" not in raw


def test_publish_all_headless_and_unapproved_refused(hub, store, settings, tmp_path, cli):
    a = approved(store, settings, tmp_path, name="A", issue=1, n=1)
    b = approved(store, settings, tmp_path, name="B", issue=2, n=1)
    r = cli("publish", 99, "--repo", REPO)
    assert r.exit_code == 2 and "99" in r.stderr
    r = cli("--publish-all", "--repo", REPO)
    assert r.exit_code == 0, r.stderr
    assert "#1 A: published a/" in r.stdout and "#2 B: published b/" in r.stdout
    assert store.get(a)["status"] == store.get(b)["status"] == "published"
    r = cli("--publish-all", "--repo", REPO)
    assert r.exit_code == 0 and "no approved submission" in r.stderr


def test_large_tree_is_listed_across_pages(hub, store, settings, tmp_path):
    hub.page_size = 4
    sid = approved(store, settings, tmp_path, n=6)
    publish(store, settings, [sid])
    [r] = publish(store, settings, [sid], dry_run=True)
    assert r.plan.empty and len(r.plan.unchanged) == 16


def test_local_folder_target_writes_the_same_layout(store, settings, tmp_path, cli):
    sid = approved(store, settings, tmp_path, gps=True)
    out = tmp_path / "mirror"
    r = cli("publish", sid, "--to", out)
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (out / "rusty-the-dog").iterdir()) == [
        "img0.jpg", "img0.txt", "img1.jpg", "img1.txt", "img2.jpg", "img2.txt", "metadata.jsonl", "readme.txt"]
    assert 0x8825 not in Image.open(out / "rusty-the-dog" / "img0.jpg").getexif()
    assert json.loads((out / "stats.json").read_text())["totals"]["images"] == 3
    assert "configs:" in (out / "README.md").read_text()
    r = cli("publish", sid, "--to", out)
    assert "unchanged, nothing to commit" in r.stdout
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_corrupt_image_is_left_out_and_reported(store, settings, tmp_path, cli):
    from pmd_tui.checks.engine import run_checks
    from pmd_tui.decisions import approve
    from pmd_tui.intake.service import add_source

    z = make_zip(tmp_path / "c.zip", {"a.jpg": image_bytes((640, 576)), "a.txt": "x", "b.jpg": b"\xff\xd8 not really"})
    sid = add_source(store, settings, z, name="Broken")
    run_checks(store, settings, [sid])
    approve(store, settings, sid, override="keep the good one")
    r = cli("publish", sid, "--to", tmp_path / "out")
    assert r.exit_code == 0, r.stderr
    assert "left out (cannot be decoded): b.jpg" in r.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "broken").iterdir()) == ["a.jpg", "a.txt", "metadata.jsonl", "readme.txt"]


def test_many_datasets_are_grouped_into_fewer_commits(hub, store, settings, tmp_path, cli, monkeypatch):
    """Inside the Hub's commit rate: 7 datasets with a budget of 3 commits go out as 3 + 3 + 1."""
    from pmd_tui.publish.hub import HubTarget

    monkeypatch.setattr(HubTarget, "max_commits", 3)
    ids = [approved(store, settings, tmp_path, name=f"Set {i}", issue=i, n=1) for i in range(1, 8)]
    hub.create(REPO)
    r = cli("--publish-all", "--repo", REPO)
    assert r.exit_code == 0, r.stderr
    commits = hub.commits(REPO)[1:]
    assert [c.message for c in commits] == ["Publish 3 datasets: set-1, set-2, set-3",
                                            "Publish 3 datasets: set-4, set-5, set-6", "Add dataset set-7 (issue #7)"]
    assert all(store.get(i)["status"] == "published" for i in ids)
    assert len({p["commit_id"] for p in store.publications()}) == 3
    stats = json.loads(hub.files(REPO)["stats.json"])
    assert stats["totals"] == {"datasets": 7, "images": 7}
    for i in range(1, 8):
        assert f"set-{i}/img0.jpg" in hub.files(REPO)
    assert f"#{ids[0]} Set 1: published set-1/" in r.stdout


def test_a_group_is_all_or_nothing(hub, store, settings, tmp_path, monkeypatch):
    from pmd_tui.errors import NetworkError
    from pmd_tui.publish.hub import HubTarget

    monkeypatch.setattr(HubTarget, "max_commits", 1)
    ids = [approved(store, settings, tmp_path, name=f"Set {i}", issue=i, n=1) for i in range(1, 3)]
    hub.create(REPO)
    hub.fail("commit", "500")
    with pytest.raises(NetworkError):
        publish(store, settings, ids)
    assert [store.get(i)["status"] for i in ids] == ["approved", "approved"] and len(hub.commits(REPO)) == 1
    publish(store, settings, ids)
    assert [store.get(i)["status"] for i in ids] == ["published", "published"] and len(hub.commits(REPO)) == 2


def test_rate_limit_429_is_waited_out_as_retry_after_says(hub, store, settings, tmp_path, cli, monkeypatch):
    from pmd_tui.publish.hub import HubTarget

    waited = []
    monkeypatch.setattr(HubTarget, "sleep", staticmethod(waited.append))
    sid = approved(store, settings, tmp_path)
    hub.create(REPO)
    hub.retry_after = "3"
    hub.fail("commit", "429", "429")
    r = cli("publish", sid, "--repo", REPO)
    assert r.exit_code == 0, r.stderr
    assert r.stderr.count("the Hub's rate limit (HTTP 429): waiting 3 s as it asks (Retry-After)") == 2
    assert sum(waited) == 6 and store.get(sid)["status"] == "published" and len(hub.commits(REPO)) == 2
    # when it does not lift: one clear line, nothing marked
    sid2 = approved(store, settings, tmp_path, name="Other", issue=13)
    hub.fail("commit", "429", "429", "429", "429")
    r = cli("publish", sid2, "--repo", REPO)
    assert r.exit_code == 2 and "rate limit (HTTP 429) did not lift after 3 waits" in r.stderr.splitlines()[-1]
    assert store.get(sid2)["status"] == "approved"
    # a wait longer than an hour is not sat out
    hub.retry_after = "7200"
    hub.fail("commit", "429")
    r = cli("publish", sid2, "--repo", REPO)
    assert r.exit_code == 2 and "asks to wait 120 min" in r.stderr


def test_scores_json_is_published_only_when_the_maintainer_chooses(store, settings, tmp_path, cli, monkeypatch):
    sid = approved(store, settings, tmp_path)
    store.add_score(sid, label="LoRA r16", metrics={"dino": 0.7, "clip_t": 0.31}, detail={"samples": 8}, actor="t")
    out = tmp_path / "mirror"
    assert cli("publish", sid, "--to", out).exit_code == 0
    assert not (out / "scores.json").exists()
    cfg = tmp_path / "scores.toml"
    cfg.write_text("publish_scores = true\n")
    monkeypatch.setenv("PMD_CONFIG", str(cfg))
    store.transition(sid, "approved", actor="t", action="reopened")
    assert cli("publish", sid, "--to", out).exit_code == 0
    runs = json.loads((out / "scores.json").read_text())["runs"]
    assert [(r["dataset"], r["label"], r["metrics"]["dino"]) for r in runs] == [("Rusty the dog", "LoRA r16", 0.7)]
