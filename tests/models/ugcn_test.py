import keras
import numpy as np
import pytest

from tfpose import losses, metrics, skeleton, testing
from tfpose.inference import protocols
from tfpose.models import UGCN


@pytest.mark.parametrize("frames", [16, 96, 160])
def test_output_shapes(frames):
    model = UGCN(num_frames=frames)
    x = np.random.default_rng(0).normal(size=(2, frames, 17, 2)).astype(np.float32)
    assert model(x, training=False).shape == (2, frames, 17, 3)


def _count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def test_documented_size_and_dynamic_length(documented):
    model = UGCN(num_frames=None)
    trainable, fixed = documented(r"That gives ([\d,]+) trainable parameters \(plus ([\d,]+) "
                                  r"non-trainable")
    assert _count(model.trainable_weights) == trainable
    assert _count(model.non_trainable_weights) == fixed
    for frames in (16, 48, 96):
        assert model(np.zeros((1, frames, 17, 2), np.float32)).shape == (1, frames, 17, 3)


# The ablation table's rows. Strides add no weights, so num_pairs=0 stands
# for the row's 0, 1 and 2.
@pytest.mark.parametrize("switch, row", [
    (dict(num_pairs=0), r"\| `num_pairs=0, 1, 2` [^|]*\| Table 3 \| ([\d,]+) \|"),
    (dict(merge=False), r"\| `merge=False`[^|]*\| Table 4 \| ([\d,]+) \|"),
    (dict(spatial_graph=False), r"\| `spatial_graph=False`[^|]*\| Table 4 \| ([\d,]+) \|"),
], ids=["num_pairs", "merge", "spatial_graph"])
def test_documented_ablation_sizes(documented, switch, row):
    (expected,) = documented(row)
    assert _count(UGCN(num_frames=None, **switch).trainable_weights) == expected


def _reference_ugcn(model, x, cut_skip=None, cut_scale=None, cache=None):
    """Fig. 4 of the paper wired by hand from the model's own blocks, with
    numpy glue: 9 down blocks; 4 up blocks, each upsampled x2 (Eq. 11)
    where the next skip's resolution is finer and added to the output of
    the down block at that resolution (blocks 7, 5, 3, 1); the merging
    stage's 1x1 projections of the four sums, repeated to T frames and
    concatenated; the regressor. `cut_skip` / `cut_scale` (0-3) drop one
    skip / one merged scale, to show that each changes the output; `cache`
    (a dict) keeps block outputs across such calls (eager calls are slow)."""
    cache = {} if cache is None else cache

    def block(name, h):
        key = (name, h.tobytes())
        if key not in cache:
            cache[key] = model.get_layer(name)(h, training=False).numpy()
        return cache[key]

    down, h = [], x
    for i in range(1, 10):
        h = block(f"down_{i}", h)
        down.append(h)
    scales = []
    for i, skip in enumerate((7, 5, 3, 1)):
        h = block(f"up_{i + 1}", h)
        source = down[skip - 1]
        if h.shape[1] < source.shape[1]:
            h = np.repeat(h, 2, axis=1)
        if cut_skip != i:
            h = h + source
        scales.append(h)
    if not model.merge:
        return block("regressor", h)
    merged = []
    for i, scale in enumerate(scales):
        kernel, bias = (w.numpy() for w in model.get_layer(f"merge_conv_{i + 1}").weights)
        projected = np.repeat(scale @ kernel[0, 0] + bias, x.shape[1] // scale.shape[1], axis=1)
        merged.append(0.0 * projected if cut_scale == i else projected)
    return block("regressor", np.concatenate(merged, axis=-1))


@pytest.mark.parametrize("options", [dict(), dict(num_pairs=2), dict(merge=False)],
                         ids=["paper", "two_pairs", "no_merge"])
def test_skips_and_merge_match_the_hand_wired_network(options):
    # Blocks at one resolution share a width (as in DOWN_CHANNELS), so a
    # skip wired to the wrong block of the right resolution still builds.
    model = UGCN(num_frames=16, down_channels=(4, 6, 6, 8, 8, 10, 10, 12, 12),
                 merge_channels=3, **options)
    testing.randomize_weights(model, seed=1, scale=0.3)
    x = np.random.default_rng(2).normal(size=(2, 16, 17, 2)).astype(np.float32)
    cache = {}
    expected = _reference_ugcn(model, x, cache=cache)
    scale = np.abs(expected).max()
    assert scale > 1e-2
    np.testing.assert_allclose(model(x, training=False), expected, rtol=1e-5, atol=1e-5 * scale)
    if options:
        return
    # The reference is sensitive to every skip and every merged scale, far
    # beyond the tolerance above, so cutting or miswiring any of them in
    # the model cannot pass. (Without the merging stage the deepest skip
    # reaches the output through three more blocks and moves it ~1e-4.)
    for cut in [dict(cut_skip=i) for i in range(4)] + [dict(cut_scale=i) for i in range(4)]:
        change = np.abs(_reference_ugcn(model, x, **cut, cache=cache) - expected).max()
        assert change > 1e-2 * scale, (cut, change / scale)


def test_bad_arguments():
    with pytest.raises(ValueError, match="multiple of 16"):
        UGCN(num_frames=24)
    with pytest.raises(ValueError, match="num_pairs"):
        UGCN(num_pairs=5)
    with pytest.raises(ValueError, match="9 widths"):
        UGCN(down_channels=(8, 8))


def test_keras_round_trip_with_loss(tmp_path):
    model = UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8, 8, 8), merge_channels=4)
    model.compile("adam", loss=losses.MotionLoss(weight=0.5, intervals=(4, 8)),
                  metrics=metrics.pose_metrics())
    x = np.random.default_rng(1).normal(size=(4, 16, 17, 2)).astype(np.float32)
    y = np.random.default_rng(2).normal(size=(4, 16, 17, 3)).astype(np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "ugcn.keras"
    model.save(path)
    revived = keras.models.load_model(path)
    assert isinstance(revived, UGCN)
    np.testing.assert_allclose(revived(x, training=False), model(x, training=False), atol=1e-6)
    assert isinstance(revived.loss, losses.MotionLoss)
    assert revived.loss.weight == 0.5 and revived.loss.intervals == (4, 8)
    assert revived.get_config() == model.get_config()
    # The optimiser state comes back too (training continues from it).
    assert len(revived.optimizer.variables) == len(model.optimizer.variables) > 1
    for a, b in zip(revived.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_tiny_training_run_loss_falls():
    from tfpose.data import pipeline, synthetic
    from tfpose.data.sequence import add_virtual_cameras

    keras.utils.set_random_seed(0)
    sequences = add_virtual_cameras(synthetic.generate(8, 96, seed=0), 2)
    ds = pipeline.make_dataset([v for s in sequences for v in s.views], num_frames=16,
                               batch_size=16, training=True, stride=4, flip=True, seed=0)
    model = UGCN(num_frames=16, down_channels=(8, 8, 8, 16, 16, 16, 16, 16, 16),
                 merge_channels=8, dropout=0.0)
    model.compile(keras.optimizers.Adam(3e-3), loss=losses.MotionLoss(intervals=(4, 8)))
    history = model.fit(ds, epochs=6, verbose=0, shuffle=False).history["loss"]
    assert np.isfinite(history).all()
    # The regressor starts at zero output, so the first loss is already
    # that of "every joint at the root"; training must still cut it well.
    assert history[-1] < 0.7 * history[0]
    assert history[-1] < min(history[:3])


def test_inference_model_folds_batch_norm():
    model = UGCN(num_frames=None, down_channels=(4, 6, 6, 8, 8, 8, 8, 12, 12),
                 merge_channels=4, dropout=0.3)
    rng = np.random.default_rng(0)
    for weight in model.weights:  # statistics and kernels far from their initial values
        shape = tuple(weight.shape)
        if "adjacency" in weight.path:
            continue
        if "moving_variance" in weight.path:
            weight.assign(rng.uniform(0.3, 3.0, shape).astype(np.float32))
        else:
            weight.assign(rng.normal(0, 0.5, shape).astype(np.float32))
    folded = model.inference_model()
    assert folded.get_config()["batch_norm"] is False and model.batch_norm
    assert not [w for w in folded.weights if "moving" in w.path]
    assert folded.count_params() < model.count_params()
    x = rng.normal(size=(3, 32, 17, 2)).astype(np.float32)
    expected = model(x, training=False).numpy()
    assert np.abs(expected).max() > 1.0
    np.testing.assert_allclose(folded(x), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    assert folded.inference_model() is folded
    with pytest.raises(ValueError, match="Fold from a block with batch norm"):
        folded.get_layer("down_1").fold_batch_norm_into(model.get_layer("down_1"))


def test_joint_embedding_breaks_left_right_swap_equivariance():
    # The paper's UGCN shares its kernels over a left/right symmetric graph:
    # swapping left and right joints in the input swaps them in the output.
    mirror = list(skeleton.H36M.flip_permutation())
    x = np.random.default_rng(4).normal(size=(2, 16, 17, 2)).astype(np.float32)
    gaps = {}
    for embedded in (False, True):
        model = UGCN(num_frames=16, down_channels=(4, 6, 6, 8, 8, 10, 10, 12, 12),
                     merge_channels=3, joint_embedding=embedded)
        testing.randomize_weights(model, seed=1, scale=0.3)
        y = model(x, training=False).numpy()
        swapped = model(x[:, :, mirror], training=False).numpy()
        gaps[embedded] = np.abs(swapped - y[:, :, mirror]).max() / np.abs(y).max()
        # Folding batch norm keeps the embedding.
        np.testing.assert_allclose(model.inference_model()(x), y, rtol=1e-4,
                                   atol=1e-4 * np.abs(y).max())
        assert model.get_config()["joint_embedding"] is embedded
    assert gaps[False] < 1e-5 and gaps[True] > 0.05


def test_causal_ugcn_uses_no_later_frame():
    # Every temporal convolution padded in the past: with the strided
    # downsampling, nearest upsampling and skips, output frame t depends on
    # input frames <= t only (the paper's network sees 2 frames ahead per
    # block); folding batch norm keeps it so.
    small = dict(num_frames=32, down_channels=(4, 6, 6, 8, 8, 10, 10, 12, 12), merge_channels=3)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 32, 17, 2)).astype(np.float32)
    later = x.copy()
    later[:, 20:] += rng.normal(size=later[:, 20:].shape).astype(np.float32)
    for causal in (False, True):
        model = testing.randomize_weights(UGCN(causal=causal, **small), seed=2, scale=0.3)
        gap = np.abs(model(later, training=False).numpy() - model(x, training=False).numpy())
        past = gap[:, :20].max() / gap.max()
        if causal:
            assert past == 0 and gap[:, 20:].max() > 0
            # The window's last frame reads every scale's newest features:
            # changing only the last input frame reaches the deepest block.
            last = x.copy()
            last[:, -1] += 1.0
            deepest = keras.Model(model.input, model.get_layer("down_9").output)
            moved = np.abs(deepest(last, training=False) - deepest(x, training=False))
            assert moved.shape[1] == 2 and moved[:, -1].max() > 0 and moved[:, 0].max() == 0
            # ... and, upsampled back to T, every scale's last frame (an
            # upsampling that read an older coarse frame would not move).
            names = [f"upsample_{i}" for i in range(1, 5)] + [
                f"merge_upsample_{i}" for i in range(1, 4)]
            scales = keras.Model(model.input, [model.get_layer(n).output for n in names])
            for name, a, b in zip(names, scales(last, training=False), scales(x, training=False)):
                gap_last = np.abs(a.numpy() - b.numpy())
                assert gap_last[:, -1].max() > 0 and gap_last[:, :-1].max() == 0, name
            folded = model.inference_model()
            assert folded.causal
            np.testing.assert_allclose(folded(x), model(x, training=False), rtol=1e-4,
                                       atol=1e-4 * np.abs(model(x, training=False)).max())
        else:
            assert past > 0.01
        assert protocols.own_protocol(model) == ("causal" if causal else "average")
        assert UGCN.from_config(model.get_config()).causal is causal
    assert protocols.own_protocol(UGCN) == "average"


def test_causal_ugcn_frames_a_stream_period_apart_are_live_readings():
    # What `MotionLoss(stream_reads=...)` relies on: frame T - 1 - k * 16
    # of a causal window is the last frame of the window that ends there.
    model = testing.randomize_weights(
        UGCN(num_frames=None, causal=True, down_channels=(4, 6, 6, 8, 8, 10, 10, 12, 12),
             merge_channels=3), seed=3, scale=0.3)
    assert model.stream_period == 16
    assert UGCN(num_frames=32, num_pairs=2, down_channels=(4,) * 9).stream_period == 4
    x = np.random.default_rng(6).normal(size=(2, 48, 17, 2)).astype(np.float32)
    full = model(x, training=False).numpy()
    for end in (16, 32):
        short = model(x[:, :end], training=False).numpy()
        np.testing.assert_allclose(full[:, end - 1], short[:, -1], rtol=1e-5,
                                   atol=1e-5 * np.abs(short).max())


def test_causal_ugcn_converts_to_builtin_tflite_with_open_length():
    # An open frame count must leave joints and channels static in the
    # causal padding and shortcut slices: builtin ops only, same poses.
    from tfpose.export import tflite

    small = dict(num_frames=None, down_channels=(4, 6, 6, 8, 8, 10, 10, 12, 12),
                 merge_channels=3, causal=True)
    model = testing.randomize_weights(UGCN(**small), seed=3, scale=0.3)
    flatbuffer = tflite.convert(model, num_frames=None)
    assert not [op for op in tflite.op_names(flatbuffer) if "FLEX" in op.upper()]
    runner = tflite.Runner(flatbuffer)
    for frames in (32, 48):
        x = np.random.default_rng(frames).normal(size=(1, frames, 17, 2)).astype(np.float32)
        expected = model(x, training=False).numpy()
        np.testing.assert_allclose(runner(x), expected, rtol=1e-4,
                                   atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("options, frames", [
    (dict(num_frames=32), 32),
    (dict(num_frames=None), 48),  # open length: every tensor sliced
    (dict(num_frames=16, num_pairs=2, merge=False), 16),
    (dict(num_frames=8, num_pairs=1, joint_embedding=True, batch_norm=False), 8),
    (dict(num_frames=4, num_pairs=0), 4),  # every frame of the window needed
    (dict(num_frames=24, num_pairs=3, temporal_kernel=3), 24),
    # Windows longer than the read frame's reach (313 frames with 4 pairs
    # and k = 5, 117 with 3 pairs and k = 3): the encoder is sliced too.
    (dict(num_frames=None), 336),
    (dict(num_frames=None, num_pairs=3, temporal_kernel=3), 136),
])
def test_causal_ugcn_tail_equals_the_read_frames_of_the_full_window(options, frames, tmp_path):
    # The tail computes the frames a causal window is read at from what they
    # depend on alone: every read (any lookahead, several frames) equals the
    # full model's frames there, and it is cheaper than the full window.
    from tfpose import benchmark

    model = testing.randomize_weights(
        UGCN(causal=True, down_channels=(4, 6, 6, 8, 8, 10, 10, 12, 12), merge_channels=3,
             **options), seed=4, scale=0.3)
    x = np.random.default_rng(7).normal(size=(3, frames, 17, 2)).astype(np.float32)
    full = model(x, training=False).numpy()
    scale = np.abs(full).max()
    for read, lookahead in ((1, 0), (1, 3), (3, 0), (2, 1), (frames, 0)):
        tail = model.tail_model(read, lookahead)
        y = tail(x, training=False).numpy()
        np.testing.assert_allclose(y, full[:, frames - lookahead - read : frames - lookahead],
                                   rtol=1e-5, atol=1e-5 * scale)
    if options["num_frames"] is None:
        # Values alone barely see the oldest frames (their influence on the
        # read frame is below float32 rounding): the input frames that the
        # read frame depends on, from the gradients, must be the same too.
        import tensorflow as tf

        def reach(fn):
            inputs = tf.constant(x[:1])
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                y = tf.reduce_sum(fn(inputs, training=False)[:, -1])
            return np.abs(tape.gradient(y, inputs).numpy()[0]).sum(axis=(1, 2))

        full_reach, tail_reach = reach(model), reach(model.tail_model(1))
        depends = np.flatnonzero(full_reach > 0)
        if frames > 100:  # the window reaches further back than the read
            assert depends[0] > 0
        np.testing.assert_array_equal(np.flatnonzero(tail_reach > 0), depends)
        np.testing.assert_allclose(tail_reach, full_reach, rtol=1e-4,
                                   atol=1e-6 * full_reach.max())
    if options["num_frames"] == 32:
        # Fewer operations, and shared weights: the tail follows training.
        shape = (1, 32, 17, 2)
        tail = model.tail_model(1)
        assert benchmark.flops(tail, shape) < 0.95 * benchmark.flops(model, shape)
        kernel = model.get_layer("regressor").weights[0]
        kernel.assign_add(np.ones(kernel.shape, np.float32))
        updated = model(x, training=False).numpy()
        assert np.abs(updated - full).max() > 0.1 * scale
        np.testing.assert_allclose(tail(x, training=False), updated[:, -1:], rtol=1e-5,
                                   atol=1e-5 * np.abs(updated).max())
        # Built once per read, and the model saves and loads as before.
        assert model.tail_model(1) is tail
        model.save(tmp_path / "causal.keras")
        loaded = keras.models.load_model(tmp_path / "causal.keras")
        assert len(loaded.weights) == len(model.weights)
        np.testing.assert_allclose(loaded(x, training=False), updated, rtol=1e-5,
                                   atol=1e-5 * np.abs(updated).max())


def test_tail_model_needs_a_causal_model_and_a_read_inside_the_window():
    small = dict(down_channels=(4,) * 9, merge_channels=3)
    with pytest.raises(ValueError, match="causal"):
        UGCN(num_frames=32, **small).tail_model(1)
    model = UGCN(num_frames=32, causal=True, **small)
    for frames, lookahead in ((0, 0), (1, -1), (30, 3)):
        with pytest.raises(ValueError, match="fit the window"):
            model.tail_model(frames, lookahead)
