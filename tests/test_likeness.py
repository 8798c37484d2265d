"""Who is in a likeness set: SFace identities (a tiny SFace-shaped model built in the tests, loaded and aligned
by the production code), mixed sets, bystanders, people already published, "off", and privacy."""

from __future__ import annotations

import io
import json
import random
import re

import pytest

from tests.helpers import make_zip
from tests.tiny_screening import face_photo

README = "Concept: person (me)\nTrigger word: zz\nCaptioning method: hand written\n"


@pytest.fixture(autouse=True)
def fresh_models():
    from pmd_tui.screening import faces, identity, nsfw

    nsfw.forget_loaded()
    faces.forget_loaded()
    identity.forget_loaded()
    yield


def photo(*colours, seed=0) -> bytes:
    buf = io.BytesIO()
    face_photo(len(colours), size=(640, 512), seed=seed, colours=colours).save(buf, "PNG")
    return buf.getvalue()


def add(cli, tmp_path, images: dict[str, bytes], name: str, submitter: str | None = None) -> int:
    entries = {**images, "readme.txt": README}
    entries.update({k[:-4] + ".txt": "zz, a photo" for k in images})
    args = ["add", make_zip(tmp_path / f"{name}.zip", entries), "--name", name]
    if submitter:
        args += ["--submitter", submitter]
    r = cli(*args)
    assert r.exit_code == 0, r.stderr
    return int(r.stdout.split()[-1])


def findings(cli, sid, *extra) -> dict[str, dict]:
    r = cli("check", sid, "--json", *extra)
    assert r.exit_code in (0, 1), r.stderr
    return {f["rule"]: f for f in json.loads(r.stdout.splitlines()[-1])["checks"]}


def configure(screening_config, **keys) -> None:
    """Add keys to the test config that points at the tiny models."""
    cfg = screening_config.with_name("screening.toml")
    lines = [line for line in cfg.read_text().splitlines() if line.split(" = ")[0] not in keys]
    cfg.write_text("\n".join(lines + [f"{k} = {json.dumps(v)}" for k, v in keys.items()]) + "\n")


def test_a_mixed_set_gets_letters_similarities_and_faceless_images(screening_config, tmp_path, cli, store):
    sid = add(cli, tmp_path, {"a0.png": photo("red", seed=1), "a1.png": photo("red", seed=2),
                              "a2.png": photo("red", seed=3), "b0.png": photo("orange", seed=4),
                              "c0.png": photo("magenta", seed=5), "n0.png": photo(seed=6)}, "mixed")
    before = findings(cli, sid)
    assert before["likeness.mixed-identity"]["status"] == "info" and "not screened yet" in before["likeness.mixed-identity"]["message"]
    r = findings(cli, sid, "--models")
    mixed = r["likeness.mixed-identity"]
    assert mixed["status"] == "warn" and mixed["files"] == ["b0.png", "c0.png"]
    assert "2 of 5 images show someone other than the set's main person A (3 images; cosine similarity to A below 0.363)" in mixed["message"]
    assert re.search(r"b0.png \(B, -?0\.0\d\), c0.png \(C, -?0\.0\d\)", mixed["message"]), mixed["message"]
    assert "B in 1 image, C in 1 image" in mixed["message"]
    no_face = r["likeness.no-face"]
    assert no_face["status"] == "info" and no_face["files"] == ["n0.png"] and "1 of 6 images" in no_face["message"]
    assert r["likeness.bystanders"]["status"] == "pass"
    assert r["likeness.published-person"]["status"] == "pass"

    from pmd_tui.checks.rules.likeness import set_identities
    from pmd_tui.config import load_settings
    from pmd_tui.screening.service import results_for

    settings = load_settings()
    images = store.files(sid, "image")
    ids = set_identities(settings, images, results_for(store, settings, images))
    assert ids.main == {"a0.png": "A", "a1.png": "A", "a2.png": "A", "b0.png": "B", "c0.png": "C"}
    assert {n: ids.label(n) for n in ("a0.png", "n0.png")} == {"a0.png": "A", "n0.png": ""}
    assert min(ids.similarity[n] for n in ("a0.png", "a1.png", "a2.png")) > 0.99
    assert ids.images_of("A") == ["a0.png", "a1.png", "a2.png"]

    # the threshold comes from the config and is quoted in the message
    configure(screening_config, identity_threshold=0.999)
    assert "below 0.999" in findings(cli, sid)["likeness.mixed-identity"]["message"]
    # a set of one person passes
    one = add(cli, tmp_path, {f"p{i}.png": photo("orange", seed=10 + i) for i in range(3)}, "one person")
    configure(screening_config, identity_threshold=0.363)
    r = findings(cli, one, "--models")
    assert r["likeness.mixed-identity"]["status"] == "pass" and "one person (A) in all 3 images" in r["likeness.mixed-identity"]["message"]
    assert r["likeness.no-face"]["status"] == "pass"


def test_bystanders_are_reported_per_image_and_the_same_person_twice_is_not(screening_config, tmp_path, cli):
    sid = add(cli, tmp_path, {"r0.png": photo("red", seed=1), "r1.png": photo("red", seed=2),
                              "rb.png": photo("red", "orange", seed=3), "rr.png": photo("red", "red", seed=4)},
              "bystanders")
    r = findings(cli, sid, "--models")
    by = r["likeness.bystanders"]
    assert by["status"] == "warn" and by["files"] == ["rb.png"]
    assert "other people's faces in 1 image (face height at least 8% of the short side; warn from 15%): rb.png (1 face, 19%)" in by["message"]
    assert r["likeness.mixed-identity"]["status"] == "pass"  # the main (largest, surest) face of rb is red
    configure(screening_config, bystander_warn_size=0.25)
    by = findings(cli, sid)["likeness.bystanders"]
    assert by["status"] == "info" and "warn from 25%" in by["message"]
    configure(screening_config, bystander_min_size=0.3)
    assert findings(cli, sid)["likeness.bystanders"]["status"] == "pass"


def test_identities_off(screening_config, tmp_path, cli, store):
    configure(screening_config, face_recognizer="off")
    sid = add(cli, tmp_path, {"r0.png": photo("red", seed=1), "rr.png": photo("red", "red", seed=2),
                              "o0.png": photo("orange", seed=3)}, "off")
    r = findings(cli, sid, "--models")
    for rule in ("likeness.mixed-identity", "likeness.published-person"):
        assert r[rule]["status"] == "info" and "face_recognizer = \"off\"" in r[rule]["message"]
    # from the detector's boxes alone every second face is a bystander
    assert r["likeness.bystanders"]["files"] == ["rr.png"]
    assert store.conn.execute("SELECT COUNT(*) FROM model_results WHERE model LIKE 'identity:%'").fetchone()[0] == 0
    configure(screening_config, face_recognizer="opencv/face_recognition_sface/missing.onnx")
    r = cli("check", sid, "--models")
    assert r.exit_code == 2 and "face recognizer weights" in r.stderr and "face_recognizer" in r.stderr


def test_a_person_already_approved_for_another_submitter_needs_an_attestation(screening_config, tmp_path, cli, store):
    bob = add(cli, tmp_path, {f"b{i}.png": photo("red", seed=i) for i in range(3)}, "bobs set", "bob")
    findings(cli, bob, "--models")
    assert cli("attest", bob, "--likeness", "self").exit_code == 0
    r = cli("approve", bob)
    assert r.exit_code == 0, r.stderr

    alice = add(cli, tmp_path, {f"a{i}.png": photo("red", seed=10 + i) for i in range(3)}, "alices set", "alice")
    again = add(cli, tmp_path, {f"c{i}.png": photo("red", seed=20 + i) for i in range(2)}, "bobs second", "Bob")
    other = add(cli, tmp_path, {f"o{i}.png": photo("orange", seed=30 + i) for i in range(2)}, "orange", "alice")
    r = findings(cli, alice, "--models")["likeness.published-person"]
    assert r["status"] == "pending"
    assert (f"the set's main person (A) is already in 'bobs set' (#{bob}, approved, submitted by bob; similarity 1.00) "
            "at >= 0.363, but this set is submitted by alice") in r["message"]
    assert findings(cli, again, "--models")["likeness.published-person"]["status"] == "pass"  # same submitter
    assert findings(cli, other, "--models")["likeness.published-person"]["status"] == "pass"  # another person
    cli("attest", alice, "--likeness", "self")
    r = cli("approve", alice)
    assert r.exit_code == 2 and "likeness.published-person (pending)" in r.stderr
    assert cli("attest", alice, "--same-person-ok").exit_code == 0
    r = findings(cli, alice)["likeness.published-person"]
    assert r["status"] == "pass" and r["message"].startswith("attested: this person may be in this set (A matches 'bobs set'")
    assert cli("approve", alice).exit_code == 0
    shown = cli("show", alice).stdout
    assert "published person attestation: may-be-in-this-set" in shown


def _embedding_strings(store) -> set[str]:
    out = set()
    for (data,) in store.conn.execute("SELECT data FROM model_results WHERE model LIKE 'identity:%'"):
        for face in json.loads(data)["faces"]:
            out |= {repr(v) for v in face["embedding"] if abs(v) > 0.001 and len(repr(v)) >= 6}
    return out


def test_biometric_data_stays_in_the_local_database_and_forget_deletes_it(screening_config, tmp_path, cli, store):
    sid = add(cli, tmp_path, {"r0.png": photo("red", seed=1), "r1.png": photo("red", seed=2),
                              "ro.png": photo("red", "orange", seed=3)}, "private", "carol")
    findings(cli, sid, "--models")
    secrets = _embedding_strings(store)
    assert len(secrets) > 50  # 4 faces x 128 numbers, the tiny model's in 4 directions
    cli("attest", sid, "--likeness", "self")
    assert cli("approve", sid).exit_code == 0
    out = tmp_path / "published"
    assert cli("publish", sid, "--to", out).exit_code == 0
    texts = [p.read_text(errors="replace") for p in out.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".txt", ".md")]
    assert any("stats" in t or "datasets" in t for t in texts)
    for args in (("show", sid, "--json"), ("show", sid), ("list", "--json"), ("log", sid, "--json"), ("log",),
                 ("check", sid, "--json", "--all"), ("check", sid, "--all")):
        r = cli(*args)
        texts.append(r.stdout + r.stderr)
    for text in texts:
        assert "embedding" not in text
        leaked = [s for s in secrets if s in text]
        assert not leaked, leaked[:3]

    r = cli("forget", sid)
    assert r.exit_code == 0 and "3 image record(s) deleted" in r.stderr
    assert _embedding_strings(store) == set()
    assert store.conn.execute("SELECT COUNT(*) FROM model_results WHERE model LIKE 'faces:%'").fetchone()[0] == 3
    assert [e["detail"] for e in store.events(sid) if e["action"] == "identity-forgotten"] == [{"records": 3}]
    r = findings(cli, sid, "--models", "--all")  # not computed again
    assert _embedding_strings(store) == set()
    assert "deleted on request" in r["likeness.mixed-identity"]["message"]
    assert r["likeness.bystanders"]["files"] == ["ro.png"]  # boxes stay
    # a forgotten set is no longer matched against new submissions
    new = add(cli, tmp_path, {"n0.png": photo("red", seed=9)}, "new", "dave")
    assert findings(cli, new, "--models")["likeness.published-person"]["status"] == "pass"


def test_batched_embeddings_equal_opencvs_own_feature_and_grouping_ignores_order(tiny_screeners, tiny_sface):
    import numpy as np

    from pmd_tui.screening.faces import load_faces
    from pmd_tui.screening.identity import group, load_recognizer

    detector, recognizer = load_faces(str(tiny_screeners[1])), load_recognizer(str(tiny_sface))
    bgr, rows = detector.detect(face_photo(3, size=(640, 512), colours=("red", "orange", "magenta")))
    faces = recognizer.faces(bgr, rows)
    crops = [f.pop("crop") for f in faces]
    assert [c.shape for c in crops] == [(112, 112, 3)] * 3
    batched = np.asarray(recognizer.embed(crops))
    assert recognizer.batched
    one = np.stack([np.asarray(recognizer._sf.feature(c)).ravel() for c in crops])
    one /= np.linalg.norm(one, axis=1, keepdims=True)
    assert np.abs(batched - one).max() < 1e-4
    assert np.abs(batched @ batched.T - np.eye(3)).max() < 0.05  # three different people

    colours = ["red"] * 4 + ["orange"] * 2 + ["magenta"]
    per_image = {}
    for i, c in enumerate(colours):
        bgr, rows = detector.detect(face_photo(1, size=(640, 512), seed=i, colours=(c,)))
        faces = recognizer.faces(bgr, rows)
        for f, e in zip(faces, recognizer.embed([f.pop("crop") for f in faces])):
            f["embedding"] = e
        per_image[f"{c}{i}"] = faces
    names = list(per_image)
    for seed in range(3):
        random.Random(seed).shuffle(names)
        ids = group({n: per_image[n] for n in names}, 0.363)
        assert {n: ids.main[n] for n in per_image} == {n: {"red": "A", "orange": "B", "magenta": "C"}[n.rstrip("0123456789")]
                                                       for n in per_image}
