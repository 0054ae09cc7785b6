"""Exporting a training run: its metrics found, bad requests refused up
front, and one small export with its card (the full command line, int8
calibration included, runs in tests/scripts/train_evaluate_test.py)."""

import json
import pathlib
import shutil

import pytest
from absl import flags

from tfpose import flags as tfpose_flags
from tfpose import testing
from tfpose.export import training_run
from tfpose.models import UGCN

TINY = pathlib.Path(__file__).resolve().parents[1] / "configs" / "ugcn_tiny.cfg"
METRICS = {"average": {"mpjpe": 123.45, "p_mpjpe": 99.0}, "num_views": 1, "num_frames": 64}


@pytest.fixture(scope="module")
def run_flags():
    """The tiny config's resolved flags, as scripts/export.py passes them."""
    try:
        tfpose_flags.define_data_flags()
        tfpose_flags.define_model_flags()
        tfpose_flags.define_training_flags()
    except flags.DuplicateFlagError:
        pass  # defined by an earlier test module
    flag_values = flags.FLAGS
    flag_values.unparse_flags()
    flag_values(["export.py", f"--flagfile={TINY}"])
    kwargs = dict(
        flag_values={f.name: f.value for f in flag_values.get_flags_for_module("tfpose.flags")},
        data_kwargs=tfpose_flags.data_kwargs(flag_values),
        loss_kwargs=tfpose_flags.loss_kwargs(flag_values))
    flag_values.unparse_flags()
    return kwargs


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run directory as scripts/train.py leaves it, with a tiny UGCN."""
    run = tmp_path_factory.mktemp("run")
    model = UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8, 8, 8), merge_channels=4)
    testing.randomize_zero_kernels(model, scale=0.05)
    model.save(run / "model.keras")
    (run / "flags.cfg").write_text(TINY.read_text())
    (run / "metrics.json").write_text(json.dumps(METRICS))
    return run


def test_find_metrics_prefers_an_evaluation(tmp_path):
    assert training_run.find_metrics(tmp_path) is None  # the card: "not measured"
    (tmp_path / "metrics.json").write_text(json.dumps(METRICS))
    found = training_run.find_metrics(tmp_path)
    assert found.metrics == METRICS and found.text == json.dumps(METRICS)
    (tmp_path / "evaluation.json").write_text(json.dumps({"average": {"mpjpe": 1.0}}))
    found = training_run.find_metrics(tmp_path)
    assert found.metrics == {"average": {"mpjpe": 1.0}}
    (tmp_path / "evaluation.json").write_text("{half a file")
    with pytest.raises(ValueError, match="evaluation.json is not a metrics file: not JSON"):
        training_run.find_metrics(tmp_path)


@pytest.mark.parametrize("change, match", [
    (dict(tflite=("fp32", "int4")), r"Unknown TFLite quantisations \['int4'\]"),
    # A calibrated stream file would need ranges calibrated on stream states.
    (dict(stream_tflite=("fp32", "int8")), r"Unknown stream TFLite quantisations \['int8'\]"),
    (dict(checkpoint="missing.keras"), "Checkpoint not found: missing.keras"),
    (dict(lookahead=16), "lookahead"),
    (dict(eval_margin=6), "margin"),  # 16-frame windows every 5 frames: at most 5
])
def test_bad_requests_fail_before_any_work(run_dir, run_flags, tmp_path, change, match):
    kwargs = dict(run_flags)
    for name in ("lookahead", "eval_margin"):
        if name in change:
            kwargs["flag_values"] = {**kwargs["flag_values"], name: change.pop(name)}
    export_dir = tmp_path / "tiny" / "1"
    with pytest.raises(training_run.ExportError, match=match):
        training_run.export(run_dir, export_dir, **kwargs, **change)
    assert not export_dir.parent.exists()


def test_an_existing_version_is_kept(run_dir, run_flags, tmp_path):
    export_dir = tmp_path / "tiny" / "1"
    export_dir.mkdir(parents=True)
    with pytest.raises(training_run.ExportError, match="exists: export a new version"):
        training_run.export(run_dir, export_dir, **run_flags)
    assert list(export_dir.iterdir()) == []


def test_export_writes_the_files_and_a_scored_card(run_dir, run_flags, tmp_path):
    export_dir = tmp_path / "tiny" / "1"
    lines = []
    converted = training_run.export(run_dir, export_dir, **run_flags, tflite=("fp32",),
                                    stream=False, log=lines.append)
    assert list(converted) == ["model.tflite"] and converted["model.tflite"][0] == "fp32"
    assert lines == ["scoring model.tflite on the first 1 camera view(s) of each of the 1 test "
                     "sequences"]
    written = {p.name for p in export_dir.iterdir()}
    assert {"saved_model.pb", "model.tflite", "flags.cfg", "metrics.json", "model.keras",
            "MODEL_CARD.md"} <= written and "stream.tflite" not in written
    assert (export_dir / "flags.cfg").read_text() == TINY.read_text()
    assert json.loads((export_dir / "metrics.json").read_text()) == METRICS
    card = (export_dir / "MODEL_CARD.md").read_text()
    assert card.startswith("# tfpose UGCN `tiny`, version 1")
    assert "| average over actions | 123.5 | 99.0 |" in card
    # Measured again from the export alone, as a card's reader can.
    assert (f"python scripts/evaluate.py --flagfile={export_dir / 'flags.cfg'} "
            f"--lifter={export_dir}") in card
    assert "- `stream`: live lifting" not in card  # stream=False
    # fp32 scores as the Keras model on the same views.
    row = next(line for line in card.splitlines() if line.startswith("| `model.tflite`"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "fp32" and abs(float(cells[4])) < 0.05, row


def test_a_margin_given_to_the_export_is_served_and_recorded(run_dir, run_flags, tmp_path):
    import keras
    import numpy as np
    import tensorflow as tf

    from tfpose.export import saved_model
    from tfpose.inference import protocols

    export_dir = tmp_path / "tiny" / "1"
    kwargs = dict(run_flags, flag_values={**run_flags["flag_values"], "eval_margin": 4})
    training_run.export(run_dir, export_dir, **kwargs, tflite=(), card_views=0, stream=False,
                        flag_overrides=["--eval_margin=4"])
    written = (export_dir / "flags.cfg").read_text()
    assert written.startswith(TINY.read_text().rstrip("\n"))
    assert written.endswith("# given to scripts/export.py\n--eval_margin=4\n")
    assert "4 frames from either end left out" in (export_dir / "MODEL_CARD.md").read_text()
    model = keras.models.load_model(run_dir / "model.keras")
    x = np.random.default_rng(0).normal(scale=0.3, size=(40, 17, 2)).astype(np.float32)
    served = saved_model.load_signature(export_dir)(keypoints_2d=tf.constant(x[None]))
    trimmed = protocols.SequenceLifter(model, 16, margin=4)(x)
    np.testing.assert_allclose(served["poses_3d"].numpy()[0], trimmed, atol=1e-5)
    assert np.abs(trimmed - protocols.SequenceLifter(model, 16)(x)).max() > 1e-4


def test_stream_files_are_scored_under_the_causal_protocol(run_dir, run_flags, tmp_path):
    export_dir = tmp_path / "tiny" / "1"
    lines = []
    converted = training_run.export(run_dir, export_dir, **run_flags, tflite=(),
                                    log=lines.append)
    assert {k: v[0] for k, v in converted.items()} == {"stream.tflite": "fp32",
                                                       "stream_int8.tflite": "dynamic_int8"}
    assert sorted(lines) == [f"scoring {name} on the first 1 camera view(s) of each of the 1 "
                             "test sequences" for name in ("stream.tflite", "stream_int8.tflite")]
    card = (export_dir / "MODEL_CARD.md").read_text()
    assert "## TFLite" not in card  # no window files asked for
    section = card[card.index("## Streaming TFLite"):]
    assert "(causal, lookahead 0)" in section
    for name in ("stream.tflite", "stream_int8.tflite"):
        row = next(line for line in section.splitlines() if line.startswith(f"| `{name}`"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        # The stream files run the Keras model's causal protocol; this tiny
        # model's kernels are too small for the converter to quantise, so
        # int8 scores as fp32 too (tests/export/stream_test.py checks a
        # quantised one).
        assert abs(float(cells[4])) < 0.05, row
    assert "`stream_int8.tflite`: with int8 weights" in card


def test_an_export_that_changes_the_protocol_does_not_borrow_the_runs_figures(
        run_dir, run_flags, tmp_path):
    own = run_flags["flag_values"]

    def card_of(version, flag_values=own, **kwargs):
        export_dir = tmp_path / "tiny" / version
        training_run.export(run_dir, export_dir, **dict(run_flags, flag_values=flag_values),
                            run_flag_values=own, tflite=(), card_views=0, stream=False,
                            **kwargs)
        return export_dir, (export_dir / "MODEL_CARD.md").read_text()

    # The run's metrics were measured with flip; an export without it
    # would otherwise print them as its own.
    export_dir, card = card_of("1", {**own, "eval_flip": False})
    assert "123.5" not in card and not (export_dir / "metrics.json").exists()
    assert "(its flip differ from the run's)." in card
    assert f"--lifter={export_dir}" in card
    # Settings the protocol does not read, and moving the data, change
    # nothing measured: the tiny run is offline, so a lookahead only
    # changes its stream.
    for version, change in (("2", {"data_dir": "/elsewhere"}), ("3", {"lookahead": 4})):
        export_dir, card = card_of(version, {**own, **change})
        assert "| average over actions | 123.5 | 99.0 |" in card, change
        assert (export_dir / "metrics.json").exists()
    # Another checkpoint than the run's final model is another model.
    other = tmp_path / "other.keras"
    shutil.copy(run_dir / "model.keras", other)
    export_dir, card = card_of("4", checkpoint=str(other))
    assert "(it exports other.keras, not the run's final model)" in card
    assert "123.5" not in card and not (export_dir / "metrics.json").exists()


def test_an_evaluation_measured_otherwise_is_not_the_exports(run_dir, run_flags, tmp_path):
    evaluated = run_dir.parent / "evaluated"
    shutil.copytree(run_dir, evaluated)
    summary = {**METRICS, "checkpoint": str(evaluated / "model.keras"), "split": "test",
               "views_per_sequence": 0, "protocol": "average", "step": 5, "margin": 0}
    for change, why in (({"flip": False}, "measured with another flip"),
                        ({"views_per_sequence": 1}, "other views than the whole test split"),
                        ({"checkpoint": str(run_dir / "model.keras")}, "measured on model.keras")):
        (evaluated / "evaluation.json").write_text(json.dumps({**summary, **change}))
        export_dir = tmp_path / "tiny" / why.split()[-1]
        training_run.export(evaluated, export_dir, **run_flags, tflite=(), card_views=0,
                            stream=False)
        card = (export_dir / "MODEL_CARD.md").read_text()
        assert why in card and "123.5" not in card, why
    (evaluated / "evaluation.json").write_text(json.dumps({**summary, "flip": True}))
    export_dir = tmp_path / "tiny" / "same"
    training_run.export(evaluated, export_dir, **run_flags, tflite=(), card_views=0, stream=False)
    assert "| average over actions | 123.5 | 99.0 |" in (export_dir / "MODEL_CARD.md").read_text()
