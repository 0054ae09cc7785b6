import keras
import numpy as np
import pytest

from tfpose import testing
from tfpose.models import UGCN
from tfpose.training import averaging

CHANNELS = (4, 4, 4, 8, 8, 8, 8, 8, 8)


def _tiny(seed, channels=CHANNELS, merge_channels=4):
    model = UGCN(num_frames=16, down_channels=channels, merge_channels=merge_channels, dropout=0.5,
                 joint_embedding=True)
    model(np.zeros((1, 16, 17, 2), np.float32))
    testing.randomize_weights(model, seed=seed, scale=0.3)
    # Batch-norm statistics away from their initial 0 and 1, so averaging
    # them is checked too (randomize_weights sets trainable weights only).
    rng = np.random.default_rng(seed + 100)
    for v in model.non_trainable_weights:
        if keras.backend.is_float_dtype(v.dtype):
            v.assign(rng.uniform(0.5, 1.5, size=v.shape).astype(v.dtype))
    return model


def test_every_float_variable_is_the_weighted_numpy_mean():
    models = [_tiny(seed) for seed in (1, 2, 3)]
    before = [[keras.ops.convert_to_numpy(v.value) for v in m.weights] for m in models]
    weights = np.array([1.0, 2.0, 5.0])
    averaged = averaging.average_models(models, weights)
    assert averaged is models[-1]
    checked = 0
    for position, variable in enumerate(averaged.weights):
        got = keras.ops.convert_to_numpy(variable.value)
        values = [b[position] for b in before]
        if keras.backend.is_float_dtype(variable.dtype):
            expected = np.average(np.stack(values), axis=0, weights=weights)
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, err_msg=variable.path)
            # Not any one input's value: the average really happened.
            assert not np.allclose(got, values[-1]), variable.path
            checked += 1
        else:  # generator seeds and counters stay the last model's
            np.testing.assert_array_equal(got, values[-1])
    moving = [v for v in averaged.non_trainable_weights if "moving" in v.path]
    # UGCN holds float variables only (weights, batch-norm statistics, the
    # fixed adjacency): every one of them was averaged.
    assert moving and checked == len(averaged.weights) > len(averaged.trainable_weights)


def test_equal_weights_by_default_and_the_average_lifts_like_numpy_weights(tmp_path):
    paths = []
    for seed in (4, 5):
        path = tmp_path / f"m{seed}.keras"
        _tiny(seed).save(path)
        paths.append(path)
    loaded = [keras.models.load_model(p) for p in paths]
    expected_weights = [(a + b) / 2 for a, b in zip(loaded[0].get_weights(),
                                                     loaded[1].get_weights())]
    averaged = averaging.average_models(paths)
    reference = _tiny(6)
    reference.set_weights(expected_weights)
    x = np.random.default_rng(0).normal(size=(2, 16, 17, 2)).astype(np.float32)
    got = keras.ops.convert_to_numpy(averaged(x, training=False))
    want = keras.ops.convert_to_numpy(reference(x, training=False))
    assert np.abs(want).max() > 1e-3
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Saved and loaded, the average is the same network.
    averaged.save(tmp_path / "avg.keras")
    again = keras.models.load_model(tmp_path / "avg.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x, training=False)), got,
                               rtol=1e-6, atol=1e-7)


def test_other_architectures_and_bad_weights_fail_clearly():
    with pytest.raises(ValueError, match="merge.*has shape"):
        averaging.average_models([_tiny(1, merge_channels=5), _tiny(2)])
    with pytest.raises(ValueError, match="187: not the same architecture"):
        averaging.average_models([_tiny(1, channels=(4, 4, 4, 8, 8, 8, 8, 8, 6)), _tiny(2)])
    # Same count and shapes, but the variables belong to other layers.
    def dense(name):
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name=name)])
    # (Keras numbers the second Sequential; the check ignores such numbers.)
    with pytest.raises(ValueError, match="model 0's variable sequential/first/kernel stands where "
                                         "the last model has sequential/second/kernel"):
        averaging.average_models([dense("first"), dense("second")])
    with pytest.raises(ValueError, match="non-negative"):
        averaging.average_models([_tiny(1), _tiny(2)], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="finite"):
        averaging.average_models([_tiny(1), _tiny(2)], weights=[1.0, float("nan")])
    with pytest.raises(ValueError, match="2 finite non-negative"):
        averaging.average_models([_tiny(1), _tiny(2)], weights=[1.0])
    with pytest.raises(ValueError, match="at least one"):
        averaging.average_models([])
