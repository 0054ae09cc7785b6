import keras
import numpy as np
import pytest

from tfpose import inference, losses, runner
from tfpose.export import tflite
from tfpose.models import DGNet

SMALL = dict(channels=16, num_blocks=2)


def _randomize_heads(model):
    # The heads start at zero; give them weights so outputs say something.
    rng = np.random.default_rng(9)
    for layer in model.layers:
        if layer.name.endswith("head"):
            layer.kernel.assign(rng.normal(scale=0.3, size=layer.kernel.shape))
    return model


@pytest.mark.parametrize("frames", [1, 4, 27])
def test_shapes(frames):
    model = DGNet(num_frames=frames, **SMALL)
    x = np.random.default_rng(0).normal(size=(2, frames, 17, 2)).astype(np.float32)
    outputs = model(x, training=False)
    assert set(outputs) == {"network", "block_1", "block_2"}
    assert all(v.shape == (2, frames, 17, 3) for v in outputs.values())
    assert model.inference_model()(x).shape == (2, frames, 17, 3)


def test_paper_size_and_inference_model():
    model = DGNet(num_frames=4)
    count = lambda m: sum(int(np.prod(w.shape)) for w in m.trainable_weights)  # noqa: E731
    # 5 blocks of 128 channels: about 2.16M; the block heads are dropped.
    assert 2_100_000 < count(model.inference_model()) < count(model) < 2_200_000
    dynamic = [l for l in model.layers if "dsg" in l.name or "dtg" in l.name]
    assert len(dynamic) == 10 and {l.conv_1.k for l in dynamic} == {3, 4}


@pytest.mark.parametrize("graph", ["fixed", "full", "random"])
def test_ablations(graph):
    model = DGNet(num_frames=4, graph=graph, weighting="none", non_local=False,
                  multi_level=False, seed=1, **SMALL)
    x = np.zeros((1, 4, 17, 2), np.float32)
    assert model(x).shape == (1, 4, 17, 3)
    kinds = {l.kind for l in model.layers if hasattr(l, "kind")}
    assert kinds == ({"fsg", "ftg"} if graph == "fixed" else {"fsg", "dsg", "ftg", "dtg"})


def test_keras_round_trip(tmp_path):
    model = runner.build_model("dgnet", dict(num_frames=4, **SMALL),
                               dict(weight=0.0), 1e-3, head_weight=0.1)
    x = np.random.default_rng(1).normal(size=(8, 4, 17, 2)).astype(np.float32)
    y = np.random.default_rng(2).normal(size=(8, 4, 17, 3)).astype(np.float32)
    model.fit(x, {n: y for n in runner.output_names(model)}, epochs=1, verbose=0)
    path = tmp_path / "dgnet.keras"
    model.save(path)
    revived = keras.models.load_model(path)
    assert isinstance(revived, DGNet) and revived.get_config() == model.get_config()
    np.testing.assert_allclose(revived.inference_model()(x), model.inference_model()(x),
                               rtol=1e-5, atol=1e-5)
    assert isinstance(revived.loss["block_1"], losses.MotionLoss)


def test_tflite_builtin_ops_dynamic_frames():
    model = _randomize_heads(DGNet(num_frames=None, **SMALL)).inference_model()
    flatbuffer = tflite.convert(model)
    ops = tflite.op_names(flatbuffer)
    assert "TOPK_V2" in ops and "GATHER" in ops  # the kNN paths
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"]
    rng = np.random.default_rng(3)
    for frames in (1, 4, 9):
        x = rng.normal(size=(1, frames, 17, 2)).astype(np.float32)
        np.testing.assert_allclose(tflite.run(flatbuffer, x), model(x), rtol=1e-3, atol=1e-3)


def test_center_protocol_matches_window_loop():
    model = _randomize_heads(DGNet(num_frames=4, multi_level=False, **SMALL))
    x = np.random.default_rng(4).normal(size=(11, 17, 2)).astype(np.float32)
    lifter = inference.SequenceLifter(model, 4, flip=False, batch_size=3, protocol="center")
    got = lifter(x)
    padded = np.concatenate([np.repeat(x[:1], 2, 0), x, np.repeat(x[-1:], 1, 0)])
    expected = np.stack([model(padded[None, t : t + 4], training=False).numpy()[0, 2]
                         for t in range(11)])
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_tiny_training_run_loss_falls():
    from tfpose.data import synthetic
    from tfpose.data.sequence import add_virtual_cameras

    keras.utils.set_random_seed(0)
    sequences = add_virtual_cameras(synthetic.generate(6, 64, seed=0), 2)
    train_ds, _, steps = runner.train_datasets(
        sequences, [], num_frames=4, batch_size=32, stride=2, seed=0, flip=True, noise_std=0.0)
    model = runner.build_model("dgnet", dict(num_frames=4, **SMALL), dict(weight=0.0), 2e-3)
    history = model.fit(runner.match_targets(train_ds, model), epochs=5, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["network_mpjpe"][-1] < 0.85 * history["network_mpjpe"][0]
