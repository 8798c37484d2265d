"""An edit after approval is judged again; an edited published set re-opens and republishes in one commit."""

import json

from pmd_tui.decisions import approve, rejudge_after_edit
from pmd_tui.store import Status
from tests.fakehub import FakeHub  # noqa: F401 - the hub fixture of test_publish drives it
from tests.test_publish import REPO, approved, hub, publish  # noqa: F401 - fixtures


def _events(store, sid, action):
    return [e for e in store.events(sid) if e["action"] == action]


def test_metadata_edit_after_approval_with_a_new_blocker_goes_back_to_checked(store, settings, tmp_path, cli):
    sid = approved(store, settings, tmp_path)
    assert store.get(sid)["status"] == "approved"
    r = cli("edit", sid, "--concept-type", "person")  # a likeness now: consent.likeness is pending
    assert r.exit_code == 0, r.stderr
    assert "went back to checked after the edit of concept_type: consent.likeness (pending)" in r.stderr
    assert store.get(sid)["status"] == "checked"
    [ev] = _events(store, sid, "reopened")
    assert ev["detail"]["blocking"] == ["consent.likeness"] and ev["detail"]["what"] == "the edit of concept_type"
    assert ev["detail"]["from"] == "approved" and ev["detail"]["to"] == "checked"
    # attesting settles it; approving again needs no override
    r = cli("attest", sid, "--likeness", "self")
    assert r.exit_code == 0, r.stderr
    approve(store, settings, sid)
    assert store.get(sid)["status"] == "approved"


def test_edit_of_an_approved_set_without_new_blocker_keeps_it_approved(store, settings, tmp_path):
    sid = approved(store, settings, tmp_path)
    f = store.files(sid, "image")[0]
    store.set_caption(f["id"], "ohwx dog, a better caption", actor="t")
    assert rejudge_after_edit(store, settings, sid, actor="t", what="a caption edit") is None
    assert store.get(sid)["status"] == "approved" and not _events(store, sid, "reopened")
    # the findings are current: the check ran after the edit
    assert not store.changed_since_check(sid)


def test_overridden_finding_does_not_reopen_but_a_worse_one_does(store, settings, tmp_path):
    from pmd_tui.checks.engine import run_checks

    sid = approved(store, settings, tmp_path, name="Face set")
    store.update_fields(sid, {"concept_type": "person"}, actor="t")
    run_checks(store, settings, [sid])
    approve(store, settings, sid, override="consent is in the issue thread")
    assert _events(store, sid, "approved")[-1]["detail"]["overridden_status"] == {"consent.likeness": "pending"}
    store.update_fields(sid, {"concept": "my own face"}, actor="t")
    assert rejudge_after_edit(store, settings, sid, actor="t", what="the edit of concept") is None
    assert store.get(sid)["status"] == "approved"


def test_published_set_reopens_as_approved_and_republishes_in_one_commit(hub, store, settings, tmp_path, cli):  # noqa: F811
    sid = approved(store, settings, tmp_path)
    publish(store, settings, [sid])
    assert store.get(sid)["status"] == "published"
    n = len(hub.commits(REPO))
    f = next(f for f in store.files(sid, "image") if f["name"] == "img1.jpg")
    store.set_caption(f["id"], "ohwx dog, corrected caption", actor="t")
    said = rejudge_after_edit(store, settings, sid, actor="t", what="the caption edit of img1.jpg")
    assert said and "approved again" in said and "--publish-all" in said
    assert store.get(sid)["status"] == "approved"
    [ev] = _events(store, sid, "reopened")
    assert ev["detail"]["from"] == "published" and ev["detail"]["to"] == "approved"
    r = cli("--publish-all", "--repo", REPO)
    assert r.exit_code == 0, r.stderr
    assert "published rusty-the-dog/ (0 to upload, 5 to change, 0 to delete" in r.stdout
    commits = hub.commits(REPO)
    assert len(commits) == n + 1 and commits[-1].message == "Update dataset rusty-the-dog (issue #12)"
    files = hub.files(REPO)
    assert files["rusty-the-dog/img1.txt"] == b"ohwx dog, corrected caption\n"
    assert json.loads(files["rusty-the-dog/metadata.jsonl"].decode().splitlines()[1])["text"] == \
        "ohwx dog, corrected caption"
    assert store.get(sid)["status"] == "published" and len(store.publications(sid)) == 2
    assert {p["folder"] for p in store.publications(sid)} == {"rusty-the-dog"}


def test_published_set_with_a_new_blocker_goes_back_to_checked(store, settings, tmp_path, cli):
    sid = approved(store, settings, tmp_path)
    out = tmp_path / "out"
    assert cli("publish", sid, "--to", out).exit_code == 0
    r = cli("edit", sid, "--concept-type", "person")
    assert "went back to checked" in r.stderr and "stays as it was" in r.stderr
    assert store.get(sid)["status"] == Status.CHECKED
    r = cli("--publish-all", "--to", out)
    assert "no approved submission" in r.stderr  # nothing goes out until it is approved again


def test_attest_on_a_published_set_reopens_it(store, settings, tmp_path, cli):
    sid = approved(store, settings, tmp_path)
    out = tmp_path / "out"
    assert cli("publish", sid, "--to", out).exit_code == 0
    r = cli("attest", sid, "--artist-ok")
    assert r.exit_code == 0 and "approved again after the attestation" in r.stderr
    r = cli("--publish-all", "--to", out)
    assert r.exit_code == 0 and store.get(sid)["status"] == "published"
    assert "The artist has not objected" in (out / "rusty-the-dog" / "readme.txt").read_text()
