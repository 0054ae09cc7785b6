"""A keypoint file lifted: its 2D prepared, its 3D written and read back."""

import json

import numpy as np
import pytest

from tfpose import skeleton
from tfpose.data import keypoint_files
from tfpose.inference import camera_space, lift_files

WIDTH, HEIGHT = 640.0, 480.0


def _np_normalize(pixels):
    """VideoPose3D's screen normalisation: x / w * 2 - [1, h / w]."""
    return pixels / WIDTH * 2 - np.array([1, HEIGHT / WIDTH])


def _pixels(frames=5, seed=0):
    return np.random.default_rng(seed).uniform(50, 400, size=(frames, 17, 2))


class _Lifter:
    """A `lifters.Lifter` in numpy: depth 3 m plus x, root-relative."""

    def __init__(self, needs_intrinsics=False):
        self.needs_intrinsics = needs_intrinsics
        self.intrinsics = "not called"

    def __call__(self, keypoints_2d, intrinsics=None):
        self.intrinsics = intrinsics
        poses = np.concatenate([keypoints_2d, 3.0 + keypoints_2d[..., :1]], -1)
        return poses - poses[:, :1]


def test_prepare_fills_gaps_linearly_and_normalises():
    pixels = _pixels()
    keypoints = pixels.copy()
    keypoints[2, 4] = np.nan  # missing
    scores = np.full((5, 17), 0.9)
    scores[3, 9] = 0.1  # below the threshold
    data = keypoint_files.KeypointFile(keypoints, scores)
    got, interpolated = lift_files.prepare(data, "h36m", WIDTH, HEIGHT, min_confidence=0.3)
    expected = pixels.copy()
    expected[2, 4] = (pixels[1, 4] + pixels[3, 4]) / 2
    expected[3, 9] = (pixels[2, 9] + pixels[4, 9]) / 2
    assert got.dtype == np.float32 and got.shape == (5, 17, 2)
    np.testing.assert_allclose(got, _np_normalize(expected), atol=1e-6)
    assert np.argwhere(interpolated).tolist() == [[2, 4], [3, 9]]
    # Normalised input stays as it is.
    normalised = _np_normalize(pixels)
    got, interpolated = lift_files.prepare(keypoint_files.KeypointFile(normalised), "h36m",
                                           normalized=True)
    np.testing.assert_allclose(got, normalised, atol=1e-6)
    assert not interpolated.any()


def test_prepare_maps_coco_and_flags_joints_made_from_a_filled_one():
    pixels = _pixels()
    keypoints = pixels.copy()
    left_hip = skeleton.COCO17.index("left_hip")
    keypoints[1, left_hip] = np.nan
    got, interpolated = lift_files.prepare(keypoint_files.KeypointFile(keypoints), "coco",
                                           WIDTH, HEIGHT)
    filled = pixels.copy()
    filled[1, left_hip] = (pixels[0, left_hip] + pixels[2, left_hip]) / 2
    np.testing.assert_allclose(got, _np_normalize(skeleton.coco_to_h36m(filled)), atol=1e-6)
    # H36M's hip and spine are made from COCO's left hip, as is its left hip.
    flagged = [skeleton.H36M.names[j] for j in np.flatnonzero(interpolated[1])]
    assert set(flagged) == {skeleton.H36M.names[j] for j in (0, 4, 7)}
    assert interpolated.sum() == len(flagged)


@pytest.mark.parametrize("layout, size, match", [
    ("openpose", (WIDTH, HEIGHT), "Unknown layout"),
    ("coco", (None, HEIGHT), "need the image size"),
])
def test_prepare_errors(layout, size, match):
    with pytest.raises(ValueError, match=match):
        lift_files.prepare(keypoint_files.KeypointFile(_pixels()), layout, *size)


@pytest.mark.parametrize("needs_intrinsics", [False, True])
def test_lift_places_the_poses_in_camera_space(needs_intrinsics):
    keypoints_2d = _np_normalize(_pixels()).astype(np.float32)
    k = np.array([2.0, 2.0, 0.05, -0.02], np.float32)
    lifter = _Lifter(needs_intrinsics)
    poses_3d, outputs = lift_files.lift(lifter, keypoints_2d, k)
    assert (lifter.intrinsics is k) == needs_intrinsics and (lifter.intrinsics is None) != (
        needs_intrinsics)
    np.testing.assert_allclose(poses_3d, lifter(keypoints_2d), atol=1e-6)
    root = camera_space.root_trajectory(poses_3d, keypoints_2d, k)
    np.testing.assert_allclose(outputs["root_trajectory"], root, atol=1e-6)
    np.testing.assert_allclose(outputs["poses_3d_camera"], poses_3d + root[:, None], atol=1e-5)
    assert outputs["intrinsics"] is k


def test_round_trip_from_every_input_format_to_every_output_format(tmp_path):
    pixels = _pixels(frames=4)
    pixels[2, :5] = np.nan  # the face not found in one frame
    scores = np.full((4, 17), 0.8)
    values = np.concatenate([pixels, scores[..., None]], -1)
    np.savez(tmp_path / "in.npz", keypoints=pixels, scores=scores, layout="coco",
             width=WIDTH, height=HEIGHT)
    (tmp_path / "in.json").write_text(json.dumps(
        [[[None if np.isnan(v) else v for v in joint] for joint in frame.tolist()]
         for frame in values]))
    (tmp_path / "in.csv").write_text("\n".join(
        ",".join("" if np.isnan(v) else repr(v) for v in frame.ravel().tolist())
        for frame in values) + "\n")
    prepared = [lift_files.prepare(keypoint_files.read_keypoints(tmp_path / f"in.{ext}"),
                                   "coco", WIDTH, HEIGHT) for ext in ("npz", "json", "csv")]
    for keypoints_2d, interpolated in prepared[1:]:
        np.testing.assert_allclose(keypoints_2d, prepared[0][0], atol=1e-6)
        np.testing.assert_array_equal(interpolated, prepared[0][1])
    keypoints_2d, interpolated = prepared[0]
    # H36M's nose and head are made from COCO's face.
    assert np.argwhere(interpolated).tolist() == [[2, 9], [2, 10]]

    k = np.array([2.0, 2.0, 0.0, 0.0], np.float32)
    poses_3d, outputs = lift_files.lift(_Lifter(), keypoints_2d, k)
    meta = {"layout": "coco", "source": "in.npz", "camera_assumed": True}
    lift_files.write_poses(tmp_path / "out.npz", poses_3d, keypoints_2d, interpolated, meta,
                           outputs)
    lift_files.write_poses(tmp_path / "out.json", poses_3d, keypoints_2d, interpolated, meta,
                           outputs)
    npz = np.load(tmp_path / "out.npz")
    text = json.loads((tmp_path / "out.json").read_text())
    assert list(npz["joints"]) == text["joints"] == list(skeleton.H36M.names)
    assert text["units"] == lift_files.UNITS
    for name, value in (("poses_3d", poses_3d), ("keypoints_2d", keypoints_2d), *outputs.items()):
        np.testing.assert_array_equal(npz[name], value)
        np.testing.assert_allclose(text[name], value, atol=5e-6)  # rounded to 0.01 mm
    np.testing.assert_array_equal(npz["interpolated"], interpolated)
    assert text["interpolated"] == interpolated.tolist()
    for name, value in meta.items():
        assert npz[name].item() == text[name] == value


def test_write_poses_only_as_npz_or_json(tmp_path):
    poses = np.zeros((2, 17, 3))
    with pytest.raises(ValueError, match=r"\.npz or \.json, got .*out\.csv"):
        lift_files.write_poses(tmp_path / "out.csv", poses, np.zeros((2, 17, 2)),
                               np.zeros((2, 17), bool), {})
    assert list(tmp_path.iterdir()) == []


def test_pictures_show_the_2d_in_pixels_and_default_to_evenly_spaced_frames(monkeypatch):
    np.testing.assert_array_equal(lift_files.strip_frames(100), [0, 20, 40, 59, 79, 99])
    np.testing.assert_array_equal(lift_files.strip_frames(3), [0, 1, 2])
    calls = []
    monkeypatch.setattr(lift_files.render, "strip",
                        lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.setattr(lift_files.render, "animation",
                        lambda *args, **kwargs: calls.append((args, kwargs)))
    pixels = _pixels(frames=8)
    keypoints_2d = _np_normalize(pixels).astype(np.float32)
    poses_3d = np.zeros((8, 17, 3))
    lift_files.write_strip("s.png", keypoints_2d, poses_3d, image_size=(WIDTH, HEIGHT))
    lift_files.write_animation("a.gif", keypoints_2d, poses_3d, fps=10.0)
    (path, shown, _, frames), kwargs = calls[0]
    np.testing.assert_allclose(shown, pixels, atol=1e-3)
    np.testing.assert_array_equal(frames, lift_files.strip_frames(8))
    assert kwargs["image_size"] == (WIDTH, HEIGHT)
    (path, shown, _), kwargs = calls[1]
    assert shown is keypoints_2d and kwargs["image_size"] is None and kwargs["fps"] == 10.0
