"""Training helpers: optimiser and schedule, callbacks. Reads no flags."""

import os

import keras

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
        boundaries = [e * steps_per_epoch for e in epochs]
        values = [float(learning_rate) * decay_rate**i for i in range(len(epochs) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    if schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            float(learning_rate), decay_steps=steps_per_epoch, decay_rate=decay_rate
        )
    raise ValueError(f"Unknown schedule {schedule!r}; expected one of {SCHEDULES}.")


def build_callbacks(model_dir, monitor="val_mpjpe", backup_every_steps=0):
    """The standard callbacks of a training run in `model_dir`.

    - `checkpoints/last.keras` after every epoch and `checkpoints/best.keras`
      when `monitor` improves (`.keras` files that
      `keras.models.load_model` restores with their loss);
    - `BackupAndRestore` in `backup/`: a killed run started again with the
      same command resumes from the last backup (every epoch, or every
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
        keras.callbacks.BackupAndRestore(
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
