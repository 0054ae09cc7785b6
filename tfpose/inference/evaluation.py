"""Evaluation of a lifter on whole sequences: the field's metrics per action."""

import numpy as np

from tfpose import metrics
from tfpose.inference import camera_space as camera_space_lib

CAMERA_SPACE_KEYS = ("root_error", "root_depth_error", "mpjpe_camera", "root_error_smoothed")
# Frames of the centred moving average behind `root_error_smoothed`, the
# measurement that says whether smoothing the trajectory would help.
SMOOTHING_FRAMES = 9


def camera_space_errors(predicted, view, intrinsics):
    """Absolute errors of one view's root-relative prediction placed in
    camera space by `tfpose.inference.camera_space` (metres): the root's position
    (`root_error`) and depth (`root_depth_error`), every joint
    (`mpjpe_camera`), and the root after a centred moving average of
    `SMOOTHING_FRAMES` frames (`root_error_smoothed`)."""
    poses, root = camera_space_lib.to_camera_space(predicted, view.keypoints_2d, intrinsics)
    true_root = view.poses_3d[:, 0]
    half = min(SMOOTHING_FRAMES // 2, (len(root) - 1) // 2)
    padded = np.concatenate([np.repeat(root[:1], half, 0), root, np.repeat(root[-1:], half, 0)])
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    smoothed = np.stack([np.convolve(padded[:, c], kernel, "valid") for c in range(3)], -1)
    return {
        "root_error": float(np.linalg.norm(root - true_root, axis=-1).mean()),
        "root_depth_error": float(np.abs(root[:, 2] - true_root[:, 2]).mean()),
        "mpjpe_camera": float(np.linalg.norm(poses - view.poses_3d, axis=-1).mean()),
        "root_error_smoothed": float(np.linalg.norm(smoothed - true_root, axis=-1).mean()),
    }


def evaluate_sequences(lift, sequences, camera_space=False, focal_scale=1.0):
    """Lifts every camera view of `sequences` and scores it.

    Args:
        lift: callable `[T, J, 2] -> [T, J, 3]` (e.g. `SequenceLifter`);
            one with a true `needs_intrinsics` attribute also gets
            `intrinsics=` each view's normalised camera intrinsics.
        sequences: `tfpose.data.sequence.Sequence`s with views.
        camera_space: also score the absolute poses in camera space
            (`camera_space_errors`).
        focal_scale: the focal length the camera-space solve (and a model
            that takes intrinsics) is given, as a multiple of the true one:
            1.2 measures a focal length 20% off.

    Returns:
        `metrics.aggregate` output (metres; PCK/AUC as fractions) plus
        `"num_frames"` and `"num_views"`.
    """
    results = []
    frames = 0
    with_intrinsics = getattr(lift, "needs_intrinsics", False)
    for sequence in sequences:
        for view in sequence.views:
            target = view.poses_3d - view.poses_3d[:, :1]
            intrinsics = view.camera.normalized_intrinsics() * np.array(
                [focal_scale, focal_scale, 1.0, 1.0], np.float32)
            if with_intrinsics:
                predicted = lift(view.keypoints_2d, intrinsics=intrinsics)
            else:
                predicted = lift(view.keypoints_2d)
            values = metrics.evaluate(predicted, target)
            if camera_space:
                values.update(camera_space_errors(predicted, view, intrinsics))
            results.append((sequence.action, len(target), values))
            frames += len(target)
    if not results:
        raise ValueError("No camera views to evaluate.")
    summary = metrics.aggregate(results)
    summary["num_frames"] = frames
    summary["num_views"] = len(results)
    return summary


def to_millimetres(summary):
    """Copy of an `evaluate_sequences` summary with errors in mm, PCK/AUC in %."""

    def convert(values):
        return {k: v * metrics.display_scale(k) for k, v in values.items()}

    out = dict(summary)
    out["per_action"] = {a: convert(v) for a, v in summary["per_action"].items()}
    out["average"] = convert(summary["average"])
    out["all_frames"] = convert(summary["all_frames"])
    return out


def format_table(summary_mm, keys=("mpjpe", "p_mpjpe", "mpjve")):
    """A text table of a millimetre summary, one row per action."""
    width = max(len(a) for a in list(summary_mm["per_action"]) + ["average over actions"])
    columns = {k: max(10, len(k) + 2) for k in keys}  # long camera-space names
    lines = [" " * width + "".join(f"{k:>{columns[k]}s}" for k in keys)]
    for action, values in summary_mm["per_action"].items():
        lines.append(f"{action:<{width}s}" + "".join(f"{values[k]:{columns[k]}.1f}"
                                                     for k in keys))
    for name in ("average", "all_frames"):
        label = "average over actions" if name == "average" else "all frames"
        lines.append(f"{label:<{width}s}" + "".join(
            f"{summary_mm[name][k]:{columns[k]}.1f}" if np.isfinite(summary_mm[name][k])
            else f"{'-':>{columns[k]}s}" for k in keys))
    return "\n".join(lines)
