"""tf.data input pipelines over camera views.

Every pipeline yields `(keypoints_2d [B, T, J, 2], poses_3d [B, T, J, 3])`:
normalised 2D input and root-relative camera-frame 3D targets in metres.
The input is a plain tensor rather than a `{"keypoints_2d": ...}` dict
because the models have that one input, and Keras 3 warns when a
single-input Functional model receives a dict (and serving signatures name
it `keypoints_2d` all the same).
"""

import numpy as np
import tensorflow as tf

from tfpose import skeleton as skeleton_lib
from tfpose.data import augment, windows


def view_arrays(views, root=0):
    """`(keypoints_2d, root-relative poses_3d)` float32 pairs of `views`."""
    pairs = []
    for view in views:
        poses = view.poses_3d - view.poses_3d[:, root : root + 1]
        pairs.append((view.keypoints_2d.astype(np.float32), poses.astype(np.float32)))
    return pairs


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

    Returns:
        a `tf.data.Dataset` of `(keypoints_2d, poses_3d)`.
    """
    if num_frames < 1 or batch_size < 1:
        raise ValueError(
            f"`num_frames` and `batch_size` must be >= 1, got {num_frames}, {batch_size}."
        )
    if noise_std < 0:
        raise ValueError(f"`noise_std` must be >= 0, got {noise_std}.")
    pairs = views if views and isinstance(views[0], tuple) else view_arrays(views)
    (keypoints, poses), starts = windows.concatenate(pairs, num_frames, stride, padding)
    keypoints = tf.constant(keypoints)
    poses = tf.constant(poses)
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
        if augmenting:
            flip_seed, noise_seed = tf.unstack(
                tf.random.experimental.stateless_split(batch_seed, 2)
            )
            if flip:
                x, y = augment.random_flip(x, y, flip_seed, skeleton)
            if noise_std > 0:
                x = augment.add_noise(x, noise_std, noise_seed)
        return x, y

    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def make_sequence_dataset(views):
    """Whole sequences, one per element, batch 1: for evaluation.

    Yields `(keypoints_2d [1, T_i, J, 2], poses_3d [1, T_i, J, 3])`,
    root-relative, in the order of `views`.
    """
    pairs = views if views and isinstance(views[0], tuple) else view_arrays(views)
    if not pairs:
        raise ValueError("No sequences to evaluate.")
    num_joints = pairs[0][0].shape[1]

    def generator():
        for x, y in pairs:
            yield x[None], y[None]

    return tf.data.Dataset.from_generator(
        generator,
        output_signature=(
            tf.TensorSpec([1, None, num_joints, 2], tf.float32),
            tf.TensorSpec([1, None, num_joints, 3], tf.float32),
        ),
    )
