import json
import os

import keras
import numpy as np

from tfpose import training


def _model():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile("adam", "mse")
    return model


def test_atomic_backup_restores_weights_and_epoch(tmp_path):
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=(16, 2)).astype(np.float32)
    model = _model()
    backup = training.AtomicBackupAndRestore(str(tmp_path / "backup"))
    backup.set_model(model)
    model.fit(x, y, epochs=2, verbose=0)
    backup._current_epoch, backup._last_batch_seen = 2, 0
    backup._save_model()
    entries = sorted(os.listdir(tmp_path / "backup"))
    assert len(entries) == 2 and "current" in entries  # one whole state + pointer
    # A crash while writing the next backup leaves a stray staging folder
    # and the pointer on the last whole state.
    (tmp_path / "backup" / ".staging-crashed").mkdir()
    (tmp_path / "backup" / ".staging-crashed" / "latest.weights.h5").write_bytes(b"\x89HDF\r\n")

    revived = _model()
    revived(x[:1])
    restore = training.AtomicBackupAndRestore(str(tmp_path / "backup"))
    restore.set_model(revived)
    restore.on_train_begin()
    assert revived._initial_epoch == 2
    np.testing.assert_allclose(revived.predict(x, verbose=0), model.predict(x, verbose=0))
    state = (tmp_path / "backup" / "current").read_text()
    assert json.loads((tmp_path / "backup" / state / "training_metadata.json").read_text())[
        "epoch"] == 2


def test_learning_rate_schedules():
    piecewise = training.learning_rate_schedule(1e-2, 10, "piecewise", [80, 90, 100], 0.1)
    for step, lr in [(0, 1e-2), (799, 1e-2), (800, 1e-3), (950, 1e-4), (1005, 1e-5)]:
        assert float(piecewise(step)) == np.float32(lr)
    exponential = training.learning_rate_schedule(1e-3, 100, "exponential", decay_rate=0.5)
    assert float(exponential(200)) == np.float32(2.5e-4)
    assert training.learning_rate_schedule(3e-3, 10) == 3e-3
