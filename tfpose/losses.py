"""Losses: the position term and UGCN's motion loss (Wang et al., ECCV 2020).

Shorthands: `B` batch, `T` frames, `J` joints. Poses are `[B, T, J, 3]`.
Each function returns one value per example, `[B]`, and lets Keras reduce
over the batch (which stays correct under `tf.distribute`).
"""

import keras
import tensorflow as tf
from keras import ops

from tfpose import metrics

OPERATORS = ("subtract", "inner", "cross")
POSITION_LOSSES = ("mse", "mpjpe")


def _cross(a, b):
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return ops.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)


def motion_encoding(poses, interval, operator="cross"):
    """Pairwise motion encoding `m[t, j] = s[t, j] * s[t + tau, j]` (Eq. 3).

    Args:
        poses: `[B, T, J, 3]`.
        interval: `tau >= 1`.
        operator: `"subtract"` (`s[t + tau] - s[t]`), `"inner"` (dot
            product, one component) or `"cross"` (`s[t] x s[t + tau]`).

    Returns:
        `[B, T - tau, J, E]` with `E` = 3, 1 or 3 components (an empty time
        axis if `tau >= T`).
    """
    if operator not in OPERATORS:
        raise ValueError(f"Unknown motion operator {operator!r}; expected one of {OPERATORS}.")
    start, end = poses[:, :-interval], poses[:, interval:]
    if operator == "subtract":
        return end - start
    if operator == "inner":
        return ops.sum(start * end, axis=-1, keepdims=True)
    return _cross(start, end)


@keras.saving.register_keras_serializable(package="tfpose")
def motion_loss(y_true, y_pred, intervals=(8, 12, 16, 24), operator="cross"):
    """UGCN's motion loss (Eq. 4) divided by `T * J`, one value per example `[B]`.

    Eq. 4 sums, over the intervals `tau < T`, the frames `t = 1 .. T - tau`
    and the joints, the l1 distance between the predicted and true motion
    encodings (the sum of `|m_pred - m_true|` over the encoding's
    components). Intervals with `tau >= T` contribute nothing. Dividing by
    `T * J`, as `MotionLoss` divides Eq. 5, keeps `lambda` the paper's
    relative weight while the loss's scale does not grow with the window.
    Works with a static or a dynamic number of frames.
    """
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred, dtype=y_true.dtype)
    shape = ops.shape(y_pred)
    batch, frames = shape[0], shape[1]
    total = ops.zeros((batch,), y_pred.dtype)
    for tau in intervals:
        tau = int(tau)
        if tau < 1:
            raise ValueError(f"Motion intervals must be >= 1, got {tau}.")
        if isinstance(frames, int) and tau >= frames:
            continue  # statically known to contribute nothing
        difference = ops.abs(
            motion_encoding(y_pred, tau, operator) - motion_encoding(y_true, tau, operator)
        )
        # A dynamic T <= tau gives an empty time axis, whose sum is 0.
        total = total + ops.sum(ops.reshape(difference, (batch, -1)), axis=1)
    return total / _frames_times_joints(y_pred)


def _frames_times_joints(poses):
    shape = ops.shape(poses)
    return ops.cast(shape[1] * shape[2], poses.dtype)


@keras.saving.register_keras_serializable(package="tfpose")
def position_mse(y_true, y_pred):
    """Eq. 5 divided by `T * J` per example: the mean over frames and joints
    of the squared joint error `|s - s_gt|^2`."""
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred, dtype=y_true.dtype)
    squared = ops.sum(ops.square(y_pred - y_true), axis=-1)
    return ops.mean(ops.reshape(squared, (ops.shape(squared)[0], -1)), axis=1)


def _per_frame_position(y_true, y_pred, position):
    """`[B, T]`: the position error of each frame, averaged over joints."""
    if position == "mse":
        return ops.mean(ops.sum(ops.square(y_pred - y_true), axis=-1), axis=-1)
    return metrics.mpjpe_per_frame(y_true, y_pred)


def check_stream_reads(frames, lookahead, reads=1, period=1):
    """Raises ValueError unless a window of `frames` output frames holds
    every read position `T - 1 - lookahead - k * period`, `k < reads`."""
    first = lookahead + (reads - 1) * period
    if first >= frames:
        raise ValueError(
            f"The stream-weighted loss reads window positions down to T - 1 - {first} "
            f"(lookahead={lookahead}, {reads} reads {period} frames apart), but the window "
            f"has {frames} output frames.")


def stream_weighted(per_frame, weight, lookahead, reads=1, period=1):
    """`(mean_t e_t + weight * e_read) / (1 + weight)` per example, where
    `e_read` is the mean error at positions `T - 1 - lookahead - k * period`,
    `k < reads`: the frame that the causal protocol reads from each window
    and, with `reads > 1`, the earlier frames at the same place in every
    scale's grid (each the reading of a shorter window). `per_frame`:
    `[B, T]`."""
    frames = ops.shape(per_frame)[1]
    first = lookahead + (reads - 1) * period
    if isinstance(frames, int):
        check_stream_reads(frames, lookahead, reads, period)
    else:
        # A negative position would silently read from the window's end.
        tf.debugging.assert_less(
            tf.cast(first, tf.int32), tf.cast(frames, tf.int32),
            message=f"The stream-weighted loss reads window positions down to "
                    f"T - 1 - {first}, past the first frame of the window")
    if reads == 1:
        read = ops.take(per_frame, frames - 1 - lookahead, axis=1)
    else:
        positions = frames - 1 - lookahead - period * ops.arange(reads)
        read = ops.mean(ops.take(per_frame, positions, axis=1), axis=1)
    return (ops.mean(per_frame, axis=1) + weight * read) / (1.0 + weight)


@keras.saving.register_keras_serializable(package="tfpose")
class MotionLoss(keras.losses.Loss):
    """`L = (L_p + weight * L_m) / (T * J)` per example (Eq. 6).

    `L_p` is Eq. 5 (`sum_t sum_j |s - s_gt|^2`) and `L_m` Eq. 4 (the sum over
    intervals, frames and joints of the encodings' l1 distance), both as
    the paper writes them, so `weight` is the paper's `lambda`. The common
    division by frames and joints makes the position term alone the mean
    squared joint error.

    (Before 2026-12 the motion term was a mean over intervals and encoding
    components rather than Eq. 4's sum, about 10x lighter at T = 96 with
    the cross product: a run made then with `lambda` corresponds to
    roughly `lambda / 10` now. See docs/RESULTS.md.)

    Args:
        weight: `lambda`, the weight of the motion term (1 in the paper;
            0 trains with the position term alone).
        intervals: motion intervals `tau` in frames.
        operator: `"cross"`, `"inner"` or `"subtract"`.
        position: `"mse"` (Eq. 5: squared joint error) or `"mpjpe"`
            (Euclidean joint error, VideoPose3D's loss), both averaged
            over frames and joints.
        stream_weight: extra weight `w` of the window frame that the
            causal protocol reads (position `T - 1 - lookahead`; see
            docs/MODELS.md, "Causal protocol"): the position term becomes
            `(mean_t e_t + w * e_read) / (1 + w)`, so `w = 1` makes that
            frame count as much as the whole window. 0 (the default)
            leaves every frame equal, as the papers train.
        lookahead: `L` of that causal protocol (frames of future context).
        reduction, name, dtype: as for any `keras.losses.Loss`.
    """

    def __init__(
        self,
        weight=1.0,
        intervals=(8, 12, 16, 24),
        operator="cross",
        position="mse",
        stream_weight=0.0,
        lookahead=0,
        stream_reads=1,
        stream_period=1,
        reduction="sum_over_batch_size",
        name="motion_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if operator not in OPERATORS:
            raise ValueError(f"Unknown motion operator {operator!r}; expected one of {OPERATORS}.")
        if position not in POSITION_LOSSES:
            raise ValueError(
                f"Unknown position loss {position!r}; expected one of {POSITION_LOSSES}."
            )
        if any(int(t) < 1 for t in intervals):
            raise ValueError(f"Motion intervals must be >= 1, got {list(intervals)}.")
        if stream_weight < 0 or lookahead < 0:
            raise ValueError(f"stream_weight and lookahead must be >= 0, got "
                             f"{stream_weight} and {lookahead}.")
        if int(stream_reads) < 1 or int(stream_period) < 1:
            raise ValueError(f"stream_reads and stream_period must be >= 1, got "
                             f"{stream_reads} and {stream_period}.")
        if int(stream_reads) > 1 and not stream_weight:
            raise ValueError(f"stream_reads={stream_reads} spreads the stream weight over "
                             f"several frames, but stream_weight is 0.")
        self.weight = float(weight)
        self.stream_reads = int(stream_reads)
        self.stream_period = int(stream_period)
        self.stream_weight = float(stream_weight)
        self.lookahead = int(lookahead)
        self.intervals = tuple(int(t) for t in intervals)
        self.operator = operator
        self.position = position

    def call(self, y_true, y_pred):
        if self.stream_weight:
            y_true = ops.convert_to_tensor(y_true)
            y_pred = ops.convert_to_tensor(y_pred, dtype=y_true.dtype)
            loss = stream_weighted(_per_frame_position(y_true, y_pred, self.position),
                                   self.stream_weight, self.lookahead,
                                   self.stream_reads, self.stream_period)
        elif self.position == "mse":
            loss = position_mse(y_true, y_pred)
        else:
            loss = metrics.mpjpe_per_example(y_true, y_pred)
        if self.weight:
            loss = loss + self.weight * motion_loss(y_true, y_pred, self.intervals, self.operator)
        return loss

    def get_config(self):
        config = super().get_config()
        config.update({
            "weight": self.weight,
            "intervals": list(self.intervals),
            "operator": self.operator,
            "position": self.position,
            "stream_weight": self.stream_weight,
            "lookahead": self.lookahead,
        })
        if self.stream_reads > 1:  # (files with one read stay loadable by older tfpose)
            config.update({"stream_reads": self.stream_reads,
                           "stream_period": self.stream_period})
        return config
