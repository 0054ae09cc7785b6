"""tf.data input pipelines over camera views.

Every pipeline yields `(keypoints_2d [B, T, J, 2], poses_3d [B, T, J, 3])`:
normalised 2D input and root-relative camera-frame 3D targets in metres;
with `intrinsics=True` (models with DG-Net's balanced output) the input is
the pair `(keypoints_2d, intrinsics [B, 4])`, the camera's normalised
`(f_x, f_y, c_x, c_y)`.
Training windows either come from fixed camera views, or (`cameras=`) from
world-frame 3D motion seen by a virtual camera drawn afresh for every
window, inside the graph.

The input is a plain tensor rather than a `{"keypoints_2d": ...}` dict
because the models have that one input, and Keras 3 warns when a
single-input Functional model receives a dict (and serving signatures name
it `keypoints_2d` all the same).
"""

import numpy as np
import tensorflow as tf

from tfpose import skeleton as skeleton_lib
from tfpose.data import augment, windows
from tfpose.data.sequence import Sequence, check_poses


def view_arrays(views, root=0, intrinsics=False):
    """`(keypoints_2d, root-relative poses_3d)` float32 pairs of `views`,
    with the camera's normalised intrinsics `[4]` third if `intrinsics`."""
    items = []
    for view in views:
        poses = skeleton_lib.root_relative(view.poses_3d, root)
        item = (view.keypoints_2d.astype(np.float32), poses.astype(np.float32))
        if intrinsics:
            item += (view.camera.normalized_intrinsics(),)
        items.append(item)
    return items


def _as_arrays(views, intrinsics):
    """Views or array tuples -> `(x, y)` or `(x, y, intrinsics [4])` tuples."""
    if not views:
        raise ValueError("No sequences to make windows from.")
    if not isinstance(views[0], tuple):
        return view_arrays(views, intrinsics=intrinsics)
    names = ("keypoints_2d", "poses_3d") + (("intrinsics",) if intrinsics else ())
    if any(len(item) != len(names) for item in views):
        raise ValueError(f"Expected tuples ({', '.join(names)}).")
    if intrinsics:
        for item in views:
            if np.shape(item[2]) != (4,):
                raise ValueError(f"intrinsics must have shape [4], got {np.shape(item[2])}.")
    return views


def world_arrays(sequences):
    """World-frame 3D `[T, J, 3]` float32 of `Sequence`s (or arrays)."""
    if not len(sequences):
        raise ValueError("No sequences to make windows from.")
    return [check_poses(s.poses_3d if isinstance(s, Sequence) else s, 3, "poses_3d")
            for s in sequences]


def _length(item):
    if isinstance(item, tuple):
        return len(item[0])
    if isinstance(item, Sequence):
        return item.num_frames
    if isinstance(item, np.ndarray):
        return len(item)
    return len(item.keypoints_2d)


def steps_per_pass(views, *, num_frames, batch_size, stride=1, padding="same"):
    """Training batches in one pass over the windows of `views` (or of
    sequences; the last partial batch is dropped, so that shapes stay
    static)."""
    lengths = [_length(v) for v in views]
    count = sum(len(windows.window_starts(n, num_frames, stride, padding)) for n in lengths)
    return count // batch_size


def make_dataset(
    views,
    *,
    num_frames,
    batch_size,
    training,
    stride=1,
    padding="same",
    lookahead=None,
    seed=0,
    flip=False,
    noise_std=0.0,
    skeleton=skeleton_lib.H36M,
    intrinsics=False,
    endless=False,
    start_step=0,
    num_shards=1,
    shard_index=0,
    per_replica_batch_size=None,
    cameras=None,
    body_scale=0.0,
    bone_scale=0.0,
    speed_scale=0.0,
):
    """Windows of `num_frames` frames from camera views, batched.

    Evaluation (`training=False`) yields every window once, in order.
    Training yields one shuffled, augmented pass over the windows per
    iteration (a new one each time: `model.fit(ds, epochs=N)`), or with
    `endless=True` the stream that scripts/train.py uses: global batches
    without end, in which batch `g` depends on nothing but `seed` and `g`.
    Pass `p` over the windows is a permutation drawn from `(seed, p)`,
    every window's flip coin is drawn with it, and noise comes from
    `(seed, position)`. That is what makes a resumed run (`start_step`)
    and a sharded one see the same data as an uninterrupted
    single-process run: the union of the shards' batches at step `g` is
    global batch `g`.

    With `cameras` (training only), `views` are world-frame motions
    (`Sequence`s or `[T, J, 3]` arrays), and every training window is seen
    through its own virtual camera drawn from that distribution (and, with
    `body_scale` / `bone_scale`, on a body of other proportions; with
    `speed_scale`, at another tempo). A window's camera, body and tempo
    are drawn with its flip coin: they depend on
    `(seed, pass, position in the pass)` only, so resumed and sharded runs
    see the same cameras as an uninterrupted one.

    Args:
        views: list of `tfpose.data.sequence.View` (or `(keypoints_2d, poses_3d)`
            array pairs, 3D already root-relative); with `cameras`, list of
            `Sequence` (or world poses `[T, J, 3]`).
        num_frames: window length `T`.
        batch_size: the global batch size.
        training: endless seeded stream with augmentation, whole batches only.
        stride: frames between window starts.
        padding: `"same"` (edge-pad so every frame centres a window) or
            `"valid"` (see `tfpose.data.windows`).
        lookahead: with `"same"`, put every frame at window position
            `num_frames - 1 - lookahead` instead of the centre (a TCN that
            predicts that frame; `tfpose.inference.protocols.model_lookahead`).
        seed: seed of the shuffle and of the augmentation.
        flip: horizontal flip augmentation (training only), with
            probability 1/2 per window, 2D and 3D together.
        noise_std: std of Gaussian noise added to the 2D input (training
            only), in normalised screen units (1.0 = half the image width).
            Unlike the flips, the noise depends on the sharding.
        skeleton: for the flip's left/right swap.
        intrinsics: also yield each window's camera intrinsics (views need
            cameras; array tuples need a third item, `[4]`).
        endless: training: the step-indexed stream without end.
        start_step: endless training: the first global batch to yield.
        num_shards, shard_index: training: this input pipeline takes every
            `num_shards`-th window of each global batch, from `shard_index`
            (`tf.distribute.InputContext`'s pipeline count and id).
        per_replica_batch_size: training: size of the yielded batches;
            default `batch_size // num_shards`. Consecutive batches of a
            shard go to its local replicas.
        cameras: training: a `tfpose.camera.VirtualCameras` to draw a
            camera for every window from; `None` takes the views as given.
        body_scale, bone_scale: with `cameras`: overall body size and each
            bone's length (left and right alike) are scaled by factors
            uniform in `1 +- body_scale` and `1 +- bone_scale` per window
            (`tfpose.data.augment.bone_factors`).
        speed_scale: with `cameras`: every training window is played at
            its own rate, log-uniform in `[1 / (1 + speed_scale),
            1 + speed_scale]` times the capture's (linear interpolation
            between frames, `tfpose.data.augment.resample_window`), so
            motions come at other tempos; the frame that the window is
            centred on (with `lookahead`: the one at position
            `num_frames - 1 - lookahead`) stays in place.

    Returns:
        a `tf.data.Dataset` of `(keypoints_2d, poses_3d)`, or of
        `((keypoints_2d, intrinsics), poses_3d)`.
    """
    if num_frames < 1 or batch_size < 1:
        raise ValueError(
            f"`num_frames` and `batch_size` must be >= 1, got {num_frames}, {batch_size}."
        )
    if noise_std < 0:
        raise ValueError(f"`noise_std` must be >= 0, got {noise_std}.")
    if cameras is None and (body_scale or bone_scale or speed_scale):
        raise ValueError("`body_scale`, `bone_scale` and `speed_scale` need world-frame motion: "
                         "pass `cameras`.")
    if not 0 <= body_scale < 1 or not 0 <= bone_scale < 1:
        raise ValueError(
            f"`body_scale` and `bone_scale` must be in [0, 1), got {body_scale}, {bone_scale}.")
    if not 0 <= speed_scale <= 1:
        raise ValueError(f"`speed_scale` must be in [0, 1], got {speed_scale}.")
    if cameras is not None:
        if not training:
            raise ValueError("Drawn cameras are for training; evaluate on fixed views.")
        world, _ = windows.concatenate(world_arrays(views), num_frames, stride, padding,
                                       lookahead)
        world = tf.constant(world)
        starts = windows.concatenate([np.zeros((_length(v), 1)) for v in views],
                                     num_frames, stride, padding, lookahead)[1]
        if speed_scale:  # only resampling reads the sequences' bounds
            bounds = tf.constant(windows.sequence_bounds([_length(v) for v in views],
                                                         num_frames, stride, padding, lookahead))
            anchor = num_frames - 1 - (
                (num_frames - 1) // 2 if lookahead is None or padding != "same" else lookahead)
    else:
        items = _as_arrays(views, intrinsics)
        if intrinsics:
            # Per-frame copies, so windows pad and index them like the poses.
            items = [(x, y, np.broadcast_to(k, (len(x), 4)).astype(np.float32))
                     for x, y, k in items]
        columns, starts = windows.concatenate(items, num_frames, stride, padding, lookahead)
        keypoints, poses = tf.constant(columns[0]), tf.constant(columns[1])
        fixed_intrinsics = tf.constant(columns[2]) if intrinsics else None
    offsets = tf.range(num_frames, dtype=tf.int64)
    num_joints = skeleton.num_joints
    draws = 0 if cameras is None else cameras.NUM_DRAWS + num_joints + 1
    aims = 0 if cameras is None or not cameras.target_jitter else cameras.NUM_AIM_DRAWS

    def gather(batch_starts):
        index = batch_starts[:, None] + offsets[None, :]
        x = tf.gather(keypoints, index)
        y = tf.gather(poses, index)
        k = tf.gather(fixed_intrinsics, batch_starts) if intrinsics else None
        return x, y, k

    def seen_window(start, coin, position, uniform):
        # One window at a time, so that its numbers never depend on the batch
        # it joins (kernels round differently at other sizes): every shard of
        # a distributed run computes what one device computes.
        if speed_scale:
            # The window's own sequence: starts and bounds share the order.
            index = tf.searchsorted(starts, start[None])[0]
            rate = augment.playback_rates(uniform[-1], speed_scale)
            motion = augment.resample_window(world, start, tf.gather(bounds, index), rate,
                                             num_frames, anchor)
            uniform = uniform[:-1]
        else:
            motion = tf.gather(world, start + offsets)
        x, y, k = view_windows(motion[None], uniform[None], cameras, body_scale, bone_scale,
                               skeleton)
        return x[0], y[0], k[0], coin, position

    def pack(x, y, k):
        return ((x, k), y) if intrinsics else (x, y)

    if not training:
        ds = tf.data.Dataset.from_tensor_slices(starts).batch(batch_size)
        ds = ds.map(lambda s: pack(*gather(s)), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    steps = len(starts) // batch_size
    if steps < 1:
        raise ValueError(
            f"{len(starts)} training windows make no batch of {batch_size}; "
            "lower the batch size or the stride."
        )
    if num_shards < 1 or not 0 <= shard_index < num_shards or batch_size % num_shards:
        raise ValueError(
            f"Cannot take shard {shard_index} of {num_shards} from global batches of "
            f"{batch_size}: the batch size must be a multiple of the shard count."
        )
    per_shard = batch_size // num_shards
    per_replica = per_replica_batch_size or per_shard
    if per_shard % per_replica:
        raise ValueError(
            f"A shard's {per_shard} windows per step do not split into replica batches "
            f"of {per_replica}."
        )
    start_step = int(start_step)
    if start_step < 0:
        raise ValueError(f"`start_step` must be >= 0, got {start_step}.")
    windows_per_pass = steps * batch_size
    starts = tf.constant(starts, tf.int64)
    seed = tf.constant(seed, tf.int64)

    def one_pass(number, skip):
        key = tf.stack([seed, number])
        order = tf.random.experimental.stateless_shuffle(tf.range(len(starts), dtype=tf.int64),
                                                         seed=key)[:windows_per_pass]
        coins = augment.flip_coin(windows_per_pass, key + [0, 2**40])
        positions = number * windows_per_pass + tf.range(windows_per_pass, dtype=tf.int64)
        # Every window's camera and body, drawn with the pass like its coin.
        uniform = tf.random.stateless_uniform([windows_per_pass, draws], key + [0, 2**41])
        if aims:  # drawn apart, so the other draws stay those of a run without aims
            uniform = tf.concat([uniform, tf.random.stateless_uniform(
                [windows_per_pass, aims], key + [0, 2**42])], axis=1)
        if speed_scale and cameras is not None:  # likewise: the rate is the last column
            uniform = tf.concat([uniform, tf.random.stateless_uniform(
                [windows_per_pass, 1], key + [0, 2**43])], axis=1)
        ds = tf.data.Dataset.from_tensor_slices(
            (tf.gather(starts, order), coins, positions, uniform))
        ds = ds.skip(skip * batch_size).shard(num_shards, shard_index)
        if cameras is not None:
            ds = ds.map(seen_window, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.batch(per_replica, drop_remainder=True)

    if endless:
        first_pass, skip = divmod(start_step, steps)
        plan = tf.data.Dataset.counter(first_pass).map(
            lambda p: (p, tf.where(p == first_pass, tf.constant(skip, tf.int64), 0)))
    else:
        if start_step:
            raise ValueError("`start_step` needs `endless=True`.")
        # One pass per iteration, a new one each time (`fit(ds, epochs=N)`).
        plan = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1).map(
            lambda p: (p, tf.constant(0, tf.int64)))

    def augmented(*batch):
        if cameras is None:
            batch_starts, coins, positions, _ = batch
            x, y, k = gather(batch_starts)
        else:
            x, y, k, coins, positions = batch
        if flip:
            x, y = augment.flip_where(coins, x, y, skeleton=skeleton)
            if intrinsics:
                k = tf.where(coins[:, None], augment.flip_intrinsics(k), k)
        if noise_std > 0:
            x = augment.add_noise(x, noise_std, tf.stack([seed + 1, positions[0]]))
        return pack(x, y, k)

    ds = plan.flat_map(one_pass)
    if not endless:
        ds = ds.apply(tf.data.experimental.assert_cardinality(
            steps * (batch_size // per_replica) // num_shards))
    ds = ds.map(augmented, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def view_windows(poses_world, uniform, cameras, body_scale=0.0, bone_scale=0.0,
                 skeleton=skeleton_lib.H36M):
    """World-frame windows `[N, T, J, 3]` seen by cameras drawn from `uniform`.

    Args:
        poses_world: `[N, T, J, 3]` metres, +Z up.
        uniform: `[N, cameras.NUM_DRAWS + J + 1]` numbers in [0, 1): the
            camera's draws, then the body's (`augment.bone_factors`), then
            with `cameras.target_jitter` `cameras.NUM_AIM_DRAWS` more for
            the point the camera looks at.
        cameras: a `tfpose.camera.VirtualCameras`.
        body_scale, bone_scale: see `make_dataset`.

    Returns:
        `(keypoints_2d [N, T, J, 2], poses_3d [N, T, J, 3], intrinsics [N, 4])`:
        normalised 2D, root-relative camera-frame 3D, normalised intrinsics.
    """
    root = skeleton.root
    body_draws = cameras.NUM_DRAWS + skeleton.num_joints + 1
    if body_scale or bone_scale:
        factors = augment.bone_factors(uniform[:, cameras.NUM_DRAWS : body_draws], body_scale,
                                       bone_scale, skeleton)
        poses_world = augment.scale_bones(poses_world, factors[:, None], skeleton)
    # Each window is framed around its mean root position (or near it).
    target = tf.reduce_mean(poses_world[:, :, root], axis=1)
    if cameras.target_jitter:
        target = cameras.aim(target, uniform[:, body_draws:])
    radius = tf.reduce_max(tf.norm(poses_world - target[:, None, None], axis=-1), axis=[1, 2])
    rotation, position, focal, center = cameras.draw(
        uniform[:, : cameras.NUM_DRAWS], target, radius)
    x, y = cameras.view(poses_world, rotation, position, focal, center)
    y = skeleton_lib.root_relative(y, root)
    return x, y, cameras.normalized_intrinsics(focal, center)


def make_sequence_dataset(views, intrinsics=False):
    """Whole sequences, one per element, batch 1: for evaluation.

    Yields `(keypoints_2d [1, T_i, J, 2], poses_3d [1, T_i, J, 3])`,
    root-relative, in the order of `views` (the input is
    `(keypoints_2d, intrinsics [1, 4])` with `intrinsics=True`).
    """
    if not views:
        raise ValueError("No sequences to evaluate.")
    items = _as_arrays(views, intrinsics)
    num_joints = items[0][0].shape[1]

    def generator():
        for item in items:
            x, y = item[0][None], item[1][None]
            yield ((x, item[2][None]), y) if intrinsics else (x, y)

    x_spec = tf.TensorSpec([1, None, num_joints, 2], tf.float32)
    if intrinsics:
        x_spec = (x_spec, tf.TensorSpec([1, 4], tf.float32))
    return tf.data.Dataset.from_generator(
        generator,
        output_signature=(x_spec, tf.TensorSpec([1, None, num_joints, 3], tf.float32)),
    )
