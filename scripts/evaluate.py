"""Evaluates a trained lifter on whole test sequences.

    python scripts/evaluate.py --flagfile=runs/ugcn_hdm05/flags.cfg
    python scripts/evaluate.py --flagfile=runs/ugcn_hdm05/flags.cfg \
        --checkpoint=runs/ugcn_hdm05/checkpoints/best.keras --output_json=best.json

Reads the run's flags.cfg for the data settings, lifts every test camera view
with the model's own protocol (--eval_protocol=model; UGCN "average": sliding
windows of --num_frames frames and step --eval_step, averaging the
overlapping predictions; DG-Net "center": a window around every frame; TCN
"convolutional": one pass over the edge-padded sequence), with flip
test-time augmentation (--eval_flip), and reports MPJPE, P-MPJPE, N-MPJPE and
MPJVE (mm), PCK@150mm and AUC (%), per action and overall, on stdout and as
JSON. A released export is evaluated with its own flags.cfg:

    python scripts/evaluate.py --flagfile=exported/ugcn/6/flags.cfg --lifter=exported/ugcn/6

Live lifting's accuracy: --eval_protocol=causal --lookahead=L (each frame from
the window ending L frames after it). Absolute 3D: --camera_space adds the
root position error, its depth error, the camera-space MPJPE and the root
error after smoothing (mm), with the true intrinsics or --focal_scale times
the true focal length:

    python scripts/evaluate.py --flagfile=runs/ugcn_hdm05/flags.cfg \
        --eval_protocol=causal --lookahead=0 --camera_space --focal_scale=1.2
"""

import os

import tfpose.quiet_startup  # noqa: F401  (first: before TensorFlow loads)

# isort: split

import keras
from absl import app, flags

from tfpose import fileio
from tfpose import flags as tfpose_flags
from tfpose.data import sources
from tfpose.inference import evaluation, protocols
from tfpose.training import runner

_CHECKPOINT = flags.DEFINE_string(
    "checkpoint", None, "A .keras model; default: <model_dir>/model.keras.")
_OUTPUT_JSON = flags.DEFINE_string(
    "output_json", None, "Where to write the metrics; default: <model_dir>/evaluation.json.")
_SPLIT = flags.DEFINE_enum("split", "test", ["train", "test"], "Which split to evaluate.")
_LIFTER = flags.DEFINE_string(
    "lifter", None, "Evaluate an exported model instead of a checkpoint: a SavedModel "
    "directory (serving_default) or a .tflite file; the protocol is the one built into it "
    "(--eval_protocol=causal: the export's stream signature, or stream.tflite).")
_CAMERA_SPACE = flags.DEFINE_bool(
    "camera_space", False, "Also score absolute 3D in camera space: the root solved in closed "
    "form from the prediction, the 2D and the intrinsics (tfpose.inference.camera_space).")
_FOCAL_SCALE = flags.DEFINE_float(
    "focal_scale", 1.0, "The focal length the camera-space solve is given, times the true "
    "one (1.2: 20% off).", lower_bound=1e-3)
_VIEWS = flags.DEFINE_integer(
    "views_per_sequence", 0, "Evaluate only the first N camera views of each sequence "
    "(0: all), e.g. to compare slow exported variants on a subset.", lower_bound=0)
FLAGS = flags.FLAGS


def _keys():
    keys = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "pck", "auc")
    return keys + (evaluation.CAMERA_SPACE_KEYS if _CAMERA_SPACE.value else ())


def main(argv):
    del argv
    sequences = sources.load_sequences(FLAGS.dataset, _SPLIT.value, **tfpose_flags.data_kwargs())
    if _VIEWS.value:
        for sequence in sequences:
            sequence.views = sequence.views[: _VIEWS.value]
    if _LIFTER.value:
        from tfpose.inference import lifters

        summary = evaluation.to_millimetres(evaluation.evaluate_sequences(
            lifters.load_lifter(_LIFTER.value, protocol=FLAGS.eval_protocol,
                                lookahead=FLAGS.lookahead),
            sequences, camera_space=_CAMERA_SPACE.value,
            focal_scale=_FOCAL_SCALE.value))
        summary["lifter"] = _LIFTER.value
        summary["split"] = _SPLIT.value
        summary["views_per_sequence"] = _VIEWS.value
        print(evaluation.format_table(summary, _keys()))
        if _OUTPUT_JSON.value:
            fileio.write_json(_OUTPUT_JSON.value, summary)
            print(f"wrote {_OUTPUT_JSON.value}")
        return
    checkpoint = _CHECKPOINT.value
    if checkpoint is None:
        if FLAGS.model_dir is None:
            raise app.UsageError("Give --checkpoint or --model_dir (e.g. through its flags.cfg).")
        checkpoint = runner.final_model_path(FLAGS.model_dir)
    if not os.path.exists(checkpoint):
        raise app.UsageError(f"Checkpoint not found: {checkpoint}")
    model = keras.models.load_model(checkpoint, compile=False)
    try:
        summary = runner.evaluate_model(model, sequences, FLAGS.num_frames, FLAGS.eval_step,
                                        FLAGS.eval_flip, protocol=FLAGS.eval_protocol,
                                        lookahead=FLAGS.lookahead, margin=FLAGS.eval_margin,
                                        camera_space=_CAMERA_SPACE.value,
                                        focal_scale=_FOCAL_SCALE.value)
    except ValueError as error:  # e.g. a lookahead beyond the model's window
        raise app.UsageError(str(error)) from None
    summary["checkpoint"] = checkpoint
    summary["protocol"] = protocol = protocols.resolve_protocol(model, FLAGS.eval_protocol)
    if protocol == "causal":  # (a TCN's own)
        summary["lookahead"] = protocols.model_protocol(model, protocol, FLAGS.lookahead)[1]
    if _CAMERA_SPACE.value:
        summary["focal_scale"] = _FOCAL_SCALE.value
    summary["step"] = FLAGS.eval_step
    summary["flip"] = FLAGS.eval_flip
    if protocol == "average":
        summary["margin"] = FLAGS.eval_margin
    summary["split"] = _SPLIT.value
    summary["views_per_sequence"] = _VIEWS.value
    print(evaluation.format_table(summary, _keys()))
    output = _OUTPUT_JSON.value or os.path.join(
        FLAGS.model_dir or os.path.dirname(checkpoint), "evaluation.json")
    fileio.write_json(output, summary)
    print(f"wrote {output}")


if __name__ == "__main__":
    tfpose_flags.define_data_flags()
    tfpose_flags.define_model_flags()
    tfpose_flags.define_training_flags()
    app.run(main)
