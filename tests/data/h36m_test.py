
import numpy as np
import pytest

from tfpose.data import h36m
from tfpose.skeleton import H36M_32_TO_17


def _walk_32(rng, frames):
    """A plausible [T, 32, 3] world sequence near the studio centre."""
    base = rng.normal(scale=0.25, size=(1, 32, 3)) + [0.0, 0.0, 1.0]
    drift = np.linspace(0, 1, frames)[:, None, None] * [0.5, 0.2, 0.0]
    return (base + drift + rng.normal(scale=0.01, size=(frames, 32, 3))).astype(np.float32)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    positions_3d = {
        "S1": {"Walking 1": _walk_32(rng, 30), "Eating": _walk_32(rng, 12)},
        "S9": {"Walking 1": _walk_32(rng, 20)},
        "S11": {"Sitting": _walk_32(rng, 15)},
    }
    path_3d = tmp_path / "data_3d_h36m.npz"
    np.savez_compressed(path_3d, positions_3d=positions_3d)
    # 2D detections: one array per camera, a few frames longer than the mocap.
    positions_2d = {
        s: {a: [rng.uniform(0, 1000, size=(len(p) + 2, 17, 2)).astype(np.float32) for _ in range(4)]
            for a, p in actions.items()}
        for s, actions in positions_3d.items()
    }
    metadata = {
        "layout_name": "h36m",
        "num_joints": 17,
        "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]],
    }
    path_2d = tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz"
    np.savez_compressed(path_2d, positions_2d=positions_2d, metadata=metadata)
    return path_3d, path_2d, positions_3d, positions_2d


def test_round_trip_ground_truth_2d(files):
    path_3d, _, positions_3d, _ = files
    sequences = h36m.load(str(path_3d))
    assert [(s.subject, s.action) for s in sequences] == [
        ("S1", "Eating"), ("S1", "Walking 1"), ("S9", "Walking 1"), ("S11", "Sitting")]
    s = sequences[1]
    np.testing.assert_array_equal(s.poses_3d, positions_3d["S1"]["Walking 1"][:, H36M_32_TO_17])
    assert s.fps == 50 and len(s.views) == 4
    for view, camera_id in zip(s.views, h36m.CAMERA_IDS):
        assert view.camera.name == camera_id
        camera = view.camera
        np.testing.assert_allclose(view.poses_3d, camera.world_to_camera(s.poses_3d), atol=1e-6)
        np.testing.assert_allclose(view.keypoints_2d_pixels, camera.project(view.poses_3d),
                                   atol=1e-3)
        np.testing.assert_allclose(camera.unnormalize(view.keypoints_2d),
                                   view.keypoints_2d_pixels, atol=1e-2)
        # Subjects stand in the middle of the studio: projections land in the image.
        assert (view.keypoints_2d_pixels > 0).all() and (view.keypoints_2d_pixels < 1002).all()
    assert [s.subject for s in h36m.load(str(path_3d), split="test")] == ["S9", "S11"]


def test_round_trip_detections(files):
    path_3d, path_2d, positions_3d, positions_2d = files
    sequences = h36m.load(str(path_3d), str(path_2d), subjects=["S1"])
    s = sequences[1]
    for view, keypoints in zip(s.views, positions_2d["S1"]["Walking 1"]):
        # Trimmed to the mocap's length.
        np.testing.assert_array_equal(view.keypoints_2d_pixels, keypoints[:30])
        assert view.keypoints_2d.shape == (30, 17, 2)


def test_restricted_unpickler_refuses_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.npz"
    np.savez(path, positions_3d=np.array([Payload()], dtype=object))
    with pytest.raises(ValueError, match="refusing to unpickle builtins.print"):
        h36m.load_pickled_3d(str(path))


def test_errors(files, tmp_path):
    path_3d, path_2d, _, _ = files
    with pytest.raises(ValueError, match="Unknown Human3.6M subject"):
        h36m.load(str(path_3d), subjects=["S3x"])
    with pytest.raises(ValueError, match="no data for subject"):
        h36m.load(str(path_3d), subjects=["S5"])
    with pytest.raises(ValueError, match="Unknown Human3.6M split"):
        h36m.load(str(path_3d), split="validation")
    with pytest.raises(FileNotFoundError):
        h36m.load(str(tmp_path / "missing.npz"))
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="not an .npz"):
        h36m.load(str(empty))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path_3d.read_bytes()[:200])
    with pytest.raises(ValueError):
        h36m.load(str(truncated))
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, poses=np.zeros((3, 17, 3)))
    with pytest.raises(ValueError, match="positions_3d"):
        h36m.load(str(wrong))
    nan = tmp_path / "nan.npz"
    bad = np.full((5, 32, 3), np.nan, np.float32)
    np.savez(nan, positions_3d={"S1": {"Walking": bad}})
    with pytest.raises(ValueError, match="NaN"):
        h36m.load(str(nan))
    wrong_joints = tmp_path / "joints.npz"
    np.savez(wrong_joints, positions_3d={"S1": {"Walking": np.zeros((5, 25, 3))}})
    with pytest.raises(ValueError, match=r"\[T, 32, 3\]"):
        h36m.load(str(wrong_joints))
    meta = tmp_path / "meta.npz"
    np.savez(meta, positions_2d={}, metadata={"num_joints": 18})
    with pytest.raises(ValueError, match="18 joints"):
        h36m.load_pickled_2d(str(meta))
