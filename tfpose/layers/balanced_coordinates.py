"""DG-Net's "balanced" coordinate output (Table XI)."""

import keras
from keras import ops

from tfpose import skeleton as skeleton_lib

INTRINSICS = ("f_x", "f_y", "c_x", "c_y")


def _image_directions(keypoints_2d, intrinsics):
    """`a = (u - c_x) / f_x`, `b = (v - c_y) / f_y`, each `[B, T, J]`."""
    k = ops.reshape(intrinsics, (-1, 1, 1, 4))
    a = (keypoints_2d[..., 0] - k[..., 2]) / k[..., 0]
    b = (keypoints_2d[..., 1] - k[..., 3]) / k[..., 1]
    return a, b


def root_translation(poses, keypoints_2d, intrinsics, epsilon=1e-8):
    """Camera-frame root position `[B, T, 3]` that best explains the 2D.

    Given a root-relative pose `(x_j, y_j, z_j)` and its 2D `(u_j, v_j)`
    under a pinhole camera `u = f_x X / Z + c_x`, the root `(X, Y, Z)`
    satisfies, for every joint, `X + x_j = a_j (Z + z_j)` and
    `Y + y_j = b_j (Z + z_j)`: linear in `(X, Y, Z)`. This solves the 2J
    equations by least squares in closed form (`X`, `Y` eliminated first),
    so it needs no division by a predicted depth and converts to TFLite.
    """
    a, b = _image_directions(keypoints_2d, intrinsics)
    p = a * poses[..., 2] - poses[..., 0]
    q = b * poses[..., 2] - poses[..., 1]
    centred = lambda v: v - ops.mean(v, axis=-1, keepdims=True)  # noqa: E731
    ea, eb, dp, dq = centred(a), centred(b), centred(p), centred(q)
    depth = -ops.sum(dp * ea + dq * eb, axis=-1) / (
        ops.sum(ea * ea + eb * eb, axis=-1) + epsilon)
    x = ops.mean(p, axis=-1) + ops.mean(a, axis=-1) * depth
    y = ops.mean(q, axis=-1) + ops.mean(b, axis=-1) * depth
    return ops.stack([x, y, depth], axis=-1)


def balance(poses, keypoints_2d, intrinsics, root=0):
    """Averages a predicted pose with its back-projection through the 2D.

    Table XI: with `Z` the predicted absolute depth of a joint,
    `Xbar = Z (U - c_x) / f` and `Ybar = Z (V - c_y) / f`, and the output is
    `((X + Xbar) / 2, (Y + Ybar) / 2, Z)`. The prediction is root-relative,
    so the root's absolute position comes from `root_translation`; the
    result is made root-relative again. Lens distortion is ignored.

    Args:
        poses: `[B, T, J, 3]` root-relative camera-frame prediction.
        keypoints_2d: `[B, T, J, 2]` the 2D input (normalised coordinates).
        intrinsics: `[B, 4]` `(f_x, f_y, c_x, c_y)` in the same normalised
            coordinates (`tfpose.camera.normalized_intrinsics`).
    """
    translation = ops.expand_dims(root_translation(poses, keypoints_2d, intrinsics), -2)
    absolute = poses + translation
    a, b = _image_directions(keypoints_2d, intrinsics)
    depth = absolute[..., 2]
    balanced = ops.stack([0.5 * (absolute[..., 0] + depth * a),
                          0.5 * (absolute[..., 1] + depth * b), depth], axis=-1)
    return skeleton_lib.root_relative(balanced, root)


@keras.saving.register_keras_serializable(package="tfpose")
class BalancedCoordinates(keras.layers.Layer):
    """`balance(poses, keypoints_2d, intrinsics)` as a layer (no weights).

    Args:
        root: index of the root joint.

    Call arguments:
        poses: `[B, T, J, 3]`; keypoints_2d: `[B, T, J, 2]`;
        intrinsics: `[B, 4]`.

    Returns:
        `[B, T, J, 3]` root-relative.
    """

    def __init__(self, root=0, **kwargs):
        super().__init__(**kwargs)
        self.root = int(root)

    def call(self, poses, keypoints_2d, intrinsics):
        return balance(poses, keypoints_2d, intrinsics, self.root)

    def compute_output_shape(self, poses_shape, keypoints_2d_shape, intrinsics_shape):
        return poses_shape

    def get_config(self):
        config = super().get_config()
        config["root"] = self.root
        return config
