"""The core (intake, checks, captioning, publishing, stats, store) stays usable without the TUI."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ["pmd_tui.store", "pmd_tui.intake.service", "pmd_tui.checks.engine", "pmd_tui.captioning.service",
        "pmd_tui.publish.service", "pmd_tui.publish.hub", "pmd_tui.stats", "pmd_tui.decisions", "pmd_tui.demo",
        "pmd_tui.screening.service", "pmd_tui.screening.nsfw", "pmd_tui.screening.faces", "pmd_tui.intake.github",
        "pmd_tui.model_runtime", "pmd_tui.jobs", "pmd_tui.config",
        "pmd_tui.cli", "pmd_tui.cli.review", "pmd_tui.cli.publish", "pmd_tui.cli.caption"]


def test_import_linter_contract_holds():
    """The static contract in pyproject.toml (static imports, including lazy ones inside functions)."""
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "The core never imports Textual KEPT" in r.stdout
    assert "The core's layers: each imports only the layers below it KEPT" in r.stdout


def test_core_and_headless_cli_load_without_textual():
    """At run time too: importing every core service and the headless commands pulls in no Textual."""
    code = ("import sys\n" + "".join(f"import {m}\n" for m in CORE) +
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_image') or m.startswith('pmd_tui.tui'))\n"
            "print(bad)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_sql_only_inside_the_store():
    """Every query is a QueueStore method: no module outside pmd_tui/store/ touches the connection."""
    import re

    pattern = re.compile(r"\.conn\b|\.db\[|\bexecute(many|script)?\(|\b(SELECT|INSERT|UPDATE|DELETE)\s+\S+.*\b(FROM|INTO|SET)\b")
    offenders = []
    for path in sorted((ROOT / "pmd_tui").rglob("*.py")):
        if path.parent.name == "store":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_publish_targets_share_one_protocol(tmp_path):
    from pmd_tui.publish.hub import HubTarget
    from pmd_tui.publish.local import FolderTarget
    from pmd_tui.publish.target import PublishTarget

    assert isinstance(FolderTarget(tmp_path), PublishTarget)
    assert isinstance(HubTarget("me/data", token="hf_x", endpoint="http://127.0.0.1:9"), PublishTarget)
    assert not isinstance(object(), PublishTarget)
