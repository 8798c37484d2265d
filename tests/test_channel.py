"""Links and GitHub issues: the real httpx client against servers on 127.0.0.1."""

from __future__ import annotations


import pytest

from tests.fakeweb import FakeWeb
from tests.helpers import image_bytes, make_zip


@pytest.fixture
def web():
    server = FakeWeb()
    yield server
    server.stop()


def dataset_zip(tmp_path, n=2, name="set.zip", readme=None) -> bytes:
    entries = {f"img{i}.jpg": image_bytes((640, 576), seed=i) for i in range(n)}
    entries.update({f"img{i}.txt": f"ohwx cat {i}" for i in range(n)})
    if readme:
        entries["readme.txt"] = readme
    return make_zip(tmp_path / name, entries).read_bytes()


def downloads(settings):
    folder = settings.data_dir / "downloads"
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


# -- share links ----------------------------------------------------------------------------------
@pytest.mark.parametrize("url, kind, direct", [
    ("https://drive.google.com/file/d/1AbCdEfGhIjKlMnOp/view?usp=sharing", "drive", "id=1AbCdEfGhIjKlMnOp"),
    ("https://drive.google.com/open?id=1AbCdEfGhIjKlMnOp", "drive", "id=1AbCdEfGhIjKlMnOp"),
    ("https://drive.google.com/uc?id=1AbCdEfGhIjKlMnOp&export=download", "drive", "id=1AbCdEfGhIjKlMnOp"),
    ("https://www.dropbox.com/s/abc123/my%20set.zip?dl=0", "dropbox", "https://www.dropbox.com/s/abc123/my%20set.zip?dl=1"),
    ("https://www.dropbox.com/scl/fi/xyz/set.zip?rlkey=k9&dl=0", "dropbox", "https://www.dropbox.com/scl/fi/xyz/set.zip?rlkey=k9&dl=1"),
    ("https://huggingface.co/datasets/a/b/blob/main/set.zip", "huggingface", "https://huggingface.co/datasets/a/b/resolve/main/set.zip"),
    ("https://github.com/user-attachments/files/123/set.zip", "github-attachment", "https://github.com/user-attachments/files/123/set.zip"),
    ("https://example.org/files/set.zip", "direct", "https://example.org/files/set.zip"),
])
def test_share_links_become_direct_downloads(url, kind, direct):
    from pmd_tui.intake.links import classify

    link = classify(url)
    assert link.kind == kind
    assert direct in link.download_url
    if kind == "drive":
        assert link.download_url.startswith("https://drive.google.com/uc?export=download&")


def test_find_links_keeps_archives_and_share_links_only():
    from pmd_tui.intake.links import find_links

    body = ("My dog! ![img](https://github.com/user-attachments/assets/5f0e-preview) see https://example.org/blog "
            "[set.zip](https://github.com/user-attachments/files/77/set.zip) or "
            "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOp/view?usp=sharing.")
    assert [lk.kind for lk in find_links(body)] == ["github-attachment", "drive"]


# -- downloads ------------------------------------------------------------------------------------
def test_add_url_downloads_and_takes_in_like_a_zip(web, tmp_path, cli, store, settings):
    url = web.add_file("/files/rusty.zip", dataset_zip(tmp_path))
    r = cli("add", url, "--issue", "7")
    assert r.exit_code == 0, r.stderr
    sid = int(r.stdout.strip().splitlines()[-1])
    sub = store.get(sid)
    assert sub["name"] == "rusty" and sub["source"] == url and sub["source_kind"] == "url"
    assert len(store.files(sid, "image")) == 2
    assert (store.staged_dir(sub).parent / "upload" / "rusty.zip").read_bytes()[:2] == b"PK"  # the original, kept
    assert downloads(settings) == []  # the download is staged, nothing left behind


def test_redirects_and_content_disposition_name(web, tmp_path, cli, store):
    web.add_file("/real/blob", dataset_zip(tmp_path), content_type="application/octet-stream",
                 filename="Ink Style v2.zip")
    web.redirects["/short"] = "/hop"
    web.redirects["/hop"] = f"{web.url}/real/blob"
    r = cli("add", web.url + "/short")
    assert r.exit_code == 0, r.stderr
    assert store.get(int(r.stdout.split()[-1]))["name"] == "Ink Style v2"


@pytest.mark.parametrize("setup, message", [
    (lambda w, z: w.url + "/missing.zip", "HTTP 404"),
    (lambda w, z: w.add_file("/private.zip", z, status=403), "HTTP 403"),
    (lambda w, z: w.add_file("/page.zip", b"<html><body>Sign in</body></html>", content_type="text/html"),
     "returned a web page, not a file"),
    (lambda w, z: w.add_file("/notzip.zip", b"just text, not an archive", content_type="application/zip"),
     "not a zip archive"),
])
def test_bad_links_are_one_line_and_change_nothing(web, tmp_path, cli, store, settings, setup, message):
    url = setup(web, dataset_zip(tmp_path))
    r = cli("add", url)
    assert r.exit_code == 2
    assert message in r.stderr.splitlines()[-1] and r.stderr.count("error:") == 1 and "Traceback" not in r.stderr
    assert store.summaries() == [] and downloads(settings) == []


def test_redirect_loop_is_stopped(web, cli, store):
    web.redirects["/a"] = "/b"
    web.redirects["/b"] = "/a"
    r = cli("add", web.url + "/a")
    assert r.exit_code == 2 and "too many redirects" in r.stderr


def test_transfer_broken_once_is_resumed_in_the_same_run(web, tmp_path, cli, store):
    data = dataset_zip(tmp_path, n=3)
    url = web.add_file("/set.zip", data, fail_after=[len(data) // 2])
    r = cli("add", url)
    assert r.exit_code == 0, r.stderr
    ranges = [h.get("Range") for m, p, h in web.requests if p == "/set.zip"]
    assert ranges == [None, f"bytes={len(data) // 2}-"]
    assert len(store.files(int(r.stdout.split()[-1]), "image")) == 3


def test_interrupted_download_resumes_on_the_next_run(web, tmp_path, cli, store, settings):
    data = dataset_zip(tmp_path, n=3)
    third = len(data) // 3
    url = web.add_file("/set.zip", data, fail_after=[third, 0, 0])
    r = cli("add", url)
    assert r.exit_code == 2
    assert "interrupted after" in r.stderr and "run the same command again to resume" in r.stderr
    assert store.summaries() == [] and any(n.endswith(".part") for n in downloads(settings))
    r = cli("add", url)
    assert r.exit_code == 0, r.stderr
    assert [h.get("Range") for m, p, h in web.requests if p == "/set.zip"][-1] == f"bytes={third}-"
    assert downloads(settings) == [] and len(store.summaries()) == 1


def test_size_and_time_limits(web, tmp_path, cli, store, db_path, monkeypatch):
    cfg = tmp_path / "limits.toml"
    cfg.write_text("[limits]\nmax_download_bytes = 1000\ndownload_timeout_s = 0.5\n")
    monkeypatch.setenv("PMD_CONFIG", str(cfg))
    url = web.add_file("/big.zip", dataset_zip(tmp_path))
    r = cli("add", url)
    assert r.exit_code == 2 and "over the" in r.stderr and "download limit" in r.stderr
    small = web.add_file("/slow.zip", b"PK" + b"\0" * 500, stall=2.0)
    r = cli("add", small)
    assert r.exit_code == 2 and "timed out" in r.stderr
    assert store.summaries() == []


def test_untrusted_urls_are_refused(web, tmp_path, cli, store, monkeypatch):
    url = web.add_file("/set.zip", dataset_zip(tmp_path))
    r = cli("add", "file:///etc/passwd")
    assert r.exit_code == 2 and "only http and https" in r.stderr
    monkeypatch.delenv("PMD_ALLOW_PRIVATE_URLS")
    for target in (url, url.replace("127.0.0.1", "localhost"), "http://169.254.169.254/latest/meta-data.zip",
                   "http://[::1]:9/x.zip", "http://10.1.2.3/x.zip"):
        r = cli("add", target)
        assert r.exit_code == 2 and "private or loopback address" in r.stderr, target
    assert not [p for m, p, h in web.requests]  # nothing was even requested
    # a public link that redirects inward is refused at the redirect
    from pmd_tui.intake.download import check_url
    from pmd_tui.errors import InputError

    with pytest.raises(InputError, match="private or loopback"):
        check_url("http://127.0.0.1:80/")


def test_google_drive_small_and_large_files(web, tmp_path, cli, store, monkeypatch):
    monkeypatch.setenv("PMD_DRIVE_ENDPOINT", web.url)
    web.drive["1SmallFileId0001"] = ("small set.zip", dataset_zip(tmp_path, n=1, name="a.zip"), False)
    web.drive["1LargeFileId0002"] = ("large set.zip", dataset_zip(tmp_path, n=2, name="b.zip"), True)
    r = cli("add", "https://drive.google.com/file/d/1SmallFileId0001/view?usp=sharing")
    assert r.exit_code == 0, r.stderr
    small = store.get(int(r.stdout.split()[-1]))
    assert small["name"] == "small set" and small["source_kind"] == "drive"
    r = cli("add", "https://drive.google.com/open?id=1LargeFileId0002")
    assert r.exit_code == 0, r.stderr
    assert len(store.files(int(r.stdout.split()[-1]), "image")) == 2
    confirm = [p for m, p, h in web.requests if p.startswith("/download") and "confirm=t" in p]
    assert confirm and "uuid=0f3c" in confirm[0]
    r = cli("add", "https://drive.google.com/file/d/1MissingFile0003/view")
    assert r.exit_code == 2 and "HTTP 404" in r.stderr


# -- GitHub issues ---------------------------------------------------------------------------------
@pytest.fixture
def github(web, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", web.url)
    monkeypatch.setenv("PMD_DRIVE_ENDPOINT", web.url)
    repo = "spacepxl/personalization-meta-dataset"
    att = web.add_file("/user-attachments/files/11/rusty.zip", dataset_zip(tmp_path, name="r.zip"))
    web.drive["1DriveIdForIssue2"] = ("ink.zip", dataset_zip(tmp_path, n=3, name="i.zip"), True)
    web.add_issue(repo, 1, "Rusty the dog", f"Here is my dog.\n\n[rusty.zip]({att})\n\nTrigger word: ohwx dog\n"
                  "Captions written by hand.", user="alice")
    web.add_issue(repo, 2, "Ink painting style", "Style of my own ink paintings. Link below.", user="bob",
                  comments=[("maintainer", "thanks, where is it? https://example.org/other.zip"),
                            ("bob", "here: https://drive.google.com/file/d/1DriveIdForIssue2/view?usp=sharing\n"
                                    "trigger: zkx style")])
    web.add_issue(repo, 3, "Question about the rules", "Can I submit a dataset of my cat?", user="carol")
    web.add_issue(repo, 4, "Dead link", f"{web.url}/gone.zip", user="dave")
    web.add_issue(repo, 5, "Fix typo", "a pull request", user="erin", pull=True)
    return repo


def test_sync_adds_one_submission_per_issue_with_reasons(github, web, cli, store):
    r = cli("sync", "--github", github)
    assert r.exit_code == 0, r.stderr
    ids = [int(x) for x in r.stdout.split()]
    assert len(ids) == 2
    one, two = (store.get(i) for i in ids)
    assert (one["issue_number"], one["issue_title"], one["submitter"]) == (1, "Rusty the dog", "alice")
    assert one["issue_url"] == f"https://github.com/{github}/issues/1" and one["name"] == "Rusty the dog"
    assert one["trigger_words"] == "ohwx dog" and "Captions written by hand" in one["issue_text"]
    assert (two["issue_number"], two["submitter"], two["source_kind"]) == (2, "bob", "drive")
    assert two["trigger_words"] == "zkx style" and "example.org/other.zip" not in two["issue_text"]
    assert "SKIP  issue #3 'Question about the rules': no attached zip or download link" in r.stderr
    assert "FAIL  issue #4 'Dead link': HTTP 404" in r.stderr
    assert "#5" not in r.stderr  # pull requests are not submissions
    # pagination: the issues list came in pages of two, comments too
    assert sum(1 for m, p, h in web.requests if p.startswith(f"/repos/{github}/issues?")) >= 3
    # a second sync adds nothing
    r = cli("sync", "--github", github)
    assert r.exit_code == 0 and r.stdout.strip() == ""
    assert "issue #1 'Rusty the dog': already in the queue as #1" in r.stderr
    assert len(store.summaries()) == 2


def test_sync_takes_the_same_images_re_posted_in_another_issue_only_once(github, web, cli, store, tmp_path):
    """A contributor who opens a second issue with the same zip gets no second submission; the sync says
    which submission already holds those images."""
    att = web.add_file("/user-attachments/files/12/rusty-again.zip", dataset_zip(tmp_path, name="r.zip"))
    web.add_issue(github, 6, "Rusty again", f"forgot if I sent it: [rusty-again.zip]({att})", user="alice")
    r = cli("sync", "--github", github)
    assert r.exit_code == 0, r.stderr
    assert len(r.stdout.split()) == 2 and len(store.summaries()) == 2
    first = store.find_by_issue(1)["id"]
    assert f"issue #6 'Rusty again': the same images are already in the queue as #{first}" in r.stderr


def test_sync_token_and_errors(github, web, cli, monkeypatch):
    web.token = "ghp_right"
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrong")
    r = cli("sync", "--github", github)
    assert r.exit_code == 2 and "GitHub rejected the token" in r.stderr and "ghp_wrong" not in r.stderr
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_right")
    web.requests.clear()
    r = cli("sync", "--github", github)
    assert r.exit_code == 0, r.stderr
    assert all(h.get("Authorization") == "Bearer ghp_right" for m, p, h in web.requests if p.startswith("/repos"))
    r = cli("sync", "--github", "someone/unknown")
    assert r.exit_code == 2 and "not found" in r.stderr
    r = cli("sync", "--github", "not a repo")
    assert r.exit_code == 2 and "OWNER/REPO" in r.stderr


def test_notify_comments_decisions_on_the_issue(github, web, cli, store, tmp_path):
    r = cli("sync", "--github", github)
    one, two = (int(x) for x in r.stdout.split())
    cli("check", one, two)
    r = cli("approve", one, "--override", "fine", "--notify")
    assert r.exit_code == 0 and "commented on the issue" in r.stderr
    r = cli("reject", two, "--reason", "the artist asked not to be trained on", "--notify")
    assert r.exit_code == 0
    r = cli("publish", one, "--to", tmp_path / "out", "--notify")
    assert r.exit_code == 0
    assert web.posted[0][:2] == (github, 1) and "approved" in web.posted[0][2]
    assert web.posted[1][:2] == (github, 2) and "the artist asked not to be trained on" in web.posted[1][2]
    assert len(web.posted) == 2  # a local --to target is not a publication to tell the contributor about
    assert any(e["action"] == "issue-notified" for e in store.events(one))
    r = cli("approve", one, "--notify")
    assert r.exit_code == 2  # already approved: the state machine refuses, nothing is posted
    assert len(web.posted) == 2


def test_a_name_that_rebinds_to_loopback_is_refused_at_connect(web, tmp_path, cli, monkeypatch):
    """The check resolves a public address; the connection would resolve loopback: refused all the same."""
    import socket

    url = web.add_file("/set.zip", dataset_zip(tmp_path))
    port = int(url.split(":")[2].split("/")[0])
    real = socket.getaddrinfo
    calls = {"n": 0}

    def rebinding(host, *args, **kw):
        if host == "rebind.example":
            calls["n"] += 1
            address = "93.184.215.14" if calls["n"] <= 2 else "127.0.0.1"  # the two checks, then the connect
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.delenv("PMD_ALLOW_PRIVATE_URLS")
    r = cli("add", f"http://rebind.example:{port}/set.zip")
    assert r.exit_code == 2 and "private or loopback address (127.0.0.1)" in r.stderr
    assert calls["n"] == 3 and not web.requests
