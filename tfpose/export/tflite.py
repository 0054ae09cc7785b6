"""TFLite conversion with builtin ops only, and running `.tflite` files."""

import tempfile

import keras
import numpy as np
import tensorflow as tf

SIGNATURE = "serve_tflite"


def convert(model, num_frames=None, batch_size=1, num_joints=17):
    """Converts a Keras model to a TFLite flatbuffer (fp32).

    Only TFLite's builtin ops are allowed, so a model that would need the
    Flex delegate (which pip's interpreters cannot run) fails here, loudly,
    rather than on the device. `num_frames=None` keeps the time axis
    dynamic: resize the interpreter's input to any length before running.
    The model goes through a temporary SavedModel, which freezes its
    variables (a converted concrete function keeps them as resource
    variables that the interpreter leaves uninitialised).

    Returns:
        the `.tflite` file contents, bytes.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    keypoints = tf.TensorSpec([batch_size, num_frames, num_joints, 2], tf.float32,
                              name="keypoints_2d")
    if len(model.inputs) == 2:  # DG-Net's balanced output also takes the camera
        archive.add_endpoint(
            SIGNATURE,
            lambda keypoints_2d, intrinsics: {
                "poses_3d": model([keypoints_2d, intrinsics], training=False)},
            input_signature=[keypoints, tf.TensorSpec([batch_size, 4], tf.float32,
                                                      name="intrinsics")],
        )
    else:
        archive.add_endpoint(
            SIGNATURE,
            lambda keypoints_2d: {"poses_3d": model(keypoints_2d, training=False)},
            input_signature=[keypoints],
        )
    with tempfile.TemporaryDirectory() as directory:
        archive.write_out(directory, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(directory,
                                                             signature_keys=[SIGNATURE])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return converter.convert()


def _interpreter(flatbuffer, num_threads=1):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=flatbuffer, num_threads=num_threads)


def run(flatbuffer, keypoints_2d, intrinsics=None, num_threads=1):
    """Runs a `.tflite` model on `[B, T, J, 2]` (and `[B, 4]` intrinsics, for
    a model that takes them) with ai-edge-litert."""
    interpreter = _interpreter(flatbuffer, num_threads)
    inputs = {"keypoints_2d": np.asarray(keypoints_2d, np.float32)}
    if intrinsics is not None:
        inputs["intrinsics"] = np.asarray(intrinsics, np.float32)
    details = interpreter.get_input_details()
    if len(details) != len(inputs):
        raise ValueError(f"The model takes {len(details)} inputs, got {sorted(inputs)}.")
    for detail in details:
        name = "intrinsics" if "intrinsics" in detail["name"] else "keypoints_2d"
        interpreter.resize_tensor_input(detail["index"], inputs[name].shape, strict=False)
    interpreter.allocate_tensors()
    for detail in details:
        name = "intrinsics" if "intrinsics" in detail["name"] else "keypoints_2d"
        interpreter.set_tensor(detail["index"], inputs[name])
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def op_names(flatbuffer):
    """Names of the ops in a TFLite model (Flex ops show as `FlexXxx`/`CUSTOM`)."""
    return sorted({op["op_name"] for op in _interpreter(flatbuffer)._get_ops_details()})
