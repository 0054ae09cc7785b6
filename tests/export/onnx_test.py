"""ONNX export through tf2onnx, checked against onnxruntime (optional extra)."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose import testing
from tfpose.export import saved_model
from tfpose.models import UGCN, DGNet

pytest.importorskip("tf2onnx", reason="ONNX export is an optional extra: pip install -e .[onnx]")
pytest.importorskip("onnxruntime", reason="onnxruntime is part of the [onnx] extra")


@pytest.mark.parametrize("name", ["ugcn", "dgnet"])
def test_onnx_matches_serving(name, tmp_path):
    from tfpose.export import onnx

    if name == "ugcn":
        model, frames, protocol = UGCN(num_frames=16, down_channels=(4, 4, 4, 4, 4, 8, 8, 8, 8),
                                       merge_channels=4), 16, "average"
    else:
        model, frames, protocol = DGNet(num_frames=4, channels=16, num_blocks=1,
                                        multi_level=False), 4, "center"
    testing.randomize_zero_kernels(model, scale=0.05)
    directory = tmp_path / name / "1"
    saved_model.export(model, directory, num_frames=frames, protocol=protocol)
    path = onnx.convert(directory, tmp_path / f"{name}.onnx")
    signature = saved_model.load_signature(directory)
    rng = np.random.default_rng(0)
    for length in (3, 21):
        x = rng.normal(scale=0.3, size=(1, length, 17, 2)).astype(np.float32)
        expected = signature(keypoints_2d=tf.constant(x))["poses_3d"].numpy()
        np.testing.assert_allclose(onnx.run(path, x), expected, atol=1e-4)
