import keras
import numpy as np
import pytest

from tfpose import losses, skeleton
from tfpose.export import tflite
from tfpose.inference import protocols
from tfpose.layers.balanced_coordinates import balance
from tfpose.models import DGNet, dgnet
from tfpose.training import runner

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


def test_documented_size_and_inference_model(documented):
    model = DGNet(num_frames=4)
    count = lambda m: sum(int(np.prod(w.shape)) for w in m.trainable_weights)  # noqa: E731
    inference, training = documented(r"keeps the network head only: ([\d,]+) trainable "
                                     r"parameters at inference, ([\d,]+) with the block heads")
    assert count(model.inference_model()) == inference
    assert count(model) == training


def _dynamic_convs(model):
    """`(module name, kind, conv)` for both convolutions of every DSG and DTG module."""
    return [(layer.name, layer.kind, conv) for layer in model.layers
            if getattr(layer, "kind", "") in ("dsg", "dtg")
            for conv in (layer.conv_1, layer.conv_2)]


@pytest.mark.parametrize("k_spatial, k_temporal", [(None, None), (2, 5)])
def test_k_of_every_dsg_and_dtg_layer(k_spatial, k_temporal):
    # Checked layer by layer: a DSG with DTG's K (or the reverse) must fail,
    # as must a K that ignores the argument. Table VI: K = 3 in DSG, 4 in DTG.
    ks = {} if k_spatial is None else dict(k_spatial=k_spatial, k_temporal=k_temporal)
    model = DGNet(num_frames=4, channels=8, num_blocks=2, **ks)
    expected = {"dsg": k_spatial or 3, "dtg": k_temporal or 4}
    convs = _dynamic_convs(model)
    # One DSG module and one DTG module per block, two convolutions each.
    assert sorted(kind for _, kind, _ in convs) == ["dsg"] * 4 + ["dtg"] * 4
    for name, kind, conv in convs:
        assert type(conv).__name__ == {"dsg": "DynamicSpatialGraphConv",
                                       "dtg": "DynamicTemporalGraphConv"}[kind], name
        assert conv.k == conv.get_config()["k"] == expected[kind], (name, conv.k)


@pytest.mark.parametrize("graph", ["dynamic", "precomputed", "fixed", "symmetry", "full",
                                   "random"])
@pytest.mark.parametrize("weighting", ["fc", "eg", "none"])
def test_graph_and_weighting_ablations(graph, weighting):
    model = DGNet(num_frames=4, graph=graph, weighting=weighting, non_local=False,
                  multi_level=False, seed=1, channels=8, num_blocks=1)
    x = np.random.default_rng(0).normal(size=(1, 4, 17, 2)).astype(np.float32)
    assert model(x).shape == (1, 4, 17, 3)
    convs = [layer.conv_1 for layer in model.layers if getattr(layer, "kind", "") in ("dsg", "dtg")]
    assert len(convs) == 2 and {c.weighting for c in convs} == {weighting}
    expected = {"dynamic": "knn", "precomputed": "knn", "fixed": "static",
                "symmetry": "static", "full": "full", "random": "random"}[graph]
    assert {c.graph for c in convs} == {expected}


def test_static_graphs():
    parents, mirror = skeleton.H36M.parents, skeleton.H36M.flip_permutation()
    fixed = np.array(dgnet.static_adjacency("fixed", parents, mirror, temporal=False))
    np.testing.assert_array_equal(fixed, skeleton.H36M.adjacency() + np.eye(17))
    np.testing.assert_array_equal(
        dgnet.static_adjacency("fixed", parents, mirror, temporal=True), np.eye(17))
    symmetry = np.array(dgnet.static_adjacency("symmetry", parents, mirror, temporal=False))
    assert symmetry[1, 4] == symmetry[4, 1] == 1 and symmetry[0].sum() == 1  # hips; pelvis


def test_precomputed_graph_comes_from_the_2d_input():
    model = DGNet(num_frames=4, graph="precomputed", non_local=False, multi_level=False,
                  channels=8, num_blocks=1)
    dsg = next(layer for layer in model.layers if getattr(layer, "kind", "") == "dsg")
    # The layer is called with the model input as its guide.
    node = dsg._inbound_nodes[0]
    assert node.arguments.kwargs["guide"] is model.inputs[0]


@pytest.mark.parametrize("spatial,temporal", [
    (["fsg"], []), (["fsg", "dsg", "fsg"], ["ftg"]), (["fsg", "dsg"], ["ftg", "dtg", "dtg"]),
])
def test_unit_composition(spatial, temporal):
    model = DGNet(num_frames=4, spatial_unit=spatial, temporal_unit=temporal, multi_level=False,
                  channels=8, num_blocks=2)
    kinds = [layer.kind for layer in model.layers if hasattr(layer, "kind")]
    assert kinds == 2 * (spatial + temporal)
    non_local = [layer.name for layer in model.layers if "non_local" in layer.name]
    assert len(non_local) == 2 * (1 + bool(temporal))
    assert model(np.zeros((1, 4, 17, 2), np.float32)).shape == (1, 4, 17, 3)
    with pytest.raises(ValueError, match="spatial_unit"):
        DGNet(spatial_unit=["ftg"])
    with pytest.raises(ValueError, match="temporal_unit"):
        DGNet(temporal_unit=["dsg"])
    with pytest.raises(ValueError, match="weighting"):
        DGNet(weighting="softmax")


def _intrinsics(batch):
    return np.tile(np.array([[2.29, 2.29, 0.025, -0.03]], np.float32), (batch, 1))


def test_balanced_output():
    model = _randomize_heads(DGNet(num_frames=4, balanced=True, **SMALL))
    assert [i.name for i in model.inputs] == ["keypoints_2d", "intrinsics"]
    x = np.random.default_rng(5).normal(scale=0.2, size=(2, 4, 17, 2)).astype(np.float32)
    k = _intrinsics(2)
    outputs = model([x, k], training=False)
    plain = keras.Model(model.inputs, model.get_layer("network_head").output)([x, k])
    np.testing.assert_allclose(outputs["network"], balance(plain, x, k), rtol=1e-5, atol=1e-6)
    inference_model = model.inference_model()
    np.testing.assert_allclose(inference_model([x, k]), outputs["network"], atol=1e-6)
    lifter = protocols.SequenceLifter(inference_model, 4, batch_size=8, protocol="center")
    assert lifter.needs_intrinsics
    assert lifter(x[0], intrinsics=k[0]).shape == (4, 17, 3)
    with pytest.raises(ValueError, match="intrinsics"):
        lifter(x[0])


def test_keras_round_trip(tmp_path):
    # One block: building the training step costs about 10 ms per weight
    # here (Adam's slots and updates); the five-block path loads in released_test.
    model = runner.build_model("dgnet", dict(num_frames=4, **dict(SMALL, num_blocks=1)),
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


def test_tflite_balanced_eg_takes_intrinsics():
    model = _randomize_heads(DGNet(num_frames=None, balanced=True, weighting="eg",
                                   **SMALL)).inference_model()
    flatbuffer = tflite.convert(model)
    ops = tflite.op_names(flatbuffer)
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"]
    x = np.random.default_rng(6).normal(scale=0.2, size=(1, 5, 17, 2)).astype(np.float32)
    k = _intrinsics(1)
    np.testing.assert_allclose(tflite.run(flatbuffer, x, intrinsics=k), model([x, k]),
                               rtol=1e-3, atol=1e-3)


def test_center_protocol_matches_window_loop():
    model = _randomize_heads(DGNet(num_frames=4, multi_level=False, **SMALL))
    x = np.random.default_rng(4).normal(size=(11, 17, 2)).astype(np.float32)
    lifter = protocols.SequenceLifter(model, 4, flip=False, batch_size=3, protocol="center")
    got = lifter(x)
    padded = np.concatenate([np.repeat(x[:1], 2, 0), x, np.repeat(x[-1:], 1, 0)])
    expected = np.stack([model(padded[None, t : t + 4], training=False).numpy()[0, 2]
                         for t in range(11)])
    expected[:, 0] = 0.0  # the root's output is zeroed
    assert np.abs(expected).max() > 0.1
    # (float32: the root-relative outputs differ from large head outputs)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


# Balanced only: the plain DG-Net trains in tests/training/distribute_test.py (under
# mixed precision); one more DG-Net training graph costs half a minute.
@pytest.mark.parametrize("balanced", [True])
def test_tiny_training_run_loss_falls(balanced):
    from tfpose.data import synthetic
    from tfpose.data.sequence import add_virtual_cameras

    keras.utils.set_random_seed(0)
    sequences = add_virtual_cameras(synthetic.generate(6, 64, seed=0), 2)
    model_kwargs = dict(num_frames=4, balanced=balanced, **SMALL)
    make_train, _, steps = runner.train_datasets(
        sequences, [], num_frames=4, batch_size=32, stride=2, seed=0, flip=True, noise_std=0.0,
        intrinsics=balanced)
    model = runner.build_model("dgnet", model_kwargs, dict(weight=0.0), 2e-3)
    history = model.fit(runner.match_targets(make_train(), model), epochs=5,
                        steps_per_epoch=steps, verbose=0, shuffle=False).history
    assert np.isfinite(history["loss"]).all()
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["network_mpjpe"][-1] < 0.85 * history["network_mpjpe"][0]
    summary = runner.evaluate_model(model, sequences[:1], 4, flip=True, protocol="center")
    assert summary["num_frames"] == 128 and np.isfinite(summary["average"]["mpjpe"])


def test_heads_are_root_relative_and_old_configs_keep_their_outputs(tmp_path):
    model = _randomize_heads(DGNet(num_frames=4, **SMALL))
    x = np.random.default_rng(5).normal(size=(3, 4, 17, 2)).astype(np.float32)
    outputs = model(x, training=False)
    raw = DGNet(num_frames=4, root_relative=False, **SMALL)
    raw.set_weights(model.get_weights())  # no weights of its own: the same heads
    raw_outputs = raw(x, training=False)
    for name, pose in outputs.items():
        head = raw_outputs[name].numpy()
        assert np.abs(head[..., 0, :]).max() > 1e-2  # the head alone misses the root
        np.testing.assert_allclose(pose.numpy(), head - head[..., :1, :], rtol=1e-5,
                                   atol=1e-5 * np.abs(head).max())
    # A config saved before the option existed rebuilds the model it described.
    config = model.get_config()
    assert config["root_relative"] is True
    del config["root_relative"]
    assert DGNet.from_config(config).root_relative is False
    path = str(tmp_path / "dgnet.keras")
    model.save(path)
    np.testing.assert_array_equal(keras.models.load_model(path)(x)["network"],
                                  outputs["network"])


def test_batch_norms_use_pytorch_momentum_and_old_configs_keep_keras_default():
    model = DGNet(num_frames=4, **SMALL)
    norms = [layer for layer in model._flatten_layers()
             if isinstance(layer, keras.layers.BatchNormalization)]
    # embedding + 2 per residual module (5 per block) + 1 per non-local block (2 per block)
    assert len(norms) == 1 + SMALL["num_blocks"] * (2 * 5 + 2)
    assert {norm.momentum for norm in norms} == {0.9}
    # One training step moves the moving mean a tenth of the way to the batch mean.
    x = np.random.default_rng(3).normal(size=(8, 4, 17, 2)).astype(np.float32)
    embedded = keras.Model(model.inputs, model.get_layer("joint_embedding").output)(x).numpy()
    model(x, training=True)
    np.testing.assert_allclose(model.get_layer("embedding_norm").moving_mean.numpy(),
                               0.1 * embedded.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-6)
    config = model.get_config()
    assert config["momentum"] == 0.9
    revived = DGNet.from_config(config)
    assert {n.momentum for n in revived._flatten_layers()
            if isinstance(n, keras.layers.BatchNormalization)} == {0.9}
    del config["momentum"]
    old = DGNet.from_config(config)
    assert old.momentum == 0.99
    assert {n.momentum for n in old._flatten_layers()
            if isinstance(n, keras.layers.BatchNormalization)} == {0.99}


def test_joint_embedding_breaks_left_right_swap_equivariance():
    # Shared kernels on a left/right symmetric graph: swapping the left and
    # right joints of the input swaps them in the output, whatever the
    # weights; the joint embedding is what lets the network tell them apart.
    mirror = list(skeleton.H36M.flip_permutation())
    x = np.random.default_rng(7).normal(size=(2, 4, 17, 2)).astype(np.float32)
    gaps = {}
    for embedded in (False, True):
        model = _randomize_heads(DGNet(num_frames=4, graph="fixed", joint_embedding=embedded,
                                       **SMALL))
        y = model(x, training=False)["network"].numpy()
        swapped = model(x[:, :, mirror], training=False)["network"].numpy()
        gaps[embedded] = np.abs(swapped - y[:, :, mirror]).max() / np.abs(y).max()
    assert gaps[False] < 1e-5 and gaps[True] > 0.05
    config = DGNet(num_frames=4, **SMALL).get_config()
    assert config["joint_embedding"] is True
    del config["joint_embedding"]
    old = DGNet.from_config(config)
    assert old.joint_embedding is False
    assert not any(layer.name == "joint_embedding" for layer in old.layers)
