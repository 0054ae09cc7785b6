"""Live lifting: one 2D frame in, one 3D pose out, constant memory.

The causal protocol of `tfpose.inference.protocols` (`"causal"`, lookahead `L`) one
frame at a time. The whole per-frame step is one graph function,
`stream_step`, whose only memory is a state tensor the caller carries from
frame to frame; the exported SavedModel's `stream` signature and its
`stream.tflite` are that function, and `StreamingLifter` drives it (or the
exported copies) from Python, so all three compute the same thing.

The state, `[1, T + 1, J, 2]` float32 (`T` the model's window, a TCN's
receptive field): rows `0 .. T-1` are the last `T` frames' 2D (filled,
oldest first), row `T` counts the frames pushed (its `[0, 0]` modulo 2^20
and `[0, 1]` the multiples of 2^20, exact in float32 for 2^31 frames). A
state of zeros is a new stream: its first frame fills the whole window
(the causal protocol's padding with the first frame).

A joint whose coordinates are not finite (NaN: missing or below the
confidence threshold) is held from the previous frame; before the first
frame there is nothing to hold, and it starts at the mean of that frame's
valid joints.

The pose that the call with frame `t` returns is that of frame `t - L`,
output `frame`; `frame < 0` (the first `L` calls) means no pose is due yet.
At the end of a stream, `L` more pushes of the last frame (the causal
protocol's padding at the end) return the last `L` poses
(`StreamingLifter.flush`).

Every pose also comes in camera space: the root's position solved in
closed form from the pose, the 2D and the intrinsics
(`tfpose.inference.camera_space`).
"""

import collections
import os

import numpy as np
import tensorflow as tf

from tfpose import camera
from tfpose import skeleton as skeleton_lib
from tfpose.data import augment
from tfpose.inference import protocols
from tfpose.layers.balanced_coordinates import root_translation

SIGNATURE = "stream"
# Coordinates beyond this count as missing too (and NaN compares false
# with everything, which is how missing joints are found without an
# `is_nan` op: TFLite has none among its builtins).
_VALID_LIMIT = 1e6
_COUNTER_BASE = 2.0**20

StreamedPose = collections.namedtuple(
    "StreamedPose", ["frame", "poses_3d", "poses_3d_camera", "root_position", "filled"])
StreamedPose.__doc__ = """One output of `StreamingLifter`.

    frame: the index of the frame this pose is of (0 for the first pushed).
    poses_3d: `[J, 3]` root-relative metres, camera axes (root zeroed).
    poses_3d_camera: `[J, 3]` the same pose at its solved root position.
    root_position: `[3]` the root in the camera frame, metres.
    filled: `[J]` bool, the frame's 2D joints that were missing and held.
"""


def state_shape(num_frames, num_joints=17):
    return (1, num_frames + 1, num_joints, 2)


def stream_step(model, num_frames, lookahead=0, flip=True, skeleton=skeleton_lib.H36M):
    """The per-frame step as a function of tensors:

    `step(state [1, T+1, J, 2], keypoints_2d [1, J, 2], intrinsics [1, 4])
    -> {"poses_3d", "poses_3d_camera": [1, J, 3], "root_position": [1, 3],
    "frame": [1] int32, "state"}` (see the module docstring). Only ops
    that TFLite has as builtins, on static shapes.

    Args:
        model: the inference model, `[N, T, J, 2] (, [N, 4])` -> `[N, T, J, 3]`
            (a TCN: `[N, 1, J, 3]`).
        num_frames: `T` (`tfpose.inference.protocols.window_frames`).
        lookahead: `L`, `0 <= L < T`; for a TCN, at least its own
            (`tfpose.inference.protocols.model_protocol`), and it streams
            at its own.
        flip: flip test-time augmentation (both in one batch of 2).
    """
    _, lookahead = protocols.model_protocol(model, "causal", lookahead)
    position = protocols.read_position(num_frames, "causal", lookahead)
    with_intrinsics = protocols.needs_intrinsics(model)
    model, single_output = protocols.read_model(model, "causal", lookahead)
    num_joints = skeleton.num_joints
    not_root = np.ones((num_joints, 1), np.float32)
    not_root[skeleton.root] = 0.0

    def step(state, keypoints_2d, intrinsics):
        buffer = state[:, :num_frames]
        lo, hi = state[:, num_frames, 0, 0], state[:, num_frames, 0, 1]
        started = tf.reshape(lo + hi > 0.0, [1, 1, 1])
        valid = tf.reduce_min(tf.cast(tf.abs(keypoints_2d) < _VALID_LIMIT, tf.float32), -1,
                              keepdims=True) > 0.5  # [1, J, 1]
        safe = tf.where(valid, keypoints_2d, 0.0)
        count = tf.reduce_sum(tf.cast(valid, tf.float32), 1, keepdims=True)
        mean = tf.reduce_sum(safe, 1, keepdims=True) / tf.maximum(count, 1.0)
        held = tf.where(started, buffer[:, num_frames - 1], mean)
        frame_2d = tf.expand_dims(tf.where(valid, keypoints_2d, held), 1)  # [1, 1, J, 2]
        buffer = tf.where(tf.expand_dims(started, 1),
                          tf.concat([buffer[:, 1:], frame_2d], 1),
                          tf.tile(frame_2d, [1, num_frames, 1, 1]))
        # Frames pushed, in two float32 digits so the count stays exact.
        lo = lo + 1.0
        carry = tf.cast(lo >= _COUNTER_BASE, tf.float32)
        lo, hi = lo - carry * _COUNTER_BASE, hi + carry
        pushed = tf.cast(hi, tf.int32) * int(_COUNTER_BASE) + tf.cast(lo, tf.int32)
        counter = tf.pad(tf.reshape(tf.stack([lo, hi], -1), [1, 1, 1, 2]),
                         [[0, 0], [0, 0], [0, num_joints - 1], [0, 0]])

        inputs = buffer
        cameras = intrinsics
        if flip:
            inputs = tf.concat([buffer, augment.flip(buffer, skeleton)], 0)
            cameras = tf.concat([intrinsics, augment.flip_intrinsics(intrinsics)], 0)
        y = model([inputs, cameras] if with_intrinsics else inputs, training=False)
        y = y[:, 0] if single_output else y[:, position]  # [N, J, 3]
        if flip:
            y = 0.5 * (y[:1] + augment.flip(y[1:], skeleton))
        pose = y * not_root
        # The root from the pose and the 2D of the same frame, t - L.
        shown = buffer[:, position]
        root = root_translation(tf.expand_dims(pose, 1), tf.expand_dims(shown, 1),
                                intrinsics)[:, 0]
        return {"poses_3d": pose, "poses_3d_camera": pose + tf.expand_dims(root, 1),
                "root_position": root, "frame": pushed - 1 - lookahead,
                "state": tf.concat([buffer, counter], 1)}

    return step


def step_function(model, num_frames, lookahead=0, flip=True, skeleton=skeleton_lib.H36M):
    """`stream_step` as a `tf.function` with named, static input specs
    (what the `stream` signature exports)."""
    num_joints = skeleton.num_joints
    step = stream_step(model, num_frames, lookahead, flip, skeleton)
    return tf.function(
        lambda state, keypoints_2d, intrinsics: step(state, keypoints_2d, intrinsics),
        input_signature=[
            tf.TensorSpec(state_shape(num_frames, num_joints), tf.float32, name="state"),
            tf.TensorSpec([1, num_joints, 2], tf.float32, name="keypoints_2d"),
            tf.TensorSpec([1, 4], tf.float32, name="intrinsics")],
        autograph=False)


class _FunctionStep:
    """A Keras model's step, traced here."""

    def __init__(self, model, lookahead, flip, num_frames):
        from tfpose.models import inference_model

        model = inference_model(model)
        self.num_frames = protocols.window_frames(model, num_frames)
        if protocols.is_convolutional(model):
            # A TCN streams at the lookahead it was trained for (or fails).
            own = protocols.model_lookahead(model)
            requested = own if lookahead is None else int(lookahead)
            self.lookahead = protocols.model_protocol(model, "causal", requested)[1]
        else:
            self.lookahead = 0 if lookahead is None else int(lookahead)
        self.needs_intrinsics = protocols.needs_intrinsics(model)
        self._fn = step_function(model, self.num_frames, self.lookahead, flip)

    def __call__(self, state, keypoints_2d, intrinsics):
        out = self._fn(tf.constant(state), tf.constant(keypoints_2d), tf.constant(intrinsics))
        return {k: v.numpy() for k, v in out.items()}


class _ExportedStep:
    """The `stream` signature of a SavedModel, or a stream `.tflite` file."""

    def __init__(self, path, num_threads):
        if os.path.isdir(path):
            from tfpose.export import saved_model

            signature = saved_model.load_signature(path, SIGNATURE)
            shape = signature.structured_input_signature[1]["state"].shape
            self._run = lambda **inputs: {k: v.numpy() for k, v in signature(
                **{n: tf.constant(a) for n, a in inputs.items()}).items()}
        else:
            from tfpose.export import tflite

            runner = tflite.signature_runner(path, SIGNATURE, num_threads)
            shape = runner.get_input_details()["state"]["shape"]
            self._run = lambda **inputs: runner(**inputs)
        self.num_frames = int(shape[1]) - 1
        self._num_joints = int(shape[2])
        # The export's lookahead: a new stream's first frame is frame -L's
        # output.
        first = self(np.zeros(state_shape(self.num_frames, self._num_joints), np.float32),
                     np.zeros((1, self._num_joints, 2), np.float32),
                     camera.intrinsics_for()[None])
        self.lookahead = -int(first["frame"][0])

    def __call__(self, state, keypoints_2d, intrinsics):
        return self._run(state=state, keypoints_2d=keypoints_2d, intrinsics=intrinsics)


class StreamingLifter:
    """Lifts a live stream of 2D poses, one frame at a time.

    Example:

        lifter = StreamingLifter("exported/tcn_causal/1/stream.tflite", image_size=(1280, 720))
        for keypoints, scores in detector:          # [17, 2] pixels, H36M order
            out = lifter.push(keypoints, scores)
            if out is not None:
                show(out.frame, out.poses_3d_camera)
        for out in lifter.flush():                  # the last L frames
            show(out.frame, out.poses_3d_camera)

    Equal, frame by frame, to the offline `"causal"` protocol
    (`tfpose.inference.protocols.SequenceLifter`) with the same lookahead and flip.

    Args:
        model: a Keras model, a `.keras` file, an exported SavedModel
            directory (its `stream` signature) or a stream `.tflite` file.
        lookahead: `L` future frames each pose waits for. Exported streams
            have theirs built in (`None`: theirs; another value is an
            error); for Keras models `None` means 0, except a TCN, which
            predicts one frame of its receptive field and streams at its
            own `lookahead` (`None`, or any larger `L`: the same poses;
            a smaller `L` is an error).
        intrinsics: the camera's normalised `(f_x, f_y, c_x, c_y)`
            (`tfpose.camera.intrinsics_for` from a focal length or field of
            view); `None`: `tfpose.camera.DEFAULT_FOV_DEG` and the image
            centre, an assumption that only the camera-space outputs (and
            DG-Net's balanced output) depend on.
        image_size: `(width, height)` when keypoints come in pixels; `None`
            for normalised screen coordinates.
        flip: flip test-time augmentation (Keras models; exports have it
            built in).
        min_confidence: joints with a lower confidence count as missing.
        num_threads: TFLite interpreter threads.
        num_frames: the window of a Keras model built for any length.
        skeleton: the joints (H36M order).
    """

    def __init__(self, model, lookahead=None, intrinsics=None, image_size=None, flip=True,
                 min_confidence=0.3, num_threads=1, num_frames=None,
                 skeleton=skeleton_lib.H36M):
        if isinstance(model, (str, os.PathLike)):
            path = os.fspath(model)
            if not os.path.exists(path):
                raise FileNotFoundError(f"Model not found: {path}")
            if path.lower().endswith(".keras"):
                import keras

                import tfpose.models  # noqa: F401  (registers the classes)

                model = keras.models.load_model(path, compile=False)
            elif os.path.isdir(path) or path.lower().endswith(".tflite"):
                model = _ExportedStep(path, num_threads)
                if lookahead is not None and lookahead != model.lookahead:
                    raise ValueError(f"{path} streams with a lookahead of {model.lookahead} "
                                     f"frames, not {lookahead}; export again with "
                                     f"--lookahead={lookahead} (a TCN streams at the lookahead "
                                     f"it was trained with, --tcn_lookahead), or use the "
                                     f".keras model.")
            else:
                raise ValueError(f"{path}: expected a .keras file, a SavedModel directory or a "
                                 "stream .tflite file.")
        self._step = model if isinstance(model, _ExportedStep) else _FunctionStep(
            model, lookahead, flip, num_frames)
        self.num_frames = self._step.num_frames
        self.lookahead = self._step.lookahead
        self.num_joints = skeleton.num_joints
        self.intrinsics = (camera.intrinsics_for() if intrinsics is None
                           else np.asarray(intrinsics, np.float32).reshape(4))
        self.image_size = image_size
        self.min_confidence = float(min_confidence)
        self.reset()

    def reset(self):
        """Starts a new stream."""
        self._state = np.zeros(state_shape(self.num_frames, self.num_joints), np.float32)
        # Which joints were filled, for the frames not yet output: L + 1.
        self._filled = collections.deque(maxlen=self.lookahead + 1)

    def push(self, keypoints_2d, confidence=None):
        """Adds frame `t`: `[J, 2]` (pixels with `image_size`, else
        normalised; NaN for a missing joint) and optional `[J]` confidences.

        Returns the `StreamedPose` of frame `t - L`, or `None` while `t < L`.
        """
        x = np.array(keypoints_2d, np.float32, copy=True)
        if x.shape != (self.num_joints, 2):
            raise ValueError(f"`keypoints_2d` must be [{self.num_joints}, 2], got {x.shape}.")
        if self.image_size is not None:
            x = camera.normalize_screen_coordinates(x, *self.image_size).astype(np.float32)
        missing = ~np.isfinite(x).all(-1)
        if confidence is not None:
            confidence = np.asarray(confidence, np.float32).reshape(self.num_joints)
            missing |= ~(np.nan_to_num(confidence, nan=-1.0) >= self.min_confidence)
        x[missing] = np.nan
        self._filled.append(missing)
        return self._advance(x)

    def _advance(self, x):
        out = self._step(self._state, x[None], self.intrinsics[None])
        self._state = out["state"]
        frame = int(out["frame"][0])
        if frame < 0:
            return None
        return StreamedPose(frame, out["poses_3d"][0], out["poses_3d_camera"][0],
                            out["root_position"][0], self._filled[0].copy())

    def flush(self):
        """The poses of the last `L` frames (the window padded with the last
        frame, as the offline protocol pads), then `reset()`."""
        outputs = []
        if self._state[0, self.num_frames].any():  # the stream has started
            last = self._state[0, self.num_frames - 1].copy()
            for _ in range(self.lookahead):
                self._filled.append(np.zeros(self.num_joints, bool))
                out = self._advance(last)
                if out is not None:
                    outputs.append(out)
        self.reset()
        return outputs
