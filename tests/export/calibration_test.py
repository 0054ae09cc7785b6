"""The calibration chunks of the integer TFLite conversions."""

import types

import numpy as np
import pytest

from tfpose.data import sources
from tfpose.export import calibration


def _views(lengths):
    """Views whose 2D says where it is from: x = 1000 view + frame, y = joint."""
    views = []
    for i, length in enumerate(lengths):
        keypoints = np.zeros((length, 17, 2))
        keypoints[..., 0] = 1000 * i + np.arange(length)[:, None]
        keypoints[..., 1] = np.arange(17)
        k = np.array([2.0 + i, 2.0 + i, 0.1 * i, -0.1 * i], np.float32)
        views.append(types.SimpleNamespace(
            keypoints_2d=keypoints,
            camera=types.SimpleNamespace(normalized_intrinsics=lambda k=k: k)))
    return views


def _np_representative_data(views, count, num_frames, with_intrinsics, seed):
    """The draw in plain loops: a view, then a start, per chunk."""
    usable = [v for v in views if len(v.keypoints_2d) >= num_frames] or views
    length = max(4 * num_frames, 64)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        view = usable[rng.integers(len(usable))]
        start = rng.integers(max(1, len(view.keypoints_2d) - length + 1))
        item = [np.float32(view.keypoints_2d[start : start + length])[None]]
        if with_intrinsics:
            item.append(view.camera.normalized_intrinsics()[None])
        out.append(item)
    return out


@pytest.mark.parametrize("with_intrinsics", [False, True])
def test_matches_numpy_reference(with_intrinsics):
    views = _views([100, 10, 70])
    got = calibration.representative_data(views, 12, num_frames=16,
                                          with_intrinsics=with_intrinsics, seed=3)
    expected = _np_representative_data(views, 12, 16, with_intrinsics, seed=3)
    assert len(got) == 12
    for item, reference in zip(got, expected):
        assert len(item) == len(reference) == (2 if with_intrinsics else 1)
        for a, b in zip(item, reference):
            assert a.dtype == np.float32
            np.testing.assert_array_equal(a, b)


def test_chunks_are_whole_slices_of_the_views_long_enough_for_a_window():
    views = _views([100, 10, 40])
    data = calibration.representative_data(views, 30, num_frames=16, with_intrinsics=True)
    assert calibration.chunk_frames(16) == 64
    seen = set()
    for keypoints, intrinsics in data:
        view, start = divmod(int(keypoints[0, 0, 0, 0]), 1000)
        seen.add(view)
        length = min(64, len(views[view].keypoints_2d))
        assert keypoints.shape == (1, length, 17, 2)
        np.testing.assert_array_equal(keypoints[0], views[view].keypoints_2d[start:][:length])
        np.testing.assert_array_equal(intrinsics, views[view].camera.normalized_intrinsics()[None])
    assert seen == {0, 2}  # never the 10-frame view


def test_views_shorter_than_a_window_serve_when_there_is_nothing_else():
    views = _views([5, 7])
    data = calibration.representative_data(views, 6, num_frames=16, with_intrinsics=False)
    for (keypoints,) in data:
        view = int(keypoints[0, 0, 0, 0]) // 1000
        np.testing.assert_array_equal(keypoints[0], views[view].keypoints_2d)
    with pytest.raises(ValueError, match="No views"):
        calibration.representative_data([], 1, num_frames=16, with_intrinsics=False)


def test_the_seed_decides_the_chunks():
    views = _views([300, 200])

    def draw(seed):
        return np.concatenate([item[0].ravel() for item in calibration.representative_data(
            views, 8, num_frames=16, with_intrinsics=False, seed=seed)])

    np.testing.assert_array_equal(draw(0), draw(0))
    assert not np.array_equal(draw(0), draw(1))


def test_real_training_views():
    train = [v for s in sources.load_sequences("synthetic", "train", synthetic_sequences=4,
                                               synthetic_frames=64, num_cameras=2)
             for v in s.views]
    data = calibration.representative_data(train, 5, num_frames=9, with_intrinsics=True)
    for keypoints, intrinsics in data:
        assert keypoints.shape == (1, 64, 17, 2) and intrinsics.shape == (1, 4)
        assert any(np.array_equal(keypoints[0], v.keypoints_2d.astype(np.float32)) and
                   np.array_equal(intrinsics[0], v.camera.normalized_intrinsics())
                   for v in train)
