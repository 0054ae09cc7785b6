import numpy as np
import pytest

from tfpose import metrics
from tfpose.data import summary, synthetic
from tfpose.data.sequence import add_virtual_cameras


def test_describe_and_mean_pose_baseline():
    train = add_virtual_cameras(synthetic.generate(4, 40, seed=0), 2, seed=0)
    test = add_virtual_cameras(synthetic.generate(2, 30, seed=1, prefix="t"), 1, seed=1)
    rows = summary.describe(train)
    assert [r["subject"] for r in rows] == [f"synthetic_{i}" for i in range(4)]
    assert all(r["frames"] == 40 and r["views"] == 2 for r in rows)
    assert all(r["bone_length_spread_mm"] < 0.1 for r in rows)
    result = summary.mean_pose_baseline(train, test)
    # Reference: the mean root-relative training pose against each test view.
    mean = np.concatenate([v.poses_3d - v.poses_3d[:, :1] for s in train for v in s.views]).mean(0)
    view = test[0].views[0]
    target = view.poses_3d - view.poses_3d[:, :1]
    expected = metrics.mpjpe(np.broadcast_to(mean, target.shape), target)
    assert result["per_action"][test[0].action]["mpjpe"] == pytest.approx(expected, rel=1e-6)
    assert set(result["per_action"]) == {s.action for s in test}
