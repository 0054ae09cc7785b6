"""The field's 3D pose metrics, in numpy (evaluation) and as Keras metrics.

Shorthands: `T` frames (or any leading batch dimensions), `J` joints.

All functions take `predicted, target` of shape `[..., J, 3]` in the same
unit and return errors in that unit (tfpose poses are in metres; the Keras
metrics report millimetres). Each one measures root-relative poses: the root
joint (the hip, joint 0) is subtracted from both poses first, which is a
no-op on poses that are root-relative already.

- MPJPE, "Protocol #1": mean Euclidean joint error.
- P-MPJPE, "Protocol #2": MPJPE after a per-frame similarity Procrustes
  alignment (rotation, uniform scale, translation) of the prediction.
- N-MPJPE: MPJPE after the per-frame scale that best fits the prediction
  to the target (Rhodin et al. 2018).
- MPJVE: mean error of joint velocities, i.e. of the frame-to-frame
  differences (Pavllo et al. 2019), per frame of the sequence.
- PCK: fraction of joints within a threshold (150 mm), and its AUC: the
  mean PCK over thresholds 0, 5, ..., 150 mm (MPI-INF-3DHP convention).
"""

import collections

import keras
import numpy as np
from keras import ops

from tfpose import skeleton as skeleton_lib

ROOT = 0


# Fractions reported in percent; every other metric is a length in metres,
# reported in millimetres.
PERCENT_KEYS = ("pck", "auc")


def display_scale(key):
    """The factor from a metric's SI value to how it is reported: 100 for
    PCK and AUC (percent), 1000 for everything else (metres to mm)."""
    return 100.0 if key in PERCENT_KEYS else 1000.0


def _check(predicted, target):
    predicted = np.asarray(predicted, np.float64)
    target = np.asarray(target, np.float64)
    if predicted.shape != target.shape:
        raise ValueError(
            f"`predicted` {predicted.shape} and `target` {target.shape} differ in shape."
        )
    if predicted.ndim < 2 or predicted.shape[-1] != 3:
        raise ValueError(f"Poses must have shape [..., J, 3], got {predicted.shape}.")
    if not (np.isfinite(predicted).all() and np.isfinite(target).all()):
        raise ValueError("Poses contain NaN or inf.")
    return predicted, target


def _root_relative(poses, root=ROOT):
    return poses if root is None else skeleton_lib.root_relative(poses, root)


def joint_errors(predicted, target, root=ROOT):
    """Per-joint Euclidean errors `[..., J]` of root-relative poses."""
    predicted, target = _check(predicted, target)
    return np.linalg.norm(_root_relative(predicted, root) - _root_relative(target, root), axis=-1)


def mpjpe(predicted, target, root=ROOT, per_frame=False):
    """Protocol #1: mean per-joint position error (root-relative).

    Returns a float, or `[...]` per-frame errors with `per_frame=True`.
    """
    errors = joint_errors(predicted, target, root).mean(axis=-1)
    return errors if per_frame else float(errors.mean())


def procrustes_align(predicted, target):
    """Aligns each `[J, 3]` of `predicted` to `target` by a similarity.

    Solves `min_{s, R, t} |s R p + t - q|` per pose (Umeyama), with a proper
    rotation (`det R = +1`: reflections are not allowed).
    """
    predicted, target = _check(predicted, target)
    mu_p = predicted.mean(axis=-2, keepdims=True)
    mu_q = target.mean(axis=-2, keepdims=True)
    p = predicted - mu_p
    q = target - mu_q
    norm_p = np.sqrt((p**2).sum(axis=(-2, -1), keepdims=True))
    norm_q = np.sqrt((q**2).sum(axis=(-2, -1), keepdims=True))
    norm_p = np.maximum(norm_p, 1e-12)
    norm_q = np.maximum(norm_q, 1e-12)
    p = p / norm_p
    q = q / norm_q
    h = np.swapaxes(p, -1, -2) @ q  # [..., 3, 3]
    u, s, vt = np.linalg.svd(h)
    v = np.swapaxes(vt, -1, -2)
    # Avoid improper rotations (reflections): flip the weakest direction.
    sign = np.sign(np.linalg.det(v @ np.swapaxes(u, -1, -2)))
    v[..., :, -1] *= sign[..., None]
    s[..., -1] *= sign
    rotation = v @ np.swapaxes(u, -1, -2)  # maps p to q: q ~ R p
    trace = s.sum(axis=-1)[..., None, None]
    scale = trace * norm_q / norm_p
    aligned = scale * (p * norm_p) @ np.swapaxes(rotation, -1, -2) + mu_q
    return aligned


def p_mpjpe(predicted, target, per_frame=False):
    """Protocol #2: MPJPE after per-frame Procrustes alignment with scale."""
    aligned = procrustes_align(predicted, target)
    errors = np.linalg.norm(aligned - np.asarray(target, np.float64), axis=-1).mean(-1)
    return errors if per_frame else float(errors.mean())


def n_mpjpe(predicted, target, root=ROOT, per_frame=False):
    """MPJPE after the per-frame least-squares scale of the prediction."""
    predicted, target = _check(predicted, target)
    p = _root_relative(predicted, root)
    q = _root_relative(target, root)
    scale = (p * q).sum(axis=(-2, -1), keepdims=True) / np.maximum(
        (p * p).sum(axis=(-2, -1), keepdims=True), 1e-12
    )
    return mpjpe(scale * p, q, root=None, per_frame=per_frame)


def mpjve(predicted, target, root=ROOT, per_frame=False):
    """Mean per-joint velocity error over a sequence `[T, J, 3]`, T >= 2.

    Velocities are frame-to-frame differences (unit per frame, as in
    VideoPose3D); `per_frame` returns the `T - 1` values.
    """
    predicted, target = _check(predicted, target)
    if predicted.ndim < 3 or predicted.shape[-3] < 2:
        raise ValueError(f"MPJVE needs a sequence [..., T >= 2, J, 3], got {predicted.shape}.")
    vp = np.diff(_root_relative(predicted, root), axis=-3)
    vt = np.diff(_root_relative(target, root), axis=-3)
    errors = np.linalg.norm(vp - vt, axis=-1).mean(-1)
    return errors if per_frame else float(errors.mean())


def pck(predicted, target, threshold=0.150, root=ROOT):
    """Fraction of joints whose error is below `threshold` (150 mm)."""
    return float((joint_errors(predicted, target, root) < threshold).mean())


def auc(predicted, target, max_threshold=0.150, num_thresholds=31, root=ROOT):
    """Area under the PCK curve for thresholds 0..`max_threshold`, in [0, 1]."""
    errors = joint_errors(predicted, target, root)
    thresholds = np.linspace(0.0, max_threshold, num_thresholds)
    return float(np.mean([(errors < t).mean() for t in thresholds]))


def evaluate(predicted, target):
    """All metrics of one sequence `[T, J, 3]` (T >= 2), in input units.

    PCK and AUC are fractions; errors keep the unit of the poses.
    """
    return {
        "mpjpe": mpjpe(predicted, target),
        "p_mpjpe": p_mpjpe(predicted, target),
        "n_mpjpe": n_mpjpe(predicted, target),
        "mpjve": mpjve(predicted, target) if len(predicted) > 1 else float("nan"),
        "pck": pck(predicted, target),
        "auc": auc(predicted, target),
    }


def aggregate(results):
    """Frame-weighted means per action and overall.

    Args:
        results: iterable of `(action, num_frames, metrics_dict)` per
            sequence (e.g. from `evaluate`).

    Returns:
        `{"per_action": {action: {metric: value}}, "average": {...},
        "all_frames": {...}}`: `average` is the mean over actions (the
        Human3.6M convention), `all_frames` weighs every frame equally.
        NaN values (e.g. MPJVE of a one-frame sequence) are left out.
    """
    by_action = collections.defaultdict(list)
    for action, frames, values in results:
        by_action[action].append((frames, values))
    if not by_action:
        raise ValueError("No results to aggregate.")

    def weighted(items):
        keys = items[0][1].keys()
        out = {}
        for key in keys:
            pairs = [(n, v[key]) for n, v in items if not np.isnan(v[key])]
            total = sum(n for n, _ in pairs)
            out[key] = sum(n * v for n, v in pairs) / total if total else float("nan")
        return out

    per_action = {a: weighted(items) for a, items in sorted(by_action.items())}
    keys = next(iter(per_action.values())).keys()
    average = {k: float(np.nanmean([m[k] for m in per_action.values()])) for k in keys}
    all_frames = weighted([item for items in by_action.values() for item in items])
    return {"per_action": per_action, "average": average, "all_frames": all_frames}


# === Keras (backend ops): per-example values, reduced by Keras ===


def _safe_norm(x, axis=-1):
    # The gradient of a norm at zero is NaN, and root-relative poses have
    # exact zeros at the root: take the square root only of positive values
    # (an epsilon inside the root would bias every error by sqrt(eps)).
    squared = ops.sum(ops.square(x), axis=axis)
    positive = squared > 0
    root = ops.sqrt(ops.where(positive, squared, ops.ones_like(squared)))
    return ops.where(positive, root, ops.zeros_like(squared))


def _flatten_frames(x):
    """`[B, ..., J, 3]` -> `[B, N, J, 3]` so every example reduces to one value."""
    shape = ops.shape(x)
    return ops.reshape(x, (shape[0], -1, shape[-2], shape[-1]))


def mpjpe_per_frame(y_true, y_pred):
    """MPJPE of each frame `[B, T, J, 3] -> [B, T]`, root-relative."""
    y_true = _root_relative(ops.convert_to_tensor(y_true))
    y_pred = _root_relative(ops.convert_to_tensor(y_pred))
    return ops.mean(_safe_norm(y_pred - y_true), axis=-1)


@keras.saving.register_keras_serializable(package="tfpose")
def mpjpe_per_example(y_true, y_pred):
    """MPJPE of each example `[B, ..., J, 3] -> [B]`, root-relative."""
    y_true = _flatten_frames(_root_relative(ops.convert_to_tensor(y_true)))
    y_pred = _flatten_frames(_root_relative(ops.convert_to_tensor(y_pred)))
    return ops.mean(_safe_norm(y_pred - y_true), axis=(1, 2))


@keras.saving.register_keras_serializable(package="tfpose")
def n_mpjpe_per_example(y_true, y_pred):
    """N-MPJPE of each example `[B, ..., J, 3] -> [B]`."""
    y_true = _flatten_frames(_root_relative(ops.convert_to_tensor(y_true)))
    y_pred = _flatten_frames(_root_relative(ops.convert_to_tensor(y_pred)))
    scale = ops.sum(y_pred * y_true, axis=(2, 3), keepdims=True) / ops.maximum(
        ops.sum(y_pred * y_pred, axis=(2, 3), keepdims=True), 1e-12
    )
    return ops.mean(_safe_norm(scale * y_pred - y_true), axis=(1, 2))


@keras.saving.register_keras_serializable(package="tfpose")
def mpjve_per_example(y_true, y_pred):
    """MPJVE of each example `[B, T, J, 3] -> [B]` (T >= 2)."""
    y_true = _root_relative(ops.convert_to_tensor(y_true))
    y_pred = _root_relative(ops.convert_to_tensor(y_pred))
    velocity_error = (y_pred[:, 1:] - y_pred[:, :-1]) - (y_true[:, 1:] - y_true[:, :-1])
    return ops.mean(_safe_norm(_flatten_frames(velocity_error)), axis=(1, 2))


@keras.saving.register_keras_serializable(package="tfpose")
def p_mpjpe_per_example(y_true, y_pred):
    """P-MPJPE of each example `[B, ..., J, 3] -> [B]` (TensorFlow SVD)."""
    import tensorflow as tf  # the SVD has no keras.ops equivalent

    q = tf.cast(_flatten_frames(tf.convert_to_tensor(y_true)), tf.float64)
    p = tf.cast(_flatten_frames(tf.convert_to_tensor(y_pred)), tf.float64)
    mu_p = tf.reduce_mean(p, axis=-2, keepdims=True)
    mu_q = tf.reduce_mean(q, axis=-2, keepdims=True)
    p0, q0 = p - mu_p, q - mu_q
    h = tf.matmul(p0, q0, transpose_a=True)
    s, u, v = tf.linalg.svd(h)
    sign = tf.sign(tf.linalg.det(tf.matmul(v, u, transpose_b=True)))
    correction = tf.concat([tf.ones_like(s[..., :-1]), sign[..., None]], -1)
    v = v * correction[..., None, :]
    rotation = tf.matmul(v, u, transpose_b=True)
    scale = tf.reduce_sum(s * correction, -1) / tf.maximum(
        tf.reduce_sum(tf.square(p0), axis=(-2, -1)), 1e-12
    )
    aligned = scale[..., None, None] * tf.matmul(p0, rotation, transpose_b=True) + mu_q
    errors = tf.norm(aligned - q, axis=-1)
    return tf.cast(tf.reduce_mean(errors, axis=(1, 2)), y_pred.dtype)


@keras.saving.register_keras_serializable(package="tfpose")
def pck_per_example(y_true, y_pred, threshold=0.150):
    """Fraction of joints within `threshold` (150 mm) per example, `[B]`."""
    y_true = _flatten_frames(_root_relative(ops.convert_to_tensor(y_true)))
    y_pred = _flatten_frames(_root_relative(ops.convert_to_tensor(y_pred)))
    hits = ops.cast(_safe_norm(y_pred - y_true) < threshold, y_pred.dtype)
    return ops.mean(hits, axis=(1, 2))


@keras.saving.register_keras_serializable(package="tfpose")
def auc_per_example(y_true, y_pred, max_threshold=0.150, num_thresholds=31):
    """Area under the PCK curve over 0..150 mm per example, `[B]`."""
    y_true = _flatten_frames(_root_relative(ops.convert_to_tensor(y_true)))
    y_pred = _flatten_frames(_root_relative(ops.convert_to_tensor(y_pred)))
    errors = _safe_norm(y_pred - y_true)[..., None]
    thresholds = ops.linspace(0.0, max_threshold, num_thresholds)
    hits = ops.cast(errors < ops.cast(thresholds, errors.dtype), y_pred.dtype)
    return ops.mean(hits, axis=(1, 2, 3))


def _scaled(fn, scale):
    def metric(y_true, y_pred):
        return fn(y_true, y_pred) * scale

    return metric


@keras.saving.register_keras_serializable(package="tfpose")
class PoseMetric(keras.metrics.MeanMetricWrapper):
    """A pose metric averaged over all examples seen.

    Args:
        kind: `"mpjpe"`, `"p_mpjpe"`, `"n_mpjpe"`, `"mpjve"` (errors), or
            `"pck"`, `"auc"` (fractions).
        scale: multiplies the value; by default 1000 for errors (metres to
            millimetres) and 100 for PCK and AUC (percent).
        name: defaults to `kind`.
    """

    KINDS = {
        "mpjpe": mpjpe_per_example,
        "p_mpjpe": p_mpjpe_per_example,
        "n_mpjpe": n_mpjpe_per_example,
        "mpjve": mpjve_per_example,
        "pck": pck_per_example,
        "auc": auc_per_example,
    }

    def __init__(self, kind="mpjpe", scale=None, name=None, dtype=None):
        if kind not in self.KINDS:
            raise ValueError(f"Unknown pose metric {kind!r}; expected one of {sorted(self.KINDS)}.")
        if scale is None:
            scale = display_scale(kind)
        super().__init__(_scaled(self.KINDS[kind], scale), name=name or kind, dtype=dtype)
        self.kind = kind
        self.scale = float(scale)

    def get_config(self):
        return {"kind": self.kind, "scale": self.scale, "name": self.name, "dtype": self.dtype}


def pose_metrics(kinds=("mpjpe", "p_mpjpe", "mpjve")):
    """Keras metrics for `model.compile(metrics=...)`: mm, or % for PCK/AUC."""
    return [PoseMetric(kind) for kind in kinds]
