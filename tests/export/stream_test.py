"""The exported `stream` signature and stream.tflite against StreamingLifter."""

import numpy as np
import pytest

from tfpose import camera, testing
from tfpose.export import saved_model, tflite
from tfpose.inference import streaming
from tfpose.models import UGCN

INTRINSICS = camera.intrinsics_for(640, 480, fov_deg=70.0)
LOOKAHEAD = 2


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    # The deepest blocks are wide enough (5 x 32 x 32 weights) for the
    # converter to quantise them: it leaves kernels under 1,024 in float.
    model = testing.randomize_zero_kernels(
        UGCN(num_frames=16, down_channels=(4, 4, 4, 4, 4, 8, 8, 32, 32), merge_channels=4),
        scale=0.1, seed=3)
    directory = tmp_path_factory.mktemp("stream") / "ugcn" / "1"
    converted = saved_model.export(
        model, directory, num_frames=16, protocol="average", stream_lookahead=LOOKAHEAD,
        stream_tflite={"stream.tflite": "fp32", "stream_int8.tflite": "dynamic_int8"})
    assert {k: v[0] for k, v in converted.items()} == {"stream.tflite": "fp32",
                                                       "stream_int8.tflite": "dynamic_int8"}
    return model, directory


def _poses(lifter, frames, scores):
    outputs = [lifter.push(f, s) for f, s in zip(frames, scores)]
    assert all(o is None for o in outputs[:LOOKAHEAD])
    outputs = [o for o in outputs if o is not None] + lifter.flush()
    return {name: np.stack([getattr(o, name) for o in outputs])
            for name in ("frame", "poses_3d", "poses_3d_camera", "root_position", "filled")}


def test_signature_and_tflite_equal_streaming_lifter(export):
    model, directory = export
    rng = np.random.default_rng(0)
    frames = rng.normal(scale=0.3, size=(21, 17, 2)).astype(np.float32)
    frames[4, 7] = np.nan
    scores = np.ones((21, 17), np.float32)
    scores[10:12, 15] = 0.0
    expected = _poses(streaming.StreamingLifter(model, lookahead=LOOKAHEAD,
                                                intrinsics=INTRINSICS), frames, scores)
    assert expected["filled"].sum() == 3 and np.abs(expected["poses_3d"]).max() > 1e-2
    ops = tflite.op_names((directory / "stream.tflite").read_bytes())
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"]
    for path in (directory, directory / "stream.tflite"):
        lifter = streaming.StreamingLifter(path, intrinsics=INTRINSICS)
        assert (lifter.num_frames, lifter.lookahead) == (16, LOOKAHEAD)
        got = _poses(lifter, frames, scores)
        np.testing.assert_array_equal(got["frame"], np.arange(21))
        np.testing.assert_array_equal(got["filled"], expected["filled"])
        for name in ("poses_3d", "poses_3d_camera", "root_position"):
            np.testing.assert_allclose(got[name], expected[name], atol=1e-4, err_msg=name)


def test_int8_stream_file_streams_the_same_frames_nearly_the_same_poses(export):
    _, directory = export
    rng = np.random.default_rng(1)
    frames = rng.normal(scale=0.3, size=(21, 17, 2)).astype(np.float32)
    scores = np.ones((21, 17), np.float32)
    scores[3:5, 2] = 0.0
    expected = _poses(streaming.StreamingLifter(directory / "stream.tflite",
                                                intrinsics=INTRINSICS), frames, scores)
    quantised = (directory / "stream_int8.tflite").read_bytes()
    assert len(quantised) < 0.8 * len((directory / "stream.tflite").read_bytes())
    assert not [op for op in tflite.op_names(quantised)
                if op.startswith("Flex") or op == "CUSTOM"]
    got = _poses(streaming.StreamingLifter(directory / "stream_int8.tflite",
                                           intrinsics=INTRINSICS), frames, scores)
    np.testing.assert_array_equal(got["frame"], expected["frame"])
    np.testing.assert_array_equal(got["filled"], expected["filled"])
    # Quantised weights move the poses a little; another frame or joint
    # order would move them by about their own scale.
    scale = np.abs(expected["poses_3d"]).max()
    difference = np.abs(got["poses_3d"] - expected["poses_3d"]).max()
    assert 0 < difference < 0.05 * scale, (difference, scale)


def test_stream_quantizations_are_checked():
    with pytest.raises(ValueError, match=r"Unknown stream quantization \['int8'\]"):
        saved_model.stream_tflite_files({"stream_int8.tflite": "int8"})
    assert saved_model.stream_tflite_files("stream.tflite") == {"stream.tflite": "fp32"}
    assert saved_model.stream_tflite_files(None) == {}


def test_signature_contract(export):
    _, directory = export
    signature = saved_model.load_signature(directory, saved_model.STREAM)
    inputs = signature.structured_input_signature[1]
    assert {n: tuple(s.shape) for n, s in inputs.items()} == {
        "state": (1, 17, 17, 2), "keypoints_2d": (1, 17, 2), "intrinsics": (1, 4)}
    out = signature(state=np.zeros((1, 17, 17, 2), np.float32),
                    keypoints_2d=np.zeros((1, 17, 2), np.float32), intrinsics=INTRINSICS[None])
    assert sorted(out) == ["frame", "poses_3d", "poses_3d_camera", "root_position", "state"]
    assert int(out["frame"][0]) == -LOOKAHEAD  # frame 0's pose comes L frames later
    with pytest.raises(ValueError, match="lookahead of 2 frames, not 0"):
        streaming.StreamingLifter(directory, lookahead=0)
