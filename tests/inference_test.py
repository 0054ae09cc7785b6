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
