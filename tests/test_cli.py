"""The headless CLI end to end, in-process and as the installed console script."""

import json
import os
import subprocess
import sys

from tests.helpers import kohya_set, make_zip


def test_add_list_show_json(tmp_path, cli):
    z = make_zip(tmp_path / "dog set.zip", kohya_set(3))
    r = cli("add", z, "--issue", "#7", "--submitter", "ann")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "1"
    assert "added #1" in r.stderr and "3 images, 3 captions" in r.stderr

    r = cli("list", "--json")
    rows = json.loads(r.stdout)
    assert [(x["id"], x["name"], x["status"], x["images"], x["captions"], x["issue_number"]) for x in rows] == [
        (1, "dog set", "new", 3, 3, 7)]

    r = cli("show", "1", "--json")
    d = json.loads(r.stdout)
    assert d["submitter"] == "ann" and d["caption_method"] == "manual" and d["trigger_words"] == "ohwx"
    img = d["files"][0]
    assert (img["name"], img["width"], img["height"], img["format"], img["caption_source"]) == (
        "img00.jpg", 640, 512, "JPEG", "submitted")
    assert img["caption"] == "photo of ohwx dog number 0"

    r = cli("show", "1")
    assert "img00.jpg  640x512 JPEG [submitted] 'photo of ohwx dog number 0'" in r.stdout
    r = cli("list")
    assert "dog set" in r.stdout and "new" in r.stdout


def test_bad_input_is_one_line_exit_2(tmp_path, cli):
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    r = cli("add", bad)
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == "pmd-tui: error: broken.zip: not a zip archive, or the archive is damaged"
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert json.loads(cli("list", "--json").stdout) == []
    r = cli("show", "42")
    assert r.exit_code == 2 and "no submission with id 42" in r.stderr


def test_several_sources_print_one_id_each(tmp_path, cli):
    a = make_zip(tmp_path / "a.zip", kohya_set(1))
    b = make_zip(tmp_path / "b.zip", kohya_set(1, seed=9))
    r = cli("add", a, b)
    assert r.stdout.split() == ["1", "2"]


def test_installed_console_script_chains(tmp_path):
    z = make_zip(tmp_path / "s.zip", kohya_set(2))
    (tmp_path / "none.toml").write_text("")
    env = {**os.environ, "PMD_DB": str(tmp_path / "q.db"), "PMD_CONFIG": str(tmp_path / "none.toml")}
    exe = os.path.join(os.path.dirname(sys.executable), "pmd-tui")
    out = subprocess.run([exe, "add", str(z)], capture_output=True, text=True, env=env, check=True)
    sid = out.stdout.strip().splitlines()[-1]
    shown = subprocess.run([exe, "show", sid, "--json"], capture_output=True, text=True, env=env, check=True)
    assert json.loads(shown.stdout)["id"] == int(sid)
    bad = subprocess.run([exe, "add", str(tmp_path / "nope.zip")], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_db_option_and_config_file(tmp_path, cli, monkeypatch):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('actor = "maint"\n[limits]\nmin_short_side = 100\n')
    db = tmp_path / "other.db"
    z = make_zip(tmp_path / "s.zip", kohya_set(1))
    r = cli("--db", db, "--config", cfg, "add", z)
    assert r.exit_code == 0 and db.exists()
    assert (tmp_path / "other-files").is_dir()
    r = cli("--db", db, "--config", cfg, "log", "--json")
    assert json.loads(r.stdout)[0]["actor"] == "maint"
    cfg.write_text("[limits]\nbogus = 1\n")
    r = cli("--config", cfg, "list")
    assert r.exit_code == 2 and "unknown [limits] keys" in r.stderr


def test_add_each_takes_one_submission_per_sub_folder(tmp_path, cli):
    from tests.helpers import write_image

    for subject in ("backpack", "dog6"):
        for i in range(2):
            write_image(tmp_path / "dreambooth" / subject / f"{i:02d}.jpg", size=(640, 576), seed=i + len(subject))
    (tmp_path / "dreambooth" / "prompts.txt").write_text("a photo of sks backpack")
    r = cli("add", tmp_path / "dreambooth", "--each")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.split() == ["1", "2"]
    listed = json.loads(cli("list", "--json").stdout)
    assert sorted(x["name"] for x in listed) == ["backpack", "dog6"] and all(x["images"] == 2 for x in listed)
    r = cli("add", tmp_path / "dreambooth" / "prompts.txt", "--each")
    assert r.exit_code == 2 and "needs folders" in r.stderr


def test_adding_content_already_in_the_queue_names_the_other_submission(tmp_path, cli):
    z = make_zip(tmp_path / "rusty.zip", kohya_set(3))
    assert cli("add", z, "--name", "Rusty").stdout.strip() == "1"
    # the same images again, as a zip under another name or as a folder: refused, naming #1
    again = make_zip(tmp_path / "rusty-v2.zip", {**kohya_set(3), "img00.txt": "a new caption"})
    r = cli("add", again)
    assert r.exit_code == 2 and r.stdout == ""
    assert "already in the queue as #1 'Rusty' (new, the same 3 images); add --again" in r.stderr
    folder = tmp_path / "folder"
    for name, data in kohya_set(3).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    other = make_zip(tmp_path / "other.zip", kohya_set(2, seed=50))
    r = cli("add", folder, other)  # several sources: the duplicate is skipped, the rest goes in, exit 1
    assert r.exit_code == 1 and r.stdout.strip() == "2" and "skipped: folder is already in the queue as #1" in r.stderr
    # a subset of the images is not the same content
    assert cli("add", make_zip(tmp_path / "part.zip", kohya_set(2))).exit_code == 0
    r = cli("add", again, "--again")
    assert r.exit_code == 0 and r.stdout.strip() == "4"
    assert len(json.loads(cli("list", "--json").stdout)) == 4
