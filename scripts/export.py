"""Exports a training run for TF Serving (SavedModel) and mobile (TFLite).

    python scripts/export.py --run_dir=runs/ugcn_hdm05 --export_dir=runs/serving/ugcn/1

Writes the TF Serving layout `<base>/<model_name>/<version>/`: the SavedModel
(signatures `serving_default`, `serve_tflite`, `window` and, with --stream,
`stream`; see `tfpose.export.saved_model`), the TFLite files of --tflite
(converted from `serve_tflite`, builtin ops only; `int8` and `int16x8`
calibrated on --calibration_windows windows of the run's training data), each
scored on the first --card_views camera views of every test sequence, with
--stream the stream files of --stream_tflite (`stream.tflite` and
`stream_int8.tflite`: the live per-frame step, `tfpose.inference.streaming`,
with --lookahead frames of lookahead, each scored under the causal protocol), the
trained Keras model (`model.keras`, for fine-tuning), the run's `flags.cfg`,
its metrics and a `MODEL_CARD.md`. All or nothing: a failed export leaves no
directory behind. The run's settings (model, data, --eval_protocol,
--eval_step, --eval_flip) come from `<run_dir>/flags.cfg`; flags given here
override them. The card quotes the run's test figures (`evaluation.json`,
else `metrics.json`) only where the export serves what they measured: the
run's final model, protocol and test views; otherwise it names the command
that measures the export.

    python scripts/export.py --run_dir=runs/ugcn_hdm05 --export_dir=runs/serving/ugcn/1 \
        --lookahead=8      # stream.tflite waits 8 frames for each pose
"""

import os
import sys

import tfpose.quiet_startup  # noqa: F401  (first: before TensorFlow loads)

# isort: split

from absl import app, flags

from tfpose import flags as tfpose_flags
from tfpose.export import tflite, training_run

_RUN_DIR = flags.DEFINE_string("run_dir", None, "The training run to export.")
_EXPORT_DIR = flags.DEFINE_string("export_dir", None, "<base>/<model_name>/<version>.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None,
                                  "A .keras model; default: <run_dir>/model.keras.")
_TFLITE = flags.DEFINE_list("tflite", list(training_run.DEFAULT_TFLITE),
                            f"TFLite files to write, from {list(tflite.QUANTIZATIONS)}. "
                            "The default keeps the usable ones: integer-only int8 cost the "
                            "UGCN release ugcn/1 19.8 mm (docs/RESULTS.md); int16x8 runs for UGCN "
                            "only (DG-Net's kNN distances have no int16 kernel in TFLite).")
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
                            "--lookahead) and its TFLite files (--stream_tflite).")
_STREAM_TFLITE = flags.DEFINE_list(
    "stream_tflite", list(training_run.DEFAULT_STREAM_TFLITE),
    f"Stream TFLite files to write with --stream, from {list(training_run.STREAM_TFLITE_NAMES)}"
    f" ({training_run.STREAM_TFLITE_NAMES}); dynamic_int8 takes about half the time per frame "
    "on a CPU core (docs/BENCHMARKS.md).")
FLAGS = flags.FLAGS


def _tfpose_flag_values():
    return {f.name: f.value for f in FLAGS.get_flags_for_module("tfpose.flags")}


def main(argv):
    del argv
    if not _RUN_DIR.value or not _EXPORT_DIR.value:
        raise app.UsageError("Give --run_dir and --export_dir.")
    flagfile = os.path.join(_RUN_DIR.value, training_run.FLAGFILE)
    if not os.path.exists(flagfile):
        raise app.UsageError(f"{flagfile} not found: --run_dir must be a training run.")
    # The run's flags first, then this command line's, which win. The
    # difference, however it was given (a value after a space, another
    # flagfile), is what the export's flags.cfg adds to the run's.
    FLAGS.unparse_flags()
    FLAGS([sys.argv[0], f"--flagfile={flagfile}"])
    run_flag_values = _tfpose_flag_values()
    FLAGS.unparse_flags()
    FLAGS([sys.argv[0], f"--flagfile={flagfile}"] + sys.argv[1:])
    flag_values = _tfpose_flag_values()
    overrides = [FLAGS[name].serialize() for name in sorted(flag_values)
                 if flag_values[name] != run_flag_values[name]]
    # The two checks the library also makes, here in the flags' words.
    unknown = [q for q in _TFLITE.value if q not in training_run.TFLITE_NAMES]
    if unknown:
        raise app.UsageError(f"Unknown --tflite {unknown}; choose from "
                             f"{list(training_run.TFLITE_NAMES)}.")
    unknown = [q for q in _STREAM_TFLITE.value if q not in training_run.STREAM_TFLITE_NAMES]
    if unknown:
        raise app.UsageError(f"Unknown --stream_tflite {unknown}; choose from "
                             f"{list(training_run.STREAM_TFLITE_NAMES)}.")
    if os.path.exists(_EXPORT_DIR.value) and not _OVERWRITE.value:
        raise app.UsageError(f"{_EXPORT_DIR.value} exists: export a new version, or pass "
                             "--overwrite.")
    try:
        converted = training_run.export(
            _RUN_DIR.value, _EXPORT_DIR.value,
            flag_values=flag_values, run_flag_values=run_flag_values,
            data_kwargs=tfpose_flags.data_kwargs(), loss_kwargs=tfpose_flags.loss_kwargs(),
            checkpoint=_CHECKPOINT.value, tflite=_TFLITE.value, card_views=_CARD_VIEWS.value,
            calibration_windows=_CALIBRATION.value, stream=_STREAM.value,
            stream_tflite=_STREAM_TFLITE.value,
            overwrite=_OVERWRITE.value, log=print, flag_overrides=overrides)
    except training_run.ExportError as error:
        raise app.UsageError(str(error)) from None
    for file_name, (quantization, size) in sorted(converted.items()):
        print(f"{file_name}: {quantization}, {size / 1e6:.2f} MB")
    print(f"exported {os.path.normpath(_EXPORT_DIR.value)}")


if __name__ == "__main__":
    tfpose_flags.define_data_flags()
    tfpose_flags.define_model_flags()
    tfpose_flags.define_training_flags()
    app.run(main)
