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

from tfpose import inference

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
        representative_data: for `"int8"`: an iterable of input lists (one
            array per signature input, in order), e.g. 100 windows of the
            training data.

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
    module = tf.Module()
    module.model_variables = [v.value for v in model.variables]
    keypoints = tf.TensorSpec([batch_size, num_frames, num_joints, 2], tf.float32,
                              name="keypoints_2d")
    if inference.needs_intrinsics(model):  # DG-Net's balanced output also takes the camera
        fn = tf.function(
            lambda keypoints_2d, intrinsics: {
                "poses_3d": model([keypoints_2d, intrinsics], training=False)},
            input_signature=[keypoints, tf.TensorSpec([batch_size, 4], tf.float32,
                                                      name="intrinsics")], autograph=False)
    else:
        fn = tf.function(lambda keypoints_2d: {"poses_3d": model(keypoints_2d, training=False)},
                         input_signature=[keypoints], autograph=False)
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


def run(flatbuffer, keypoints_2d, intrinsics=None, num_threads=1, interpreter_=None):
    """Runs a `.tflite` model on `[B, T, J, 2]` (and `[B, 4]` intrinsics, for
    a model that takes them) with ai-edge-litert; returns `[B, T, J, 3]`.

    Pass `interpreter_` to reuse one across calls.
    """
    it = interpreter_ or interpreter(flatbuffer, num_threads)
    inputs = {"keypoints_2d": np.asarray(keypoints_2d, np.float32)}
    if intrinsics is not None:
        inputs["intrinsics"] = np.asarray(intrinsics, np.float32)
    details = it.get_input_details()
    names = input_names(it)
    if sorted(names) != sorted(inputs):
        raise ValueError(f"The model takes {names}, got {sorted(inputs)}.")
    for detail, name in zip(details, names):
        if tuple(detail["shape"]) != inputs[name].shape:
            it.resize_tensor_input(detail["index"], inputs[name].shape, strict=False)
    it.allocate_tensors()
    for detail, name in zip(details, names):
        it.set_tensor(detail["index"], inputs[name])
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def op_names(flatbuffer):
    """Names of the ops in a TFLite model (Flex ops show as `FlexXxx`/`CUSTOM`)."""
    return sorted({op["op_name"] for op in interpreter(flatbuffer)._get_ops_details()})
