"""Training helpers: optimiser and schedule, callbacks. Reads no flags."""

import json
import os
import shutil
import tempfile
import uuid

import keras

from tfpose import fileio

SCHEDULES = ("constant", "piecewise", "exponential")


def learning_rate_schedule(learning_rate, steps_per_epoch, schedule="constant",
                           decay_epochs=(), decay_rate=0.1):
    """A per-step learning rate from an epoch-based description.

    - `"constant"`: `learning_rate` throughout.
    - `"piecewise"`: times `decay_rate` after each epoch in `decay_epochs`
      (UGCN: 1e-2, x0.1 after epochs 80, 90 and 100).
    - `"exponential"`: times `decay_rate` every epoch, smoothly (DG-Net).

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
    raise ValueError(f"Unknown schedule {schedule!r}; expected one of {SCHEDULES}.")


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` whose backup survives a kill at any moment.

    Keras writes the backup's weights file in place, so a process killed
    while writing it leaves a corrupt file that the next start cannot read
    (seen in tests: "bad object header version number"), and weights and
    epoch counter can disagree. This version writes weights and metadata
    into a fresh directory, then switches an atomically replaced pointer
    file `current` to it: a restart finds either the previous backup or
    the new one, whole.
    """

    def __init__(self, backup_dir, save_freq="epoch"):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=True)

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".staging-", dir=self.backup_dir)
        self.model.save_weights(os.path.join(staging, "latest.weights.h5"), overwrite=True)
        with open(os.path.join(staging, "training_metadata.json"), "w") as f:
            json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, f)
        name = f"state-{uuid.uuid4().hex}"
        os.replace(staging, os.path.join(self.backup_dir, name))
        fileio.write_text(os.path.join(self.backup_dir, "current"), name)
        for entry in os.listdir(self.backup_dir):
            if entry != name and entry != "current":
                shutil.rmtree(os.path.join(self.backup_dir, entry), ignore_errors=True)

    def _load_model(self):
        pointer = os.path.join(self.backup_dir, "current")
        if not os.path.exists(pointer):
            return
        with open(pointer) as f:
            state = os.path.join(self.backup_dir, f.read().strip())
        self._weights_path = os.path.join(state, "latest.weights.h5")
        self._training_metadata_path = os.path.join(state, "training_metadata.json")
        super()._load_model()


def build_callbacks(model_dir, monitor="val_mpjpe", backup_every_steps=0):
    """The standard callbacks of a training run in `model_dir`.

    - `checkpoints/last.keras` after every epoch and `checkpoints/best.keras`
      when `monitor` improves (`.keras` files that
      `keras.models.load_model` restores with their loss);
    - `AtomicBackupAndRestore` in `backup/`: a killed run started again with
      the same command resumes from the last backup (every epoch, or every
      `backup_every_steps` steps);
    - TensorBoard logs in `logs/`, a CSV log `training.csv` (appended to on
      resumption), and `TerminateOnNaN`.
    """
    checkpoints = os.path.join(model_dir, "checkpoints")
    os.makedirs(checkpoints, exist_ok=True)
    # The CSV row of an epoch is written before its backup: a run killed
    # between the two repeats that epoch (and logs it twice) rather than
    # resuming past an epoch that has no row.
    return [
        keras.callbacks.CSVLogger(os.path.join(model_dir, "training.csv"), append=True),
        AtomicBackupAndRestore(
            os.path.join(model_dir, "backup"),
            save_freq=backup_every_steps if backup_every_steps else "epoch",
        ),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ModelCheckpoint(os.path.join(checkpoints, "last.keras")),
        keras.callbacks.ModelCheckpoint(
            os.path.join(checkpoints, "best.keras"), monitor=monitor, mode="min",
            save_best_only=True,
        ),
        keras.callbacks.TensorBoard(os.path.join(model_dir, "logs")),
    ]
