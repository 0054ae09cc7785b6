"""tf.data input pipelines over camera views.

Every pipeline yields `(keypoints_2d [B, T, J, 2], poses_3d [B, T, J, 3])`:
normalised 2D input and root-relative camera-frame 3D targets in metres;
with `intrinsics=True` (models with DG-Net's balanced output) the input is
the pair `(keypoints_2d, intrinsics [B, 4])`, the camera's normalised
`(f_x, f_y, c_x, c_y)`.
The input is a plain tensor rather than a `{"keypoints_2d": ...}` dict
because the models have that one input, and Keras 3 warns when a
single-input Functional model receives a dict (and serving signatures name
it `keypoints_2d` all the same).
"""

import numpy as np
import tensorflow as tf

from tfpose import skeleton as skeleton_lib
from tfpose.data import augment, windows


def view_arrays(views, root=0, intrinsics=False):
    """`(keypoints_2d, root-relative poses_3d)` float32 pairs of `views`,
    with the camera's normalised intrinsics `[4]` third if `intrinsics`."""
    items = []
    for view in views:
        poses = view.poses_3d - view.poses_3d[:, root : root + 1]
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


def make_dataset(
    views,
    *,
    num_frames,
    batch_size,
    training,
    stride=1,
    padding="same",
    seed=0,
    flip=False,
    noise_std=0.0,
    skeleton=skeleton_lib.H36M,
    intrinsics=False,
):
    """Windows of `num_frames` frames from camera views, batched.

    Args:
        views: list of `tfpose.data.View` (or `(keypoints_2d, poses_3d)`
            array pairs, 3D already root-relative).
        num_frames: window length `T`.
        batch_size: the global batch size.
        training: shuffle (seeded, reshuffled every epoch), augment, and drop
            the last partial batch so that shapes stay static.
        stride: frames between window starts.
        padding: `"same"` (edge-pad so every frame centres a window) or
            `"valid"` (see `tfpose.data.windows`).
        seed: seed of the shuffle and of the augmentation.
        flip: horizontal flip augmentation (training only), with
            probability 1/2 per window, 2D and 3D together.
        noise_std: std of Gaussian noise added to the 2D input (training
            only), in normalised screen units (1.0 = half the image width).
        skeleton: for the flip's left/right swap.
        intrinsics: also yield each window's camera intrinsics (views need
            cameras; array tuples need a third item, `[4]`).

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
    items = _as_arrays(views, intrinsics)
    if intrinsics:
        # Per-frame copies, so windows pad and index them like the poses.
        items = [(x, y, np.broadcast_to(k, (len(x), 4)).astype(np.float32))
                 for x, y, k in items]
    columns, starts = windows.concatenate(items, num_frames, stride, padding)
    keypoints, poses = tf.constant(columns[0]), tf.constant(columns[1])
    cameras = tf.constant(columns[2]) if intrinsics else None
    offsets = tf.range(num_frames, dtype=tf.int64)

    ds = tf.data.Dataset.from_tensor_slices(starts)
    if training:
        ds = ds.shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=training)
    augmenting = training and (flip or noise_std > 0)
    if augmenting:
        # One stateless seed pair per batch; new values every epoch.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds)
    else:
        ds = ds.map(lambda s: (s, tf.zeros([2], tf.int64)))

    def gather(batch_starts, batch_seed):
        index = batch_starts[:, None] + offsets[None, :]
        x = tf.gather(keypoints, index)
        y = tf.gather(poses, index)
        k = tf.gather(cameras, batch_starts) if intrinsics else None
        if augmenting:
            flip_seed, noise_seed = tf.unstack(
                tf.random.experimental.stateless_split(batch_seed, 2)
            )
            if flip:
                if intrinsics:
                    # The same coin per example as random_flip's.
                    coin = augment.flip_coin(tf.shape(x)[0], flip_seed)
                    k = tf.where(coin[:, None], augment.flip_intrinsics(k), k)
                x, y = augment.random_flip(x, y, flip_seed, skeleton)
            if noise_std > 0:
                x = augment.add_noise(x, noise_std, noise_seed)
        return ((x, k), y) if intrinsics else (x, y)

    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


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
