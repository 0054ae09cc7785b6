"""Lifting a keypoint file: its 2D made model input, its 3D written out.

A detector's file (`tfpose.data.keypoint_files.read_keypoints`: COCO-17 or
H36M-17 order, pixels or normalised, gaps and confidences) becomes the
lifters' input with `prepare`; `lift` runs a `tfpose.inference.lifters`
lifter on it and places the poses in camera space; `write_poses` writes
them as `.npz` or `.json`, and `write_animation` / `write_strip` draw them
beside the 2D. Shapes: `T` frames, 17 joints in H36M order.
"""

import json
import os

import numpy as np

from tfpose import camera, fileio
from tfpose import skeleton as skeleton_lib
from tfpose.data import interpolation, keypoint_files
from tfpose.inference import camera_space, render

POSE_FORMATS = (".npz", ".json")
UNITS = ("metres, root-relative, camera frame (x right, y down, z forward); poses_3d_camera "
         "and root_trajectory absolute in the camera frame")
STRIP_FRAMES = 6


def prepare(data, layout, width=None, height=None, normalized=False, min_confidence=0.3):
    """A keypoint file's 2D as the lifters' input.

    Joints that are not finite, or have a confidence below
    `min_confidence`, are filled by linear interpolation over time
    (`tfpose.data.interpolation.fill_missing`).

    Args:
        data: a `tfpose.data.keypoint_files.KeypointFile`.
        layout: its joint order, `"coco"` or `"h36m"`.
        width, height: the image size in pixels (pixel input).
        normalized: the keypoints are already normalised screen coordinates.
        min_confidence: joints below it count as missing.

    Returns:
        `(keypoints_2d [T, 17, 2] float32, interpolated [T, 17] bool)`:
        normalised, H36M order; which joints were filled.

    Raises:
        ValueError: an unknown layout, pixels without the image size, or a
            joint missing in every frame.
    """
    if layout not in keypoint_files.LAYOUTS:
        raise ValueError(f"Unknown layout {layout!r}; expected one of {keypoint_files.LAYOUTS}.")
    if not normalized and not (width and height):
        raise ValueError("Pixel coordinates need the image size (width and height).")
    keypoints = data.keypoints
    missing = ~np.isfinite(keypoints).all(-1)
    if data.scores is not None:
        missing |= ~(np.nan_to_num(data.scores, nan=-1.0) >= min_confidence)
    source = skeleton_lib.COCO17 if layout == "coco" else skeleton_lib.H36M
    filled, missing = interpolation.fill_missing(keypoints, missing, source.names)
    if layout == "coco":
        filled = skeleton_lib.coco_to_h36m(filled)
        # An H36M joint is interpolated if any of its COCO sources was.
        missing = skeleton_lib.coco_to_h36m_confidence((~missing).astype(np.float32)) < 0.5
    if not normalized:
        filled = camera.normalize_screen_coordinates(filled, width, height)
    return filled.astype(np.float32), missing


def lift(lifter, keypoints_2d, intrinsics):
    """Lifts `keypoints_2d [T, 17, 2]` with a `tfpose.inference.lifters` lifter.

    `intrinsics [4]`, normalised, feed a lifter that takes them and place
    the poses in camera space (`tfpose.inference.camera_space`).

    Returns:
        `(poses_3d [T, 17, 3] float32, camera_outputs)`: root-relative
        metres, and `{"poses_3d_camera": [T, 17, 3], "root_trajectory":
        [T, 3], "intrinsics": [4]}` for `write_poses`.
    """
    poses_3d = np.asarray(lifter(keypoints_2d, intrinsics if lifter.needs_intrinsics else None),
                          np.float32)
    poses_3d_camera, root = camera_space.to_camera_space(poses_3d, keypoints_2d, intrinsics)
    return poses_3d, {"poses_3d_camera": poses_3d_camera, "root_trajectory": root,
                      "intrinsics": intrinsics}


def rounded(array):
    """Nested lists at 0.01 mm: JSON text a person can read."""
    return np.round(np.asarray(array, np.float64), 5).tolist()


def write_poses(path, poses_3d, keypoints_2d, interpolated, meta, camera_outputs=None):
    """Writes lifted poses to `path`, `.npz` or `.json`, through a temporary file.

    Args:
        path: ends in one of `POSE_FORMATS`.
        poses_3d: `[T, 17, 3]`.
        keypoints_2d: `[T, 17, 2]`, the 2D they were lifted from.
        interpolated: `[T, 17]` bool, which of those were filled.
        meta: `{name: JSON-able value}` stored beside them (the source, the
            model, ...).
        camera_outputs: `{name: array}` such as `lift`'s.
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    joints = list(skeleton_lib.H36M.names)
    camera_outputs = camera_outputs or {}
    if extension == ".npz":
        with fileio.atomic_path(path) as temporary:
            np.savez(temporary, poses_3d=poses_3d, keypoints_2d=keypoints_2d,
                     interpolated=interpolated, joints=np.array(joints), **camera_outputs,
                     **{k: np.array(v) for k, v in meta.items()})
    elif extension == ".json":
        fileio.write_text(path, json.dumps({
            "joints": joints, "units": UNITS,
            "poses_3d": rounded(poses_3d),
            **{k: rounded(v) for k, v in camera_outputs.items()},
            "keypoints_2d": rounded(keypoints_2d),
            "interpolated": np.asarray(interpolated).tolist(), **meta}) + "\n")
    else:
        raise ValueError(f"Poses are written as {' or '.join(POSE_FORMATS)}, got {path}.")


def _shown(keypoints_2d, image_size):
    """The 2D in pixels where the image size is known, as the user gave it."""
    return keypoints_2d if image_size is None else camera.image_coordinates(
        keypoints_2d, *image_size)


def write_animation(path, keypoints_2d, poses_3d, *, interpolated=None, image_size=None,
                    fps=25.0):
    """A GIF or MP4 of the 3D skeleton beside the 2D (`tfpose.inference.render`).

    `image_size`: `(width, height)` in pixels, or `None` for normalised 2D.
    """
    render.animation(path, _shown(keypoints_2d, image_size), poses_3d,
                     interpolated=interpolated, image_size=image_size, fps=fps)


def strip_frames(num_frames, count=STRIP_FRAMES):
    """`count` evenly spaced frames of `num_frames` (all, if fewer)."""
    return np.linspace(0, num_frames - 1, min(count, num_frames)).round().astype(int)


def write_strip(path, keypoints_2d, poses_3d, frames=None, *, interpolated=None,
                image_size=None):
    """A PNG of `frames` (default: `strip_frames`), 2D above 3D."""
    frames = strip_frames(len(poses_3d)) if frames is None else frames
    render.strip(path, _shown(keypoints_2d, image_size), poses_3d, frames,
                 interpolated=interpolated, image_size=image_size)
