"""Absolute 3D in camera space from a root-relative prediction.

The lifters predict poses relative to the root joint. With the camera's
intrinsics, the root's position follows from the 2D input in closed form:
every joint `j` of the root-relative pose `p_j` must project onto its
keypoint, `root + p_j ~ (a_j, b_j, 1)` with `(a_j, b_j)` the keypoint's
viewing direction, which is linear in the root. Each frame is solved on its
own by least squares (`tfpose.layers.balanced_coordinates.root_translation`,
the solve DG-Net's balanced output uses), so the result does not depend on
where a sequence starts, and no frame waits for a later one (streaming).

Shorthands: `T` frames, `J` joints. Intrinsics are `(f_x, f_y, c_x, c_y)` in
normalised screen coordinates (`tfpose.camera.normalized_intrinsics`).
The trajectory is not smoothed: the measurement command in
docs/RESULTS.md reports whether smoothing would help.
"""

import numpy as np

from tfpose.layers.balanced_coordinates import root_translation


def root_trajectory(poses_3d, keypoints_2d, intrinsics):
    """The camera-frame root position of every frame, `[T, 3]` metres.

    Args:
        poses_3d: `[T, J, 3]` root-relative poses (metres, camera axes).
        keypoints_2d: `[T, J, 2]` their 2D input, normalised coordinates.
        intrinsics: `[4]` normalised `(f_x, f_y, c_x, c_y)`.
    """
    poses_3d = np.asarray(poses_3d, np.float32)
    keypoints_2d = np.asarray(keypoints_2d, np.float32)
    intrinsics = np.asarray(intrinsics, np.float32).reshape(1, 4)
    if poses_3d.shape[:-1] != keypoints_2d.shape[:-1] or poses_3d.ndim != 3:
        raise ValueError(f"`poses_3d` [T, J, 3] and `keypoints_2d` [T, J, 2] must match, got "
                         f"{poses_3d.shape} and {keypoints_2d.shape}.")
    root = root_translation(poses_3d[None], keypoints_2d[None], intrinsics)
    return np.asarray(root, np.float32)[0]


def to_camera_space(poses_3d, keypoints_2d, intrinsics):
    """`(poses_3d_camera [T, J, 3], root_trajectory [T, 3])`: the
    root-relative poses moved to their solved roots."""
    root = root_trajectory(poses_3d, keypoints_2d, intrinsics)
    return np.asarray(poses_3d, np.float32) + root[:, None, :], root
