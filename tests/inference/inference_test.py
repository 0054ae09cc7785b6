import keras
import numpy as np
import pytest

from tfpose.inference import protocols
from tfpose.models import UGCN


def _reference(model, x, num_frames, step, flip):
    """Window by window in plain numpy loops."""
    from tfpose.skeleton import H36M

    perm = H36M.flip_permutation()
    length = len(x)
    padded = np.concatenate([x, np.repeat(x[-1:], max(0, num_frames - length), 0)])
    starts = list(range(0, len(padded) - num_frames + 1, step))
    if starts[-1] != len(padded) - num_frames:
        starts.append(len(padded) - num_frames)
    total = np.zeros((len(padded), 17, 3))
    count = np.zeros(len(padded))
    for s in starts:
        window = padded[s : s + num_frames]
        y = model(window[None], training=False).numpy()[0]
        if flip:
            mirrored = window[:, perm] * [-1, 1]
            ym = model(mirrored[None], training=False).numpy()[0][:, perm] * [-1, 1, 1]
            y = (y + ym) / 2
        total[s : s + num_frames] += y
        count[s : s + num_frames] += 1
    out = total[:length] / count[:length, None, None]
    out[:, 0] = 0.0  # the root joint's output is zeroed, as in VideoPose3D's evaluation
    return out


@pytest.mark.parametrize("length, flip, batch_size",
                         [(50, True, 4), (37, False, 256), (7, True, 2), (16, True, 3)])
def test_sequence_lifter_matches_window_loop(length, flip, batch_size):
    keras.utils.set_random_seed(0)
    model = UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8, 8, 8), merge_channels=4)
    # Non-zero output (the regressor starts at zero).
    for w in model.get_layer("regressor").weights:
        w.assign(np.random.default_rng(1).normal(size=w.shape) * 0.1)
    x = np.random.default_rng(2).normal(size=(length, 17, 2)).astype(np.float32)
    lifter = protocols.SequenceLifter(model, 16, step=5, flip=flip, batch_size=batch_size)
    got = lifter(x)
    assert got.shape == (length, 17, 3)
    np.testing.assert_allclose(got, _reference(model, x, 16, 5, flip), atol=1e-5)


def test_sequence_lifter_rejects_bad_input():
    model = UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8, 8, 8), merge_channels=4)
    lifter = protocols.SequenceLifter(model, 16)
    with pytest.raises(ValueError, match="17 joints"):
        lifter(np.zeros((20, 16, 2), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        lifter(np.full((20, 17, 2), np.nan, np.float32))
    with pytest.raises(ValueError, match="no frames"):
        lifter(np.zeros((0, 17, 2), np.float32))


def _tiled_reference(model, x, num_frames, step):
    """The fast mode by hand: frame t from the window whose kept centre
    holds it (edge-padded), no flip."""
    margin = (num_frames - step) // 2
    out = np.zeros((len(x), 17, 3))
    for first in range(0, len(x), step):
        index = np.clip(np.arange(num_frames) + first - margin, 0, len(x) - 1)
        y = model(x[index][None], training=False).numpy()[0]
        keep = min(step, len(x) - first)
        out[first : first + keep] = y[margin : margin + keep]
    out[:, 0] = 0.0
    return out


@pytest.mark.parametrize("length, step, batch_size", [(50, 8, 2), (5, 16, 4), (33, 10, 256)])
def test_tiled_fast_mode_lifts_every_frame_once(length, step, batch_size):
    model = UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8, 8, 8), merge_channels=4)
    for w in model.get_layer("regressor").weights:
        w.assign(np.random.default_rng(1).normal(size=w.shape) * 0.1)
    x = np.random.default_rng(3).normal(size=(length, 17, 2)).astype(np.float32)
    tiled = protocols.SequenceLifter(model, 16, step=step, flip=False, batch_size=batch_size,
                                     protocol="tiled")(x)
    np.testing.assert_allclose(tiled, _tiled_reference(model, x, 16, step), atol=1e-5)
    in_graph = protocols.lift_sequences(model, np.stack([x, x[::-1]]), num_frames=16,
                                        protocol="tiled", step=step, flip=False)
    np.testing.assert_allclose(in_graph[0], tiled, atol=1e-5)
    np.testing.assert_allclose(in_graph[1], _tiled_reference(model, x[::-1], 16, step),
                               atol=1e-5)
    with pytest.raises(ValueError, match="at most"):
        protocols.SequenceLifter(model, 16, step=17, protocol="tiled")


def test_tiled_with_step_one_is_the_centre_protocol():
    from tfpose.models import DGNet
    from tfpose.testing import randomize_zero_kernels

    model = randomize_zero_kernels(DGNet(num_frames=5, channels=8, num_blocks=1)).inference_model()
    x = np.random.default_rng(4).normal(size=(12, 17, 2)).astype(np.float32)
    tiled = protocols.SequenceLifter(model, 5, step=1, protocol="tiled")(x)
    centre = protocols.SequenceLifter(model, 5, protocol="center")(x)
    assert np.abs(centre).max() > 1e-3
    np.testing.assert_allclose(tiled, centre, atol=1e-6)
    # The centre of 5 frames is the causal protocol with 2 frames of lookahead.
    causal = protocols.SequenceLifter(model, 5, protocol="causal", lookahead=2)(x)
    np.testing.assert_allclose(causal, centre, atol=1e-6)


@pytest.fixture(scope="module")
def causal_models():
    """A tiny UGCN (16-frame windows) and a tiny TCN (9-frame receptive
    field, fully convolutional), with non-zero outputs."""
    from tfpose.models import TCN
    from tfpose.testing import randomize_zero_kernels

    keras.utils.set_random_seed(0)
    return {
        "ugcn": (randomize_zero_kernels(UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8,
                                                                           8, 8),
                                             merge_channels=4), scale=0.1), 16),
        # TCNs predict the frame `lookahead` frames before their field's end.
        **{f"tcn{lookahead}": (randomize_zero_kernels(
            TCN(filter_widths=(3, 3), channels=8, num_frames=None, lookahead=lookahead),
            scale=0.1), 9) for lookahead in (0, 3)},
    }


def _causal_reference(model, x, num_frames, lookahead):
    """Frame t from the window ending at t + L (clipped to the sequence),
    read at position T - 1 - L (a TCN's single output), with flip."""
    from tfpose.skeleton import H36M

    perm = H36M.flip_permutation()
    windows = np.stack([x[np.clip(np.arange(num_frames) + t + lookahead - num_frames + 1, 0,
                                  len(x) - 1)] for t in range(len(x))])
    y = model(windows, training=False).numpy()
    ym = model(windows[:, :, perm] * [-1, 1], training=False).numpy()
    y = (y + ym[:, :, perm] * [-1, 1, 1]) / 2
    out = y[:, 0] if y.shape[1] == 1 else y[:, num_frames - 1 - lookahead]
    out[:, 0] = 0.0
    return out


@pytest.mark.parametrize("name, lookahead", [("ugcn", 0), ("ugcn", 5), ("tcn0", 0),
                                             ("tcn3", 3)])
def test_causal_protocol_matches_window_loop_and_ignores_the_future(causal_models, name,
                                                                    lookahead):
    model, frames = causal_models[name]
    x = np.random.default_rng(5).normal(scale=0.3, size=(21, 17, 2)).astype(np.float32)
    lifter = protocols.SequenceLifter(model, frames, protocol="causal", lookahead=lookahead,
                                      batch_size=8)
    got = lifter(x)
    expected = _causal_reference(model, x, frames, lookahead)
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(got, expected, atol=1e-5)
    in_graph = protocols.lift_sequences(model, np.stack([x, x[::-1]]), num_frames=frames,
                                        protocol="causal", lookahead=lookahead)
    np.testing.assert_allclose(in_graph[0], got, atol=1e-5)
    np.testing.assert_allclose(in_graph[1], lifter(x[::-1]), atol=1e-5)
    # A change at frame 12 reaches frame 12 - L and later, never earlier
    # (bit for bit, each path against itself).
    changed = x.copy()
    changed[12] += 0.5
    in_graph = in_graph[0].numpy()
    for y, before in ((lifter(changed), got), (protocols.lift_sequences(
            model, changed[None], num_frames=frames, protocol="causal",
            lookahead=lookahead)[0].numpy(), in_graph)):
        np.testing.assert_array_equal(y[: 12 - lookahead], before[: 12 - lookahead])
        assert np.abs(y[12 - lookahead] - before[12 - lookahead]).max() > 1e-4


def test_a_tcn_is_read_at_its_own_lookahead_under_every_one_frame_protocol(causal_models):
    model, frames = causal_models["tcn3"]
    x = np.random.default_rng(6).normal(scale=0.3, size=(15, 17, 2)).astype(np.float32)
    expected = _causal_reference(model, x, frames, 3)
    for protocol, lookahead in (("convolutional", 0), ("center", 0), ("causal", 3),
                                ("causal", 6)):  # a longer wait gives the same poses
        got = protocols.SequenceLifter(model, frames, protocol=protocol, lookahead=lookahead)(x)
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=protocol)
        in_graph = protocols.lift_sequences(model, x[None], num_frames=frames,
                                            protocol=protocol, lookahead=lookahead)[0]
        np.testing.assert_allclose(in_graph, expected, atol=1e-5, err_msg=protocol)
    # It has not learnt to predict a later frame of its field.
    with pytest.raises(ValueError, match=r"3 frames before the end.*--tcn_lookahead=1"):
        protocols.SequenceLifter(model, frames, protocol="causal", lookahead=1)
    with pytest.raises(ValueError, match="--tcn_lookahead=2"):
        protocols.lift_sequences(model, x[None], num_frames=frames, protocol="causal",
                                 lookahead=2)


def test_causal_lookahead_must_be_inside_the_window(causal_models):
    model, frames = causal_models["ugcn"]
    with pytest.raises(ValueError, match=r"`lookahead` must be in \[0, 15\].*got 16"):
        protocols.SequenceLifter(model, frames, protocol="causal", lookahead=16)
    with pytest.raises(ValueError, match="lookahead"):
        protocols.lift_sequences(model, np.zeros((1, 5, 17, 2), np.float32), num_frames=frames,
                                 protocol="causal", lookahead=-1)


def _trimmed_reference(model, x, num_frames, step, margin):
    """The average protocol with a margin, by hand: the paper's average
    over the sequence edge-padded by `margin` frames on each side (and to
    one window), each window counted at positions [margin, T - margin) only."""
    length = len(x)
    padded = np.concatenate([np.repeat(x[:1], margin, 0), x, np.repeat(x[-1:], margin, 0)])
    padded = np.concatenate([padded, np.repeat(x[-1:], max(0, num_frames - len(padded)), 0)])
    starts = list(range(0, len(padded) - num_frames + 1, step))
    if starts[-1] != len(padded) - num_frames:
        starts.append(len(padded) - num_frames)
    total, count = np.zeros((len(padded), 17, 3)), np.zeros(len(padded))
    for s in starts:
        y = model(padded[s : s + num_frames][None], training=False).numpy()[0]
        kept = slice(margin, num_frames - margin)
        total[s + margin : s + num_frames - margin] += y[kept]
        count[s + margin : s + num_frames - margin] += 1
    out = total[margin : margin + length] / count[margin : margin + length, None, None]
    out[:, 0] = 0.0
    return out


@pytest.mark.parametrize("length, margin, step", [(50, 3, 5), (7, 5, 5), (16, 4, 3), (33, 6, 4)])
def test_average_with_a_margin_reads_window_centres_only(length, margin, step):
    model = UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8, 8, 8), merge_channels=4)
    for w in model.get_layer("regressor").weights:
        w.assign(np.random.default_rng(1).normal(size=w.shape) * 0.1)
    x = np.random.default_rng(5).normal(size=(length, 17, 2)).astype(np.float32)
    got = protocols.SequenceLifter(model, 16, step=step, flip=False, batch_size=3,
                                   margin=margin)(x)
    np.testing.assert_allclose(got, _trimmed_reference(model, x, 16, step, margin), atol=1e-5)
    in_graph = protocols.lift_sequences(model, np.stack([x, x[::-1]]), num_frames=16,
                                        protocol="average", step=step, flip=False, margin=margin)
    np.testing.assert_allclose(in_graph[0], got, atol=1e-5)
    np.testing.assert_allclose(in_graph[1], _trimmed_reference(model, x[::-1], 16, step, margin),
                               atol=1e-5)


def test_a_margin_keeps_window_edges_out():
    """A network that is exact inside its window and wrong at its ends:
    the paper's average mixes the ends into every frame, a margin does not."""
    frames, bad = 16, 3
    edge = np.zeros((1, frames, 1, 1), np.float32)
    edge[:, :bad], edge[:, frames - bad :] = 1.0, 1.0
    inputs = keras.Input((frames, 17, 2))
    depth = keras.layers.Lambda(lambda x: keras.ops.ones_like(x[..., :1]))(inputs)
    outputs = keras.layers.Lambda(lambda t: keras.ops.concatenate(
        [t[0] + t[1], t[2]], axis=-1))([inputs, keras.ops.convert_to_tensor(edge), depth])
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(6).normal(size=(40, 17, 2)).astype(np.float32)
    exact = np.concatenate([x, np.ones_like(x[..., :1])], -1)
    exact[:, 0] = 0.0
    paper = protocols.SequenceLifter(model, frames, flip=False)(x)
    assert np.abs(paper - exact).max() > 0.1
    trimmed = protocols.SequenceLifter(model, frames, flip=False, margin=bad)(x)
    np.testing.assert_allclose(trimmed, exact, atol=1e-6)
    for margin, step in ((-1, 5), (8, 1), (6, 5)):  # 16 - 2 * 6 < 5: frames left out
        with pytest.raises(ValueError, match="margin"):
            protocols.SequenceLifter(model, frames, step=step, margin=margin)
