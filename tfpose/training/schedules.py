"""Learning-rate schedules described per epoch, stepped per batch."""

import keras

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
