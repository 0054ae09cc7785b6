import json

import numpy as np
import pytest

from tfpose import skeleton
from tfpose.data import interpolation, keypoint_files


def _keypoints(frames=6, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    k = rng.uniform(0, 1000, size=(frames, 17, channels))
    if channels == 3:
        k[..., 2] = rng.uniform(0.5, 1.0, size=(frames, 17))
    return k


def test_all_formats_read_the_same(tmp_path):
    k = _keypoints()
    np.savez(tmp_path / "a.npz", keypoints=k, width=1000, height=800, layout="coco")
    (tmp_path / "b.json").write_text(json.dumps(
        {"keypoints": k.tolist(), "width": 1000, "height": 800, "layout": "coco"}))
    (tmp_path / "c.json").write_text(json.dumps([{"keypoints": f.reshape(-1).tolist()}
                                                 for f in k]))
    (tmp_path / "d.csv").write_text(
        ",".join(f"{n}_{c}" for n in skeleton.COCO17.names for c in "xyc") + "\n"
        + "\n".join(",".join(f"{v:.6f}" for v in f.reshape(-1)) for f in k) + "\n")
    for name in ("a.npz", "b.json", "c.json", "d.csv"):
        data = keypoint_files.read_keypoints(tmp_path / name)
        np.testing.assert_allclose(data.keypoints, k[..., :2], atol=1e-5, err_msg=name)
        np.testing.assert_allclose(data.scores, k[..., 2], atol=1e-5, err_msg=name)
    data = keypoint_files.read_keypoints(tmp_path / "a.npz")
    assert (data.width, data.height, data.layout) == (1000.0, 800.0, "coco")


def test_missing_frames_and_values_are_nan(tmp_path):
    k = _keypoints(frames=3, channels=2)
    frames = [k[0].tolist(), None, k[2].tolist()]
    frames[2][5] = [None, None]
    (tmp_path / "gaps.json").write_text(json.dumps(frames))
    data = keypoint_files.read_keypoints(tmp_path / "gaps.json")
    assert data.scores is None and np.isnan(data.keypoints[1]).all()
    assert np.isnan(data.keypoints[2, 5]).all() and np.isfinite(data.keypoints[2, 4]).all()
    (tmp_path / "gaps.csv").write_text(",".join([""] * 2 + ["1"] * 32) + "\n")
    assert np.isnan(keypoint_files.read_keypoints(tmp_path / "gaps.csv").keypoints[0, 0]).all()


@pytest.mark.parametrize("name, content, match", [
    ("bad.npz", b"not a zip", "not a valid .npz"),
    ("bad.json", b"{nope", "not valid JSON"),
    ("bad.csv", b"\xff\xfe\x00garbage", "not a text CSV|not a number|values"),
    ("joints.json", json.dumps([[[1, 2]] * 16]).encode(), "17 joints"),
    ("empty.json", json.dumps({"keypoints": []}).encode(), "non-empty"),
    ("rows.csv", b"1,2,3\n", "34 .*51"),
    ("model.txt", b"", "unsupported extension"),
    ("layout.json", json.dumps({"keypoints": [[[1, 2]] * 17], "layout": "mpii"}).encode(),
     "unknown layout"),
])
def test_bad_files_say_what_is_wrong(tmp_path, name, content, match):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=match):
        keypoint_files.read_keypoints(tmp_path / name)


def test_npz_of_zero_frames(tmp_path):
    np.savez(tmp_path / "zero.npz", keypoints=np.zeros((0, 17, 2)))
    with pytest.raises(ValueError, match="zero frames"):
        keypoint_files.read_keypoints(tmp_path / "zero.npz")


def test_fill_missing_interpolates_linearly_and_holds_ends():
    t = np.arange(10, dtype=np.float64)
    k = np.stack([np.stack([t, 2 * t], -1)] * 17, 1)  # [10, 17, 2], linear in time
    missing = np.zeros((10, 17), bool)
    missing[3:6, 2] = True
    missing[:2, 4] = True
    missing[8:, 7] = True
    k[missing] = -99.0
    k[0, 9] = np.nan  # NaN counts as missing too
    filled, flagged = interpolation.fill_missing(k, missing)
    np.testing.assert_allclose(filled[3:6, 2, 0], [3, 4, 5])
    np.testing.assert_allclose(filled[:2, 4, 1], [4, 4])  # held from frame 2
    np.testing.assert_allclose(filled[8:, 7, 0], [7, 7])
    assert flagged[0, 9] and flagged.sum() == 3 + 2 + 2 + 1
    np.testing.assert_allclose(filled[~flagged], k[~flagged])


def test_fill_missing_errors_name_the_joints():
    k = np.zeros((5, 17, 2))
    missing = np.zeros((5, 17), bool)
    missing[:, skeleton.H36M.index("LWrist")] = True
    with pytest.raises(ValueError, match="LWrist"):
        interpolation.fill_missing(k, missing)
    with pytest.raises(ValueError, match="No valid keypoints"):
        interpolation.fill_missing(np.full((5, 17, 2), np.nan), np.zeros((5, 17), bool))
