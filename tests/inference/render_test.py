"""tfpose.inference.render: the 3D panels read without the code (labelled metre axes,
a floor), checked on the matplotlib artists, not on pixels."""

import numpy as np
import pytest

from tfpose import skeleton as skeleton_lib
from tfpose.inference import render


def _poses(frames=3):
    """Root-relative camera-frame poses (y down): joints within 0.4 m of the
    root, the frame's lowest one 0.9 m + 0.1 m * t below it."""
    rng = np.random.default_rng(0)
    poses = rng.uniform(-0.4, 0.4, (frames, 17, 3))
    poses[:, 0] = 0.0
    poses[:, 3, 1] = 0.9 + 0.1 * np.arange(frames)
    return poses


def test_3d_panel_has_metre_axes_ticks_and_a_ground_under_the_lowest_joint():
    poses = _poses()
    figure, plt = render._setup(dict(figsize=(3, 6)))
    try:
        panels = render._Panels(figure, 2, 1, 1, poses[..., :2], poses, skeleton_lib.H36M,
                                None, None)
        panels.draw(2)
        ax = panels.ax3d
        labels = ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()
        assert all(label.endswith("(m)") for label in labels), labels
        assert "up" in ax.get_zlabel()
        for ticks in (ax.get_xticks(), ax.get_yticks(), ax.get_zticks()):
            assert len(ticks) >= 2 and np.allclose(np.diff(ticks), 0.5)  # a 1.6 m cube
        ground = [c for c in ax.collections if c.get_label() == "ground"]
        assert len(ground) == 1
    finally:
        plt.close(figure)
    # The floor is level at the lowest joint: y = 1.1 m down is 1.1 m below.
    assert panels.ground[2] == pytest.approx(-1.1)
    segments = np.asarray(render._ground_lines(panels.centre, panels.radius, -1.1, 0.5))
    assert segments.shape[1:] == (2, 3) and np.all(segments[..., 2] == -1.1)
    # It spans the cube's floor, both ways.
    lo, hi = panels.centre[:2] - panels.radius, panels.centre[:2] + panels.radius
    assert np.all((segments[..., :2] >= lo - 1e-9) & (segments[..., :2] <= hi + 1e-9))
    assert {0, 1} <= {int(np.argmax(np.ptp(s[:, :2], axis=0))) for s in segments}


def test_strip_writes_a_png(tmp_path):
    poses = _poses()
    render.strip(tmp_path / "strip.png", poses[..., :2], poses, [0, 2])
    assert (tmp_path / "strip.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
