"""TFLite conversion with builtin ops only, and running `.tflite` files.

Quantisation modes (`QUANTIZATIONS`):

- `"fp32"`: float weights and activations;
- `"fp16"`: float16 weights, dequantised at load (half the size);
- `"dynamic_int8"`: int8 weights, activations quantised on the fly;
- `"int8"`: int8 weights and activations, ranges calibrated on a
  representative dataset; input and output stay float32 (the model
  quantises and dequantises at its ends); ops without an int8 kernel stay
  float. 8-bit activations are too coarse for these regressors: on HDM05
  the lifted poses move by tens to hundreds of millimetres (docs/RESULTS.md);
- `"int16x8"`: int8 weights and int16 activations, calibrated the same way.
  Runs for UGCN; DG-Net's converts, but ai-edge-litert has no int16 kernel
  for the squared differences of its kNN distances.
"""

import tempfile

import numpy as np
import tensorflow as tf

from tfpose.export import signatures

SIGNATURE = "serve_tflite"
QUANTIZATIONS = ("fp32", "fp16", "dynamic_int8", "int8", "int16x8")


def convert_saved_model(directory, signature_key=SIGNATURE, quantization="fp32",
                        representative_data=None):
    """Converts one signature of a SavedModel to a TFLite flatbuffer.

    Only TFLite's builtin ops are allowed, so a model that would need the
    Flex delegate (which pip's interpreters cannot run) fails here, loudly,
    rather than on the device.

    Args:
        directory: the SavedModel.
        signature_key: which signature.
        quantization: one of `QUANTIZATIONS`.
        representative_data: for `"int8"` and `"int16x8"`: an iterable of
            input lists (one array per signature input, in order), e.g.
            `tfpose.export.calibration.representative_data`.

    Returns:
        the `.tflite` file contents, bytes.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"Unknown quantization {quantization!r}; expected one of "
                         f"{QUANTIZATIONS}.")
    converter = tf.lite.TFLiteConverter.from_saved_model(directory,
                                                         signature_keys=[signature_key])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantization in ("int8", "int16x8"):
        if representative_data is None:
            raise ValueError(f"{quantization} quantization needs `representative_data` to "
                             "calibrate.")
        data = list(representative_data)
        converter.representative_dataset = lambda: ([np.asarray(a, np.float32) for a in item]
                                                    for item in data)
        integer_ops = (tf.lite.OpsSet.TFLITE_BUILTINS_INT8 if quantization == "int8" else
                       tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8)
        converter.target_spec.supported_ops = [integer_ops, tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def convert(model, num_frames=None, batch_size=1, num_joints=17, quantization="fp32",
            representative_data=None):
    """Converts a Keras model (one window: `[batch_size, num_frames, J, 2]`,
    `num_frames=None` for any) through a temporary SavedModel, which freezes
    its variables (a converted concrete function keeps them as resource
    variables that the interpreter leaves uninitialised)."""
    module = signatures.variables_module(model)
    fn = signatures.window_signature(model, batch=batch_size, frames=num_frames,
                                     num_joints=num_joints)
    module.serve = fn
    with tempfile.TemporaryDirectory() as directory:
        tf.saved_model.save(module, directory, signatures={SIGNATURE: fn})
        return convert_saved_model(directory, SIGNATURE, quantization, representative_data)


def interpreter(flatbuffer, num_threads=1):
    """An ai-edge-litert interpreter for `.tflite` bytes or a file path."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(flatbuffer, (bytes, bytearray)):
        return Interpreter(model_content=bytes(flatbuffer), num_threads=num_threads)
    return Interpreter(model_path=str(flatbuffer), num_threads=num_threads)


def signature_runner(flatbuffer, signature_key, num_threads=1):
    """A callable running one signature of a multi-input `.tflite` file by
    input name (`runner(state=..., keypoints_2d=...) -> {name: array}`),
    or a clear error for a file without it."""
    it = interpreter(flatbuffer, num_threads)
    signatures = it.get_signature_list()
    if signature_key not in signatures:
        raise ValueError(f"The TFLite file has no {signature_key!r} signature (it has "
                         f"{sorted(signatures)}); a stream needs the stream file "
                         "(stream.tflite) that scripts/export.py writes.")
    return it.get_signature_runner(signature_key)


def input_names(flatbuffer_or_interpreter):
    """The model's inputs, `["keypoints_2d"]` or `["keypoints_2d", "intrinsics"]`."""
    it = flatbuffer_or_interpreter
    if isinstance(it, (bytes, bytearray, str)):
        it = interpreter(it)
    return ["intrinsics" if "intrinsics" in d["name"] else "keypoints_2d"
            for d in it.get_input_details()]


class Runner:
    """A `.tflite` lifter (bytes or a path) called with arrays by input name:
    `runner(keypoints_2d [B, T, J, 2], intrinsics [B, 4] or None) -> [B, T, J, 3]`.

    The one place tfpose drives a TFLite interpreter for whole windows or
    sequences (export checks, lifters, benchmarks): tensors are resized and
    reallocated only when an input's shape changes, so repeated calls of
    one shape cost the invoke alone.
    """

    def __init__(self, flatbuffer, num_threads=1):
        self.interpreter = interpreter(flatbuffer, num_threads)
        self.names = input_names(self.interpreter)
        self._indices = [d["index"] for d in self.interpreter.get_input_details()]
        self._output = self.interpreter.get_output_details()[0]["index"]
        self._shapes = None

    def __call__(self, keypoints_2d, intrinsics=None):
        inputs = {"keypoints_2d": np.asarray(keypoints_2d, np.float32)}
        if intrinsics is not None:
            inputs["intrinsics"] = np.asarray(intrinsics, np.float32)
        if sorted(self.names) != sorted(inputs):
            raise ValueError(f"The model takes {self.names}, got {sorted(inputs)}.")
        shapes = [inputs[name].shape for name in self.names]
        if shapes != self._shapes:
            for index, shape in zip(self._indices, shapes):
                self.interpreter.resize_tensor_input(index, shape, strict=False)
            self.interpreter.allocate_tensors()
            self._shapes = shapes
        for index, name in zip(self._indices, self.names):
            self.interpreter.set_tensor(index, inputs[name])
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output)


def run(flatbuffer, keypoints_2d, intrinsics=None, num_threads=1):
    """One call of `Runner` (reuse a `Runner` for many)."""
    return Runner(flatbuffer, num_threads)(keypoints_2d, intrinsics)


def op_names(flatbuffer):
    """Names of the ops in a TFLite model (Flex ops show as `FlexXxx`/`CUSTOM`)."""
    return sorted({op["op_name"] for op in interpreter(flatbuffer)._get_ops_details()})
