"""ONNX export of an exported SavedModel through tf2onnx (optional extra:
`pip install -e ".[onnx]"`), run with onnxruntime.

The ONNX model is converted from the `serve_tflite` signature: whole
sequences, batch 1, any number of frames, the sequence protocol inside.
"""

import os
import subprocess
import sys

import numpy as np

from tfpose import fileio
from tfpose.export import saved_model


def convert(export_dir, path, opset=17, signature=saved_model.TFLITE):
    """Converts a SavedModel signature to an `.onnx` file (written atomically)."""
    try:
        import tf2onnx  # noqa: F401
    except ImportError:
        raise ImportError("ONNX export needs tf2onnx: pip install -e \".[onnx]\"") from None
    saved_model.load_signature(export_dir, signature)  # a clear error if it is missing
    with fileio.atomic_path(path) as temporary:
        # tf2onnx's own SavedModel loader (its Python API wants a tf.function).
        result = subprocess.run(
            [sys.executable, "-m", "tf2onnx.convert", "--saved-model", os.fspath(export_dir),
             "--signature_def", signature, "--opset", str(opset), "--output", temporary],
            capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"tf2onnx failed:\n{result.stderr[-3000:]}")
    return os.fspath(path)


def run(path, keypoints_2d, intrinsics=None):
    """Runs an `.onnx` lifter with onnxruntime: `[1, T, 17, 2]` -> `[1, T, 17, 3]`."""
    import onnxruntime

    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    feeds = {}
    for item in session.get_inputs():
        value = intrinsics if "intrinsics" in item.name else keypoints_2d
        if value is None:
            raise ValueError(f"{path} takes {item.name!r}.")
        feeds[item.name] = np.asarray(value, np.float32)
    return session.run(None, feeds)[0]
