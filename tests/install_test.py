"""The install leaves one TensorFlow and consistent requirements."""

import importlib.metadata
import subprocess
import sys

TENSORFLOW_DISTRIBUTIONS = {
    "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel",
    "tensorflow-macos", "tf-nightly", "tf-nightly-cpu", "tensorflow-aarch64",
}


def test_exactly_one_tensorflow():
    installed = {
        dist.metadata["Name"].lower().replace("_", "-")
        for dist in importlib.metadata.distributions()
    }
    assert len(installed & TENSORFLOW_DISTRIBUTIONS) == 1, installed & TENSORFLOW_DISTRIBUTIONS


def test_pip_check_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_tensorflow_addons_is_never_imported():
    # tensorflow-graphics depends on it, but it fails under Keras 3.
    code = (
        "import sys, tfpose.camera, tfpose.data.pipeline, tfpose.metrics;"
        "sys.exit('tensorflow_addons' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
