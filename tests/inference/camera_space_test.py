import numpy as np
import pytest

from tfpose import camera
from tfpose.inference import camera_space

WIDTH, HEIGHT = 1280, 720
FOCAL, CENTER = np.array([1100.0, 1100.0]), np.array([650.0, 350.0])


def _walk(rng, frames=12):
    """Camera-frame poses walking 3-7 m in front of the camera, their
    normalised 2D, and the root-relative poses (root zeroed, as lifted)."""
    absolute = rng.normal(scale=0.35, size=(frames, 17, 3))
    absolute[:, 0] = 0.0
    absolute += np.array([0.4, 0.1, 5.0]) + np.cumsum(rng.normal(scale=0.1, size=(frames, 1, 3)),
                                                      0)
    pixels = camera.project(absolute.astype(np.float32), FOCAL, CENTER).numpy()
    keypoints = camera.normalize_screen_coordinates(pixels, WIDTH, HEIGHT).astype(np.float32)
    relative = (absolute - absolute[:, :1]).astype(np.float32)
    return absolute, keypoints, relative


def test_exact_poses_and_projections_give_the_exact_root():
    absolute, keypoints, relative = _walk(np.random.default_rng(0))
    intrinsics = camera.normalized_intrinsics(FOCAL, CENTER, WIDTH, HEIGHT)
    poses, root = camera_space.to_camera_space(relative, keypoints, intrinsics)
    assert poses.shape == (12, 17, 3) and root.shape == (12, 3)
    np.testing.assert_allclose(root, absolute[:, 0], atol=2e-4)
    np.testing.assert_allclose(poses, absolute, atol=2e-4)


def test_root_does_not_depend_on_where_the_sequence_starts():
    _, keypoints, relative = _walk(np.random.default_rng(1))
    noisy = relative + np.random.default_rng(2).normal(scale=0.03, size=relative.shape)
    intrinsics = camera.normalized_intrinsics(FOCAL, CENTER, WIDTH, HEIGHT)
    whole = camera_space.root_trajectory(noisy, keypoints, intrinsics)
    for start in (1, 5, 11):
        np.testing.assert_allclose(
            camera_space.root_trajectory(noisy[start:], keypoints[start:], intrinsics),
            whole[start:], atol=1e-6)


def test_a_longer_focal_length_puts_the_person_further_away():
    _, keypoints, relative = _walk(np.random.default_rng(3))
    true = camera.normalized_intrinsics(FOCAL, CENTER, WIDTH, HEIGHT)
    longer = camera.normalized_intrinsics(1.2 * FOCAL, CENTER, WIDTH, HEIGHT)
    ratio = (camera_space.root_trajectory(relative, keypoints, longer)[:, 2]
             / camera_space.root_trajectory(relative, keypoints, true)[:, 2])
    np.testing.assert_allclose(ratio, 1.2, atol=0.05)


def test_intrinsics_from_focal_length_or_field_of_view():
    np.testing.assert_allclose(
        camera.intrinsics_for(WIDTH, HEIGHT, focal_px=1100.0, center=CENTER),
        camera.normalized_intrinsics(FOCAL, CENTER, WIDTH, HEIGHT), rtol=1e-6)
    # A horizontal field of view of 2 atan(w / 2f) is that focal length.
    fov = np.rad2deg(2 * np.arctan(WIDTH / 2 / 1100.0))
    np.testing.assert_allclose(camera.intrinsics_for(WIDTH, HEIGHT, fov_deg=fov),
                               camera.intrinsics_for(WIDTH, HEIGHT, focal_px=1100.0), rtol=1e-5)
    np.testing.assert_allclose(camera.intrinsics_for(),
                               camera.intrinsics_for(fov_deg=camera.DEFAULT_FOV_DEG))
    with pytest.raises(ValueError, match="image size"):
        camera.intrinsics_for(focal_px=1000.0)
    with pytest.raises(ValueError, match="not both"):
        camera.intrinsics_for(WIDTH, HEIGHT, focal_px=1000.0, fov_deg=60.0)
    with pytest.raises(ValueError, match=r"\(0, 180\)"):
        camera.intrinsics_for(fov_deg=180.0)
