"""Resumable training state: a backup that survives a kill at any moment.

Weights, optimiser state, batch-norm statistics and dropout seed states go
into a fresh directory behind an atomically switched pointer, so a run
started again with the same command continues exactly where it stopped.
"""

import json
import os
import shutil
import tempfile
import uuid

import keras
import numpy as np

from tfpose import fileio

STATE_FILE = "state.json"
VARIABLES_FILE = "variables.npz"


def _state_variables(model):
    """Everything a resumed run needs to continue exactly: the model's
    variables (weights, batch-norm statistics, dropout seed states) and the
    optimiser's (step counter, moments, loss scale)."""
    variables = list(model.variables)
    if model.optimizer is not None:
        variables += list(model.optimizer.variables)
    return variables


def save_state(backup_dir, model, **metadata):
    """Saves `model`'s training state and `metadata` (JSON) into
    `backup_dir`, atomically.

    Variables and metadata go into a fresh directory, then an atomically
    replaced pointer file `current` switches to it: a process killed at any
    moment leaves the previous state or the new one, whole.
    """
    os.makedirs(backup_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".staging-", dir=backup_dir)
    variables = _state_variables(model)
    arrays = {f"v{i}": keras.ops.convert_to_numpy(v.value) for i, v in enumerate(variables)}
    np.savez(os.path.join(staging, VARIABLES_FILE), **arrays)
    metadata = dict(metadata, variables=[v.path for v in variables])
    with open(os.path.join(staging, STATE_FILE), "w") as f:
        json.dump(metadata, f)
    name = f"state-{uuid.uuid4().hex}"
    os.replace(staging, os.path.join(backup_dir, name))
    fileio.write_text(os.path.join(backup_dir, "current"), name)
    for entry in os.listdir(backup_dir):
        if entry not in (name, "current"):
            shutil.rmtree(os.path.join(backup_dir, entry), ignore_errors=True)


def _current_state(backup_dir):
    pointer = os.path.join(backup_dir, "current")
    if not os.path.exists(pointer):
        return None
    with open(pointer) as f:
        return os.path.join(backup_dir, f.read().strip())


def read_state(backup_dir):
    """The metadata of the last saved state in `backup_dir`, or `None`."""
    state = _current_state(backup_dir)
    if state is None:
        return None
    with open(os.path.join(state, STATE_FILE)) as f:
        return json.load(f)


def restore_state(backup_dir, model):
    """Loads the last state saved in `backup_dir` into `model` (and its
    optimiser, built here if need be: call it under the strategy's scope).
    Returns the state's metadata, or `None` where there is none."""
    state = _current_state(backup_dir)
    if state is None:
        return None
    metadata = read_state(backup_dir)
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    variables = _state_variables(model)
    with np.load(os.path.join(state, VARIABLES_FILE)) as arrays:
        shapes = [arrays[f"v{i}"].shape for i in range(len(arrays.files))]
    # By order and shape: Keras numbers auto-named layers per process, so
    # paths may differ between two builds of the same model.
    if shapes != [tuple(v.shape) for v in variables]:
        raise ValueError(
            f"The backup in {backup_dir} holds {len(shapes)} variables that do not match this "
            f"model's {len(variables)}: it was written by a different model or optimiser. "
            "Use a new --model_dir, or delete the backup to start over."
        )
    with np.load(os.path.join(state, VARIABLES_FILE)) as arrays:
        for i, variable in enumerate(variables):
            variable.assign(arrays[f"v{i}"])
    return metadata


def truncate_log(path, epoch):
    """Drops the rows of epochs `>= epoch` from a CSV log (the epochs a
    resumed run repeats), so the log reads like an uninterrupted run's."""
    if not os.path.exists(path):
        return
    with open(path) as f:
        lines = f.read().splitlines()
    if not lines:
        return
    kept = [lines[0]] + [line for line in lines[1:] if int(line.split(",")[0]) < epoch]
    if len(kept) != len(lines):
        fileio.write_text(path, "\n".join(kept) + "\n")


class AtomicBackupAndRestore(keras.callbacks.Callback):
    """`model.fit`'s resumption: the training state after every epoch.

    Unlike Keras's `BackupAndRestore`, the backup survives a kill at any
    moment (`save_state`), and holds everything that decides the next
    epochs: optimiser state, batch-norm statistics and dropout seed states
    (Keras saves no seed states), and the best monitored value so far. A
    restarted run continues at the next epoch; with the step-indexed
    training stream of `tfpose.data.pipeline` it then ends with the same
    weights as an uninterrupted run.

    Args:
        backup_dir: where the state lives.
        best_checkpoint: a `ModelCheckpoint` whose `best` is saved and restored.
    """

    def __init__(self, backup_dir, best_checkpoint=None):
        super().__init__()
        self.backup_dir = backup_dir
        self.best_checkpoint = best_checkpoint

    def on_train_begin(self, logs=None):
        metadata = restore_state(self.backup_dir, self.model)
        if metadata is None:
            return
        self.model._initial_epoch = metadata["epoch"]
        if self.best_checkpoint is not None and metadata.get("best") is not None:
            self.best_checkpoint.best = metadata["best"]

    def on_epoch_end(self, epoch, logs=None):
        save_state(self.backup_dir, self.model, epoch=epoch + 1,
                   step=int(self.model.optimizer.iterations.numpy()),
                   best=best_value(self.best_checkpoint))


def backup_dir(model_dir):
    return os.path.join(model_dir, "backup")


def best_value(checkpoint):
    """The best monitored value a `ModelCheckpoint` has seen, or `None`."""
    best = None if checkpoint is None else checkpoint.best
    return None if best is None or not np.isfinite(best) else float(best)
