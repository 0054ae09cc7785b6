"""The callbacks of a training run: checkpoints, logs, backup."""

import hashlib
import os

import keras
import numpy as np

from tfpose import fileio
from tfpose.training import backup as backup_lib


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
        callbacks.append(backup_lib.AtomicBackupAndRestore(backup_lib.backup_dir(model_dir),
                                                           best_checkpoint=best))
    return callbacks


def weights_digest(model):
    """SHA-256 of the model's weights: equal digests, bit-equal weights."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def best_checkpoint(callbacks):
    """The `best.keras` checkpoint callback of a `build_callbacks` list."""
    return next(c for c in callbacks if isinstance(c, AtomicModelCheckpoint)
                and c.save_best_only)
