"""Evaluation of a lifter on whole sequences: the field's metrics per action."""

import numpy as np

from tfpose import metrics

MILLIMETRE_KEYS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")


def evaluate_sequences(lift, sequences):
    """Lifts every camera view of `sequences` and scores it.

    Args:
        lift: callable `[T, J, 2] -> [T, J, 3]` (e.g. `SequenceLifter`);
            one with a true `needs_intrinsics` attribute also gets
            `intrinsics=` each view's normalised camera intrinsics.
        sequences: `tfpose.data.Sequence`s with views.

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
            if with_intrinsics:
                predicted = lift(view.keypoints_2d,
                                 intrinsics=view.camera.normalized_intrinsics())
            else:
                predicted = lift(view.keypoints_2d)
            results.append((sequence.action, len(target), metrics.evaluate(predicted, target)))
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
        return {
            k: (v * 1000.0 if k in MILLIMETRE_KEYS else v * 100.0) for k, v in values.items()
        }

    out = dict(summary)
    out["per_action"] = {a: convert(v) for a, v in summary["per_action"].items()}
    out["average"] = convert(summary["average"])
    out["all_frames"] = convert(summary["all_frames"])
    return out


def format_table(summary_mm, keys=("mpjpe", "p_mpjpe", "mpjve")):
    """A text table of a millimetre summary, one row per action."""
    width = max(len(a) for a in list(summary_mm["per_action"]) + ["average over actions"])
    lines = [" " * width + "".join(f"{k:>10s}" for k in keys)]
    for action, values in summary_mm["per_action"].items():
        lines.append(f"{action:<{width}s}" + "".join(f"{values[k]:10.1f}" for k in keys))
    for name in ("average", "all_frames"):
        label = "average over actions" if name == "average" else "all frames"
        lines.append(f"{label:<{width}s}" + "".join(
            f"{summary_mm[name][k]:10.1f}" if np.isfinite(summary_mm[name][k]) else f"{'-':>10s}"
            for k in keys))
    return "\n".join(lines)
