"""The exported SavedModel's contract: signatures, saved_model_cli, TF
Serving request protos, TFLite parity, and all-or-nothing writes."""

import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpose import testing
from tfpose.export import saved_model, tflite
from tfpose.inference import protocols
from tfpose.models import TCN, UGCN, DGNet

SMALL_UGCN = dict(num_frames=16, down_channels=(4, 4, 4, 4, 4, 8, 8, 8, 8), merge_channels=4)
INTRINSICS = np.array([[2.29, 2.29, 0.025, -0.03]], np.float32)


def _cli():
    return str(pathlib.Path(sys.executable).parent / "saved_model_cli")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Tiny UGCN, DG-Net, balanced DG-Net and TCN, exported with their protocols."""
    base = tmp_path_factory.mktemp("exported")
    # Seeded initialisers: DG-Net's kNN graphs have near ties in a random
    # model, so the quantised files' error would vary from run to run.
    keras.utils.set_random_seed(0)
    models = {
        "ugcn": (UGCN(**SMALL_UGCN), 16, "average"),
        "causal_ugcn": (UGCN(**SMALL_UGCN, causal=True), 16, "causal"),
        "dgnet": (DGNet(num_frames=4, channels=16, num_blocks=2, multi_level=False), 4, "center"),
        "balanced": (DGNet(num_frames=4, channels=16, num_blocks=1, multi_level=False,
                           balanced=True), 4, "center"),
        "tcn": (TCN(filter_widths=(3, 3), channels=16, num_frames=9), 9, "convolutional"),
    }
    out = {}
    for name, (model, frames, protocol) in models.items():
        testing.randomize_zero_kernels(model, scale=0.05, seed=len(name))
        directory = base / name / "1"
        converted = saved_model.export(model, directory, num_frames=frames, protocol=protocol,
                                       tflite_files={"model.tflite": "fp32"},
                                       extra_files={"NOTE.md": "hello"})
        out[name] = (model, frames, protocol, directory, converted)
    return out


def _inputs(name, x):
    return {"keypoints_2d": x, **({"intrinsics": np.repeat(INTRINSICS, len(x), 0)}
                                 if name == "balanced" else {})}


@pytest.mark.parametrize("name", ["ugcn", "causal_ugcn", "dgnet", "balanced", "tcn"])
def test_serving_default_is_the_sequence_protocol(exported, name):
    model, frames, protocol, directory, _ = exported[name]
    assert protocols.own_protocol(model) == protocol
    signature = saved_model.load_signature(directory)
    lifter = protocols.SequenceLifter(model, frames, protocol=protocol, batch_size=7)
    rng = np.random.default_rng(0)
    for length in (1, 6, 23):
        x = rng.normal(scale=0.3, size=(2, length, 17, 2)).astype(np.float32)
        y = signature(**{k: tf.constant(v) for k, v in _inputs(name, x).items()})["poses_3d"]
        assert y.shape == (2, length, 17, 3)
        for b in range(2):
            expected = lifter(x[b], intrinsics=INTRINSICS[0])
            assert np.abs(expected).max() > 1e-2
            # Batches of 2 and 7 windows: oneDNN sums in other orders, so
            # float32 round-off through the deep networks reaches ~3e-5.
            np.testing.assert_allclose(y[b], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["ugcn", "causal_ugcn", "dgnet", "balanced", "tcn"])
def test_tflite_matches_serving_default(exported, name):
    _, _, _, directory, converted = exported[name]
    assert converted["model.tflite"][0] == "fp32"
    flatbuffer = (directory / "model.tflite").read_bytes()
    ops = tflite.op_names(flatbuffer)
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"]
    signature = saved_model.load_signature(directory)
    runner = tflite.Runner(flatbuffer)
    rng = np.random.default_rng(1)
    for length in (1, 5, 33, 8):  # dynamic frames, in and out of order
        inputs = _inputs(name, rng.normal(scale=0.3, size=(1, length, 17, 2)).astype(np.float32))
        expected = signature(**{k: tf.constant(v) for k, v in inputs.items()})["poses_3d"]
        got = runner(**inputs)
        if name in ("ugcn", "tcn"):
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
            continue
        # DG-Net's kNN choice is discontinuous: where two neighbours are
        # nearly tied (common in a tiny untrained network), TensorFlow and
        # TFLite, which sum in different orders, may pick different ones
        # and that joint moves. Everything else must agree to 1e-4; the
        # released (trained) DG-Net agrees everywhere (released_test.py).
        difference = np.abs(got - expected)
        assert np.median(difference) < 1e-5
        assert np.mean(difference <= 1e-4) > 0.97, np.mean(difference <= 1e-4)
        assert difference.max() < 0.05


def test_window_signature_is_the_bare_network(exported):
    model, frames, _, directory, _ = exported["ugcn"]
    window = saved_model.load_signature(directory, saved_model.WINDOW)
    assert window.structured_input_signature[1]["keypoints_2d"].shape == (1, frames, 17, 2)
    x = np.random.default_rng(2).normal(scale=0.3, size=(1, frames, 17, 2)).astype(np.float32)
    np.testing.assert_allclose(window(keypoints_2d=x)["poses_3d"], model(x), atol=1e-6)


def test_saved_model_cli_show_and_run(exported, tmp_path):
    model, frames, protocol, directory, _ = exported["ugcn"]
    shown = subprocess.run([_cli(), "show", "--dir", str(directory), "--all"],
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    text = shown.stdout
    default = text[text.index("signature_def['serving_default']"):]
    default = default[: default.index("Method name is:") + 60]
    assert "inputs['keypoints_2d'] tensor_info:" in default
    assert "dtype: DT_FLOAT" in default and "shape: (-1, -1, 17, 2)" in default
    assert "outputs['poses_3d'] tensor_info:" in default and "shape: (-1, -1, 17, 3)" in default
    assert "Method name is: tensorflow/serving/predict" in default
    for name in (saved_model.TFLITE, saved_model.WINDOW):
        assert f"signature_def['{name}']" in text

    x = np.random.default_rng(3).normal(scale=0.3, size=(2, 20, 17, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    run = subprocess.run([_cli(), "run", "--dir", str(directory), "--tag_set", "serve",
                          "--signature_def", "serving_default",
                          "--inputs", f"keypoints_2d={tmp_path / 'x.npy'}", "--outdir", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    y = np.load(out / "poses_3d.npy")
    expected = protocols.lift_sequences(model, x, num_frames=frames, protocol=protocol)
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_predict_request_protos(exported):
    from tensorflow_serving.apis import predict_pb2

    model, frames, protocol, directory, _ = exported["balanced"]
    x = np.random.default_rng(4).normal(scale=0.3, size=(3, 9, 17, 2)).astype(np.float32)
    k = np.repeat(INTRINSICS, 3, 0)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "balanced"
    request.model_spec.signature_name = "serving_default"
    request.inputs["keypoints_2d"].CopyFrom(tf.make_tensor_proto(x))
    request.inputs["intrinsics"].CopyFrom(tf.make_tensor_proto(k))
    # What the server does: decode the request, run the named signature.
    received = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    signature = saved_model.load_signature(directory, received.model_spec.signature_name)
    outputs = signature(**{name: tf.constant(tf.make_ndarray(proto))
                           for name, proto in received.inputs.items()})
    response = predict_pb2.PredictResponse()
    for name, value in outputs.items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
    answered = predict_pb2.PredictResponse.FromString(response.SerializeToString())
    y = tf.make_ndarray(answered.outputs["poses_3d"])
    assert y.dtype == np.float32 and y.shape == (3, 9, 17, 3)
    expected = protocols.lift_sequences(model, x, k, num_frames=frames, protocol=protocol)
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_extra_files_and_bad_directories(exported, tmp_path):
    _, _, _, directory, _ = exported["dgnet"]
    assert (directory / "NOTE.md").read_text() == "hello"
    with pytest.raises(ValueError, match="not a SavedModel"):
        saved_model.load_signature(tmp_path)
    with pytest.raises(ValueError, match="no signature 'predict'.*serving_default"):
        saved_model.load_signature(directory, "predict")
    with pytest.raises(FileExistsError):
        saved_model.export(exported["dgnet"][0], directory, num_frames=4, protocol="center")


def test_failed_export_leaves_nothing(exported, tmp_path):
    model = exported["ugcn"][0]
    target = tmp_path / "ugcn" / "1"
    with pytest.raises(ValueError, match="representative"):
        saved_model.export(model, target, num_frames=16, protocol="average",
                           tflite_files={"model_int8.tflite": "int8"})
    assert not target.exists() and os.listdir(tmp_path / "ugcn") == []


# Error bounds, as fractions of the output's largest coordinate: the
# median and mean over all coordinates (where a joint's kNN choice flips on
# rounding, that joint moves far, so DG-Net's maximum says nothing). fp16
# rounds weights to 11 significant bits (5e-4), measured here to move
# outputs by 5e-4 at the median and 1.4e-3 on average. These weights are
# below the converter's 1024-element minimum for int8 weights, so
# dynamic_int8 stays near float here; fp16 and real int8 weights are checked
# on the released UGCN (released_test.py). Calibrated int8 and int16x8 are
# only run: their activation ranges come from 8 random calibration windows,
# which the test input exceeds (clipping moves a few coordinates by 10% of
# the scale even at 16 bits), so no bound here would separate a good
# conversion from a bad one; docs/RESULTS.md measures them on the releases.
# DG-Net's heads subtract their root, so every joint carries the root's
# rounding too: its means are up to about 1.4x those before (5e-3).
ACCURACY = {
    ("ugcn", "int16x8"): None,
    # UGCN has no kNN choice to flip: fp16 weights move it by rounding only.
    ("ugcn", "fp16"): dict(median=2e-3, mean=3e-3),
    # DG-Net's median and mean carry the joints whose kNN neighbours flip
    # under fp16 weights (a random model has many near ties): over five
    # initialisations here 7e-4 to 3.6e-3 at the median, 2e-3 to 2.6e-2 on
    # average, and this fixture's seeded model 2.0e-2 and 3.4e-2. A broken
    # conversion is off by the output's scale. The released model, on real
    # views, is within 0.03 mm of its Keras model (its card, released_test).
    ("dgnet", "fp16"): dict(median=5e-2, mean=8e-2),
    ("dgnet", "dynamic_int8"): dict(median=2e-3, mean=7e-3),
    ("dgnet", "int8"): None,
}


@pytest.mark.parametrize("name, quantizations", [
    ("dgnet", ("fp16", "dynamic_int8", "int8")), ("ugcn", ("fp16", "int16x8"))])
def test_quantized_tflite_accuracy(exported, name, quantizations):
    _, _, _, directory, _ = exported[name]
    rng = np.random.default_rng(5)
    calibration = [[rng.normal(scale=0.3, size=(1, 40, 17, 2)).astype(np.float32)]
                   for _ in range(8)]
    x = rng.normal(scale=0.3, size=(1, 12, 17, 2)).astype(np.float32)
    expected = saved_model.load_signature(directory)(keypoints_2d=x)["poses_3d"].numpy()
    scale = np.abs(expected).max()
    assert scale > 1e-2
    for quantization in quantizations:
        flatbuffer = tflite.convert_saved_model(str(directory), saved_model.TFLITE, quantization,
                                                calibration)
        ops = tflite.op_names(flatbuffer)
        assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"]
        if quantization in ("int8", "int16x8"):
            assert "QUANTIZE" in ops
        got = tflite.run(flatbuffer, x)
        assert got.shape == expected.shape and np.isfinite(got).all()
        bounds = ACCURACY[name, quantization]
        if bounds is None:
            continue
        error = np.abs(got - expected) / scale
        measured = dict(median=np.median(error), mean=error.mean())
        for statistic, bound in bounds.items():
            assert measured[statistic] <= bound, (quantization, statistic, measured)


def test_export_refuses_a_quantization_that_does_not_run(exported, tmp_path):
    model = exported["dgnet"][0]
    rng = np.random.default_rng(6)
    calibration = [[rng.normal(scale=0.3, size=(1, 16, 17, 2)).astype(np.float32)]
                   for _ in range(4)]
    target = tmp_path / "dgnet" / "1"
    with pytest.raises(RuntimeError, match="int16x8 TFLite model converts but does not run"):
        saved_model.export(model, target, num_frames=4, protocol="center",
                           tflite_files={"model_int16x8.tflite": "int16x8"},
                           representative_data=calibration)
    assert not target.exists()
