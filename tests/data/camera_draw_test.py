"""Fresh virtual cameras per training window (`tfpose.camera.VirtualCameras`,
`pipeline.make_dataset(cameras=...)`) and bone-length scaling."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose import camera
from tfpose.data import augment, pipeline, synthetic
from tfpose.layers.balanced_coordinates import balance
from tfpose.skeleton import H36M

RANGES = camera.VirtualCameras(principal_jitter=60.0, roll=10.0, margin=10.0)


def _sequences(num=3, frames=40, seed=0):
    return synthetic.generate(num, frames, seed=seed)


def _numpy_look_at_with_roll(eye, target, roll):
    """The camera rotation built independently: `camera.look_at`, then a
    rotation of the image axes about the optical axis."""
    rotation = camera.look_at(eye, target).astype(np.float64)
    c, s = np.cos(roll), np.sin(roll)
    spin = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    return spin @ rotation


def test_drawn_cameras_match_numpy_cameras_and_see_the_whole_window():
    sequences = _sequences()
    world = np.stack([s.poses_3d[:16] for s in sequences])  # [3, 16, J, 3]
    uniform = tf.random.stateless_uniform([3, RANGES.NUM_DRAWS], [1, 2])
    target = world[:, :, 0].mean(1)
    radius = np.linalg.norm(world - target[:, None, None], axis=-1).max((1, 2))
    rotation, position, focal, center = (a.numpy() for a in RANGES.draw(uniform, target, radius))
    x, y = (a.numpy() for a in RANGES.view(world, rotation, position, focal, center))
    u = uniform.numpy()
    width, height = RANGES.image_size
    for i in range(3):
        # The rotation is a look-at towards the window's mean root, rolled.
        roll = np.deg2rad(RANGES.roll) * (2 * u[i, 6] - 1)
        np.testing.assert_allclose(
            rotation[i], _numpy_look_at_with_roll(position[i], target[i], roll), atol=1e-5)
        np.testing.assert_allclose(focal[i], np.full(2, 1000 + 250 * u[i, 3]), rtol=1e-6)
        np.testing.assert_allclose(center[i], [500 + 60 * (2 * u[i, 4] - 1),
                                               500 + 60 * (2 * u[i, 5] - 1)], rtol=1e-6)
        # The projection equals tfpose.camera's numpy path for that camera.
        cam = camera.Camera(rotation=rotation[i], position=position[i], focal=focal[i],
                            center=center[i], width=width, height=height)
        np.testing.assert_allclose(y[i], cam.world_to_camera(world[i]), atol=1e-5)
        pixels = cam.project(cam.world_to_camera(world[i]))
        np.testing.assert_allclose(x[i], cam.normalize(pixels), atol=1e-5)
    # The camera stands at least as far as drawn.
    horizontal = np.linalg.norm((position - target)[:, :2], axis=-1)
    drawn = 4.0 + 2.0 * u[:, 1]
    assert (horizontal >= drawn - 1e-4).all()


@pytest.mark.parametrize("ranges", [
    RANGES,
    # Close and long lenses, aimed beside the subject: the draw must move
    # cameras back to keep the body in view.
    camera.VirtualCameras(distance=(0.3, 0.5), height=(0.0, 3.0), focal_length=(2000, 3000),
                          principal_jitter=200.0, roll=30.0, margin=25.0, target_jitter=2.0),
])
def test_every_drawn_camera_sees_the_whole_body_in_the_image(ranges):
    sequences = _sequences(num=6, frames=60, seed=4)
    ds = pipeline.make_dataset(sequences, num_frames=32, batch_size=32, training=True, seed=9,
                               cameras=ranges, body_scale=0.2, bone_scale=0.1, flip=True,
                               intrinsics=True, endless=True)
    width, height = ranges.image_size
    for (x, k), y in ds.take(4):
        x, k = x.numpy(), k.numpy()
        pixels = camera.image_coordinates(x, width, height)
        inside = ((pixels >= ranges.margin - 1e-3)
                  & (pixels <= np.array([width, height]) - ranges.margin + 1e-3))
        assert inside.all()
        # In front of the camera: the root's depth from the intrinsics and the
        # 2D (balanced output's closed form) is positive, and the whole window's
        # 2D is the root-relative 3D seen through those intrinsics.
        np.testing.assert_allclose(balance(y, x, k), y, atol=5e-4)


def test_camera_draw_is_deterministic_per_step_and_resumes():
    sequences = _sequences()
    kwargs = dict(num_frames=8, batch_size=8, training=True, stride=2, flip=True, seed=3,
                  endless=True, cameras=RANGES, body_scale=0.1, bone_scale=0.05)
    steps = pipeline.steps_per_pass(sequences, num_frames=8, batch_size=8, stride=2)
    full = [(x.numpy(), y.numpy())
            for x, y in pipeline.make_dataset(sequences, **kwargs).take(steps + 3)]
    again = [(x.numpy(), y.numpy())
             for x, y in pipeline.make_dataset(sequences, **kwargs).take(3)]
    for (a, b), (c, d) in zip(full, again):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    # A resumed stream equals the uninterrupted one from its first step.
    start = steps + 1
    resumed = [(x.numpy(), y.numpy()) for x, y in
               pipeline.make_dataset(sequences, start_step=start, **kwargs).take(2)]
    for (a, b), (c, d) in zip(full[start:], resumed):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    # Every step and every pass sees new cameras: no 2D window repeats.
    flat = np.concatenate([x.reshape(len(x), -1) for x, _ in full])
    distances = np.abs(flat[:, None] - flat[None]).max(-1) + np.eye(len(flat))
    assert distances.min() > 1e-3
    other = next(iter(pipeline.make_dataset(sequences, **dict(kwargs, seed=4))))[0].numpy()
    assert not np.allclose(other, full[0][0])
    # Sharded: together the shards make every global batch (to rounding: a
    # shard computes its windows' projections in smaller batches).
    shards = [[x.numpy() for x, _ in pipeline.make_dataset(
        sequences, num_shards=2, shard_index=i, **kwargs).take(2)] for i in range(2)]
    for g in range(2):
        parts = np.concatenate([shards[0][g], shards[1][g]]).reshape(8, -1)
        np.testing.assert_allclose(np.sort(parts, 0), np.sort(full[g][0].reshape(8, -1), 0),
                                   atol=1e-6)


def test_aim_spreads_the_look_at_point_over_a_disk():
    ranges = camera.VirtualCameras(target_jitter=1.5)
    target = np.tile([[1.0, 2.0, 0.9]], (4000, 1)).astype(np.float32)
    aimed = ranges.aim(target, tf.random.stateless_uniform([4000, 2], [3, 4])).numpy()
    offset = aimed - target
    np.testing.assert_allclose(offset[:, 2], 0.0)
    radius = np.linalg.norm(offset[:, :2], axis=1)
    assert radius.max() <= 1.5 + 1e-6
    # Uniform over the disk: a quarter of the points within half the radius,
    # and every direction.
    assert abs(np.mean(radius < 0.75) - 0.25) < 0.03
    assert abs(offset[:, 0].mean()) < 0.05 and abs(offset[:, 1].mean()) < 0.05
    # Aimed cameras spread the subject over the picture; the root stays in it.
    sequences = _sequences(num=4, frames=40, seed=2)
    spread = {}
    for jitter in (0.0, 1.5):
        ds = pipeline.make_dataset(sequences, num_frames=8, batch_size=64, training=True,
                                   stride=2, cameras=camera.VirtualCameras(target_jitter=jitter))
        x = next(iter(ds))[0].numpy()
        spread[jitter] = np.abs(x[:, :, 0, 0]).mean()
        assert np.abs(x).max() < 1.0
    assert spread[1.5] > 2 * spread[0.0]


def test_scale_bones_matches_a_numpy_reference():
    rng = np.random.default_rng(0)
    poses = rng.normal(size=(2, 5, 17, 3)).astype(np.float32)
    factors = rng.uniform(0.8, 1.2, size=(2, 1, 17)).astype(np.float32)
    got = augment.scale_bones(poses, factors).numpy()
    expected = np.empty_like(poses)
    for joint in range(17):  # parents come before their children in H36M order
        parent = H36M.parents[joint]
        if parent < 0:
            expected[..., joint, :] = poses[..., joint, :]
        else:
            bone = poses[..., joint, :] - poses[..., parent, :]
            expected[..., joint, :] = expected[..., parent, :] + factors[..., joint, None] * bone
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_bone_factors_are_symmetric_and_in_range():
    uniform = tf.random.stateless_uniform([500, 18], [0, 1])
    factors = augment.bone_factors(uniform, 0.1, 0.05).numpy()
    np.testing.assert_array_equal(factors, factors[:, H36M.flip_permutation()])
    assert factors.min() >= 0.9 * 0.95 - 1e-6 and factors.max() <= 1.1 * 1.05 + 1e-6
    assert factors.max() > 1.1 and factors.min() < 0.9  # the whole range is drawn
    # With no scaling there is nothing to change.
    np.testing.assert_array_equal(augment.bone_factors(uniform, 0.0, 0.0).numpy(), 1.0)


def test_camera_draw_errors():
    sequences = _sequences(num=1)
    with pytest.raises(ValueError, match="`distance` must be"):
        camera.VirtualCameras(distance=(6.0, 4.0))
    with pytest.raises(ValueError, match="leave no image"):
        camera.VirtualCameras(principal_jitter=400, margin=200)
    with pytest.raises(ValueError, match="for training"):
        pipeline.make_dataset(sequences, num_frames=8, batch_size=2, training=False,
                              cameras=RANGES)
    with pytest.raises(ValueError, match="pass `cameras`"):
        pipeline.make_dataset(sequences[0].views or [], num_frames=8, batch_size=2,
                              training=True, bone_scale=0.1)
