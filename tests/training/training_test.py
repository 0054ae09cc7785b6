import os

import keras
import numpy as np
import pytest

from tfpose.training import backup, schedules


def _model(units=2):
    inputs = keras.Input((3,))
    hidden = keras.layers.Dropout(0.5)(keras.layers.Dense(8)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(units)(hidden))
    model.compile("adam", "mse")
    return model


def test_state_round_trip_continues_training_exactly(tmp_path):
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=(16, 2)).astype(np.float32)
    model = _model()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    backup.save_state(str(tmp_path / "backup"), model, epoch=2, step=8, best=1.5)
    entries = sorted(os.listdir(tmp_path / "backup"))
    assert len(entries) == 2 and "current" in entries  # one whole state + pointer
    # A crash while writing the next state leaves a stray staging folder
    # and the pointer on the last whole one.
    (tmp_path / "backup" / ".staging-crashed").mkdir()
    (tmp_path / "backup" / ".staging-crashed" / "variables.npz").write_bytes(b"PK\x03")
    assert backup.read_state(str(tmp_path / "backup"))["step"] == 8

    revived = _model()
    metadata = backup.restore_state(str(tmp_path / "backup"), revived)
    assert (metadata["epoch"], metadata["step"], metadata["best"]) == (2, 8, 1.5)
    # Weights, optimiser moments and step, and the dropout seed state: the
    # next epoch (dropout masks included) is the same in both.
    for a, b in zip(model.variables + model.optimizer.variables,
                    revived.variables + revived.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    revived.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), revived.get_weights()):
        np.testing.assert_array_equal(a, b)

    with pytest.raises(ValueError, match="different model"):
        backup.restore_state(str(tmp_path / "backup"), _model(units=5))
    assert backup.restore_state(str(tmp_path / "nothing"), _model()) is None


def test_truncate_log_drops_repeated_epochs(tmp_path):
    log = tmp_path / "training.csv"
    log.write_text("epoch,loss\n0,0.5\n1,0.4\n2,0.3\n")
    backup.truncate_log(str(log), 2)
    assert log.read_text() == "epoch,loss\n0,0.5\n1,0.4\n"
    backup.truncate_log(str(log), 5)
    assert log.read_text() == "epoch,loss\n0,0.5\n1,0.4\n"


def test_learning_rate_schedules():
    piecewise = schedules.learning_rate_schedule(1e-2, 10, "piecewise", [80, 90, 100], 0.1)
    for step, lr in [(0, 1e-2), (799, 1e-2), (800, 1e-3), (950, 1e-4), (1005, 1e-5)]:
        assert float(piecewise(step)) == np.float32(lr)
    exponential = schedules.learning_rate_schedule(1e-3, 100, "exponential", decay_rate=0.5)
    assert float(exponential(200)) == np.float32(2.5e-4)
    assert schedules.learning_rate_schedule(3e-3, 10) == 3e-3
