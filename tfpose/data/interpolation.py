"""Filling missing 2D joints by interpolation over time."""

import numpy as np

from tfpose import skeleton as skeleton_lib


def fill_missing(keypoints, missing, joint_names=skeleton_lib.H36M.names):
    """Linear interpolation over time of every joint's missing frames.

    Args:
        keypoints: `[T, J, C]`; values where `missing` is true are ignored.
        missing: `[T, J]` bool.
        joint_names: for error messages.

    Returns:
        `(filled [T, J, C], missing)`: before a joint's first valid frame
        and after its last, the nearest valid value is held.

    Raises:
        ValueError: a joint is missing in every frame (nothing to
        interpolate from), naming the joints.
    """
    keypoints = np.asarray(keypoints, np.float64)
    missing = np.asarray(missing, bool) | ~np.isfinite(keypoints).all(-1)
    never = np.flatnonzero(missing.all(0))
    if len(never) == len(joint_names):
        raise ValueError("No valid keypoints at all: every joint is missing (NaN or below the "
                         "confidence threshold) in every frame.")
    if len(never):
        names = ", ".join(joint_names[j] for j in never)
        raise ValueError(f"Joints missing in every frame, nothing to interpolate from: {names}.")
    filled = keypoints.copy()
    frames = np.arange(len(keypoints))
    for j in np.flatnonzero(missing.any(0)):
        valid = ~missing[:, j]
        for c in range(keypoints.shape[2]):
            filled[:, j, c] = np.interp(frames, frames[valid], keypoints[valid, j, c])
    return filled, missing
