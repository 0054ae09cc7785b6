"""One interface over the three forms a trained lifter ships in.

`load_lifter(path)` accepts a SavedModel directory (its `serving_default`),
a `.keras` file (driven by `tfpose.inference.protocols.SequenceLifter` with its
model's protocol) or a `.tflite` file (converted from `serve_tflite`:
whole sequences, batch 1). Each lifts `[T, 17, 2]` normalised 2D (and
intrinsics, for DG-Net's balanced output) to `[T, 17, 3]`.
"""

import os

import numpy as np


class Lifter:
    """`lifter(keypoints_2d [T, 17, 2], intrinsics=None) -> [T, 17, 3]`."""

    needs_intrinsics = False
    kind = ""

    def __call__(self, keypoints_2d, intrinsics=None):
        raise NotImplementedError

    def _check_intrinsics(self, intrinsics):
        if self.needs_intrinsics and intrinsics is None:
            raise ValueError("This model takes the camera intrinsics (DG-Net's balanced "
                             "output): give the focal length and principal point.")
        return None if intrinsics is None else np.asarray(intrinsics, np.float32).reshape(1, 4)


class SavedModelLifter(Lifter):
    kind = "savedmodel"

    def __init__(self, path):
        from tfpose.export import saved_model

        self.signature = saved_model.load_signature(path)
        inputs = self.signature.structured_input_signature[1]
        if "keypoints_2d" not in inputs:
            raise ValueError(f"{path}: serving_default has no 'keypoints_2d' input "
                             f"(it takes {sorted(inputs)}); not a tfpose export.")
        self.needs_intrinsics = "intrinsics" in inputs

    def __call__(self, keypoints_2d, intrinsics=None):
        import tensorflow as tf

        k = self._check_intrinsics(intrinsics)
        inputs = {"keypoints_2d": tf.constant(np.asarray(keypoints_2d, np.float32)[None])}
        if self.needs_intrinsics:
            inputs["intrinsics"] = tf.constant(k)
        return self.signature(**inputs)["poses_3d"].numpy()[0]


class KerasLifter(Lifter):
    """A `.keras` model under its own sequence protocol, or `protocol`
    (e.g. `"causal"` with `lookahead`)."""

    kind = "keras"

    def __init__(self, path, step=5, flip=True, protocol=None, lookahead=None, margin=0):
        import keras

        import tfpose.models  # noqa: F401  (registers the classes)
        from tfpose.inference import protocols
        from tfpose.models import inference_model

        model = keras.models.load_model(path, compile=False)
        try:
            protocol = protocols.resolve_protocol(model, protocol)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        model = inference_model(model)
        num_frames = protocols.window_frames(model)
        if lookahead is None:  # a TCN's own, else strictly causal
            lookahead = protocols.model_lookahead(model) or 0
        self.lifter = protocols.SequenceLifter(
            model, num_frames, step=step, flip=flip, protocol=protocol, lookahead=lookahead,
            margin=margin if protocol == "average" else 0)
        self.needs_intrinsics = self.lifter.needs_intrinsics

    def __call__(self, keypoints_2d, intrinsics=None):
        k = self._check_intrinsics(intrinsics)
        return self.lifter(keypoints_2d, intrinsics=None if k is None else k[0])


class TFLiteLifter(Lifter):
    kind = "tflite"

    def __init__(self, path, num_threads=2):
        from tfpose.export import tflite

        try:
            self.runner = tflite.Runner(path, num_threads)
        except ValueError as error:
            raise ValueError(f"{path} is not a valid TFLite model: {error}") from None
        if "keypoints_2d" not in self.runner.names:
            raise ValueError(f"{path}: no 'keypoints_2d' input; not a tfpose export.")
        self.needs_intrinsics = "intrinsics" in self.runner.names

    def __call__(self, keypoints_2d, intrinsics=None):
        k = self._check_intrinsics(intrinsics)
        x = np.asarray(keypoints_2d, np.float32)[None]
        return self.runner(x, k if self.needs_intrinsics else None)[0]


class StreamLifter(Lifter):
    """A whole sequence through an export's `stream` signature (a SavedModel
    directory or a stream `.tflite` file): the causal protocol with the
    export's lookahead (`tfpose.inference.streaming`)."""

    kind = "stream"
    needs_intrinsics = True  # accepted always: the stream signature takes them

    def __init__(self, path, lookahead=None):
        from tfpose.inference import streaming

        self.path, self.requested = path, lookahead
        self.lifter = streaming.StreamingLifter(path, lookahead=lookahead)

    def __call__(self, keypoints_2d, intrinsics=None):
        from tfpose.inference import streaming

        lifter = self.lifter
        if intrinsics is not None:
            lifter = streaming.StreamingLifter(self.path, lookahead=self.requested,
                                               intrinsics=intrinsics)
        outputs = [lifter.push(frame) for frame in np.asarray(keypoints_2d, np.float32)]
        outputs = [o for o in outputs if o is not None] + lifter.flush()
        return np.stack([o.poses_3d for o in outputs])


def load_lifter(path, protocol=None, lookahead=None):
    """A `Lifter` for a SavedModel directory, `.keras` or `.tflite` file.

    `protocol`: `None` for the model's own (an export's, built in), or
    `"causal"` with `lookahead` (default 0, a TCN's own; exports: through their
    `stream` signature, whose lookahead it must be, default theirs).
    """
    path = os.fspath(path)
    if protocol not in (None, "model", "causal") and not path.endswith(".keras"):
        raise ValueError(f"{path}: an export lifts with the protocol built into it; "
                         f"--eval_protocol={protocol} needs a .keras model.")
    if protocol == "model":
        protocol = None
    if protocol == "causal" and not path.endswith(".keras"):
        if not os.path.exists(path):
            raise FileNotFoundError(f"Model not found: {path}")
        return StreamLifter(path, lookahead)
    if os.path.isdir(path):
        return SavedModelLifter(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Model not found: {path}")
    extension = os.path.splitext(path)[1].lower()
    if extension == ".keras":
        return KerasLifter(path, protocol=protocol, lookahead=lookahead)
    if extension == ".tflite":
        return TFLiteLifter(path)
    raise ValueError(f"{path}: expected a SavedModel directory, a .keras or a .tflite file.")
