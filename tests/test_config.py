"""The config file is validated: unknown keys and wrong types are one-line errors naming the key and the file."""

import pytest


@pytest.mark.parametrize("text, message", [
    ('nsfw_treshold = 0.5\n', "unknown keys in {cfg}: nsfw_treshold (did you mean nsfw_threshold?)"),
    ('[limits]\nmax_entrys = 5\n', "unknown [limits] keys in {cfg}: max_entrys (did you mean max_entries?)"),
    ('notify = "yes"\n', "config file {cfg}: notify should be boolean, not 'yes'"),
    ('[limits]\nmax_entries = "20"\n', "config file {cfg}: [limits] max_entries should be integer, not '20'"),
    ('opt_out_artists = ["A", 3]\n', "config file {cfg}: opt_out_artists[1] should be string, not 3"),
    ('repo = 5\n', "config file {cfg}: repo should be string, not 5"),
    ('limits = 3\n', "config file {cfg}: limits should be a table ([limits]), not 3"),
])
def test_bad_config_is_one_line_naming_key_and_file(tmp_path, cli, text, message):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(text)
    r = cli("--config", cfg, "list")
    assert r.exit_code == 2
    assert r.stderr == f"pmd-tui: error: {message.format(cfg=cfg)}\n"


def test_types_and_environment_overrides(tmp_path, monkeypatch):
    from pmd_tui.config import load_settings

    cfg = tmp_path / "cfg.toml"
    cfg.write_text(f'db = "{tmp_path / "from-file.db"}"\nnsfw_threshold = 1\nnotify = true\n'
                   'opt_out_artists = ["A"]\n[limits]\nmax_ratio = 50\n')
    monkeypatch.delenv("PMD_DB", raising=False)
    s = load_settings(None, cfg)
    assert s.db_path == tmp_path / "from-file.db" and s.data_dir == tmp_path / "from-file-files"
    assert s.nsfw_threshold == 1.0 and s.notify is True and s.opt_out_artists == ("A",)
    assert s.limits.max_ratio == 50.0 and s.limits.max_entries == 20_000
    monkeypatch.setenv("PMD_DB", str(tmp_path / "from-env.db"))
    assert load_settings(None, cfg).db_path == tmp_path / "from-env.db"
    assert load_settings(tmp_path / "option.db", cfg).db_path == tmp_path / "option.db"
