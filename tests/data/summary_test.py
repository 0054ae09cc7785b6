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


def test_bone_lengths_and_proportion_spread():
    train = add_virtual_cameras(synthetic.generate(2, 20, seed=0), 1, seed=0)
    rows = summary.describe(train)
    poses = train[0].poses_3d
    # The upper left arm ends at the left elbow (joint 12), from the shoulder (11).
    expected = 1000 * np.linalg.norm(poses[:, 12] - poses[:, 11], axis=-1).mean()
    assert rows[0]["bone_lengths_mm"]["LElbow"] == pytest.approx(expected, rel=1e-6)
    assert len(rows[0]["bone_lengths_mm"]) == 16

    names = list(rows[0]["bone_lengths_mm"])
    a = {n: 100.0 + i for i, n in enumerate(names)}
    # The same shape, 20% larger: sizes differ, shapes do not.
    larger = {n: 1.2 * v for n, v in a.items()}
    size, shape = summary.proportion_spread([{"bone_lengths_mm": a}, {"bone_lengths_mm": larger}])
    assert size == pytest.approx(0.2 / 2.2) and max(shape.values()) == pytest.approx(0, abs=1e-12)
    # One bone twice as long: by hand, that bone's share of the body and
    # its mean share over the two subjects.
    b = dict(a, LElbow=2 * a["LElbow"])
    size, shape = summary.proportion_spread([{"bone_lengths_mm": a}, {"bone_lengths_mm": b}])
    total_a, total_b = sum(a.values()), sum(b.values())
    share_a, share_b = a["LElbow"] / total_a, b["LElbow"] / total_b
    assert shape["LElbow"] == pytest.approx(share_b / ((share_a + share_b) / 2) - 1)
    other_a, other_b = a["Head"] / total_a, a["Head"] / total_b
    assert shape["Head"] == pytest.approx(1 - other_b / ((other_a + other_b) / 2))
    assert size == pytest.approx(total_b / ((total_a + total_b) / 2) - 1)
    # Three subjects, uneven: the widest deviation, on either side of the mean.
    c = {n: 0.7 * v for n, v in a.items()}
    c["Head"] = 3 * c["Head"]
    size, shape = summary.proportion_spread([{"bone_lengths_mm": s} for s in (a, a, c)])
    totals = np.array([total_a, total_a, sum(c.values())])
    assert size == pytest.approx(max(abs(totals / totals.mean() - 1)))
    shares = np.array([a["Head"], a["Head"], c["Head"]]) / totals
    assert shape["Head"] == pytest.approx(max(abs(shares / shares.mean() - 1)))
    shares = np.array([a["LElbow"], a["LElbow"], c["LElbow"]]) / totals
    below = 1 - shares.min() / shares.mean()  # c's elbow share is the smallest
    assert shape["LElbow"] == pytest.approx(below) and below > shares.max() / shares.mean() - 1
