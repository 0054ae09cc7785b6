"""Trains a lifter, on one device, several GPUs or several hosts.

    python scripts/train.py --flagfile=configs/ugcn_demo.cfg --model_dir=runs/ugcn_demo
    python scripts/train.py --flagfile=configs/ugcn_hdm05.cfg --model_dir=runs/ugcn_hdm05
    python scripts/train.py ... --strategy=mirrored            # all local GPUs
    TF_CONFIG=... python scripts/train.py ... --strategy=multi_worker   # one per host
    python scripts/launch_workers.py --num_workers=2 -- <train.py flags>  # try it locally
    python scripts/train.py --flagfile=configs/ugcn_hdm05.cfg --dataset=mocap \
        --data_dir=my_mocap --init_from=runs/ugcn_hdm05/model.keras ...  # fine-tune

Writes to --model_dir (the chief only; other workers write into temporary
directories): flags.cfg (rerun with --flagfile=<model_dir>/flags.cfg),
checkpoints/{last,best}.keras, backup/ (a killed run started again with the
same command resumes and ends with the weights of an uninterrupted one),
logs/ (TensorBoard), training.csv, model.keras and, with --evaluate,
metrics.json from the sequence evaluation of the test split.
See docs/DISTRIBUTED.md.
"""

import os

import tfpose.quiet_startup  # noqa: F401  (first: before TensorFlow loads)

# isort: split

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags, logging

from tfpose import fileio
from tfpose import flags as tfpose_flags
from tfpose.data import sources
from tfpose.inference import evaluation, protocols
from tfpose.models import MODELS
from tfpose.training import checkpoints, distribute, runner, schedules
from tfpose.training import loop as tfpose_loop

FLAGS = flags.FLAGS


def main(argv):
    del argv
    # TensorFlow's INFO lines (every collective it traces) drown the run's own.
    tf.get_logger().setLevel("WARNING")
    # Devices and the strategy come first: both need TensorFlow's runtime
    # unused, and the cluster must form before anything else runs.
    distribute.configure_devices(FLAGS.strategy, FLAGS.num_devices)
    strategy = distribute.make_strategy(FLAGS.strategy, FLAGS.num_devices)
    loop = tfpose_loop.choose_loop(FLAGS.training_loop, FLAGS.strategy, FLAGS.backup_every_steps)
    replicas = strategy.num_replicas_in_sync
    if FLAGS.batch_size % replicas:
        raise app.UsageError(
            f"--batch_size={FLAGS.batch_size} (the global batch) does not split over "
            f"{replicas} replicas.")
    precision = tfpose_flags.precision_policy()
    if precision != "float32":
        keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(FLAGS.seed)
    write_dir = distribute.WriteDir(FLAGS.model_dir, strategy)
    tfpose_flags.write_flagfile(os.path.join(write_dir.path, "flags.cfg"))
    # The model first: its window (`num_frames`) and inputs shape the data.
    with strategy.scope():
        model = MODELS[FLAGS.model](**tfpose_flags.model_kwargs())
    if FLAGS.evaluate:  # a protocol the closing evaluation cannot run fails now, not then
        protocol = protocols.resolve_protocol(model, FLAGS.eval_protocol)
        try:
            protocol, lookahead = protocols.model_protocol(model, protocol, FLAGS.lookahead)
            if protocol == "causal":
                protocols.read_position(protocols.window_frames(model, FLAGS.num_frames),
                                        protocol, lookahead)
        except ValueError as error:
            raise app.UsageError(str(error)) from None
    data = tfpose_flags.data_kwargs()
    train = sources.load_sequences(FLAGS.dataset, "train", **data)
    test = sources.load_sequences(FLAGS.dataset, "test", **data) if (
        FLAGS.validate or FLAGS.evaluate) else []
    make_train, val_ds, steps = runner.train_datasets(
        train, test if FLAGS.validate else [], num_frames=model.num_frames,
        batch_size=FLAGS.batch_size, stride=FLAGS.stride, seed=FLAGS.seed, flip=FLAGS.flip,
        noise_std=FLAGS.noise_std, steps_per_epoch=FLAGS.steps_per_epoch,
        validation_steps=FLAGS.validation_steps,
        intrinsics=protocols.needs_intrinsics(model),
        cameras=tfpose_flags.training_cameras(), body_scale=FLAGS.body_scale,
        bone_scale=FLAGS.bone_scale, speed_scale=FLAGS.speed_scale,
        lookahead=protocols.model_lookahead(model),
    )
    schedule = schedules.learning_rate_schedule(
        FLAGS.learning_rate, steps, FLAGS.lr_schedule, FLAGS.lr_decay_epochs, FLAGS.lr_decay_rate,
        epochs=FLAGS.epochs, warmup_steps=FLAGS.lr_warmup_steps)
    with strategy.scope():
        runner.compile_model(model, tfpose_flags.loss_kwargs(), schedule,
                             FLAGS.dgnet_block_weight)
        if FLAGS.init_from:
            runner.initialize_from(model, FLAGS.init_from)
    if replicas > 1 and FLAGS.sync_batch_norm:
        distribute.synchronize_batch_norm(model)
    # Trainable parameters, as the model cards and docs/MODELS.md count them
    # (batch norms' moving statistics are not parameters).
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    logging.info("%s: %d trainable parameters, %d steps per epoch, %s loop, %d replicas",
                 FLAGS.model, trainable, steps, loop, replicas)
    runner.train(model, make_train, val_ds, strategy=strategy, loop=loop,
                 model_dir=FLAGS.model_dir, write_dir=write_dir.path, epochs=FLAGS.epochs,
                 steps_per_epoch=steps, backup_every_steps=FLAGS.backup_every_steps,
                 verbose=FLAGS.verbose)
    final = runner.final_model_path(write_dir.path)
    runner.save_model(model, final)
    # For comparing workers (equal digests: bit-equal replicas), not for
    # reading: shown with --verbosity=1.
    logging.debug("final weights sha256 %s", checkpoints.weights_digest(model))
    if FLAGS.evaluate and write_dir.chief:
        # A fresh float32 copy outside the strategy: evaluation is the chief's
        # alone, and a distributed model's calls would wait for the others.
        if FLAGS.strategy != "default" or precision != "float32":
            keras.mixed_precision.set_global_policy("float32")
            model = keras.models.load_model(final)
        summary = runner.evaluate_model(model, test, model.num_frames, FLAGS.eval_step,
                                        FLAGS.eval_flip, protocol=FLAGS.eval_protocol,
                                        lookahead=FLAGS.lookahead, margin=FLAGS.eval_margin)
        fileio.write_json(os.path.join(write_dir.path, "metrics.json"), summary)
        average = summary["average"]
        print(f"\nTest split, whole sequences (mm):\n{evaluation.format_table(summary)}\n"
              f"Test MPJPE {average['mpjpe']:.1f} mm, P-MPJPE {average['p_mpjpe']:.1f} mm "
              "(average over actions; all metrics in metrics.json).")
    if write_dir.chief:
        written = ["model.keras"] + (["metrics.json"] if FLAGS.evaluate else []) + [
            "training.csv", "checkpoints/", "logs/ (TensorBoard)", "flags.cfg", "backup/"]
        print(f"Run written to {FLAGS.model_dir}: {', '.join(written)}.")
    write_dir.cleanup()


if __name__ == "__main__":
    tfpose_flags.define_data_flags()
    tfpose_flags.define_model_flags()
    tfpose_flags.define_training_flags()
    flags.mark_flag_as_required("model_dir")
    app.run(main)
