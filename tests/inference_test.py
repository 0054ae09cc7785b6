import keras
import numpy as np
import pytest

from tfpose import inference
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


@pytest.mark.parametrize("length, flip, batch_size", [(50, True, 4), (37, False, 256), (7, True, 2), (16, True, 3)])
def test_sequence_lifter_matches_window_loop(length, flip, batch_size):
    keras.utils.set_random_seed(0)
    model = UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8, 8, 8), merge_channels=4)
    # Non-zero output (the regressor starts at zero).
    for w in model.get_layer("regressor").weights:
        w.assign(np.random.default_rng(1).normal(size=w.shape) * 0.1)
    x = np.random.default_rng(2).normal(size=(length, 17, 2)).astype(np.float32)
    lifter = inference.SequenceLifter(model, 16, step=5, flip=flip, batch_size=batch_size)
    got = lifter(x)
    assert got.shape == (length, 17, 3)
    np.testing.assert_allclose(got, _reference(model, x, 16, 5, flip), atol=1e-5)


def test_sequence_lifter_rejects_bad_input():
    model = UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8, 8, 8), merge_channels=4)
    lifter = inference.SequenceLifter(model, 16)
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
    tiled = inference.SequenceLifter(model, 16, step=step, flip=False, batch_size=batch_size,
                                     protocol="tiled")(x)
    np.testing.assert_allclose(tiled, _tiled_reference(model, x, 16, step), atol=1e-5)
    in_graph = inference.lift_sequences(model, np.stack([x, x[::-1]]), num_frames=16,
                                        protocol="tiled", step=step, flip=False)
    np.testing.assert_allclose(in_graph[0], tiled, atol=1e-5)
    np.testing.assert_allclose(in_graph[1], _tiled_reference(model, x[::-1], 16, step),
                               atol=1e-5)
    with pytest.raises(ValueError, match="at most"):
        inference.SequenceLifter(model, 16, step=17, protocol="tiled")


def test_tiled_with_step_one_is_the_centre_protocol():
    from tfpose.models import DGNet

    from tfpose.testing import randomize_zero_kernels

    model = randomize_zero_kernels(DGNet(num_frames=5, channels=8, num_blocks=1)).inference_model()
    x = np.random.default_rng(4).normal(size=(12, 17, 2)).astype(np.float32)
    tiled = inference.SequenceLifter(model, 5, step=1, protocol="tiled")(x)
    centre = inference.SequenceLifter(model, 5, protocol="center")(x)
    assert np.abs(centre).max() > 1e-3
    np.testing.assert_allclose(tiled, centre, atol=1e-6)
