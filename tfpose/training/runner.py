"""Building blocks of the train and evaluate programs, flag-free."""

import os

import keras
import tensorflow as tf
from absl import logging

from tfpose import fileio, losses, metrics
from tfpose.data import pipeline
from tfpose.inference import evaluation, protocols
from tfpose.models import MODELS, inference_model, loss_arguments
from tfpose.training import backup, checkpoints
from tfpose.training import loop as tfpose_loop


def views_of(sequences):
    return [v for s in sequences for v in s.views]


def output_names(model):
    """Names of a dict-output model's outputs, or `None` for one output."""
    try:
        output = model.output
    except AttributeError:  # a subclassed model (TCN): one output
        return None
    return sorted(output) if isinstance(output, dict) else None


def build_model(name, model_kwargs, loss_kwargs, learning_rate, head_weight=None):
    """A compiled `MODELS[name](**model_kwargs)`: Adam, `MotionLoss`, MPJPE /
    P-MPJPE / MPJVE metrics (see `compile_model`)."""
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; expected one of {sorted(MODELS)}.")
    return compile_model(MODELS[name](**model_kwargs), loss_kwargs, learning_rate, head_weight)


def compile_model(model, loss_kwargs, learning_rate, head_weight=None):
    """Compiles `model` with a new Adam, `MotionLoss` and pose metrics.

    The loss is the model's paper's (`tfpose.models.loss_arguments`), with
    the `MotionLoss` arguments in `loss_kwargs` (a dict or `None`) in place
    of its own. A model with several outputs (DG-Net's multi-level
    supervision) gets the same loss on each, weighted 1 for `"network"` and
    `head_weight` (DG-Net's lambda; `None`: the model's
    `BLOCK_LOSS_WEIGHT`) for the others, and metrics on `"network"` only.
    """
    loss_kwargs = loss_arguments(model, loss_kwargs)
    if loss_kwargs.get("stream_weight") and hasattr(model, "receptive_field"):
        raise ValueError(
            f"stream_weight trains the window frame that the causal protocol reads, but "
            f"{type(model).__name__} predicts one frame of its receptive field; use a model "
            f"that outputs every window frame (UGCN, DG-Net), or train a TCN for live use "
            f"with --tcn_lookahead.")
    reads = loss_kwargs.get("stream_reads", 1)
    if reads > 1:
        if not (getattr(model, "causal", False) and hasattr(model, "stream_period")):
            raise ValueError(
                f"stream_reads={reads} trains frames a stream period apart as live readings, "
                f"which they are in a causal UGCN only (--ugcn_causal), not in this "
                f"{type(model).__name__}.")
        loss_kwargs = {"stream_period": model.stream_period, **loss_kwargs}
        if loss_kwargs["stream_period"] % model.stream_period:
            # Only frames a multiple of the model's period before the read
            # one sit at its place in every scale's grid.
            raise ValueError(
                f"stream_period={loss_kwargs['stream_period']} is not a multiple of this "
                f"UGCN's stream period {model.stream_period} (2 ** num_pairs); frames that "
                f"far apart are not live readings.")
        if model.num_frames is not None:  # fail before any data loads
            losses.check_stream_reads(model.num_frames, loss_kwargs.get("lookahead", 0), reads,
                                      loss_kwargs["stream_period"])
    names = output_names(model)
    if names is not None and head_weight is None:
        head_weight = model.BLOCK_LOSS_WEIGHT
    loss = losses.MotionLoss(**loss_kwargs)
    if names is None:
        kinds = ("mpjpe", "p_mpjpe", "mpjve")
        if output_frames(model) == 1:
            kinds = kinds[:2]  # no velocity in one frame
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss,
                      metrics=metrics.pose_metrics(kinds))
    else:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss={n: losses.MotionLoss(**loss_kwargs) for n in names},
            loss_weights={n: 1.0 if n == "network" else head_weight for n in names},
            metrics={"network": metrics.pose_metrics()},
        )
    return model


def output_frames(model):
    """Frames a training window's output has (`None`: as many as in)."""
    if not hasattr(model, "receptive_field") or model.num_frames is None:
        return None
    return model.output_frames(model.num_frames)


def match_targets(dataset, model):
    """The targets of `model`'s outputs: the frames a TCN outputs (those
    `model.lookahead` frames before each receptive field's end: the centre
    by default), repeated for every output of a multi-output model."""
    if hasattr(model, "receptive_field"):
        lookahead = protocols.model_lookahead(model)
        past = model.receptive_field - 1 - lookahead
        dataset = dataset.map(lambda x, y: (x, y[:, past : tf.shape(y)[1] - lookahead]))
    names = output_names(model)
    if names is None:
        return dataset
    return dataset.map(lambda x, y: (x, {n: y for n in names}))


def monitor_name(model, validation):
    prefix = "val_" if validation else ""
    return prefix + ("network_mpjpe" if output_names(model) else "mpjpe")


def evaluate_model(model, sequences, num_frames, step=5, flip=True, batch_size=256,
                   protocol="model", lookahead=0, camera_space=False, focal_scale=1.0,
                   margin=0):
    """Sequence evaluation (sliding windows, flip) in millimetres with
    `protocol` (`"model"`: the model's own); see
    `evaluation.evaluate_sequences` for `camera_space` and `focal_scale`."""
    protocol = protocols.resolve_protocol(model, protocol)
    num_frames = protocols.window_frames(model, num_frames)
    lifter = protocols.SequenceLifter(inference_model(model), num_frames, step=step, flip=flip,
                                      batch_size=batch_size, protocol=protocol,
                                      lookahead=lookahead,
                                      margin=margin if protocol == "average" else 0)
    return evaluation.to_millimetres(evaluation.evaluate_sequences(
        lifter, sequences, camera_space=camera_space, focal_scale=focal_scale))


def save_model(model, path):
    """Saves a `.keras` file through a temporary name."""
    with fileio.atomic_path(path) as temporary:
        model.save(temporary)


# Validation of one-output-frame models (TCN) scores every this many frames.
VALIDATION_FRAME_STRIDE = 8


def train_datasets(train_sequences, val_sequences, *, num_frames, batch_size, stride, seed,
                   flip, noise_std, steps_per_epoch=0, validation_steps=0, intrinsics=False,
                   cameras=None, body_scale=0.0, bone_scale=0.0, speed_scale=0.0,
                   lookahead=None):
    """The training stream, validation `tf.data` pipeline and steps per epoch.

    With `cameras` (a `tfpose.camera.VirtualCameras`), training windows
    come from the sequences' world-frame motion, each through its own
    drawn camera (and body, with `body_scale` / `bone_scale`, and tempo,
    with `speed_scale`); otherwise
    from their fixed views. Validation always uses the fixed views.

    `lookahead`: training windows put every frame at position
    `num_frames - 1 - lookahead` (a TCN's predicted frame,
    `protocols.model_lookahead`); `None`: the centre. Validation windows
    of a model with `lookahead` (one output frame) are those of every
    `VALIDATION_FRAME_STRIDE`-th frame at that position; otherwise they
    tile each view ("valid" padding).

    Returns `(make_train, val_ds, steps)`: `make_train(start_step=0,
    input_context=None)` builds the endless, step-indexed training stream
    (global batches, or one input pipeline's per-replica batches given a
    `tf.distribute.InputContext`); an epoch is `steps` batches, one pass
    over the windows unless `steps_per_epoch` says otherwise.
    """
    views = views_of(train_sequences) if cameras is None else list(train_sequences)
    full_epoch = pipeline.steps_per_pass(views, num_frames=num_frames, batch_size=batch_size,
                                         stride=stride)
    if full_epoch < 1:
        raise ValueError(
            f"The training split has fewer windows than one batch of {batch_size}; "
            "lower --batch_size or --stride."
        )
    steps = steps_per_epoch or full_epoch

    def make_train(start_step=0, input_context=None):
        shards = {}
        if input_context is not None:
            shards = dict(
                num_shards=input_context.num_input_pipelines,
                shard_index=input_context.input_pipeline_id,
                per_replica_batch_size=input_context.get_per_replica_batch_size(batch_size),
            )
        return pipeline.make_dataset(
            views, num_frames=num_frames, batch_size=batch_size, training=True, stride=stride,
            seed=seed, flip=flip, noise_std=noise_std, intrinsics=intrinsics,
            endless=True, start_step=start_step, cameras=cameras, body_scale=body_scale,
            bone_scale=bone_scale, speed_scale=speed_scale, lookahead=lookahead, **shards)

    val_ds = None
    if val_sequences:
        if lookahead is None:  # whole-window outputs: each frame about once
            windows = dict(stride=num_frames, padding="valid")
        else:
            # One output frame per window: windows at the frames the
            # sequence protocol reads, every VALIDATION_FRAME_STRIDE-th
            # frame (all of them would cost an epoch's worth of forward
            # passes), so the validation MPJPE estimates the test figure.
            windows = dict(stride=VALIDATION_FRAME_STRIDE, padding="same", lookahead=lookahead)
        val_ds = pipeline.make_dataset(
            views_of(val_sequences), num_frames=num_frames, batch_size=batch_size,
            training=False, intrinsics=intrinsics, **windows)
        if validation_steps:
            val_ds = val_ds.take(validation_steps)
    return make_train, val_ds, steps


def train(model, make_train, val_ds, *, strategy, loop, model_dir, write_dir, epochs,
          steps_per_epoch, backup_every_steps=0, verbose=1, callbacks=()):
    """Trains `model` (built and compiled under `strategy.scope()`) with
    `model.fit` or the custom loop, resuming from `model_dir`'s backup;
    `callbacks` run before the standard ones. Returns the History."""
    monitor = monitor_name(model, val_ds is not None)
    val_ds = None if val_ds is None else match_targets(val_ds, model)
    if loop == "custom":
        return tfpose_loop.train(
            model, strategy, lambda context, step: match_targets(make_train(step, context), model),
            val_ds, model_dir=model_dir, write_dir=write_dir, epochs=epochs,
            steps_per_epoch=steps_per_epoch, monitor=monitor,
            backup_every_steps=backup_every_steps, verbose=verbose, callbacks=callbacks)
    # The backup callback restores the state inside fit; the stream must
    # start where that state ends.
    state = backup.read_state(backup.backup_dir(model_dir))
    start_epoch = state["epoch"] if state else 0
    backup.truncate_log(os.path.join(write_dir, "training.csv"), start_epoch)
    callbacks = list(callbacks) + checkpoints.build_callbacks(write_dir, monitor)
    train_ds = match_targets(make_train(start_epoch * steps_per_epoch), model)
    # The stream is shuffled by the pipeline, per epoch from the seed; fit's
    # default shuffle=True would be ignored for a dataset, with a warning.
    return model.fit(train_ds, epochs=epochs, steps_per_epoch=steps_per_epoch,
                     validation_data=val_ds, callbacks=callbacks, verbose=verbose,
                     shuffle=False)


def final_model_path(model_dir):
    return os.path.join(model_dir, "model.keras")


def initialize_from(model, path):
    """Copies the weights of a saved `.keras` model into `model`, to fine-tune.

    The optimiser starts afresh. Raises `ValueError` naming the first
    difference when the two are different models or architectures. Settings
    that change what the same weights compute without changing their shapes
    (a TCN's lookahead, a root subtraction, a graph ablation) may be
    changed on purpose when fine-tuning, so they are logged as a warning
    and returned: `{key: (saved, built)}` for every config entry that
    differs (names aside).
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model to initialise from at {path!r}.")
    source = keras.models.load_model(path, compile=False)
    theirs, ours = source.weights, model.weights
    problem = None
    if type(source) is not type(model):
        problem = (f"it is a {type(source).__name__}, the model built from the flags a "
                   f"{type(model).__name__}")
    elif len(theirs) != len(ours):
        problem = f"it has {len(theirs)} weight tensors, the model built from flags {len(ours)}"
    else:
        for a, b in zip(theirs, ours):
            if tuple(a.shape) != tuple(b.shape):
                problem = (f"its weight {a.path} has shape {tuple(a.shape)}, the model's "
                           f"{b.path} {tuple(b.shape)}")
                break
    if problem:
        raise ValueError(
            f"Cannot initialise from {path}: its architecture differs from the model built "
            f"from the flags ({problem}). Pass the flags it was trained with (its flags.cfg).")
    saved, built = source.get_config(), model.get_config()
    changed = {key: (saved.get(key), built.get(key)) for key in sorted(set(saved) | set(built))
               if key not in ("name", "trainable") and saved.get(key) != built.get(key)}
    if changed:
        logging.warning(
            "Initialising from %s, whose settings differ from the flags' (saved -> now): %s",
            path, "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items()))
    model.set_weights(source.get_weights())
    return changed
