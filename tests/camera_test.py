import numpy as np
import pytest

from tfpose import camera
from tfpose.data import h36m
from tfpose.testing import random_rotation


def _np_project(points, f, c, k=None, p=None):
    # Plain reference of Human3.6M's ProjectPointRadial, point by point.
    out = np.zeros(points.shape[:-1] + (2,))
    for idx in np.ndindex(points.shape[:-1]):
        x, y, z = points[idx]
        u, v = x / z, y / z
        if k is not None:
            r2 = u * u + v * v
            radial = 1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3
            tan = p[0] * u + p[1] * v
            u, v = u * (radial + tan) + p[1] * r2, v * (radial + tan) + p[0] * r2
        out[idx] = (f[0] * u + c[0], f[1] * v + c[1])
    return out


def test_world_camera_round_trip():
    rng = np.random.default_rng(0)
    rotation = random_rotation(rng)
    position = rng.normal(size=3)
    points = rng.normal(size=(4, 17, 3))
    cam = camera.world_to_camera(points, rotation, position).numpy()
    np.testing.assert_allclose(cam, (points - position) @ rotation.T, atol=1e-5)
    back = camera.camera_to_world(cam, rotation, position).numpy()
    np.testing.assert_allclose(back, points, atol=1e-5)


@pytest.mark.parametrize("distorted", [False, True])
def test_project_matches_numpy(distorted):
    rng = np.random.default_rng(1)
    points = rng.normal(size=(3, 17, 3)) * 0.5 + [0.0, 0.0, 5.0]
    f, c = np.array([1145.0, 1143.8]), np.array([512.5, 515.4])
    k = np.array([-0.207, 0.248, -0.003]) if distorted else None
    p = np.array([-0.001, -0.0014]) if distorted else None
    got = camera.project(points, f, c, k, p).numpy()
    np.testing.assert_allclose(got, _np_project(points, f, c, k, p), rtol=1e-5, atol=1e-3)


def test_normalization_round_trip_and_convention():
    rng = np.random.default_rng(2)
    pixels = rng.uniform(0, 1000, size=(5, 17, 2)).astype(np.float32)
    norm = camera.normalize_screen_coordinates(pixels, 1000, 1002)
    np.testing.assert_allclose(norm, pixels / 1000 * 2 - [1, 1002 / 1000], atol=1e-6)
    np.testing.assert_allclose(camera.image_coordinates(norm, 1000, 1002), pixels, rtol=1e-5)
    # The image centre maps to (0, 0) horizontally; corners to x = -1 and 1.
    assert camera.normalize_screen_coordinates(np.array([0.0, 0.0]), 640, 480)[0] == -1
    assert camera.normalize_screen_coordinates(np.array([640.0, 0.0]), 640, 480)[0] == 1


def test_look_at_and_virtual_cameras():
    rng = np.random.default_rng(3)
    target = np.array([0.5, -1.0, 1.0])
    cams = camera.random_cameras(target, 8, rng, distance=(4, 6), height=(1, 2))
    for cam in cams:
        np.testing.assert_allclose(cam.rotation @ cam.rotation.T, np.eye(3), atol=1e-5)
        assert np.linalg.det(cam.rotation) == pytest.approx(1.0, abs=1e-5)
        # The target projects to the principal point, in front of the camera.
        t = cam.world_to_camera(target[None])[0]
        assert t[2] > 3.9
        np.testing.assert_allclose(cam.project(t[None])[0], cam.center, atol=1e-2)
        # World up points up in the image (-y).
        above = cam.project(cam.world_to_camera((target + [0, 0, 0.5])[None]))[0]
        assert above[1] < cam.center[1]
        horizontal = np.linalg.norm(cam.position[:2] - target[:2])
        assert 4 - 1e-4 <= horizontal <= 6 + 1e-4 and 1 <= cam.position[2] <= 2
    with pytest.raises(ValueError, match="distance"):
        camera.random_cameras(target, 1, rng, distance=(6, 4))


def test_h36m_cameras_match_quaternion_reference():
    # VideoPose3D: x_cam = qrot(qinverse(q), x - t); check against a plain
    # quaternion rotation.
    def qrot(q, v):
        w, u = q[0], np.asarray(q[1:])
        return v + 2 * np.cross(u, np.cross(u, v) + w * v)

    rng = np.random.default_rng(4)
    points = rng.normal(size=(10, 3)) + [0, 0, 1]
    for cam, (q, t) in zip(h36m.cameras("S9"), h36m._EXTRINSICS["S9"]):
        q = np.asarray(q) / np.linalg.norm(q)
        q_inv = q * [1, -1, -1, -1]
        expected = np.stack([qrot(q_inv, x - np.asarray(t) / 1000) for x in points])
        np.testing.assert_allclose(cam.world_to_camera(points), expected, atol=1e-4)
        # The subject (near the origin) is in front of every studio camera.
        assert (expected[:, 2] > 2).all()
