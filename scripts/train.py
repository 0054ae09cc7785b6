"""Trains a lifter.

    python scripts/train.py --flagfile=configs/ugcn_demo.cfg --model_dir=runs/ugcn_demo
    python scripts/train.py --flagfile=configs/ugcn_hdm05.cfg --model_dir=runs/ugcn_hdm05

Writes to --model_dir: flags.cfg (rerun with --flagfile=<model_dir>/flags.cfg),
checkpoints/{last,best}.keras, backup/ (a killed run started again with the
same command resumes), logs/ (TensorBoard), training.csv, model.keras and,
with --evaluate, metrics.json from the sequence evaluation of the test split.
"""

import os

import keras
from absl import app, flags, logging

from tfpose import evaluation, fileio, runner, training
from tfpose import flags as tfpose_flags
from tfpose.data import sources

FLAGS = flags.FLAGS


def main(argv):
    del argv
    keras.utils.set_random_seed(FLAGS.seed)
    model_dir = FLAGS.model_dir
    tfpose_flags.write_flagfile(os.path.join(model_dir, "flags.cfg"))
    data = tfpose_flags.data_kwargs()
    model_kwargs = tfpose_flags.model_kwargs()
    train = sources.load_sequences(FLAGS.dataset, "train", **data)
    test = sources.load_sequences(FLAGS.dataset, "test", **data) if (
        FLAGS.validate or FLAGS.evaluate) else []
    train_ds, val_ds, steps = runner.train_datasets(
        train, test if FLAGS.validate else [], num_frames=FLAGS.num_frames,
        batch_size=FLAGS.batch_size, stride=FLAGS.stride, seed=FLAGS.seed, flip=FLAGS.flip,
        noise_std=FLAGS.noise_std, steps_per_epoch=FLAGS.steps_per_epoch,
        validation_steps=FLAGS.validation_steps,
        intrinsics=runner.takes_intrinsics(model_kwargs),
    )
    schedule = training.learning_rate_schedule(
        FLAGS.learning_rate, steps, FLAGS.lr_schedule, FLAGS.lr_decay_epochs, FLAGS.lr_decay_rate)
    model = runner.build_model(FLAGS.model, model_kwargs,
                               tfpose_flags.loss_kwargs(), schedule, FLAGS.dgnet_block_weight)
    logging.info("%s: %d parameters, %d steps per epoch", FLAGS.model, model.count_params(), steps)
    runner.fit(model, train_ds, val_ds, model_dir=model_dir, epochs=FLAGS.epochs,
               steps_per_epoch=steps, backup_every_steps=FLAGS.backup_every_steps,
               verbose=FLAGS.verbose)
    runner.save_model(model, runner.final_model_path(model_dir))
    if FLAGS.evaluate:
        summary = runner.evaluate_model(model, test, FLAGS.num_frames, FLAGS.eval_step,
                                        FLAGS.eval_flip, protocol=runner.PROTOCOLS[FLAGS.model])
        print(evaluation.format_table(summary))
        fileio.write_json(os.path.join(model_dir, "metrics.json"), summary)


if __name__ == "__main__":
    tfpose_flags.define_data_flags()
    tfpose_flags.define_model_flags()
    tfpose_flags.define_training_flags()
    flags.mark_flag_as_required("model_dir")
    app.run(main)
