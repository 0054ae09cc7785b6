"""Training helpers: optimiser and schedule, callbacks. Reads no flags."""

import hashlib
import json
import os
import shutil
import tempfile
import uuid

import keras
import numpy as np

from tfpose import fileio

SCHEDULES = ("constant", "piecewise", "exponential", "cosine")


def learning_rate_schedule(learning_rate, steps_per_epoch, schedule="constant",
                           decay_epochs=(), decay_rate=0.1, epochs=None, warmup_steps=0):
    """A per-step learning rate from an epoch-based description.

    - `"constant"`: `learning_rate` throughout.
    - `"piecewise"`: times `decay_rate` after each epoch in `decay_epochs`
      (UGCN: 1e-2, x0.1 after epochs 80, 90 and 100).
    - `"exponential"`: times `decay_rate` every epoch, smoothly (DG-Net).
    - `"cosine"`: linear warm-up from 0 over `warmup_steps`, then a cosine
      decay to 0 at the end of the run's `epochs` (a fixed budget of steps).

    The schedule reads the optimiser's step counter, which checkpoints and
    `BackupAndRestore` save, so a resumed run continues where it stopped.
    """
    if schedule == "constant":
        return float(learning_rate)
    if schedule == "piecewise":
        epochs = sorted(int(e) for e in decay_epochs)
        if not epochs:
            raise ValueError("The piecewise schedule needs `decay_epochs`.")
        # The optimiser passes the number of finished steps; the first step
        # of epoch e (0-based) sees e * steps_per_epoch, and Keras switches
        # values only after a boundary, hence the -1.
        boundaries = [e * steps_per_epoch - 1 for e in epochs]
        values = [float(learning_rate) * decay_rate**i for i in range(len(epochs) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    if schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            float(learning_rate), decay_steps=steps_per_epoch, decay_rate=decay_rate
        )
    if schedule == "cosine":
        if not epochs:
            raise ValueError("The cosine schedule needs the run's `epochs`.")
        total = int(epochs) * int(steps_per_epoch)
        warmup_steps = int(warmup_steps)
        if not 0 <= warmup_steps < total:
            raise ValueError(
                f"`warmup_steps` ({warmup_steps}) must be in [0, {total}), the run's steps.")
        if not warmup_steps:
            return keras.optimizers.schedules.CosineDecay(float(learning_rate), total)
        return keras.optimizers.schedules.CosineDecay(
            0.0, total - warmup_steps, warmup_target=float(learning_rate),
            warmup_steps=warmup_steps)
    raise ValueError(f"Unknown schedule {schedule!r}; expected one of {SCHEDULES}.")


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


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint` that writes through a temporary file, so a kill
    while saving never leaves a truncated `.keras` file."""

    def _should_save_model(self, epoch, batch, logs, filepath):
        # The parent decides (and tracks the best value); the save is ours.
        if super()._should_save_model(epoch, batch, logs, filepath):
            with fileio.atomic_path(filepath) as temporary:
                self.model.save(temporary)
        return False


def build_callbacks(model_dir, monitor="val_mpjpe", backup=True):
    """The standard callbacks of a training run written into `model_dir`.

    - a CSV log `training.csv` (appended to on resumption, after dropping
      the rows of the epochs a resumed run repeats), `TerminateOnNaN`;
    - `checkpoints/last.keras` after every epoch and `checkpoints/best.keras`
      when `monitor` improves (`.keras` files that
      `keras.models.load_model` restores with their loss);
    - TensorBoard logs in `logs/`;
    - with `backup`, `AtomicBackupAndRestore` in `backup/` after every
      epoch: a killed run started again with the same command resumes.
      It comes last, because a backup marks its epoch done: a run killed
      before it repeats that epoch (and rewrites its files) instead of
      resuming past an epoch whose checkpoints were never written.
    """
    checkpoints = os.path.join(model_dir, "checkpoints")
    os.makedirs(checkpoints, exist_ok=True)
    best = AtomicModelCheckpoint(os.path.join(checkpoints, "best.keras"), monitor=monitor,
                                 mode="min", save_best_only=True)
    callbacks = [
        keras.callbacks.CSVLogger(os.path.join(model_dir, "training.csv"), append=True),
        keras.callbacks.TerminateOnNaN(),
        AtomicModelCheckpoint(os.path.join(checkpoints, "last.keras")),
        best,
        keras.callbacks.TensorBoard(os.path.join(model_dir, "logs")),
    ]
    if backup:
        callbacks.append(AtomicBackupAndRestore(backup_dir(model_dir), best_checkpoint=best))
    return callbacks


def backup_dir(model_dir):
    return os.path.join(model_dir, "backup")


def weights_digest(model):
    """SHA-256 of the model's weights: equal digests, bit-equal weights."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def best_value(checkpoint):
    """The best monitored value a `ModelCheckpoint` has seen, or `None`."""
    best = None if checkpoint is None else checkpoint.best
    return None if best is None or not np.isfinite(best) else float(best)


def best_checkpoint(callbacks):
    """The `best.keras` checkpoint callback of a `build_callbacks` list."""
    return next(c for c in callbacks if isinstance(c, AtomicModelCheckpoint)
                and c.save_best_only)
