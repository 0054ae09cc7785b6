"""Exports a training run for TF Serving (SavedModel) and mobile (TFLite).

    python scripts/export.py --run_dir=runs/ugcn_hdm05 --export_dir=exported/ugcn/1

Writes the TF Serving layout `<base>/<model_name>/<version>/`: the SavedModel
(signatures `serving_default`, `serve_tflite`, `window` and, with --stream,
`stream`; see `tfpose.export.saved_model`), the TFLite files of --tflite
(converted from `serve_tflite`, builtin ops only; `int8` and `int16x8`
calibrated on --calibration_windows windows of the run's training data), each
scored on the first --card_views camera views of every test sequence, with
--stream `stream.tflite` (the live per-frame step,
`tfpose.inference.streaming`, with --lookahead frames of lookahead), the
trained Keras model (`model.keras`, for fine-tuning), the run's `flags.cfg`,
its metrics and a `MODEL_CARD.md`. All or nothing: a failed export leaves no
directory behind. The run's settings (model, data, --eval_protocol,
--eval_step, --eval_flip) come from `<run_dir>/flags.cfg`; flags given here
override them.

    python scripts/export.py --run_dir=runs/ugcn_hdm05 --export_dir=exported/ugcn/2 \
        --lookahead=8      # stream.tflite waits 8 frames for each pose
"""

import os
import sys
import tempfile

import tfpose.quiet_startup  # noqa: F401  (first: before TensorFlow loads)

# isort: split

import keras
import numpy as np
from absl import app, flags

from tfpose import flags as tfpose_flags
from tfpose.data import sources
from tfpose.export import model_card, saved_model, tflite
from tfpose.inference import evaluation, lifters, protocols
from tfpose.models import MODELS, inference_model
from tfpose.training import runner

_RUN_DIR = flags.DEFINE_string("run_dir", None, "The training run to export.")
_EXPORT_DIR = flags.DEFINE_string("export_dir", None, "<base>/<model_name>/<version>.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None,
                                  "A .keras model; default: <run_dir>/model.keras.")
_TFLITE = flags.DEFINE_list("tflite", ["fp32", "fp16", "dynamic_int8"],
                            f"TFLite files to write, from {list(tflite.QUANTIZATIONS)}. "
                            "The default keeps the usable ones: integer-only int8 costs "
                            "20-120 mm (docs/RESULTS.md); int16x8 runs for UGCN only (DG-Net's "
                            "kNN distances have no int16 kernel in TFLite).")
_CARD_VIEWS = flags.DEFINE_integer("card_views", 1,
                                   "Score every TFLite file and the Keras model on the first N "
                                   "camera views of each test sequence, for the model card "
                                   "(0: skip).", lower_bound=0)
_CALIBRATION = flags.DEFINE_integer("calibration_windows", 100,
                                    "Training chunks (of 4 windows' length) that calibrate "
                                    "int8 and int16x8.", lower_bound=1)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing export.")
_STREAM = flags.DEFINE_bool("stream", True,
                            "Add the `stream` signature (one live frame per call, causal with "
                            "--lookahead) and its conversion stream.tflite.")
STREAM_TFLITE = model_card.STREAM_TFLITE
FLAGS = flags.FLAGS

TFLITE_NAMES = {"fp32": "model.tflite", "fp16": "model_fp16.tflite",
                "dynamic_int8": "model_dynamic_int8.tflite", "int8": "model_int8.tflite",
                "int16x8": "model_int16x8.tflite"}


def representative_data(count, num_frames, with_intrinsics, seed=0):
    """`count` random chunks of the run's training views, as signature inputs
    for a model of `num_frames`-frame windows.

    Chunks span several windows: with overlap-averaging (UGCN) the sums of
    overlapping predictions grow with the number of windows covering a
    frame, and a calibration on single windows would leave them outside the
    quantised range (it did: hundreds of millimetres of error).
    """
    views = runner.views_of(sources.load_sequences(FLAGS.dataset, "train",
                                                   **tfpose_flags.data_kwargs()))
    views = [v for v in views if len(v.keypoints_2d) >= num_frames] or views
    length = max(4 * num_frames, 64)
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(count):
        view = views[rng.integers(len(views))]
        start = rng.integers(max(1, len(view.keypoints_2d) - length + 1))
        item = [view.keypoints_2d[None, start : start + length].astype(np.float32)]
        if with_intrinsics:
            item.append(view.camera.normalized_intrinsics()[None])
        data.append(item)
    return data


KERAS_FILE = "model.keras"


def keras_bytes(model):
    """The trained model as `.keras` bytes, float32 and not compiled: a saved
    optimiser would either triple the file (its moments) or make Keras warn
    at every load (an unbuilt one), so users compile it with the loss the
    model card names."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, KERAS_FILE)
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def main(argv):
    del argv
    if not _RUN_DIR.value or not _EXPORT_DIR.value:
        raise app.UsageError("Give --run_dir and --export_dir.")
    run_dir = _RUN_DIR.value
    flagfile = os.path.join(run_dir, "flags.cfg")
    if not os.path.exists(flagfile):
        raise app.UsageError(f"{flagfile} not found: --run_dir must be a training run.")
    # The run's flags first, then this command line's, which win.
    FLAGS.unparse_flags()
    FLAGS([sys.argv[0], f"--flagfile={flagfile}"] + sys.argv[1:])
    unknown = [q for q in _TFLITE.value if q not in TFLITE_NAMES]
    if unknown:
        raise app.UsageError(f"Unknown --tflite {unknown}; choose from {list(TFLITE_NAMES)}.")
    if os.path.exists(_EXPORT_DIR.value) and not _OVERWRITE.value:
        raise app.UsageError(f"{_EXPORT_DIR.value} exists: export a new version, or pass "
                             "--overwrite.")
    checkpoint = _CHECKPOINT.value or runner.final_model_path(run_dir)
    if not os.path.exists(checkpoint):
        raise app.UsageError(f"Checkpoint not found: {checkpoint}")
    # compile=False: the optimizer state would otherwise be saved with the model.
    trained = keras.models.load_model(checkpoint, compile=False)
    model = inference_model(trained)
    with_intrinsics = protocols.needs_intrinsics(model)
    protocol = protocols.resolve_protocol(MODELS[FLAGS.model], FLAGS.eval_protocol)
    num_frames = protocols.window_frames(model, FLAGS.num_frames)
    stream_frames = protocols.window_frames(model, FLAGS.num_frames)
    try:  # a lookahead beyond the window fails now, not after the conversions
        if protocol == "causal":
            protocols.read_position(num_frames, protocol, FLAGS.lookahead)
        if _STREAM.value:
            protocols.read_position(stream_frames, "causal", FLAGS.lookahead)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    export_dir = os.path.normpath(_EXPORT_DIR.value)
    name = os.path.basename(os.path.dirname(export_dir)) or FLAGS.model
    version = os.path.basename(export_dir)

    metrics, metrics_text, command = None, None, None
    for file_name, script in (("evaluation.json", "evaluate.py"), ("metrics.json", "train.py")):
        path = os.path.join(run_dir, file_name)
        if os.path.exists(path):
            metrics = model_card.metrics_json(path)
            with open(path) as f:
                metrics_text = f.read()
            command = f"python scripts/{script} --flagfile={flagfile}"
            break
    with open(flagfile) as f:
        flags_text = f.read()
    run_flags = {f.name: f.value for f in FLAGS.get_flags_for_module("tfpose.flags")}
    parameters = sum(int(np.prod(w.shape)) for w in model.trainable_weights)

    check, accuracy = None, {}
    if _CARD_VIEWS.value and _TFLITE.value:
        test = sources.load_sequences(FLAGS.dataset, "test", **tfpose_flags.data_kwargs())
        for sequence in test:
            sequence.views = sequence.views[: _CARD_VIEWS.value]
        accuracy["views"] = (f"the first {_CARD_VIEWS.value} camera view(s) of each of the "
                             f"{len(test)} test sequences")
        accuracy["reference"] = runner.evaluate_model(
            trained, test, FLAGS.num_frames, FLAGS.eval_step, FLAGS.eval_flip, protocol=protocol,
            lookahead=FLAGS.lookahead)

        def check(file_name, flatbuffer):
            print(f"scoring {file_name} on {accuracy['views']}")
            return evaluation.to_millimetres(evaluation.evaluate_sequences(
                lifters.TFLiteLifter(flatbuffer), test))

    def files(converted, checks=None):
        accuracy.update(checks or {})
        card = model_card.render(
            name=name, version=version, model=FLAGS.model, parameters=parameters,
            flag_values=run_flags, num_frames=num_frames, protocol=protocol, step=FLAGS.eval_step,
            flip=FLAGS.eval_flip, with_intrinsics=with_intrinsics, metrics=metrics,
            metrics_command=command, tflite_files=converted, tflite_accuracy=accuracy,
            keras_file=KERAS_FILE, loss_kwargs=tfpose_flags.loss_kwargs(),
            lookahead=FLAGS.lookahead,
            stream=(stream_frames, FLAGS.lookahead) if _STREAM.value else None)
        extra = {"flags.cfg": flags_text, "MODEL_CARD.md": card,
                 KERAS_FILE: keras_bytes(trained)}
        if metrics_text is not None:
            extra["metrics.json"] = metrics_text
        return extra

    calibration = (representative_data(_CALIBRATION.value, num_frames, with_intrinsics)
                   if {"int8", "int16x8"} & set(_TFLITE.value) else None)
    converted = saved_model.export(
        model, export_dir, num_frames=num_frames, protocol=protocol,
        step=FLAGS.eval_step, flip=FLAGS.eval_flip,
        tflite_files={TFLITE_NAMES[q]: q for q in _TFLITE.value},
        representative_data=calibration, extra_files=files, overwrite=_OVERWRITE.value,
        check_tflite=check, lookahead=FLAGS.lookahead,
        stream_lookahead=FLAGS.lookahead if _STREAM.value else None,
        stream_tflite=STREAM_TFLITE if _STREAM.value else None)
    for file_name, (quantization, size) in sorted(converted.items()):
        print(f"{file_name}: {quantization}, {size / 1e6:.2f} MB")
    print(f"exported {export_dir}")


if __name__ == "__main__":
    tfpose_flags.define_data_flags()
    tfpose_flags.define_model_flags()
    tfpose_flags.define_training_flags()
    app.run(main)
