import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpose import skeleton
from tfpose.layers import (DynamicSpatialGraphConv, DynamicTemporalGraphConv,
                           FixedSpatialGraphConv, FixedTemporalGraphConv, GraphResidualModule,
                           SpatialNonLocal)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_dsg(x, kernel, bias, score_kernel, score_bias, k):
    """Eq. 3-7 with loops: kNN by feature distance, FC importance."""
    b, t, j, c = x.shape
    out = np.zeros((b, t, j, kernel.shape[1]))
    for n in range(b):
        for f in range(t):
            for i in range(j):
                d = np.linalg.norm(x[n, f] - x[n, f, i], axis=-1)
                for nb in np.argsort(d)[:k]:
                    r = 1.0 if score_kernel is None else sigmoid(
                        np.concatenate([x[n, f, i], x[n, f, nb]]) @ score_kernel + score_bias)[0]
                    out[n, f, i] += r * x[n, f, nb] @ kernel
    return out + bias


def np_dtg(x, kc, kf, kb, bias, fw, fb, bw, bb, k):
    """Eq. 10-14 with loops; no t+1 at the last frame, no t-1 at the first."""
    b, t, j, c = x.shape
    out = x @ kc + bias
    for n in range(b):
        for f in range(t):
            for i in range(j):
                if f + 1 < t:
                    motion = x[n, f + 1] - x[n, f]
                    d = np.linalg.norm(motion - motion[i], axis=-1)
                    for nb in np.argsort(d)[:k]:
                        h = sigmoid(np.concatenate([x[n, f, i], x[n, f + 1, nb]]) @ fw + fb)[0]
                        out[n, f, i] += h * x[n, f + 1, nb] @ kf
                if f > 0:
                    motion = x[n, f] - x[n, f - 1]
                    d = np.linalg.norm(motion - motion[i], axis=-1)
                    for nb in np.argsort(d)[:k]:
                        h = sigmoid(np.concatenate([x[n, f, i], x[n, f - 1, nb]]) @ bw + bb)[0]
                        out[n, f, i] += h * x[n, f - 1, nb] @ kb
    return out


def _randomize(layer, rng):
    for w in layer.weights:
        if w.trainable:
            w.assign(rng.normal(scale=0.5, size=w.shape).astype(np.float32))


@pytest.mark.parametrize("weighting", ["fc", "none"])
def test_dynamic_spatial_matches_numpy(weighting):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 17, 5)).astype(np.float32)  # continuous: no distance ties
    layer = DynamicSpatialGraphConv(6, k=3, weighting=weighting)
    layer.build(x.shape)
    _randomize(layer, rng)
    score = (layer.edge_score.kernel.numpy(), layer.edge_score.bias.numpy()) if weighting == "fc" \
        else (None, None)
    expected = np_dsg(x, layer.kernel.numpy(), layer.bias.numpy(), *score, k=3)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-4)


def test_dynamic_temporal_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 17, 5)).astype(np.float32)
    layer = DynamicTemporalGraphConv(6, k=4)
    layer.build(x.shape)
    _randomize(layer, rng)
    expected = np_dtg(
        x, layer.kernel_current.numpy(), layer.kernel_forward.numpy(),
        layer.kernel_backward.numpy(), layer.bias.numpy(),
        layer.forward_score.kernel.numpy(), layer.forward_score.bias.numpy(),
        layer.backward_score.kernel.numpy(), layer.backward_score.bias.numpy(), k=4)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-4)


def test_fixed_layers_match_numpy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 17, 4)).astype(np.float32)
    fsg = FixedSpatialGraphConv(3)
    fsg.build(x.shape)
    a = skeleton.normalized_adjacency()
    np.testing.assert_allclose(fsg(x), np.einsum("ij,btjc->btic", a, x @ fsg.kernel.numpy()),
                               rtol=1e-5, atol=1e-5)
    ftg = FixedTemporalGraphConv(3)
    ftg.build(x.shape)
    _randomize(ftg, rng)
    kc, kf, kb, bias = (w.numpy() for w in ftg.weights)
    padded = np.pad(x, [(0, 0), (1, 1), (0, 0), (0, 0)])  # zero padding = absent neighbours
    expected = padded[:, 1:-1] @ kc + padded[:, 2:] @ kf + padded[:, :-2] @ kb + bias
    np.testing.assert_allclose(ftg(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer_fn", [
    lambda: DynamicSpatialGraphConv(8, k=3),
    lambda: DynamicTemporalGraphConv(8, k=4),
    lambda: DynamicSpatialGraphConv(8, k=3, graph="full"),
    lambda: SpatialNonLocal(),
])
def test_equivariant_to_joint_permutations(layer_fn):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 4, 17, 8)).astype(np.float32)
    layer = layer_fn()
    layer.build(x.shape)
    perm = rng.permutation(17)
    np.testing.assert_allclose(layer(x[:, :, perm]).numpy(), layer(x).numpy()[:, :, perm],
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("frames", [1, 4, 27])
def test_shapes_for_any_number_of_frames(frames):
    x = np.random.default_rng(4).normal(size=(2, frames, 17, 8)).astype(np.float32)
    for layer in (DynamicSpatialGraphConv(8), DynamicTemporalGraphConv(8),
                  FixedTemporalGraphConv(8), GraphResidualModule("dtg", 8, k=4),
                  GraphResidualModule("dsg", 8), SpatialNonLocal()):
        assert layer(x).shape == (2, frames, 17, 8)


def test_single_frame_temporal_layers_keep_only_the_current_term():
    x = np.random.default_rng(5).normal(size=(1, 1, 17, 4)).astype(np.float32)
    for layer in (DynamicTemporalGraphConv(3, use_bias=False), FixedTemporalGraphConv(3, use_bias=False)):
        y = layer(x).numpy()
        np.testing.assert_allclose(y, x @ layer.kernel_current.numpy(), rtol=1e-5, atol=1e-6)


def test_random_and_full_graph_ablations():
    x = np.random.default_rng(6).normal(size=(1, 2, 17, 4)).astype(np.float32)
    full = DynamicSpatialGraphConv(3, graph="full", weighting="none", use_bias=False)
    y = full(x).numpy()
    np.testing.assert_allclose(y, np.broadcast_to((x @ full.kernel.numpy()).sum(2, keepdims=True),
                                                  y.shape), rtol=1e-4, atol=1e-5)
    random_graph = DynamicSpatialGraphConv(3, k=2, graph="random", seed=1)
    assert random_graph(x).shape == (1, 2, 17, 3)


def test_gradients_reach_every_weight():
    x = tf.constant(np.random.default_rng(7).normal(size=(2, 4, 17, 8)), tf.float32)
    for layer in (GraphResidualModule("dsg", 8), GraphResidualModule("dtg", 8, k=4),
                  GraphResidualModule("fsg", 8), GraphResidualModule("ftg", 8),
                  SpatialNonLocal()):
        layer.build(x.shape)
        if isinstance(layer, SpatialNonLocal):
            # It starts as the identity (zero BN scale), which blocks the
            # gradient of its projections until the scale moves.
            layer.norm.gamma.assign(np.ones(layer.norm.gamma.shape))
        with tf.GradientTape() as tape:
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.square(y - 0.1))
        grads = tape.gradient(loss, layer.trainable_weights)
        for w, g in zip(layer.trainable_weights, grads):
            assert g is not None and np.isfinite(g.numpy()).all(), w.path
            assert np.abs(g.numpy()).sum() > 0, w.path


def test_configs_round_trip_and_errors():
    for layer in (DynamicSpatialGraphConv(5, k=2, weighting="none"),
                  DynamicTemporalGraphConv(5, k=3, graph="full"), FixedSpatialGraphConv(4),
                  FixedTemporalGraphConv(4), SpatialNonLocal(6),
                  GraphResidualModule("dtg", 16, k=4, dropout=0.1)):
        revived = layer.__class__.from_config(layer.get_config())
        assert revived.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="k"):
        DynamicSpatialGraphConv(4, k=18)(np.zeros((1, 1, 17, 3), np.float32))
    with pytest.raises(ValueError, match="graph"):
        DynamicSpatialGraphConv(4, graph="star")
    with pytest.raises(ValueError, match="weighting"):
        DynamicTemporalGraphConv(4, weighting="softmax")
    with pytest.raises(ValueError, match="128 input channels"):
        GraphResidualModule("fsg")(np.zeros((1, 1, 17, 64), np.float32))
