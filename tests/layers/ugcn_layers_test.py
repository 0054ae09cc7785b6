import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpose import skeleton, testing
from tfpose.layers import SpatialGraphConv, STGCNBlock, TemporalUpsample


def np_spatial_graph_conv(x, kernel, bias, parents):
    """Eq. 9 with plain loops: subsets by hop distance, 1/Z per subset."""
    tree = skeleton.Skeleton(tuple(map(str, range(len(parents)))), tuple(parents), (), ())
    hops = tree.hop_distance()
    adjacency = tree.adjacency(self_loops=True)
    b, t, j, c = x.shape
    out = np.zeros((b, t, j, kernel.shape[-1]))
    for centre in range(j):
        members = {0: [], 1: [], 2: []}
        for i in np.flatnonzero(adjacency[centre]):
            label = 0 if hops[i] == hops[centre] else (1 if hops[i] < hops[centre] else 2)
            members[label].append(i)
        for label, joints in members.items():
            for i in joints:
                out[:, :, centre] += x[:, :, i] @ kernel[label] / len(joints)
    return out + bias


def test_spatial_graph_conv_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 17, 5)).astype(np.float32)
    layer = SpatialGraphConv(6)
    layer.build(x.shape)
    kernel = rng.normal(size=(3, 5, 6)).astype(np.float32)
    bias = rng.normal(size=(6,)).astype(np.float32)
    layer.kernel.assign(kernel)
    layer.bias.assign(bias)
    expected = np_spatial_graph_conv(x, kernel, bias, skeleton.H36M.parents)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5, atol=1e-5)


def test_spatial_graph_conv_without_graph_is_per_joint():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 2, 17, 4)).astype(np.float32)
    layer = SpatialGraphConv(3, partition="none", use_bias=False)
    y = layer(x).numpy()
    np.testing.assert_allclose(y, x @ layer.kernel.numpy()[0], rtol=1e-5, atol=1e-6)


def test_spatial_graph_conv_weights_and_errors():
    layer = SpatialGraphConv(8)
    layer.build((None, None, 17, 4))
    assert [w.shape for w in layer.trainable_weights] == [(3, 4, 8), (8,)]
    assert [w.shape for w in layer.non_trainable_weights] == [(3, 17, 17)]
    with pytest.raises(ValueError, match="17 joints"):
        SpatialGraphConv(8)(np.zeros((1, 2, 16, 4), np.float32))
    with pytest.raises(ValueError, match="partition"):
        SpatialGraphConv(8, partition="full")


def test_temporal_upsample_matches_numpy():
    x = np.random.default_rng(2).normal(size=(2, 5, 17, 3)).astype(np.float32)
    y = TemporalUpsample(2)(x).numpy()
    expected = np.stack([x[:, t // 2] for t in range(10)], axis=1)  # Eq. 11
    np.testing.assert_array_equal(y, expected)
    assert TemporalUpsample(4).compute_output_shape((None, 6, 17, 3)) == (None, 24, 17, 3)


@pytest.mark.parametrize("factor", [1, 2, 4])
def test_causal_temporal_upsample_matches_numpy(factor):
    # Fine frame t reads the newest coarse frame c whose group of `factor`
    # fine frames ends at or before t: factor * (c + 1) - 1 <= t.
    x = np.random.default_rng(3).normal(size=(2, 5, 17, 3)).astype(np.float32)
    layer = TemporalUpsample(factor, causal=True)
    y = layer(x).numpy()
    expected = np.zeros((2, 5 * factor, 17, 3), np.float32)
    for t in range(5 * factor):
        c = max(c for c in range(-1, 5) if factor * (c + 1) - 1 <= t)
        if c >= 0:
            expected[:, t] = x[:, c]
    np.testing.assert_array_equal(y, expected)
    assert TemporalUpsample.from_config(layer.get_config()).causal


def test_stgcn_block_residual_identity_when_shapes_match():
    block = STGCNBlock(4, dropout=0.0)
    x = np.random.default_rng(4).normal(size=(1, 6, 17, 4)).astype(np.float32)
    block(x)
    assert block.residual_conv is None
    # With the main path zeroed, the block is ReLU(x): the residual is x.
    block.temporal_conv.kernel.assign(np.zeros(block.temporal_conv.kernel.shape))
    np.testing.assert_allclose(block(x, training=False), np.maximum(x, 0), atol=1e-6)


def test_stgcn_block_is_temporal_convolution_per_joint():
    # Changing frame 0 of one joint only reaches frames within the kernel
    # radius (2 for k=5) through temporal conv, at that joint's neighbours.
    block = STGCNBlock(4, dropout=0.0, residual=False, batch_norm=False)
    x = np.random.default_rng(5).normal(size=(1, 12, 17, 3)).astype(np.float32)
    x2 = x.copy()
    x2[0, 0, 10] += 1.0  # the head
    d = np.abs(block(x2).numpy() - block(x).numpy()).sum(-1)[0]
    assert d[3:].max() == 0  # beyond the temporal radius
    neighbours = {10, 9}  # the head and its parent
    far = [j for j in range(17) if j not in neighbours]
    assert d[:, far].max() == 0


@pytest.mark.parametrize("frames", [11, 12])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_causal_stgcn_block_matches_numpy(stride, frames):
    # With e = (-T) mod stride zero frames before the first, output i ends on
    # input frame last(i) = stride * (i + 1) - 1 - e:
    # y[i] = sum_k W[k] h[last(i) - (K - 1) + k] + R x[last(i)], h the graph
    # convolution's output, zero before the first frame; R the 1x1 shortcut.
    block = STGCNBlock(4, stride=stride, dropout=0.0, batch_norm=False, activation=None,
                       causal=True)
    x = np.random.default_rng(8).normal(size=(2, frames, 17, 3)).astype(np.float32)
    y = block(x).numpy()
    h = block.graph_conv(x).numpy()
    kernel = block.temporal_conv.kernel.numpy()[:, 0]  # [K, C, D]
    bias = block.temporal_conv.bias.numpy()
    shortcut = block.residual_conv.kernel.numpy()[0, 0]  # [C, D]
    shortcut_bias = block.residual_conv.bias.numpy()
    outputs = -(-frames // stride)
    pad = (-frames) % stride
    expected = np.zeros((2, outputs, 17, 4), np.float32) + bias + shortcut_bias
    for i in range(outputs):
        last = stride * (i + 1) - 1 - pad
        for k in range(5):
            t = last - 4 + k
            if t >= 0:
                expected[:, i] += h[:, t] @ kernel[k]
        expected[:, i] += x[:, last] @ shortcut
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("frames", [12, 13])
@pytest.mark.parametrize("stride", [1, 2])
def test_causal_stgcn_block_sees_no_later_frame(stride, frames):
    block = testing.randomize_weights(STGCNBlock(5, stride=stride, dropout=0.0, causal=True))
    x = np.random.default_rng(9).normal(size=(1, frames, 17, 3)).astype(np.float32)
    y = block(x, training=False).numpy()
    pad = (-frames) % stride
    for t in (3, 6, frames - 1):
        later = x.copy()
        later[:, t:] += np.random.default_rng(t).normal(size=later[:, t:].shape)
        changed = np.abs(block(later, training=False).numpy() - y).max(axis=(0, 2, 3)) > 0
        # The first output frame i whose last input frame reaches t.
        first = min(i for i in range(len(changed)) if stride * (i + 1) - 1 - pad >= t)
        assert not changed[:first].any() and changed[first:].all()
    assert changed[-1]  # the last output sees the last input frame


def test_causal_block_with_kernel_below_stride():
    # Kernel 1, stride 2: output i is a 1x1 convolution of input frame last(i).
    block = STGCNBlock(3, temporal_kernel=1, stride=2, dropout=0.0, batch_norm=False,
                       activation=None, residual=False, causal=True)
    x = np.random.default_rng(10).normal(size=(1, 9, 17, 2)).astype(np.float32)
    y = block(x).numpy()
    h = block.graph_conv(x).numpy()
    expected = h[:, 0::2] @ block.temporal_conv.kernel.numpy()[0, 0] + block.temporal_conv.bias
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def _features(channels):
    rng = np.random.default_rng(7)
    return lambda batch, frames: (
        [rng.normal(size=(batch, frames, 17, channels)).astype(np.float32)], {})


@pytest.mark.parametrize("make_layer, output_shape, output_frames", [
    (lambda: SpatialGraphConv(6), (17, 6), None),
    (lambda: TemporalUpsample(3), (17, 4), lambda t: 3 * t),
    # Stride 2 on odd lengths: ceil(T / 2) frames.
    (lambda: STGCNBlock(7, stride=2, dropout=0.2,
                        kernel_regularizer=keras.regularizers.L2(1e-4)),
     (17, 7), lambda t: -(-t // 2)),
    (lambda: STGCNBlock(6, stride=2, causal=True), (17, 6), lambda t: -(-t // 2)),
], ids=["spatial_graph_conv", "temporal_upsample", "stgcn_block", "causal_stgcn_block"])
def test_layer_contract(make_layer, output_shape, output_frames, tmp_path):
    testing.run_layer_test(make_layer(), _features(4), output_shape, tmp_path,
                           output_frames=output_frames)


def test_spatial_graph_conv_without_graph_config_round_trip():
    layer = SpatialGraphConv(5, partition="none")
    revived = SpatialGraphConv.from_config(layer.get_config())
    assert revived.get_config() == layer.get_config() and revived.partition == "none"


def test_gradients_reach_every_weight():
    block = STGCNBlock(6, stride=2)
    x = tf.constant(np.random.default_rng(6).normal(size=(2, 8, 17, 3)), tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(block(x, training=True)))
    grads = tape.gradient(loss, block.trainable_weights)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    assert all(np.abs(g.numpy()).sum() > 0 for g in grads)
