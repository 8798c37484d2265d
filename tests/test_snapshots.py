"""SVG snapshots of every screen at a fixed size, half-cell previews forced (stable across terminals).

Update after an intended change with: pytest tests/test_snapshots.py --snapshot-update
"""

import pytest

from pmd_tui.tui.screenshots import SCENES, SIZE, demo_app


@pytest.mark.parametrize("scene", list(SCENES))
def test_screen(scene, snap_compare, tmp_path):
    assert snap_compare(demo_app(tmp_path), terminal_size=SIZE, run_before=SCENES[scene])
