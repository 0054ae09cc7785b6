"""Lifts a file of 2D keypoints to 3D with a trained or released model.

    python scripts/lift.py --model=exported/ugcn/6 --input=examples/walk_coco.json \
        --layout=coco --output=walk_3d.npz --render=walk.gif

Input: .npz, .json or .csv (see `tfpose.data.keypoint_files`), COCO-17 or H36M-17
joint order (--layout, or a `layout` entry in the file), pixel coordinates
with the image size (--width/--height, or `width`/`height` in the file) or
already normalised (--normalized), optional per-joint confidences. Joints
that are NaN, absent or below --min_confidence are filled by linear
interpolation over time and flagged in the output. Any length from 1 frame.

Model: a SavedModel directory (e.g. exported/ugcn/6), a .keras checkpoint or
a .tflite file, lifting with its own protocol, or with --eval_protocol=causal
--lookahead=L (a .keras model; an export through its `stream` signature or
stream.tflite, whose lookahead is fixed at export).

Camera: --focal_px (pixels, with the image size) or --fov_deg (horizontal
field of view), and optionally --center (default: the image centre); without
either, an assumed 60-degree field of view (printed once). It places the
absolute poses in camera space and feeds DG-Net's balanced output.

Output (--output, .npz or .json; written through a temporary file):
`poses_3d` [T, 17, 3] metres, root-relative, camera frame (x right, y down,
z forward), H36M joint order; `poses_3d_camera` [T, 17, 3] the same at the
root positions `root_trajectory` [T, 3] solved in closed form from the
poses, the 2D and the intrinsics (`tfpose.inference.camera_space`); `intrinsics` the
normalised camera used and `camera_assumed`; `keypoints_2d` the filled
H36M-order 2D input (normalised); `interpolated` [T, 17] which 2D joints
were filled; `joints`. --render writes a GIF/MP4 of the 3D skeleton beside
the 2D input, --strip a PNG of --strip_frames frames (3D axes in metres,
a floor under each frame's lowest joint).

Live (--stream): one frame per line of JSON from --input (a file, or - for
standard input) as soon as it arrives: 17 [x, y] or [x, y, confidence]
pairs, a flat list of 34 or 51 numbers, {"keypoints": ..., "scores": ...},
or null for a frame without a detection. One JSON line per lifted frame is
written (to --output, .jsonl, or standard output) and flushed as soon as it
is due, L frames after its input (--lookahead; exports: theirs): `frame`
(0 for the first frame read), `line` (its input line), `poses_3d`,
`poses_3d_camera`, `root_position` and `filled` (missing or low-confidence
joints, held from the previous frame). A bad line is reported on standard
error with its number; --on_error=skip goes on without it, stop (default)
ends the stream there (the frames before it are still written) and exits
with status 1. Behind a 2D detector:

    my_detector --jsonl video.mp4 | python scripts/lift.py --stream --input=- \
        --model=exported/tcn_causal/1/stream.tflite --layout=coco --width=1280 --height=720

(`stream.tflite` and the SavedModel's `stream` signature come with exports
made by `scripts/export.py` since December 2026, the released ones among
them; an older export has neither, so stream from its `.keras` model.)
"""

import os
import sys

import tfpose.quiet_startup  # noqa: F401  (first: before TensorFlow loads)

# isort: split

from absl import app, flags

from tfpose import camera
from tfpose.data import keypoint_files
from tfpose.inference import json_lines, lift_files, lifters, streaming

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
_FOCAL = flags.DEFINE_float("focal", None, "Same as --focal_px (its older name).")
_FOCAL_PX = flags.DEFINE_float("focal_px", None,
                               "Focal length in pixels (needs the image size).")
_FOV_DEG = flags.DEFINE_float("fov_deg", None,
                              "Horizontal field of view in degrees, instead of --focal_px.")
_CENTER = flags.DEFINE_list("center", None, "Principal point x,y in pixels; default: centre.")
_PROTOCOL = flags.DEFINE_enum("eval_protocol", "model", ["model", "causal"],
                              "model: the model's own sequence protocol; causal: each frame from "
                              "the window ending --lookahead frames after it.")
_LOOKAHEAD = flags.DEFINE_integer("lookahead", 0,
                                  "Future frames of the causal protocol and --stream (exports: "
                                  "their own unless given).", lower_bound=0)
_STREAM = flags.DEFINE_bool("stream", False,
                            "Live: JSON lines in, one JSON line out per frame as it is due.")
_ON_ERROR = flags.DEFINE_enum("on_error", "stop", ["skip", "stop"],
                              "--stream: on a bad input line, skip it or stop.")
_RENDER = flags.DEFINE_string("render", None, "Animation to write: .gif or .mp4.")
_STRIP = flags.DEFINE_string("strip", None, "PNG strip of --strip_frames frames.")
_STRIP_FRAMES = flags.DEFINE_list("strip_frames", None,
                                  "Frames of the strip; default: 6 evenly spaced.")
_FPS = flags.DEFINE_float("fps", 25.0, "Frame rate of the animation.")


def intrinsics(width, height):
    """`(normalised intrinsics [4], assumed)` from --focal_px / --fov_deg /
    --center; with neither focal length nor field of view, the stated
    default, announced once on standard error."""
    focal = _FOCAL_PX.value or _FOCAL.value
    center = [float(c) for c in _CENTER.value] if _CENTER.value else None
    assumed = focal is None and _FOV_DEG.value is None
    if assumed:
        print(f"lift.py: no --focal_px or --fov_deg: assuming a {camera.DEFAULT_FOV_DEG:g}-degree "
              "horizontal field of view, principal point at the image centre (only "
              "poses_3d_camera, root_trajectory and DG-Net's balanced output depend on it).",
              file=sys.stderr, flush=True)
    return camera.intrinsics_for(width, height, focal_px=focal, fov_deg=_FOV_DEG.value,
                                 center=center), assumed


def _lookahead():
    """--lookahead where given; else `None`, an export's own."""
    return _LOOKAHEAD.value if flags.FLAGS["lookahead"].present else None


def main(argv):
    del argv
    try:
        stream() if _STREAM.value else lift()
    except (ValueError, FileNotFoundError) as error:
        # Bad input or model: the message, not a traceback.
        sys.exit(f"lift.py: error: {error}")
    except BrokenPipeError:  # the reader at the end of the pipe went away
        sys.stderr.close()
        sys.exit(1)


def stream():
    """--stream: JSON lines in, one JSON line per lifted frame out."""
    if not _MODEL.value or not _INPUT.value:
        raise app.UsageError("Give --model and --input (a file, or - for standard input).")
    if not _LAYOUT.value:
        raise app.UsageError("Give the joint order of the stream: --layout=coco or h36m.")
    if _OUTPUT.value not in (None, "-") and not _OUTPUT.value.endswith(".jsonl"):
        raise app.UsageError(f"--stream writes JSON lines: --output must end in .jsonl (or be "
                             f"-), got {_OUTPUT.value}.")
    width, height = _WIDTH.value, _HEIGHT.value
    if not _NORMALIZED.value and not (width and height):
        raise app.UsageError("Pixel coordinates need the image size: give --width and "
                             "--height (or --normalized for normalised input).")
    source = sys.stdin if _INPUT.value == "-" else open(_INPUT.value, encoding="utf-8")
    k, _ = intrinsics(width, height)
    lifter = streaming.StreamingLifter(
        _MODEL.value, lookahead=_lookahead(), intrinsics=k,
        image_size=None if _NORMALIZED.value else (width, height),
        min_confidence=_MIN_CONFIDENCE.value)
    out = sys.stdout if _OUTPUT.value in (None, "-") else open(_OUTPUT.value, "w")

    def report(number, error):
        print(f"lift.py: line {number}: {error}", file=sys.stderr, flush=True)

    stopped = json_lines.lift_lines(source, lifter, _LAYOUT.value, out,
                                    on_error=_ON_ERROR.value, report=report)
    if out is not sys.stdout:
        out.close()
    if stopped:
        sys.exit(1)


def lift():
    if not _MODEL.value or not _INPUT.value:
        raise app.UsageError("Give --model and --input.")
    for name, path, allowed in ((_OUTPUT.name, _OUTPUT.value, lift_files.POSE_FORMATS),
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
    keypoints_2d, interpolated = lift_files.prepare(data, layout, width, height,
                                                    _NORMALIZED.value, _MIN_CONFIDENCE.value)
    k, assumed = intrinsics(width, height)
    lifter = lifters.load_lifter(_MODEL.value, protocol=_PROTOCOL.value, lookahead=_lookahead())
    poses_3d, camera_outputs = lift_files.lift(lifter, keypoints_2d, k)
    if _OUTPUT.value:
        meta = {"layout": layout, "model": os.path.abspath(_MODEL.value),
                "source": _INPUT.value, "camera_assumed": assumed}
        if _PROTOCOL.value == "causal":
            meta.update(protocol="causal", lookahead=lifter.lifter.lookahead)
        lift_files.write_poses(_OUTPUT.value, poses_3d, keypoints_2d, interpolated, meta,
                               camera_outputs)
        print(f"wrote {_OUTPUT.value}: {len(poses_3d)} frames, "
              f"{int(interpolated.any(1).sum())} with interpolated joints")
    size = (width, height) if (width and height) else None
    if _RENDER.value:
        lift_files.write_animation(_RENDER.value, keypoints_2d, poses_3d,
                                   interpolated=interpolated, image_size=size, fps=_FPS.value)
        print(f"wrote {_RENDER.value}")
    if _STRIP.value:
        frames = [int(f) for f in _STRIP_FRAMES.value] if _STRIP_FRAMES.value else None
        lift_files.write_strip(_STRIP.value, keypoints_2d, poses_3d, frames,
                               interpolated=interpolated, image_size=size)
        print(f"wrote {_STRIP.value}")


if __name__ == "__main__":
    app.run(main)
