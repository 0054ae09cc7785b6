"""Lifts a file of 2D keypoints to 3D with a trained or released model.

    python scripts/lift.py --model=exported/ugcn/1 --input=examples/walk_coco.json \
        --layout=coco --output=walk_3d.npz --render=walk.gif

Input: .npz, .json or .csv (see `tfpose.keypoint_files`), COCO-17 or H36M-17
joint order (--layout, or a `layout` entry in the file), pixel coordinates
with the image size (--width/--height, or `width`/`height` in the file) or
already normalised (--normalized), optional per-joint confidences. Joints
that are NaN, absent or below --min_confidence are filled by linear
interpolation over time and flagged in the output. Any length from 1 frame.

Model: a SavedModel directory (e.g. exported/ugcn/1), a .keras checkpoint or
a .tflite file. DG-Net with the balanced output also needs the camera:
--focal (pixels) and optionally --center (default: the image centre).

Output (--output, .npz or .json; written through a temporary file):
`poses_3d` [T, 17, 3] metres, root-relative, camera frame (x right, y down,
z forward), H36M joint order; `keypoints_2d` the filled H36M-order 2D input
(normalised); `interpolated` [T, 17] which 2D joints were filled; `joints`.
--render writes a GIF/MP4 of the 3D skeleton beside the 2D input, --strip a
PNG of --strip_frames frames.
"""

import json
import os
import sys

import numpy as np
from absl import app, flags

from tfpose import camera, fileio, interpolation, keypoint_files
from tfpose import skeleton as skeleton_lib

_MODEL = flags.DEFINE_string("model", None, "SavedModel directory, .keras or .tflite file.")
_INPUT = flags.DEFINE_string("input", None, "Keypoint file: .npz, .json or .csv.")
_OUTPUT = flags.DEFINE_string("output", None, "Where to write the 3D poses: .npz or .json.")
_LAYOUT = flags.DEFINE_enum("layout", None, keypoint_files.LAYOUTS,
                            "Joint order of the input; default: the file's `layout` entry.")
_WIDTH = flags.DEFINE_float("width", None, "Image width in pixels (pixel input).")
_HEIGHT = flags.DEFINE_float("height", None, "Image height in pixels (pixel input).")
_NORMALIZED = flags.DEFINE_bool("normalized", False,
                                "The input is already in normalised screen coordinates.")
_MIN_CONFIDENCE = flags.DEFINE_float("min_confidence", 0.3,
                                     "Joints below this confidence count as missing.")
_FOCAL = flags.DEFINE_float("focal", None, "Focal length in pixels (balanced models).")
_CENTER = flags.DEFINE_list("center", None, "Principal point x,y in pixels; default: centre.")
_RENDER = flags.DEFINE_string("render", None, "Animation to write: .gif or .mp4.")
_STRIP = flags.DEFINE_string("strip", None, "PNG strip of --strip_frames frames.")
_STRIP_FRAMES = flags.DEFINE_list("strip_frames", None,
                                  "Frames of the strip; default: 6 evenly spaced.")
_FPS = flags.DEFINE_float("fps", 25.0, "Frame rate of the animation.")


def prepare(data, layout, width, height, normalized, min_confidence):
    """`(keypoints_2d [T, 17, 2] normalised H36M order, interpolated [T, 17])`."""
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


def write_output(path, poses_3d, keypoints_2d, interpolated, meta):
    extension = os.path.splitext(path)[1].lower()
    joints = list(skeleton_lib.H36M.names)
    if extension == ".npz":
        with fileio.atomic_path(path) as temporary:
            np.savez(temporary, poses_3d=poses_3d, keypoints_2d=keypoints_2d,
                     interpolated=interpolated, joints=np.array(joints),
                     **{k: np.array(v) for k, v in meta.items()})
    elif extension == ".json":
        fileio.write_text(path, json.dumps({
            "joints": joints, "units": "metres, root-relative, camera frame (x right, y down, "
                                        "z forward)",
            "poses_3d": np.round(poses_3d.astype(np.float64), 5).tolist(),
            "keypoints_2d": np.round(keypoints_2d.astype(np.float64), 5).tolist(),
            "interpolated": interpolated.tolist(), **meta}) + "\n")
    else:
        raise app.UsageError(f"--output must end in .npz or .json, got {path}.")


def main(argv):
    del argv
    try:
        lift()
    except (ValueError, FileNotFoundError) as error:
        # Bad input or model: the message, not a traceback.
        sys.exit(f"lift.py: error: {error}")


def lift():
    if not _MODEL.value or not _INPUT.value:
        raise app.UsageError("Give --model and --input.")
    for name, path, allowed in ((_OUTPUT.name, _OUTPUT.value, (".npz", ".json")),
                                (_RENDER.name, _RENDER.value, (".gif", ".mp4")),
                                (_STRIP.name, _STRIP.value, (".png",))):
        if path and os.path.splitext(path)[1].lower() not in allowed:
            raise app.UsageError(f"--{name} must end in {' or '.join(allowed)}, got {path}.")
    if not (_OUTPUT.value or _RENDER.value or _STRIP.value):
        raise app.UsageError("Nothing to write: give --output, --render or --strip.")
    data = keypoint_files.read_keypoints(_INPUT.value)
    layout = _LAYOUT.value or data.layout
    if layout is None:
        raise app.UsageError("The file does not say its joint order: give --layout=coco or "
                             "--layout=h36m.")
    width, height = _WIDTH.value or data.width, _HEIGHT.value or data.height
    if not _NORMALIZED.value and not (width and height):
        raise app.UsageError("Pixel coordinates need the image size: give --width and "
                             "--height (or --normalized for normalised input).")
    keypoints_2d, interpolated = prepare(data, layout, width, height, _NORMALIZED.value,
                                         _MIN_CONFIDENCE.value)
    from tfpose import lifters  # TensorFlow loads here, after the input checks

    lifter = lifters.load_lifter(_MODEL.value)
    intrinsics = None
    if lifter.needs_intrinsics:
        if not (_FOCAL.value and width and height):
            raise app.UsageError("This model takes the camera intrinsics: give --focal (pixels) "
                                 "and the image size.")
        center = ([float(c) for c in _CENTER.value] if _CENTER.value
                  else [width / 2.0, height / 2.0])
        intrinsics = camera.normalized_intrinsics([_FOCAL.value] * 2, center, width, height)
    poses_3d = np.asarray(lifter(keypoints_2d, intrinsics), np.float32)
    meta = {"layout": layout, "model": os.path.abspath(_MODEL.value), "source": _INPUT.value}
    if _OUTPUT.value:
        write_output(_OUTPUT.value, poses_3d, keypoints_2d, interpolated, meta)
        print(f"wrote {_OUTPUT.value}: {len(poses_3d)} frames, "
              f"{int(interpolated.any(1).sum())} with interpolated joints")
    if _RENDER.value or _STRIP.value:
        from tfpose import render

        shown = camera.image_coordinates(keypoints_2d, width, height) if (
            width and height) else keypoints_2d
        size = (width, height) if (width and height) else None
        if _RENDER.value:
            render.animation(_RENDER.value, shown, poses_3d, interpolated=interpolated,
                             image_size=size, fps=_FPS.value)
            print(f"wrote {_RENDER.value}")
        if _STRIP.value:
            frames = ([int(f) for f in _STRIP_FRAMES.value] if _STRIP_FRAMES.value else
                      np.linspace(0, len(poses_3d) - 1, min(6, len(poses_3d))).round().astype(int))
            render.strip(_STRIP.value, shown, poses_3d, frames, interpolated=interpolated,
                         image_size=size)
            print(f"wrote {_STRIP.value}")


if __name__ == "__main__":
    app.run(main)
