"""SVG snapshots of every screen at a fixed size, half-cell previews forced (stable across terminals).

Update after an intended change with: pytest tests/test_snapshots.py --snapshot-update
"""

import pytest

from pmd_tui.tui.screenshots import ALL_SCENES, demo_app, scene_of


@pytest.mark.parametrize("scene", ALL_SCENES)
def test_screen(scene, snap_compare, tmp_path):
    run_before, size = scene_of(scene)
    assert snap_compare(demo_app(tmp_path), terminal_size=size, run_before=run_before)
