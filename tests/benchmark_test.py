"""Cost counting of `tfpose.benchmark` (no timing here: speed is measured by
scripts/benchmark.py, not by tests)."""

import keras
import numpy as np
import pytest

from tfpose import benchmark
from tfpose.models import TCN


def _pointwise(frames):
    """[1, T, 17, 2] -> [1, T, 17, 3]: 17 * T * (2 * 2 * 3 + 3) FLOPs."""
    inputs = keras.Input((frames, 17, 2))
    return keras.Model(inputs, keras.layers.Dense(3)(inputs))


def test_flops_match_hand_counts():
    inputs = keras.Input((6, 4))
    conv = keras.Model(inputs, keras.layers.Conv1D(5, 3)(inputs))
    # 4 valid output frames x 5 filters x (3 x 4 multiply-adds) x 2, plus the bias.
    assert benchmark.flops(conv, (1, 6, 4)) == 4 * 5 * 12 * 2 + 4 * 5
    assert benchmark.flops(_pointwise(8), (1, 8, 17, 2)) == 8 * 17 * 15


@pytest.mark.parametrize("protocol, step, windows", [
    ("average", 5, 4),   # starts 0, 5, 10 and 12 (the last aligned to the end)
    ("tiled", 4, 5),     # starts 0, 4, 8, 12, 16
    ("center", 1, 20),   # one per frame
])
def test_sequence_cost_counts_every_window(protocol, step, windows):
    model = _pointwise(8)
    for flip in (True, False):
        cost = benchmark.sequence_cost(model, 8, protocol, step=step, flip=flip, length=20)
        runs = windows * (2 if flip else 1)
        assert cost["windows"] == runs
        assert cost["flops_per_window"] == 8 * 17 * 15
        assert cost["flops_per_output_frame"] == pytest.approx(runs * 8 * 17 * 15 / 20)


def test_convolutional_cost_is_about_two_flops_per_weight_per_frame():
    model = TCN(filter_widths=(3, 3), channels=32, num_frames=9)
    cost = benchmark.sequence_cost(model, 9, "convolutional", flip=False, length=400)
    kernels = sum(int(np.prod(w.shape)) for w in model.trainable_weights
                  if "kernel" in w.path)
    # Every kernel weight is one multiply-add per output frame; the padded
    # edges, biases and batch norm add a little.
    assert 2 * kernels < cost["flops_per_output_frame"] < 1.15 * 2 * kernels
    assert cost["windows"] == 1
    # A strided window computes only what its one output frame needs.
    assert cost["flops_per_window"] < 1.15 * 2 * kernels * 3
