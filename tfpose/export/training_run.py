"""Exporting a training run: its model for serving, with what a user needs beside it.

`export(run_dir, export_dir, ...)` writes the TF Serving layout
`<base>/<model_name>/<version>/` (`tfpose.export.saved_model.export`, all
or nothing): the SavedModel, the TFLite files (integer ones calibrated on
the run's training views, `tfpose.export.calibration`), each scored on
test views for the model card, the trained Keras model, the run's
`flags.cfg`, its metrics (`find_metrics`) and `MODEL_CARD.md`.
"""

import dataclasses
import json
import os
import tempfile

import keras
import numpy as np

from tfpose.data import sources
from tfpose.export import calibration, model_card, saved_model
from tfpose.inference import evaluation, lifters, protocols
from tfpose.models import inference_model
from tfpose.training import runner

FLAGFILE = "flags.cfg"
KERAS_FILE = "model.keras"
STREAM_TFLITE = model_card.STREAM_TFLITE
TFLITE_NAMES = {"fp32": "model.tflite", "fp16": "model_fp16.tflite",
                "dynamic_int8": "model_dynamic_int8.tflite", "int8": "model_int8.tflite",
                "int16x8": "model_int16x8.tflite"}
# Integer-only int8 cost the released UGCN 19.8 mm (docs/RESULTS.md), and
# int16x8 runs for UGCN only (DG-Net's kNN distances have no int16 kernel in TFLite).
DEFAULT_TFLITE = ("fp32", "fp16", "dynamic_int8")
CALIBRATED = ("int8", "int16x8")
# The stream signature's TFLite files: fp32, and dynamic-range int8
# weights, about half the time per frame on a CPU core (docs/BENCHMARKS.md).
STREAM_TFLITE_NAMES = model_card.STREAM_TFLITE_NAMES
DEFAULT_STREAM_TFLITE = ("fp32", "dynamic_int8")
# The data flags that choose the test views (moving the data, --data_dir,
# does not change them).
TEST_DATA_FLAGS = ("dataset", "h36m_2d", "fps", "num_cameras", "camera_seed",
                   "synthetic_sequences", "synthetic_frames", "mocap_mapping", "test_glob")
# A run's metrics, best first: an evaluation of the final model beats the
# one that ended training (the same numbers, unless evaluated again).
METRICS_FILES = ("evaluation.json", "metrics.json")


class ExportError(ValueError):
    """An export that cannot be made as asked; raised before any work, and
    the message says what to change."""


@dataclasses.dataclass(frozen=True)
class RunMetrics:
    """A run's metrics: `metrics` (parsed) and `text` (the file as written,
    copied into the export)."""

    metrics: dict
    text: str


def find_metrics(run_dir):
    """The metrics of the training run `run_dir` for its model card.

    Returns:
        A `RunMetrics` from `evaluation.json` (`scripts/evaluate.py`) or
        else `metrics.json` (`scripts/train.py --evaluate`), or `None` when
        the run has neither: the card then says they were not measured.

    Raises:
        ValueError: the metrics file is not JSON, naming it.
    """
    for file_name in METRICS_FILES:
        path = os.path.join(run_dir, file_name)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            metrics = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not a metrics file: not JSON ({error}).") from None
        return RunMetrics(metrics, text)
    return None


def evaluate_command(export_dir):
    """The command that measures an export's accuracy again from the export
    alone (its flags.cfg and SavedModel), as a card's reader can run it."""
    return (f"python scripts/evaluate.py --flagfile={os.path.join(export_dir, FLAGFILE)} "
            f"--lifter={export_dir}")


def measured_settings(flag_values, trained, model):
    """What a run's test figures depend on besides the weights: the resolved
    sequence protocol (only the settings it reads) and the test views."""
    protocol = protocols.resolve_protocol(trained, flag_values["eval_protocol"])
    settings = {"protocol": protocol, "flip": bool(flag_values["eval_flip"]),
                "window": protocols.window_frames(model, flag_values["num_frames"])}
    if protocol == "causal":
        settings["lookahead"] = protocols.model_protocol(
            model, protocol, flag_values["lookahead"])[1]
    if protocol in ("average", "tiled"):
        settings["step"] = flag_values["eval_step"]
    if protocol == "average":  # older runs' flags.cfg has no margin
        settings["margin"] = flag_values.get("eval_margin") or 0
    settings.update({name: flag_values.get(name) for name in TEST_DATA_FLAGS})
    return settings


def stale_metrics(metrics, settings, run_settings, checkpoint, final_checkpoint):
    """Why a run's metrics do not describe an export (`None`: they do):
    another checkpoint, other settings (`measured_settings`) than the run's,
    or an `evaluation.json` measured otherwise than the export serves."""
    same_file = os.path.exists(checkpoint) and os.path.exists(final_checkpoint) and \
        os.path.samefile(checkpoint, final_checkpoint)
    if not same_file:
        return f"it exports {os.path.basename(checkpoint)}, not the run's final model"
    changed = [k for k in settings if settings[k] != run_settings.get(k)]
    if changed:
        return "its " + ", ".join(changed) + " differ from the run's"
    # scripts/evaluate.py records how it measured; train.py's metrics.json
    # is always the final model on the whole test split under the run's flags.
    recorded = metrics.get("checkpoint")
    if recorded and not (os.path.exists(recorded) and os.path.samefile(recorded, checkpoint)):
        return f"its figures were measured on {os.path.basename(recorded)}"
    if metrics.get("split", "test") != "test" or metrics.get("views_per_sequence"):
        return "its figures were measured on other views than the whole test split"
    differ = [k for k in ("protocol", "flip", "lookahead", "step", "margin")
              if k in metrics and k in settings and metrics[k] != settings[k]]
    if differ:
        return "its figures were measured with another " + ", ".join(differ)
    return None


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


def export(run_dir, export_dir, *, flag_values, data_kwargs, loss_kwargs, checkpoint=None,
           tflite=DEFAULT_TFLITE, card_views=1, calibration_windows=100, stream=True,
           stream_tflite=DEFAULT_STREAM_TFLITE, overwrite=False, log=None, flag_overrides=(),
           run_flag_values=None):
    """Exports the training run `run_dir` to `export_dir`, all or nothing.

    Args:
        run_dir: a training run: its `flags.cfg`, metrics and, unless
            `checkpoint` is given, `model.keras`.
        export_dir: `<base>/<model_name>/<version>`; the card names the
            model after `<model_name>` (or the model flag) and `<version>`.
        flag_values: `{name: value}` of the run's `tfpose.flags` (its
            `flags.cfg`, with any changes): `model`, `dataset`,
            `num_frames`, `eval_protocol`, `eval_step`, `eval_flip`,
            `eval_margin` and `lookahead` set the export's protocol; the card
            lists them all.
        data_kwargs: the run's `tfpose.data.sources.load_sequences`
            arguments (`tfpose.flags.data_kwargs`): training views
            calibrate, test views score.
        loss_kwargs: the run's `MotionLoss` arguments, for the card's
            fine-tuning recipe.
        checkpoint: the `.keras` model to export; default the run's final one.
        tflite: quantisations to convert (`TFLITE_NAMES` gives the files).
        card_views: score every TFLite file and the Keras model on the first
            `card_views` camera views of each test sequence (0: no scores).
        calibration_windows: training chunks that calibrate `int8` and
            `int16x8` (`tfpose.export.calibration`).
        stream: add the `stream` signature, causal with the run's
            lookahead, and its TFLite files.
        stream_tflite: quantisations of the stream files
            (`STREAM_TFLITE_NAMES` gives the files), each scored under the
            causal protocol against the Keras model's on the card's views.
        overwrite: replace an existing `export_dir`.
        log: optional callable taking progress lines (e.g. `print`).
        flag_overrides: the flags (`"--name=value"`) by which `flag_values`
            differ from the run's `flags.cfg`; the export's `flags.cfg` is
            the run's with these appended (later flags win), so it
            describes what was exported.
        run_flag_values: the run's own `flag_values` (its `flags.cfg` alone;
            `None`: the same as `flag_values`). Where the settings its test
            figures depend on differ (`measured_settings`), the card does not
            quote them.

    Returns:
        `{file name: (quantisation, size in bytes)}` of the TFLite files.

    Raises:
        ExportError: an unknown quantisation, an existing `export_dir`
            without `overwrite`, a missing checkpoint, or a lookahead the
            model's window cannot serve.
    """
    unknown = [q for q in tflite if q not in TFLITE_NAMES]
    if unknown:
        raise ExportError(f"Unknown TFLite quantisations {unknown}; choose from "
                          f"{list(TFLITE_NAMES)}.")
    unknown = [q for q in stream_tflite if q not in STREAM_TFLITE_NAMES]
    if unknown:
        raise ExportError(f"Unknown stream TFLite quantisations {unknown}; choose from "
                          f"{list(STREAM_TFLITE_NAMES)}.")
    stream_files = {STREAM_TFLITE_NAMES[q]: q for q in stream_tflite} if stream else {}
    if os.path.exists(export_dir) and not overwrite:
        raise ExportError(f"{export_dir} exists: export a new version, or overwrite it.")
    checkpoint = checkpoint or runner.final_model_path(run_dir)
    if not os.path.exists(checkpoint):
        raise ExportError(f"Checkpoint not found: {checkpoint}")
    # compile=False: the optimizer state would otherwise be saved with the model.
    trained = keras.models.load_model(checkpoint, compile=False)
    model = inference_model(trained)
    with_intrinsics = protocols.needs_intrinsics(model)
    step, flip, lookahead = (flag_values[k] for k in ("eval_step", "eval_flip", "lookahead"))
    # The trained model declares it (DG-Net's inference model is a plain
    # functional one).
    protocol = protocols.resolve_protocol(trained, flag_values["eval_protocol"])
    # Older runs' flags.cfg has no margin: the paper's average.
    margin = (flag_values.get("eval_margin") or 0) if protocol == "average" else 0
    num_frames = protocols.window_frames(model, flag_values["num_frames"])
    own = protocols.model_lookahead(model)
    # A TCN streams at the lookahead it was trained for (the centre unless
    # trained otherwise); a larger --lookahead would only delay its poses.
    stream_lookahead = lookahead if own is None else own
    try:  # a lookahead beyond the window fails now, not after the conversions
        if protocol == "causal":
            protocols.read_position(num_frames, *protocols.model_protocol(
                model, protocol, lookahead))
        protocols.check_margin(num_frames, margin, step if protocol == "average" else 1)
        if stream:
            protocols.read_position(num_frames, "causal", stream_lookahead)
    except ValueError as error:
        raise ExportError(str(error)) from None
    export_dir = os.path.normpath(export_dir)
    name = os.path.basename(os.path.dirname(export_dir)) or flag_values["model"]
    # The run's figures are its final model's under the run's protocol and
    # views; an export that changes either measures its own (the card says how).
    run_metrics = find_metrics(run_dir)
    settings = measured_settings(flag_values, trained, model)
    metrics_note = run_metrics and stale_metrics(
        run_metrics.metrics, settings, measured_settings(run_flag_values or flag_values,
                                                         trained, model),
        checkpoint, runner.final_model_path(run_dir))
    if metrics_note:
        run_metrics = None
    with open(os.path.join(run_dir, FLAGFILE)) as f:
        flags_text = f.read()
    if flag_overrides:
        flags_text = (flags_text.rstrip("\n") + "\n# given to scripts/export.py\n"
                      + "".join(f"{line}\n" for line in flag_overrides))

    check, check_stream, accuracy = None, None, {}
    if card_views and (tflite or stream_files):
        test = sources.load_sequences(flag_values["dataset"], "test", **data_kwargs)
        for sequence in test:
            sequence.views = sequence.views[:card_views]
        accuracy["views"] = (f"the first {card_views} camera view(s) of each of the "
                             f"{len(test)} test sequences")

        def score(file_name, lifter):
            if log:
                log(f"scoring {file_name} on {accuracy['views']}")
            return evaluation.to_millimetres(evaluation.evaluate_sequences(lifter, test))

    if card_views and tflite:
        accuracy["reference"] = runner.evaluate_model(
            trained, test, num_frames, step, flip, protocol=protocol,
            lookahead=lookahead, margin=margin)

        def check(file_name, flatbuffer):
            return score(file_name, lifters.TFLiteLifter(flatbuffer))

    if card_views and stream_files:
        accuracy["stream_reference"] = runner.evaluate_model(
            trained, test, num_frames, step, flip, protocol="causal",
            lookahead=stream_lookahead)

        def check_stream(file_name, flatbuffer):
            # StreamingLifter opens files by path.
            with tempfile.TemporaryDirectory() as directory:
                path = os.path.join(directory, file_name)
                with open(path, "wb") as f:
                    f.write(flatbuffer)
                return score(file_name, lifters.StreamLifter(path))

    def files(converted, checks=None):
        accuracy.update(checks or {})
        card = model_card.render(
            name=name, version=os.path.basename(export_dir), model=flag_values["model"],
            num_frames=num_frames,
            parameters=sum(int(np.prod(w.shape)) for w in model.trainable_weights),
            flag_values=flag_values, protocol=protocol, step=step, flip=flip, margin=margin,
            with_intrinsics=with_intrinsics, metrics=run_metrics and run_metrics.metrics,
            metrics_command=evaluate_command(export_dir), metrics_note=metrics_note,
            tflite_files=converted,
            tflite_accuracy=accuracy, keras_file=KERAS_FILE, loss_kwargs=loss_kwargs,
            lookahead=lookahead, stream=(num_frames, stream_lookahead) if stream else None)
        extra = {FLAGFILE: flags_text, "MODEL_CARD.md": card, KERAS_FILE: keras_bytes(trained)}
        if run_metrics is not None:
            extra["metrics.json"] = run_metrics.text
        return extra

    representative_data = None
    if set(CALIBRATED) & set(tflite):
        train = sources.load_sequences(flag_values["dataset"], "train", **data_kwargs)
        representative_data = calibration.representative_data(
            runner.views_of(train), calibration_windows, num_frames=num_frames,
            with_intrinsics=with_intrinsics)
    return saved_model.export(
        model, export_dir, num_frames=num_frames, protocol=protocol, step=step, flip=flip,
        tflite_files={TFLITE_NAMES[q]: q for q in tflite},
        representative_data=representative_data, extra_files=files, overwrite=overwrite,
        check_tflite=check, lookahead=lookahead,
        stream_lookahead=stream_lookahead if stream else None,
        stream_tflite=stream_files, check_stream=check_stream, margin=margin)
