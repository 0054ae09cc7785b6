import numpy as np
import pytest

from tfpose.data import synthetic
from tfpose.data.sequence import height
from tfpose.skeleton import H36M


def test_generate_is_seeded_and_realistic():
    a = synthetic.generate(10, 120, seed=5)
    b = synthetic.generate(10, 120, seed=5)
    c = synthetic.generate(10, 120, seed=6)
    assert [s.action for s in a] == list(synthetic.ACTIONS) * 2
    np.testing.assert_array_equal(a[3].poses_3d, b[3].poses_3d)
    assert not np.array_equal(a[3].poses_3d, c[3].poses_3d)
    for s in a:
        lengths = H36M.bone_lengths(s.poses_3d)
        assert (lengths.max(0) - lengths.min(0)).max() < 1e-4  # rigid bones
        assert 1.3 < height(s.poses_3d[0]) < 2.0
        assert s.poses_3d[:, [3, 6], 2].min() == pytest.approx(0.08, abs=1e-5)
        assert (s.poses_3d[:, H36M.index("Head"), 2] > 1.0).all()
        # Frames move: it is motion, not a still pose.
        assert np.abs(np.diff(s.poses_3d, axis=0)).max() > 0.005


def test_walking_moves_forward_and_arms_counter_swing():
    s = synthetic.generate(1, 200, seed=1, actions=("walking",))[0]
    travelled = np.linalg.norm(np.diff(s.poses_3d[:, 0, :2], axis=0), axis=-1).sum()
    assert travelled > 3.0  # about 4 s at >= 1 m/s
    # ... round a circle that stays within a studio.
    centre = s.poses_3d[:, 0, :2].mean(0)
    assert np.linalg.norm(s.poses_3d[:, 0, :2] - centre, axis=-1).max() < 2.5
    root = s.poses_3d[:, :1]
    lwrist = s.poses_3d[:, H36M.index("LWrist")] - root[:, 0]
    rknee = s.poses_3d[:, H36M.index("RKnee")] - root[:, 0]
    heading = np.diff(s.poses_3d[:, 0, :2], axis=0)
    heading /= np.linalg.norm(heading, axis=-1, keepdims=True)
    forward_wrist = (lwrist[1:, :2] * heading).sum(-1)
    forward_knee = (rknee[1:, :2] * heading).sum(-1)
    corr = np.corrcoef(forward_wrist, forward_knee)[0, 1]
    assert corr > 0.5  # left arm forward with the right leg


def test_errors():
    with pytest.raises(ValueError, match="Unknown synthetic action"):
        synthetic.generate(2, 10, actions=("flying",))
    with pytest.raises(ValueError, match="num_sequences"):
        synthetic.generate(0)
