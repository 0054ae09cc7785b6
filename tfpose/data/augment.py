"""On-the-fly augmentation in the graph: horizontal flips, 2D noise,
bone-length scaling and playback rate (windows resampled in time)."""

import numpy as np
import tensorflow as tf

from tfpose import skeleton as skeleton_lib


def flip(poses, skeleton=skeleton_lib.H36M):
    """Mirrors poses `[..., J, C]` left-right: negates x, swaps sides.

    Valid for camera-frame 3D and for normalised 2D (whose x is centred on
    the image centre), so applying it to both keeps a 2D/3D pair
    consistent. An involution: flipping twice is the identity.
    """
    poses = tf.convert_to_tensor(poses)
    channels = poses.shape[-1]
    sign = np.ones(channels, np.float32)
    sign[0] = -1.0
    swapped = tf.gather(poses, skeleton.flip_permutation(), axis=-2)
    return swapped * tf.constant(sign, poses.dtype)


def flip_intrinsics(intrinsics):
    """Intrinsics `[..., 4]` `(f_x, f_y, c_x, c_y)` of the mirrored image.

    Normalised x is centred on the image centre, so mirroring negates the
    principal point's x: `c_x -> -c_x`.
    """
    intrinsics = tf.convert_to_tensor(intrinsics)
    return intrinsics * tf.constant([1.0, 1.0, -1.0, 1.0], intrinsics.dtype)


def flip_coin(batch, seed):
    """`[batch]` bool: which examples `random_flip` flips for this `seed`."""
    return tf.random.stateless_uniform([batch], seed) < 0.5


def random_flip(keypoints_2d, poses_3d, seed, skeleton=skeleton_lib.H36M):
    """Flips each example of a batch `[B, ...]` with probability 1/2.

    `seed` is a stateless seed, shape `[2]` int.
    """
    coin = flip_coin(tf.shape(keypoints_2d)[0], seed)
    return flip_where(coin, keypoints_2d, poses_3d, skeleton=skeleton)


def flip_where(coin, *batches, skeleton=skeleton_lib.H36M):
    """Flips the examples of each `[B, ...]` batch where `coin` `[B]` is true."""
    flipped = []
    for batch in batches:
        shape = tf.concat([tf.shape(coin), tf.ones(tf.rank(batch) - 1, tf.int32)], 0)
        mask = tf.reshape(coin, shape)
        flipped.append(tf.where(mask, flip(batch, skeleton), batch))
    return tuple(flipped)


def add_noise(keypoints_2d, std, seed):
    """Adds Gaussian noise of `std` (normalised units) to 2D keypoints."""
    noise = tf.random.stateless_normal(tf.shape(keypoints_2d), seed, stddev=std)
    return keypoints_2d + tf.cast(noise, keypoints_2d.dtype)


def bone_factors(uniform, body_scale, bone_scale, skeleton=skeleton_lib.H36M):
    """Per-joint length factors `[N, J]` of the bone to each joint's parent.

    Args:
        uniform: `[N, J + 1]` numbers in [0, 1): column 0 draws the body's
            overall scale, column `1 + j` the bone ending at joint `j`.
        body_scale: the overall scale is uniform in `1 +- body_scale`.
        bone_scale: each bone's own factor is uniform in `1 +- bone_scale`;
            left and right bones share theirs, so bodies stay symmetric.
    """
    uniform = tf.convert_to_tensor(uniform, tf.float32)
    side = np.minimum(np.arange(skeleton.num_joints), skeleton.flip_permutation())
    body = 1.0 + body_scale * (2.0 * uniform[:, :1] - 1.0)
    bones = 1.0 + bone_scale * (2.0 * tf.gather(uniform[:, 1:], side, axis=1) - 1.0)
    return body * bones


def scale_bones(poses, factors, skeleton=skeleton_lib.H36M):
    """Poses `[..., J, 3]` with each bone's length times `factors` `[..., J]`.

    Bone `j` joins joint `j` to its parent; the root keeps its position and
    every bone its direction, so the pose and its motion are the same, on
    another body. (`factors` at the root are ignored.)
    """
    poses = tf.convert_to_tensor(poses)
    factors = tf.convert_to_tensor(factors, poses.dtype)
    # Joint by joint from the root, elementwise (no matrix product), so a
    # window's result does not depend on the batch it is computed in.
    order = _topological_order(skeleton)
    joints = {skeleton.root: poses[..., skeleton.root, :]}
    for joint in order[1:]:
        parent = skeleton.parents[joint]
        bone = poses[..., joint, :] - poses[..., parent, :]
        joints[joint] = joints[parent] + factors[..., joint, None] * bone
    return tf.stack([joints[j] for j in range(skeleton.num_joints)], axis=-2)


def _topological_order(skeleton):
    """Joints with every parent before its children, the root first."""
    order, pending = [skeleton.root], [skeleton.root]
    while pending:
        parent = pending.pop(0)
        children = [j for j, p in enumerate(skeleton.parents) if p == parent]
        order += children
        pending += children
    return order


def playback_rates(uniform, speed_scale):
    """Playback rates from numbers in [0, 1): log-uniform in
    `[1 / (1 + speed_scale), 1 + speed_scale]`, so a motion is as likely to
    be played k times faster as k times slower."""
    uniform = tf.convert_to_tensor(uniform, tf.float32)
    log_range = float(np.log1p(speed_scale))
    return tf.exp(log_range * (2.0 * uniform - 1.0))


def resample_window(frames, start, bounds, rate, num_frames, anchor):
    """A window of `frames` `[F, ...]` played `rate` times as fast.

    The window's frame `i` is `frames` at the fractional index
    `start + anchor + rate * (i - anchor)`, linearly interpolated between
    its neighbours and clamped to `bounds` `[first, last]` (the window's own
    padded sequence, so a faster window repeats its sequence's end frames
    instead of reaching into the next one). Position `anchor` keeps its
    frame whatever the rate, so the frame that a window is centred on (or
    that a TCN predicts) stays that frame.

    Returns `[num_frames, ...]`.
    """
    # float64: indices into a long concatenation keep sub-frame precision.
    step = tf.cast(rate, tf.float64) * (tf.range(num_frames, dtype=tf.float64) - anchor)
    bounds = tf.cast(bounds, tf.float64)
    position = tf.clip_by_value(tf.cast(start, tf.float64) + anchor + step,
                                bounds[0], bounds[1])
    below = tf.floor(position)
    weight = tf.cast(position - below, frames.dtype)
    below = tf.cast(below, tf.int64)
    above = tf.minimum(below + 1, tf.cast(bounds[1], tf.int64))
    shape = tf.concat([[num_frames], tf.ones(tf.rank(frames) - 1, tf.int32)], 0)
    weight = tf.reshape(weight, shape)
    return (1.0 - weight) * tf.gather(frames, below) + weight * tf.gather(frames, above)
