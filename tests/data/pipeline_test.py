import numpy as np
import pytest

from tfpose.data import augment, pipeline, synthetic, windows
from tfpose.data.sequence import View, add_virtual_cameras, check_poses
from tfpose.skeleton import H36M


def test_window_starts():
    np.testing.assert_array_equal(windows.window_starts(10, 4, 3, "valid"), [0, 3, 6])
    np.testing.assert_array_equal(windows.window_starts(11, 4, 3, "valid"), [0, 3, 6, 7])
    np.testing.assert_array_equal(windows.window_starts(2, 4, 1, "valid"), [0])
    # "same": one window per frame, centred on it.
    assert len(windows.window_starts(10, 5, 1, "same")) == 10
    assert len(windows.window_starts(10, 4, 1, "same")) == 10
    with pytest.raises(ValueError, match="padding"):
        windows.window_starts(10, 4, 1, "reflect")


def test_concatenate_edge_pads_and_centres():
    a = np.arange(6, dtype=np.float32)[:, None]
    b = np.arange(100, 103, dtype=np.float32)[:, None]
    data, starts = windows.concatenate([a, b], num_frames=5, stride=1, padding="same")
    assert len(starts) == 9
    for frame, start in enumerate(starts[:6]):
        window = data[start : start + 5, 0]
        assert window[2] == frame  # centred on its frame
    np.testing.assert_array_equal(data[starts[0] : starts[0] + 5, 0], [0, 0, 0, 1, 2])
    np.testing.assert_array_equal(data[starts[8] : starts[8] + 5, 0], [100, 101, 102, 102, 102])


def _views(num=3, frames=40, seed=0):
    sequences = synthetic.generate(num, frames, seed=seed)
    return [v for s in add_virtual_cameras(sequences, 2, seed=seed) for v in s.views]


def test_dataset_shapes_and_targets():
    views = _views()
    ds = pipeline.make_dataset(views, num_frames=16, batch_size=8, training=False, stride=4)
    xs, ys = [], []
    for inputs, targets in ds:
        assert inputs.shape[1:] == (16, 17, 2)
        xs.append(inputs.numpy())
        ys.append(targets.numpy())
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert len(x) == sum(len(windows.window_starts(40, 16, 4, "same")) for _ in views)
    np.testing.assert_allclose(y[:, :, 0], 0.0)  # root-relative
    # The first window of the first view is its first frames, edge-padded.
    v = views[0]
    np.testing.assert_allclose(x[0, 8:], v.keypoints_2d[:8])
    np.testing.assert_allclose(x[0, :8], np.repeat(v.keypoints_2d[:1], 8, 0))
    np.testing.assert_allclose(y[0, 8:], v.poses_3d[:8] - v.poses_3d[:8, :1], atol=1e-6)


def test_training_dataset_is_static_seeded_and_augments():
    views = _views()
    kwargs = dict(num_frames=8, batch_size=4, training=True, stride=2, flip=True, noise_std=0.01)
    ds = pipeline.make_dataset(views, seed=3, **kwargs)
    assert ds.element_spec[0].shape == (4, 8, 17, 2)
    first = [y.numpy() for _, y in ds.take(3)]
    again = [y.numpy() for _, y in pipeline.make_dataset(views, seed=3, **kwargs).take(3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    other = next(iter(pipeline.make_dataset(views, seed=4, **kwargs)))[1].numpy()
    assert not np.array_equal(first[0], other)
    # One pass per iteration, reshuffled every time.
    steps = pipeline.steps_per_pass(views, num_frames=8, batch_size=4, stride=2)
    epochs = [[y.numpy() for _, y in ds] for _ in range(2)]
    assert len(epochs[0]) == len(epochs[1]) == steps
    assert not np.array_equal(epochs[0][0], epochs[1][0])
    # Flipped and unflipped windows are both present: for every window, the
    # target equals some clean window or its mirror image.
    clean = np.concatenate([y.numpy() for _, y in pipeline.make_dataset(
        views, num_frames=8, batch_size=64, training=False, stride=2)])
    mirrored = augment.flip(clean).numpy()
    flips = 0
    for batch in first:
        for y in batch:
            d_clean = np.abs(clean - y).max(axis=(1, 2, 3)).min()
            d_flip = np.abs(mirrored - y).max(axis=(1, 2, 3)).min()
            assert min(d_clean, d_flip) < 1e-5
            flips += d_flip < d_clean
    assert 0 < flips < 12


def test_training_stream_resumes_and_shards_into_the_same_batches():
    views = _views()
    kwargs = dict(num_frames=8, batch_size=8, training=True, stride=2, flip=True, seed=3,
                  noise_std=0.01, endless=True)
    steps = pipeline.steps_per_pass(views, num_frames=8, batch_size=8, stride=2)
    assert steps >= 2
    full = [y.numpy() for _, y in pipeline.make_dataset(views, **kwargs).take(2 * steps + 2)]
    # A new pass is a new permutation (with new flips).
    assert not np.array_equal(full[0], full[steps])
    # Started at any step: the same batches from there on.
    start = steps + 1
    resumed = [y.numpy() for _, y in pipeline.make_dataset(views, start_step=start, **kwargs)
               .take(len(full) - start)]
    for a, b in zip(full[start:], resumed):
        np.testing.assert_array_equal(a, b)
    # Two shards of two replica batches each: together, every global batch.
    shards = [[y.numpy() for _, y in pipeline.make_dataset(
        views, num_shards=2, shard_index=i, per_replica_batch_size=2, **kwargs).take(2 * 4)]
        for i in range(2)]
    for g in range(4):
        parts = np.concatenate([shards[i][2 * g + r] for i in range(2) for r in range(2)])
        np.testing.assert_array_equal(np.sort(parts.reshape(8, -1), 0),
                                      np.sort(full[g].reshape(8, -1), 0))
    with pytest.raises(ValueError, match="multiple of the shard count"):
        pipeline.make_dataset(views, num_shards=3, shard_index=0, **kwargs)


def test_intrinsics_follow_views_and_flips():
    import dataclasses

    from tfpose.layers.balanced_coordinates import balance

    # Off-centre principal points, so that a mirrored camera differs.
    views = []
    for i, view in enumerate(_views()):
        camera = dataclasses.replace(view.camera, center=view.camera.center + [30.0 * i, -9.0])
        views.append(View.from_camera(
            camera, camera.camera_to_world(view.poses_3d)))
    ds = pipeline.make_dataset(views, num_frames=8, batch_size=16, training=True, stride=2,
                               flip=True, intrinsics=True, seed=1)
    (x_spec, k_spec), _ = ds.element_spec
    assert x_spec.shape == (16, 8, 17, 2) and k_spec.shape == (16, 4)
    cameras = np.stack([v.camera.normalized_intrinsics() for v in views])
    flipped = 0
    for (x, k), y in ds.take(4):
        # Every window's 2D is its 3D seen through its intrinsics (mirrored
        # together), so the balanced output changes nothing.
        np.testing.assert_allclose(balance(y, x, k), y, atol=2e-4)
        k = k.numpy()
        mirror = k * [1, 1, -1, 1]
        for row, row_mirror in zip(k, mirror):
            clean = np.abs(cameras - row).max(1).min() < 1e-6
            flipped += not clean
            assert clean or np.abs(cameras - row_mirror).max(1).min() < 1e-6
    assert 0 < flipped < 64
    seqs = list(pipeline.make_sequence_dataset(views, intrinsics=True))
    np.testing.assert_allclose(seqs[1][0][1].numpy()[0], cameras[1])
    with pytest.raises(ValueError, match="intrinsics"):
        pipeline.make_dataset([(np.zeros((9, 17, 2)), np.zeros((9, 17, 3)))], num_frames=4,
                              batch_size=2, training=False, intrinsics=True)


def test_flip_twice_is_identity_and_mirrors():
    rng = np.random.default_rng(0)
    poses = rng.normal(size=(3, 5, 17, 3)).astype(np.float32)
    once = augment.flip(poses).numpy()
    np.testing.assert_array_equal(augment.flip(once).numpy(), poses)
    # Reference: x negated, left and right joints swapped.
    expected = poses.copy()
    expected[..., 0] *= -1
    left, right = list(H36M.joints_left), list(H36M.joints_right)
    expected[..., left + right, :] = expected[..., right + left, :]
    np.testing.assert_array_equal(once, expected)


def test_sequence_dataset():
    views = _views(num=2, frames=30)
    seqs = list(pipeline.make_sequence_dataset(views))
    assert len(seqs) == 4
    assert seqs[0][0].shape == (1, 30, 17, 2)


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((5, 17)), "rank 3"),
        (np.zeros((5, 16, 3)), "17 joints"),
        (np.zeros((5, 17, 2)), "3 coordinates"),
        (np.zeros((0, 17, 3)), "no frames"),
        (np.full((5, 17, 3), np.nan), "NaN"),
        (np.full((5, 17, 3), np.inf), "contains inf values in 5 frame"),
    ],
)
def test_check_poses_errors(array, match):
    with pytest.raises(ValueError, match=match):
        check_poses(array, 3)


def test_view_rejects_points_behind_camera():
    seq = synthetic.generate(1, 10)[0]
    from tfpose import camera

    cam = camera.Camera(rotation=np.eye(3), position=seq.poses_3d[0, 0] + [0, 0, 0.1],
                        focal=(1000, 1000), center=(500, 500), width=1000, height=1000)
    with pytest.raises(ValueError, match="behind"):
        View.from_camera(cam, seq.poses_3d)
