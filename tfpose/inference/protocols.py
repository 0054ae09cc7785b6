"""Lifting whole variable-length sequences with a fixed-length model.

`SequenceLifter` drives a model from numpy (evaluation); `lift_sequences`
is the same protocol as one TensorFlow graph, for exported models
(SavedModel and TFLite signatures take whole sequences).

The protocols:

- `"average"`, UGCN's (paper, section 3.2): slide a window of `T` frames over
  the sequence with a step of 5 frames, lift every window, and average the
  predictions each frame receives. With a `margin` `m > 0` each window is
  read at its central positions `[m, T - m)` only (the sequence edge-padded
  by `m` frames on each side so that every frame is still covered): a
  network's predictions are worst at its window's ends, which the paper's
  average (`m = 0`) mixes into every frame.
- `"center"`, DG-Net's: one window around every frame (edge-padded at the
  ends, the frame at position `T // 2`), keeping the prediction of that
  frame only.
- `"tiled"`, the fast mode for models like UGCN: windows every `step`
  frames, each keeping only its central `step` frames, so every frame is
  lifted once (twice with flip) with `(T - step) / 2` frames of context on
  each side: `T / step` window-frames per output frame instead of the
  `T / 5` of `"average"` at step 5 (about 19 for T = 96).
- `"convolutional"`, VideoPose3D's (`tfpose.models.TCN`): the whole
  sequence, edge-padded by half the receptive field `T` on each side, in
  one fully convolutional pass that outputs every frame once.
- `"causal"`, for live lifting with `lookahead` `L` frames of future
  context (`0 <= L < T`; 0 = strictly causal): frame `t` is read from the
  window of `T` frames that ends at frame `t + L`, at its position
  `T - 1 - L` (frames before the first are the first frame, past the last
  the last). A model with a receptive field (TCN) outputs one frame, its
  own `lookahead` frames before the receptive field's end (the centre
  unless trained otherwise): under `"center"`, `"convolutional"` and
  `"causal"` it is read there, i.e. the causal protocol at the model's
  lookahead (`model_protocol`); a causal `L` below it is an error, one
  above it gives the same poses. It runs as one convolutional pass, padded
  by `T - 1 - L` frames before and `L` after.
  `tfpose.inference.streaming.StreamingLifter` is the same protocol one
  frame at a time. `"center"` is the causal protocol with
  `L = T - 1 - T // 2`.

With flip augmentation every window is also lifted mirrored, the output
mirrored back, and the two averaged. The root joint's output is set to zero,
as VideoPose3D's evaluation does: the targets are root-relative, so the
root's own prediction carries no information.
"""

import numpy as np
import tensorflow as tf

from tfpose import skeleton as skeleton_lib
from tfpose.data import augment
from tfpose.data.sequence import check_poses

PROTOCOLS = ("average", "center", "tiled", "convolutional", "causal")


def is_convolutional(model):
    """Whether `model` is fully convolutional over time (a TCN: one output
    frame per receptive field of input, any input length)."""
    return hasattr(model, "receptive_field")


def model_lookahead(model):
    """Future frames behind a one-output (TCN) model's prediction: its
    `lookahead` (the centre of the receptive field for a model saved
    before it had one); `None` for a model that outputs whole windows."""
    if not is_convolutional(model):
        return None
    lookahead = getattr(model, "lookahead", None)
    return (model.receptive_field - 1) // 2 if lookahead is None else int(lookahead)


def model_protocol(model, protocol, lookahead=0):
    """`(protocol, lookahead)` as `window_plan` runs them for `model`.

    A TCN predicts the frame `model_lookahead(model)` frames before its
    receptive field's end, so `"center"`, `"convolutional"` and
    `"causal"` all read it there: `("causal", its lookahead)` (the caller
    keeps choosing between per-frame windows, `"center"`, and the one
    convolutional pass of the other two). A causal
    `lookahead` below the model's raises (the model has not learnt to
    predict later frames); one above it gives the same poses, sooner.
    Other models and protocols pass through.
    """
    own = model_lookahead(model)
    if own is None or protocol not in ("center", "convolutional", "causal"):
        return protocol, lookahead
    if protocol == "causal" and lookahead < own:
        raise ValueError(
            f"This TCN predicts the frame {own} frames before the end of its receptive "
            f"field; it cannot lift with a lookahead of {lookahead}. Train one with "
            f"--tcn_lookahead={lookahead} (0: VideoPose3D's causal model).")
    return "causal", own


def own_protocol(model):
    """The protocol a tfpose model (or model class) declares as its own
    (`SEQUENCE_PROTOCOL`: UGCN `"average"`, DG-Net `"center"`, TCN
    `"convolutional"`; a model instance's `sequence_protocol` where it has
    one: a causal UGCN's `"causal"`)."""
    cls = model if isinstance(model, type) else type(model)
    protocol = (getattr(model, "sequence_protocol", None) if model is not cls else None) \
        or getattr(cls, "SEQUENCE_PROTOCOL", None)
    if protocol is None:
        raise ValueError(f"A {cls.__name__} declares no sequence protocol: not a tfpose lifter.")
    return protocol


def resolve_protocol(model, protocol="model"):
    """`protocol`, or the model's own where it is `"model"` (or None)."""
    return own_protocol(model) if protocol in (None, "model") else protocol


def window_frames(model, num_frames=None):
    """The frames `T` of one model call: a TCN's receptive field, else the
    model's input window (`num_frames` for a model built without one)."""
    if is_convolutional(model):
        return model.receptive_field
    try:
        frames = model.inputs[0].shape[1]
    except (AttributeError, ValueError, TypeError, IndexError):  # subclassed, unbuilt
        frames = None
    frames = frames or num_frames
    if frames is None:
        raise ValueError("The model takes any number of frames: give `num_frames`.")
    return int(frames)


def read_position(num_frames, protocol, lookahead=0):
    """The window position whose output a frame gets under the one-frame
    protocols: `T // 2` (`"center"`, `"convolutional"`) or `T - 1 - L`
    (`"causal"`), which needs `0 <= L < T`."""
    if protocol != "causal":
        return num_frames // 2
    if not 0 <= lookahead < num_frames:
        raise ValueError(f"`lookahead` must be in [0, {num_frames - 1}] for a window of "
                         f"{num_frames} frames (the frame read must be in the window), "
                         f"got {lookahead}.")
    return num_frames - 1 - lookahead


def read_model(model, protocol, lookahead=0):
    """`(model to run, one_output)` for windows that `protocol` reads at
    one position: a causal model with a `tail_model` (a causal UGCN) read
    causally runs its tail, which outputs the read frame alone and
    computes only what that frame depends on (the same poses; at T = 96,
    7% fewer FLOPs and about 30% less time in a TFLite stream step,
    docs/BENCHMARKS.md);
    a TCN outputs one frame itself. Any other model runs whole windows."""
    if protocol == "causal" and getattr(model, "causal", False) and hasattr(model, "tail_model"):
        return model.tail_model(1, lookahead), True
    return model, is_convolutional(model)


def needs_intrinsics(model):
    """Whether `model` takes `(keypoints_2d, intrinsics)` (DG-Net balanced)."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed model has none
        return False
    return inputs is not None and len(inputs) == 2


def _predict_fn(model, flip, skeleton, num_frames=None):
    with_intrinsics = needs_intrinsics(model)

    def run(x, k):
        return model([x, k] if with_intrinsics else x, training=False)

    # One trace for every batch size, so batches need no padding to a
    # fixed size (UGCN's protocol computed 512 windows for a 2,000-frame
    # sequence's 382 when it padded to batches of 256).
    @tf.function(input_signature=[
        tf.TensorSpec([None, num_frames, skeleton.num_joints, 2], tf.float32),
        tf.TensorSpec([None, 4], tf.float32)])
    def predict(x, k):
        y = run(x, k)
        if flip:
            mirrored = run(augment.flip(x, skeleton), augment.flip_intrinsics(k))
            y = 0.5 * (y + augment.flip(mirrored, skeleton))
        return y

    return predict


class SequenceLifter:
    """Lifts `[T, J, 2]` sequences of any length with sliding windows.

    Args:
        model: a Keras model `[B, num_frames, J, 2] -> [B, num_frames, J, 3]`
            (or `([B, T, J, 2], intrinsics [B, 4]) -> ...`: then every call
            needs the sequence's `intrinsics`).
        num_frames: its window length (`"convolutional"`: its receptive field).
        step: frames between window starts (5 in UGCN's protocol); the last
            window is aligned to the sequence's end so every frame is
            covered. Sequences shorter than `num_frames` are edge-padded.
            `"tiled"`: the frames each window keeps (`1 <= step <= T`).
            Unused by the other protocols.
        protocol: one of `PROTOCOLS` (see the module docstring).
        flip: flip test-time augmentation.
        batch_size: windows per model call.
        skeleton: for the flip.
        lookahead: future frames of the `"causal"` protocol, `< num_frames`.
        margin: positions at each end of a window that `"average"` does not
            read (`0 <= 2 * margin < num_frames`; 0: the paper's protocol).
    """

    def __init__(self, model, num_frames, step=5, flip=True, batch_size=256,
                 skeleton=skeleton_lib.H36M, protocol="average", lookahead=0, margin=0):
        if step < 1 or num_frames < 1 or batch_size < 1:
            raise ValueError("`num_frames`, `step` and `batch_size` must be >= 1.")
        if protocol not in PROTOCOLS:
            raise ValueError(f"Unknown protocol {protocol!r}; expected one of {PROTOCOLS}.")
        if protocol == "tiled" and step > num_frames:
            raise ValueError(f"The tiled protocol keeps `step` ({step}) frames of each window: "
                             f"at most `num_frames` ({num_frames}).")
        self.protocol = protocol
        self.num_frames = int(num_frames)
        self.convolutional = protocol == "convolutional" or (
            protocol == "causal" and is_convolutional(model))
        self._plan_protocol, lookahead = model_protocol(model, protocol, int(lookahead))
        self.lookahead = int(lookahead)
        read_position(self.num_frames, self._plan_protocol, self.lookahead)  # checks it
        self.margin = check_margin(self.num_frames, margin, step if protocol == "average" else 1)
        model, self.one_output = read_model(model, self._plan_protocol, self.lookahead)
        self.step = int(step)
        self.batch_size = int(batch_size)
        self.num_joints = skeleton.num_joints
        self.root = skeleton.root
        self.needs_intrinsics = needs_intrinsics(model)
        self._predict = _predict_fn(model, flip, skeleton,
                                    None if self.convolutional else self.num_frames)

    def __call__(self, keypoints_2d, intrinsics=None):
        """`[T, J, 2]` normalised 2D -> `[T, J, 3]` root-relative 3D (numpy).

        `intrinsics`: the camera's normalised `(f_x, f_y, c_x, c_y)`, for a
        model that takes them (ignored otherwise).
        """
        x = check_poses(keypoints_2d, 2, "keypoints_2d", self.num_joints)
        if self.needs_intrinsics:
            if intrinsics is None:
                raise ValueError("This model takes camera intrinsics: pass `intrinsics`.")
            intrinsics = np.asarray(intrinsics, np.float32)
            if intrinsics.shape != (4,) or not np.isfinite(intrinsics).all():
                raise ValueError(f"`intrinsics` must be 4 finite numbers (f_x, f_y, c_x, c_y), "
                                 f"got {intrinsics!r}.")
        else:
            intrinsics = np.zeros(4, np.float32)
        length = len(x)
        index, target = (t.numpy() for t in window_plan(
            length, self.num_frames, self._plan_protocol, self.step, self.lookahead,
            self.convolutional, self.one_output, self.margin))
        total = np.zeros((length, x.shape[1], 3), np.float64)
        count = np.zeros((length, 1, 1), np.float64)
        # Equal batches of at most `batch_size` windows.
        size = -(-len(index) // -(-len(index) // self.batch_size))
        for begin in range(0, len(index), size):
            batch_index, batch_target = index[begin : begin + size], target[begin : begin + size]
            k = np.broadcast_to(intrinsics, (len(batch_index), 4))
            y = self._predict(tf.constant(x[batch_index]), tf.constant(k)).numpy()
            read = (batch_target >= 0) & (batch_target < length)
            np.add.at(total, batch_target[read], y[read])
            np.add.at(count, batch_target[read], 1.0)
        poses = total / count
        poses[:, self.root] = 0.0
        return poses.astype(np.float32)


def check_margin(num_frames, margin, step=1):
    """`margin` as an int, if `"average"` can read windows of `num_frames`
    every `step` frames with it: the positions read, `T - 2 * margin`, must
    span a step, or frames between windows would get no prediction."""
    margin = int(margin)
    if not 0 <= margin <= (num_frames - step) // 2:
        raise ValueError(f"`margin` must be in [0, {max((num_frames - step) // 2, 0)}] for "
                         f"windows of {num_frames} frames every {step} frame(s) (the positions "
                         f"read, T - 2 * margin, must span a step), got {margin}.")
    return margin


def window_plan(length, num_frames, protocol, step=5, lookahead=0, convolutional=False,
                one_output=False, margin=0):
    """How a protocol lifts a sequence of `length` frames: the one plan that
    `SequenceLifter` (numpy), `lift_sequences` (in-graph, exported
    signatures) and the benchmarks follow.

    Returns `(index, target)` int32 tensors: window `w` is the frames
    `index[w]` of the sequence (`[W, T]`; edge padding is clipping of the
    index), and its output position `p` is read into frame `target[w, p]`
    (`[W, T_out]`), or nowhere where that is `-1` or `>= length` (it is
    always below `length + T_out`). Every frame is the mean of what it
    receives.

    - `"average"`: windows start every `step` frames, the last one ends at
      the last frame (`min(w * step, L - T)`, as
      `tfpose.data.windows.window_starts`); every position is read. With
      `margin` `m`, every start moves `m` frames earlier and the last
      window ends `m` frames past the last frame (`min(w * step - m,
      L - T + m)`), and only positions `[m, T - m)` are read.
    - `"tiled"`: windows every `step` frames, each read at its central
      `step` positions.
    - `"center"`, `"causal"`: window `t` around frame `t`, read at
      `read_position` only (`one_output`: a model that outputs that frame
      alone, `T_out = 1`).
    - `"convolutional"` (and `"causal"` with `convolutional=True`, for a
      TCN): one "window", the sequence edge-padded so that the model's
      output `t` (`T_out = L`) is frame `t`.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; expected one of {PROTOCOLS}.")
    position = read_position(num_frames, protocol, lookahead)
    if protocol == "convolutional" or convolutional:
        index = tf.clip_by_value(tf.range(length + num_frames - 1) - position, 0, length - 1)
        return index[None], tf.range(length)[None]
    offsets = tf.range(num_frames)[None, :]
    if protocol in ("center", "causal"):
        frames = tf.range(length)[:, None]
        index = tf.clip_by_value(frames + offsets - position, 0, length - 1)
        return index, frames if one_output else tf.where(offsets == position, frames, -1)
    if protocol == "tiled":
        margin = (num_frames - step) // 2
        starts = tf.range(0, length, step)[:, None]
        index = tf.clip_by_value(starts + offsets - margin, 0, length - 1)
        kept = (offsets >= margin) & (offsets < margin + step)
        return index, tf.where(kept, starts + offsets - margin, -1)
    margin = check_margin(num_frames, margin, step)
    last = tf.maximum(length - num_frames + margin, -margin)
    count = (last + margin + step - 1) // step + 1
    starts = tf.minimum(tf.range(count) * step - margin, last)[:, None]
    frames = starts + offsets
    index = tf.clip_by_value(frames, 0, length - 1)
    if margin == 0:
        return index, frames
    kept = (offsets >= margin) & (offsets < num_frames - margin)
    return index, tf.where(kept, frames, -1)


def lift_sequences(model, keypoints_2d, intrinsics=None, *, num_frames, protocol, step=5,
                   flip=True, skeleton=skeleton_lib.H36M, lookahead=0, margin=0):
    """`SequenceLifter`'s protocol in one graph: `[B, L, J, 2]` -> `[B, L, J, 3]`.

    Any `L >= 1`; every window of every sequence goes through the model in
    one batch (`B * W` windows, twice with flip), so memory grows with `L`:
    lift very long recordings in chunks. Uses only ops that TFLite has as
    builtins (`GATHER`, `UNSORTED_SEGMENT_SUM`, ...).

    Args:
        model: `[N, num_frames, J, 2] (, [N, 4]) -> [N, num_frames, J, 3]`.
        keypoints_2d: `[B, L, J, 2]` float32 tensor.
        intrinsics: `[B, 4]`, for a model that takes them.
        num_frames, protocol, step, flip, skeleton, lookahead, margin: as
            `SequenceLifter`.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; expected one of {PROTOCOLS}.")
    x = tf.convert_to_tensor(keypoints_2d, tf.float32)
    shape = tf.shape(x)
    batch, length = shape[0], shape[1]
    num_joints = x.shape[2]
    convolutional = protocol == "convolutional" or (
        protocol == "causal" and is_convolutional(model))
    protocol, lookahead = model_protocol(model, protocol, lookahead)
    read_position(num_frames, protocol, lookahead)  # its error before the tail's
    model, one_output = read_model(model, protocol, lookahead)
    index, target = window_plan(length, num_frames, protocol, step, lookahead, convolutional,
                                one_output=one_output, margin=margin)
    num_windows = tf.shape(index)[0]
    with_intrinsics = needs_intrinsics(model)
    if with_intrinsics:
        if intrinsics is None:
            raise ValueError("This model takes camera intrinsics.")
        intrinsics = tf.convert_to_tensor(intrinsics, tf.float32)

    def run(sequences, cameras, count):
        windows_ = tf.reshape(tf.gather(sequences, index, axis=1),
                              [-1, tf.shape(index)[1], num_joints, 2])  # [count * W, T, J, 2]
        if with_intrinsics:
            owner = tf.range(count * num_windows) // num_windows
            return model([windows_, tf.gather(cameras, owner)], training=False)
        return model(windows_, training=False)

    if flip:
        # Original and mirrored sequences in one batch: one model call in
        # the graph (an exported graph holds one copy of the network).
        stacked = tf.concat([x, augment.flip(x, skeleton)], 0)
        cameras = (tf.concat([intrinsics, augment.flip_intrinsics(intrinsics)], 0)
                   if with_intrinsics else None)
        both = tf.reshape(run(stacked, cameras, 2 * batch),
                          [2, -1, tf.shape(target)[1], num_joints, 3])
        y = 0.5 * (both[0] + augment.flip(both[1], skeleton))
    else:
        y = run(x, intrinsics, batch)
    not_root = np.ones((num_joints, 1), np.float32)
    not_root[skeleton.root] = 0.0
    y = y * not_root
    # Every output position to its frame's segment (frame + 1), positions
    # read nowhere to segments that are dropped: -1 to 0, past the end to
    # beyond `length`. Plain arithmetic: TFLite's UNSORTED_SEGMENT_SUM takes
    # no negative ids, and int16x8 calibration fails on comparisons or a
    # SELECT over the integer ids. Sequences stacked along the feature axis.
    y = tf.reshape(y, [batch, -1, num_joints * 3])
    y = tf.reshape(tf.transpose(y, [1, 0, 2]), [tf.shape(y)[1], batch * num_joints * 3])
    ids = tf.reshape(target, [-1]) + 1
    segments = length + tf.shape(target)[1] + 1
    total = tf.math.unsorted_segment_sum(y, ids, segments)[1 : length + 1]
    count = tf.math.unsorted_segment_sum(tf.ones_like(ids, tf.float32), ids, segments)
    mean = total / count[1 : length + 1, None]
    return tf.transpose(tf.reshape(mean, [length, batch, num_joints, 3]), [1, 0, 2, 3])
