"""A training loop over `strategy.run`, for where `model.fit` cannot go.

Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy`
(keras-team/keras#20585: a `PerReplica` value reaches a tensor
conversion). This loop runs the model's own `train_step` and `test_step`
inside `strategy.run`, so losses (with their weights and regularisers),
metrics, loss scaling and the optimiser's schedule are the compiled
model's, exactly as in `fit`; it drives the same callbacks
(`tfpose.training.checkpoints.build_callbacks`) with the same logs. It also backs up
mid-epoch (`backup_every_steps`) and resumes at that step, which `fit`
cannot.

Every worker runs every line of it: saving and reading metrics take part
in collectives, so a line run by the chief alone would hang the others.
"""

import os

import keras
import tensorflow as tf

from tfpose.training import backup, checkpoints

LOOPS = ("auto", "fit", "custom")


def choose_loop(loop, strategy_name, backup_every_steps=0):
    """`"fit"` (Keras `model.fit`) or `"custom"` (this module's `train`) for a run.

    `auto` takes `model.fit` where it works, and the custom loop under
    `multi_worker` (Keras 3's `fit` fails there) or with mid-epoch backups
    (`fit` resumes only at epoch starts).
    """
    if loop not in LOOPS:
        raise ValueError(f"Unknown training loop {loop!r}; expected one of {LOOPS}.")
    if loop == "auto":
        return "custom" if strategy_name == "multi_worker" or backup_every_steps else "fit"
    if loop == "fit" and strategy_name == "multi_worker":
        raise ValueError("Keras 3's model.fit fails under MultiWorkerMirroredStrategy "
                         "(keras-team/keras#20585): use --training_loop=custom or auto.")
    if loop == "fit" and backup_every_steps:
        raise ValueError("model.fit resumes only at epoch starts: --backup_every_steps needs "
                         "--training_loop=custom or auto.")
    return loop


def _check_same_start(strategy, step):
    """Raises on every worker unless all resume from the same step."""
    value = tf.constant([step, step * step], tf.float64)

    @tf.function
    def moments():
        def fn():
            return tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.MEAN, value)
        return strategy.run(fn)

    mean, mean_square = strategy.experimental_local_results(moments())[0].numpy()
    if mean_square - mean * mean > 1e-6:
        raise RuntimeError(
            f"Workers would resume from different steps (this one from {step}): each worker "
            "reads the chief's backup from --model_dir, which must be on a file system that "
            "all workers share (see docs/DISTRIBUTED.md)."
        )


def train(model, strategy, make_train_dataset, val_dataset, *, model_dir, write_dir, epochs,
          steps_per_epoch, monitor, backup_every_steps=0, verbose=1, callbacks=()):
    """Trains a compiled `model` built under `strategy.scope()`.

    Args:
        make_train_dataset: `(input_context, start_step) -> tf.data.Dataset`
            of per-replica batches for one input pipeline, starting at
            global step `start_step` (`tfpose.data.pipeline.make_dataset`).
        val_dataset: global batches of validation data, or `None`.
        model_dir: the run directory; its `backup/` is read by every worker
            (a shared file system where workers are on several hosts).
        write_dir: where this worker writes (`tfpose.training.distribute.WriteDir`).
        epochs, steps_per_epoch: the length of the run.
        monitor: the log value `best.keras` follows.
        backup_every_steps: also back up every N steps (0: after every
            epoch only); a restart resumes at the backed-up step.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch (chief only).
        callbacks: more Keras callbacks, run before the standard ones.

    Returns:
        the `keras.callbacks.History`.
    """
    with strategy.scope():
        # Built here, eagerly: optimiser variables first created inside the
        # step function under MirroredStrategy miss their initial values.
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        metadata = backup.restore_state(backup.backup_dir(model_dir), model)
    start_step = metadata["step"] if metadata else 0
    _check_same_start(strategy, start_step)
    start_epoch, skip = divmod(start_step, steps_per_epoch)

    standard = checkpoints.build_callbacks(write_dir, monitor, backup=False)
    best = checkpoints.best_checkpoint(standard)
    if metadata and metadata.get("best") is not None:
        best.best = metadata["best"]
    backup.truncate_log(os.path.join(write_dir, "training.csv"), start_epoch)
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        list(callbacks) + standard + [history], add_progbar=verbose != 0 and write_dir == model_dir,
        model=model, verbose=verbose, epochs=epochs, steps=steps_per_epoch)

    dataset = strategy.distribute_datasets_from_function(
        lambda context: make_train_dataset(context, start_step))
    iterator = iter(dataset)

    @tf.function
    def train_step(iterator):
        logs = strategy.run(model.train_step, args=(next(iterator),))
        # The mean over replicas of their running means, so that every
        # worker logs the same numbers (and stops on a NaN together).
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                for k, v in logs.items()}

    @tf.function(reduce_retracing=True)
    def test_step(batch):
        return strategy.run(model.test_step, args=(batch,))

    @tf.function
    def metric_results():
        # Cross-replica reads of the metrics' sync-on-read totals: exact
        # over unequal (partial) batches, and the same on every worker.
        return model.get_metrics_result()

    def save_state(epoch, step):
        # The chief writes the backup that every worker resumes from; the
        # others write theirs into their temporary directories.
        backup.save_state(backup.backup_dir(write_dir), model, epoch=epoch, step=step,
                            best=backup.best_value(best))

    model.stop_training = False
    callback_list.on_train_begin()
    step = start_step
    epoch_logs = None
    for epoch in range(start_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        first = skip if epoch == start_epoch else 0
        for batch in range(first, steps_per_epoch):
            callback_list.on_train_batch_begin(batch)
            logs = {k: float(v) for k, v in train_step(iterator).items()}
            step += 1
            callback_list.on_train_batch_end(batch, logs)
            if model.stop_training:
                break
            if backup_every_steps and step % backup_every_steps == 0 and (
                    batch + 1 < steps_per_epoch):
                save_state(epoch, step)
        if model.stop_training:
            break
        # (After a mid-epoch resume these cover the steps since the restart.)
        epoch_logs = {k: float(v) for k, v in metric_results().items()}
        if val_dataset is not None:
            model.reset_metrics()
            for batch in strategy.experimental_distribute_dataset(val_dataset):
                test_step(batch)
            epoch_logs.update({f"val_{k}": float(v) for k, v in metric_results().items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
        save_state(epoch + 1, step)
    callback_list.on_train_end(epoch_logs)
    return history
