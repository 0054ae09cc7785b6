import numpy as np
import pytest
import tensorflow as tf

from tfpose import skeleton, testing
from tfpose.layers import (
    DynamicSpatialGraphConv,
    DynamicTemporalGraphConv,
    FixedSpatialGraphConv,
    FixedTemporalGraphConv,
    GraphResidualModule,
    JointEmbedding,
    SpatialNonLocal,
)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_scores(weights, centre, others):
    """Edge weights of one joint's neighbours `others [K, C]` (Table VII)."""
    if weights is None:
        return np.ones(len(others))
    if weights[0] == "fc":
        _, kernel, bias = weights
        return np.array([sigmoid(np.concatenate([centre, o]) @ kernel + bias)[0]
                         for o in others])
    _, theta, phi = weights
    logits = np.array([(centre @ theta) @ (o @ phi) for o in others])
    e = np.exp(logits - logits.max())
    return e / e.sum()


def np_neighbours(guide, i, graph, k):
    """Neighbours of joint `i`: kNN in `guide [J, C]` or a 0/1 adjacency."""
    if isinstance(graph, np.ndarray):
        return np.flatnonzero(graph[i])
    if graph == "full":
        return np.arange(len(guide))
    return np.argsort(np.linalg.norm(guide - guide[i], axis=-1))[:k]


def edge_params(edge_layer):
    if edge_layer.weighting == "none":
        return None
    if edge_layer.weighting == "fc":
        return "fc", edge_layer.fc.kernel.numpy(), edge_layer.fc.bias.numpy()
    return "eg", edge_layer.theta.kernel.numpy(), edge_layer.phi.kernel.numpy()


def np_dsg(x, kernel, bias, weights, k, graph="knn", guide=None):
    """Eq. 3-7 with loops: neighbours by feature distance (or a fixed
    graph), weighted edges."""
    guide = x if guide is None else guide
    b, t, j, c = x.shape
    out = np.zeros((b, t, j, kernel.shape[1]))
    for n in range(b):
        for f in range(t):
            for i in range(j):
                nbs = np_neighbours(guide[n, f], i, graph, k)
                w = np_scores(weights, x[n, f, i], x[n, f, nbs])
                out[n, f, i] = (w[:, None] * (x[n, f, nbs] @ kernel)).sum(0)
    return out + bias


def np_dtg(x, kc, kf, kb, bias, forward, backward, k, graph="knn", guide=None):
    """Eq. 10-14 with loops; no t+1 at the last frame, no t-1 at the first."""
    guide = x if guide is None else guide
    b, t, j, c = x.shape
    out = x @ kc + bias
    for n in range(b):
        for f in range(t):
            for i in range(j):
                for other, weights, kernel in ((f + 1, forward, kf), (f - 1, backward, kb)):
                    if not 0 <= other < t:
                        continue
                    later, earlier = max(f, other), min(f, other)
                    motion = guide[n, later] - guide[n, earlier]
                    nbs = np_neighbours(motion, i, graph, k)
                    w = np_scores(weights, x[n, f, i], x[n, other, nbs])
                    out[n, f, i] += (w[:, None] * (x[n, other, nbs] @ kernel)).sum(0)
    return out


def _randomize(layer, rng):
    for w in layer.weights:
        if w.trainable:
            w.assign(rng.normal(scale=0.5, size=w.shape).astype(np.float32))


SKELETON_GRAPH = (skeleton.H36M.adjacency() + np.eye(17) > 0).astype(int)


@pytest.mark.parametrize("graph,weighting,guided", [
    ("knn", "fc", False), ("knn", "eg", False), ("knn", "none", False), ("knn", "fc", True),
    ("full", "eg", False), ("full", "fc", False), ("static", "fc", False),
    ("static", "eg", False), ("static", "none", False),
])
def test_dynamic_spatial_matches_numpy(graph, weighting, guided):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 17, 5)).astype(np.float32)  # continuous: no distance ties
    guide = rng.normal(size=(2, 3, 17, 2)).astype(np.float32) if guided else None
    adjacency = SKELETON_GRAPH if graph == "static" else None
    layer = DynamicSpatialGraphConv(6, k=3, graph=graph, weighting=weighting,
                                    adjacency=adjacency)
    layer.build(x.shape)
    _randomize(layer, rng)
    expected = np_dsg(x, layer.kernel.numpy(), layer.bias.numpy(), edge_params(layer.edge_score),
                      k=3, graph=adjacency if graph == "static" else graph, guide=guide)
    np.testing.assert_allclose(layer(x, guide=guide), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("graph,weighting,guided", [
    ("knn", "fc", False), ("knn", "eg", False), ("knn", "fc", True), ("static", "fc", False),
    ("full", "none", False),
])
def test_dynamic_temporal_matches_numpy(graph, weighting, guided):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 17, 5)).astype(np.float32)
    guide = rng.normal(size=(2, 4, 17, 2)).astype(np.float32) if guided else None
    # The "symmetry" graph: each joint with itself and its mirror joint.
    adjacency = np.eye(17, dtype=int)
    adjacency[np.arange(17), skeleton.H36M.flip_permutation()] = 1
    adjacency = adjacency if graph == "static" else None
    layer = DynamicTemporalGraphConv(6, k=4, graph=graph, weighting=weighting,
                                     adjacency=adjacency)
    layer.build(x.shape)
    _randomize(layer, rng)
    expected = np_dtg(
        x, layer.kernel_current.numpy(), layer.kernel_forward.numpy(),
        layer.kernel_backward.numpy(), layer.bias.numpy(), edge_params(layer.forward_score),
        edge_params(layer.backward_score), k=4,
        graph=adjacency if graph == "static" else graph, guide=guide)
    np.testing.assert_allclose(layer(x, guide=guide), expected, rtol=1e-4, atol=1e-4)


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
    lambda: DynamicSpatialGraphConv(8, k=3, weighting="eg"),
    lambda: DynamicTemporalGraphConv(8, k=4, weighting="eg"),
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


def _features(channels, guide_channels=None):
    rng = np.random.default_rng(4)

    def make(batch, frames):
        x = rng.normal(size=(batch, frames, 17, channels)).astype(np.float32)
        if guide_channels is None:
            return [x], {}
        return [x], {"guide": rng.normal(size=(batch, frames, 17, guide_channels))
                     .astype(np.float32)}
    return make


# One contract run per layer class. The temporal layers run at T = 1 (no
# neighbour frames at all) and at a longer T; the variants that change the
# config (static adjacency, EG weighting, a guide input) are spread over them.
@pytest.mark.parametrize("make_layer, channels, guide, output_channels, frames", [
    (lambda: DynamicSpatialGraphConv(6, k=3, graph="static", adjacency=SKELETON_GRAPH,
                                     weighting="eg"), 5, None, 6, (3, 7)),
    (lambda: DynamicTemporalGraphConv(6, k=4), 5, None, 6, (1, 6)),
    (lambda: FixedSpatialGraphConv(6), 5, None, 6, (3, 7)),
    (lambda: FixedTemporalGraphConv(6), 5, None, 6, (1, 6)),
    (lambda: SpatialNonLocal(momentum=0.9), 6, None, 6, (3, 7)),
    (lambda: JointEmbedding(), 6, None, 6, (1, 5)),
    # kNN on a guide (the "precomputed" graph), through the residual module.
    (lambda: GraphResidualModule("dsg", 8, k=3, dropout=0.1, momentum=0.9), 8, 2, 8, (1, 6)),
], ids=["dsg_static_eg", "dtg", "fsg", "ftg", "non_local", "joint_embedding",
        "residual_dsg_guided"])
def test_layer_contract(make_layer, channels, guide, output_channels, frames, tmp_path):
    testing.run_layer_test(make_layer(), _features(channels, guide), (17, output_channels),
                           tmp_path, frames=frames)


def test_single_frame_temporal_layers_keep_only_the_current_term():
    x = np.random.default_rng(5).normal(size=(1, 1, 17, 4)).astype(np.float32)
    for layer in (DynamicTemporalGraphConv(3, use_bias=False),
                  FixedTemporalGraphConv(3, use_bias=False)):
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
                  GraphResidualModule("dsg", 8, weighting="eg"),
                  GraphResidualModule("dtg", 8, graph="static", adjacency=np.eye(17, dtype=int)),
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


def test_config_variants_round_trip_and_errors():
    # The variants of the contract runs above, as configs only.
    for layer in (DynamicSpatialGraphConv(5, k=2, weighting="none"),
                  DynamicTemporalGraphConv(5, k=3, graph="full"), SpatialNonLocal(6),
                  GraphResidualModule("dtg", 16, k=4, dropout=0.1),
                  GraphResidualModule("dsg", 8, graph="static", adjacency=SKELETON_GRAPH)):
        revived = layer.__class__.from_config(layer.get_config())
        assert revived.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="k"):
        DynamicSpatialGraphConv(4, k=18)(np.zeros((1, 1, 17, 3), np.float32))
    with pytest.raises(ValueError, match="graph"):
        DynamicSpatialGraphConv(4, graph="star")
    with pytest.raises(ValueError, match="weighting"):
        DynamicTemporalGraphConv(4, weighting="softmax")
    with pytest.raises(ValueError, match="adjacency"):
        DynamicSpatialGraphConv(4, graph="static")
    with pytest.raises(ValueError, match="adjacency"):
        DynamicSpatialGraphConv(4, graph="static", adjacency=np.eye(5))(
            np.zeros((1, 1, 17, 3), np.float32))
    with pytest.raises(ValueError, match="adjacency"):
        DynamicSpatialGraphConv(4, graph="static", adjacency=np.zeros((17, 17)))
    with pytest.raises(ValueError, match="128 input channels"):
        GraphResidualModule("fsg")(np.zeros((1, 1, 17, 64), np.float32))


def test_joint_embedding_adds_one_learned_vector_per_joint():
    layer = JointEmbedding()
    x = np.random.default_rng(6).normal(size=(2, 3, 17, 5)).astype(np.float32)
    y = layer(x).numpy()
    e = layer.embeddings.numpy()
    assert e.shape == (17, 5) and np.abs(e[1:] - e[:-1]).max() > 1e-3  # drawn, not constant
    np.testing.assert_allclose(y, x + e[None, None], rtol=1e-6, atol=1e-6)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    np.testing.assert_allclose(tape.gradient(loss, layer.embeddings).numpy(),
                               2 * (x + e).sum(axis=(0, 1)), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="known joints and channels"):
        JointEmbedding().build((None, None, None, 5))
