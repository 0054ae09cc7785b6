import numpy as np
import tensorflow as tf

from tfpose import camera, testing
from tfpose.data import augment
from tfpose.layers import BalancedCoordinates
from tfpose.layers.balanced_coordinates import balance, root_translation

WIDTH, HEIGHT = 1000, 1002
FOCAL, CENTER = np.array([1145.0, 1143.8]), np.array([512.5, 515.4])


def scene(rng, batch=2, frames=3):
    """Camera-frame poses 4-6 m in front of a pinhole camera, their
    normalised 2D, the root-relative poses and the normalised intrinsics."""
    absolute = rng.normal(scale=0.4, size=(batch, frames, 17, 3))
    absolute += np.array([0.3, -0.2, 5.0]) + rng.uniform(-1, 1, (batch, frames, 1, 3))
    pixels = camera.project(absolute.astype(np.float32), FOCAL, CENTER).numpy()
    keypoints = camera.normalize_screen_coordinates(pixels, WIDTH, HEIGHT).astype(np.float32)
    relative = (absolute - absolute[..., :1, :]).astype(np.float32)
    intrinsics = np.tile(camera.normalized_intrinsics(FOCAL, CENTER, WIDTH, HEIGHT), (batch, 1))
    return absolute, keypoints, relative, intrinsics


def np_balance(poses, keypoints, intrinsics):
    """Table XI with the root found by numpy's least squares, frame by frame."""
    out = np.zeros_like(poses, dtype=np.float64)
    for n in range(poses.shape[0]):
        fx, fy, cx, cy = intrinsics[n]
        for t in range(poses.shape[1]):
            x, y, z = poses[n, t].T.astype(np.float64)
            a = (keypoints[n, t, :, 0] - cx) / fx
            b = (keypoints[n, t, :, 1] - cy) / fy
            # X + x = a (Z + z), Y + y = b (Z + z), unknowns (X, Y, Z).
            ones, zeros = np.ones(17), np.zeros(17)
            m = np.concatenate([np.stack([ones, zeros, -a], 1), np.stack([zeros, ones, -b], 1)])
            rhs = np.concatenate([a * z - x, b * z - y])
            root, *_ = np.linalg.lstsq(m, rhs, rcond=None)
            depth = root[2] + z
            balanced = np.stack([(root[0] + x + depth * a) / 2,
                                 (root[1] + y + depth * b) / 2, depth], 1)
            out[n, t] = balanced - balanced[0]
    return out


def test_normalized_intrinsics_project_like_pixels():
    rng = np.random.default_rng(0)
    absolute, keypoints, _, intrinsics = scene(rng)
    fx, fy, cx, cy = intrinsics[0]
    direct = np.stack([fx * absolute[..., 0] / absolute[..., 2] + cx,
                       fy * absolute[..., 1] / absolute[..., 2] + cy], -1)
    np.testing.assert_allclose(direct, keypoints, atol=1e-5)


def test_exact_pose_is_a_fixed_point_and_root_is_recovered():
    absolute, keypoints, relative, intrinsics = scene(np.random.default_rng(1))
    root = root_translation(relative, keypoints, intrinsics).numpy()
    np.testing.assert_allclose(root, absolute[..., 0, :], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(balance(relative, keypoints, intrinsics), relative, atol=1e-4)


def test_matches_numpy_least_squares_on_inconsistent_poses():
    rng = np.random.default_rng(2)
    _, keypoints, relative, intrinsics = scene(rng)
    noisy = relative + rng.normal(scale=0.05, size=relative.shape).astype(np.float32)
    noisy[..., 0, :] = 0.0
    got = BalancedCoordinates()(noisy, keypoints, intrinsics).numpy()
    np.testing.assert_allclose(got, np_balance(noisy, keypoints, intrinsics), atol=2e-4)
    # The depth is the prediction's; x and y move towards the 2D evidence.
    np.testing.assert_allclose(got[..., 2], noisy[..., 2], atol=1e-5)
    assert np.abs(got[..., :2] - relative[..., :2]).mean() < np.abs(
        noisy[..., :2] - relative[..., :2]).mean()


def test_mirroring_commutes():
    rng = np.random.default_rng(3)
    _, keypoints, relative, intrinsics = scene(rng)
    noisy = relative + rng.normal(scale=0.05, size=relative.shape).astype(np.float32)
    mirrored = balance(augment.flip(noisy), augment.flip(keypoints),
                       augment.flip_intrinsics(intrinsics))
    np.testing.assert_allclose(augment.flip(mirrored), balance(noisy, keypoints, intrinsics),
                               atol=1e-5)


def test_gradients_are_finite_at_zero_prediction():
    _, keypoints, relative, intrinsics = scene(np.random.default_rng(4))
    poses = tf.Variable(np.zeros_like(relative))  # the heads start at zero
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(balance(poses, keypoints, intrinsics) - relative))
    grad = tape.gradient(loss, poses).numpy()
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0


def test_layer_contract(tmp_path):
    rng = np.random.default_rng(5)

    def make_inputs(batch, frames):
        _, keypoints, relative, intrinsics = scene(rng, batch, frames)
        noisy = relative + rng.normal(scale=0.05, size=relative.shape).astype(np.float32)
        return [noisy, keypoints, intrinsics], {}

    testing.run_layer_test(BalancedCoordinates(root=2), make_inputs, (17, 3), tmp_path)
