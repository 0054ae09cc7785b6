"""End to end: scripts/train.py and scripts/evaluate.py on a tiny config."""

import ast
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from script_runs import REPO, TINY, train


def _run(args, **kwargs):
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=600, **kwargs
    )


def test_train_output_is_progress_metrics_and_where(tiny_run):
    stdout = (tiny_run.parent / "stdout.txt").read_text()
    stderr = (tiny_run.parent / "stderr.txt").read_text()
    assert "Test MPJPE" in stdout and f"Run written to {tiny_run}: model.keras" in stdout
    # Debugging lines only with --verbosity=1, and no Keras warning.
    noise = ["sha256", "shuffle=True"]
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:  # set: TensorFlow's lines are wanted
        noise += ["absl::InitializeLog", "cuda drivers", "cpu_feature_guard"]
    for line in noise:
        assert line not in stdout + stderr, line


def test_train_then_evaluate(tiny_run, tmp_path):
    run = tiny_run
    for name in ("flags.cfg", "model.keras", "checkpoints/last.keras", "checkpoints/best.keras",
                 "training.csv", "metrics.json"):
        assert (run / name).exists(), name
    flags_cfg = (run / "flags.cfg").read_text()
    assert "--num_frames=16" in flags_cfg and f"--model_dir={run}" in flags_cfg
    rows = (run / "training.csv").read_text().strip().splitlines()
    assert len(rows) == 4  # header and three epochs
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["per_action"]) == {"walking"}  # one test sequence
    # Against "every joint at the root" (the zero-initialised regressor's
    # output, which an untrained run scores to within rounding) on the same
    # test take: 12 steps of the tiny UGCN measure 390.4 mm against 400.1,
    # so the run must beat it by 1.5%, but not by much more; an evaluation
    # on the wrong scale, joints or alignment (its P-MPJPE is 298 mm) lands
    # outside.
    from tfpose.data import sources

    (test_view,) = [v for s in sources.load_sequences(
        "synthetic", "test", synthetic_sequences=4, synthetic_frames=64, num_cameras=1)
        for v in s.views]
    root_relative = (test_view.poses_3d - test_view.poses_3d[:, :1]).astype(np.float64)
    at_root_mm = 1000 * np.linalg.norm(root_relative, axis=-1).mean()
    assert 0.8 * at_root_mm < metrics["average"]["mpjpe"] < 0.985 * at_root_mm, at_root_mm

    result = _run(["scripts/evaluate.py", f"--flagfile={run / 'flags.cfg'}",
                   f"--output_json={tmp_path / 'eval.json'}"])
    assert result.returncode == 0, result.stderr[-3000:]
    evaluated = json.loads((tmp_path / "eval.json").read_text())
    assert evaluated["average"]["mpjpe"] == pytest.approx(metrics["average"]["mpjpe"], rel=1e-5)
    assert "p_mpjpe" in result.stdout

    # Exported for serving: the card, the run's flags, and the same accuracy
    # from the SavedModel and the TFLite file as from the checkpoint.
    export = tmp_path / "exported" / "tiny" / "1"
    result = _run(["scripts/export.py", f"--run_dir={run}", f"--export_dir={export}",
                   "--tflite=fp32,int8", "--calibration_windows=4"])
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("saved_model.pb", "model.tflite", "model_int8.tflite", "flags.cfg",
                 "MODEL_CARD.md", "metrics.json", "model.keras"):
        assert (export / name).exists(), name
    card = (export / "MODEL_CARD.md").read_text()
    assert "serving_default" in card and "model_int8.tflite" in card
    assert f"{evaluated['average']['mpjpe']:.1f}" in card
    # Each TFLite file is scored against the Keras model on the same views:
    # fp32 reproduces it.
    fp32_row = next(line for line in card.splitlines() if line.startswith("| `model.tflite`"))
    cells = [c.strip() for c in fp32_row.strip("|").split("|")]
    assert cells[1] == "fp32" and abs(float(cells[4])) < 0.05, fp32_row
    assert "model_int8.tflite` | int8 |" in card
    # The Keras model ships for fine-tuning: it loads without warnings,
    # predicts as the run's model, and trains with the loss the card names.
    import warnings

    import keras

    import tfpose.models  # noqa: F401  (registers the layers)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shipped = keras.models.load_model(export / "model.keras")
    original = keras.models.load_model(run / "model.keras", compile=False)
    x = np.random.default_rng(0).normal(scale=0.3, size=(2, 16, 17, 2)).astype(np.float32)
    np.testing.assert_allclose(shipped.predict(x, verbose=0), original.predict(x, verbose=0),
                               atol=1e-6)
    from tfpose.training import runner

    compile_line = re.search(r"runner\.compile_model\(model, (\{.*\}), learning_rate=1e-4\)",
                             card)
    assert compile_line, card
    loss_kwargs = ast.literal_eval(compile_line.group(1))
    assert loss_kwargs["weight"] == 0.0 and loss_kwargs["intervals"] == [2, 4], loss_kwargs
    runner.compile_model(shipped, loss_kwargs, learning_rate=1e-4)
    history = shipped.fit(x, np.zeros((2, 16, 17, 3), np.float32), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    for lifter in (export, export / "model.tflite"):
        result = _run(["scripts/evaluate.py", f"--flagfile={run / 'flags.cfg'}",
                       f"--lifter={lifter}", f"--output_json={tmp_path / 'lifter.json'}"])
        assert result.returncode == 0, result.stderr[-3000:]
        exported = json.loads((tmp_path / "lifter.json").read_text())
        assert exported["average"]["mpjpe"] == pytest.approx(evaluated["average"]["mpjpe"],
                                                             abs=1e-2)
    result = _run(["scripts/export.py", f"--run_dir={run}", f"--export_dir={export}"])
    assert result.returncode != 0 and "exists" in result.stderr
    # Changes given in any form absl takes (another flagfile, a value after
    # a space) are recorded, and the card does not quote the run's flip
    # figures for an export without flip.
    (tmp_path / "noflip.cfg").write_text("--noeval_flip\n")
    live = tmp_path / "exported" / "tiny" / "2"
    result = _run(["scripts/export.py", f"--run_dir={run}", f"--export_dir={live}",
                   f"--flagfile={tmp_path / 'noflip.cfg'}", "--lookahead", "2", "--tflite=",
                   "--card_views=0", "--nostream"])
    assert result.returncode == 0, result.stderr[-3000:]
    written = (live / "flags.cfg").read_text()
    assert written.endswith("# given to scripts/export.py\n--noeval_flip\n--lookahead=2\n")
    card = (live / "MODEL_CARD.md").read_text()
    assert "(its flip differ from the run's)" in card and not (live / "metrics.json").exists()
    # That the recorded flags repeat the run: train_distributed_test.py.


def test_fine_tune_for_live_use(tiny_run, tmp_path):
    # The stream-weighted loss reaches the saved model (so a resumed or
    # further fine-tuned run keeps it), and the run's closing evaluation
    # uses the causal protocol with the run's lookahead, as evaluate.py does.
    run = tmp_path / "live"
    result = train(run, f"--init_from={tiny_run / 'model.keras'}", "--stream_weight=2",
                   "--eval_protocol=causal", "--lookahead=3", "--epochs=1")
    assert result.returncode == 0, result.stderr[-3000:]
    flags_cfg = (run / "flags.cfg").read_text().splitlines()
    assert "--stream_weight=2.0" in flags_cfg and "--lookahead=3" in flags_cfg
    import keras

    import tfpose.models  # noqa: F401  (registers the loss)

    loss = keras.models.load_model(run / "model.keras").loss
    assert (loss.stream_weight, loss.lookahead) == (2.0, 3)
    metrics = json.loads((run / "metrics.json").read_text())
    result = _run(["scripts/evaluate.py", f"--flagfile={run / 'flags.cfg'}",
                   f"--output_json={tmp_path / 'causal.json'}"])
    assert result.returncode == 0, result.stderr[-3000:]
    causal = json.loads((tmp_path / "causal.json").read_text())
    assert causal["average"]["mpjpe"] == pytest.approx(metrics["average"]["mpjpe"], rel=1e-5)
    result = _run(["scripts/evaluate.py", f"--flagfile={run / 'flags.cfg'}",
                   "--eval_protocol=model", f"--output_json={tmp_path / 'offline.json'}"])
    assert result.returncode == 0, result.stderr[-3000:]
    offline = json.loads((tmp_path / "offline.json").read_text())
    assert offline["average"]["mpjpe"] != pytest.approx(metrics["average"]["mpjpe"], rel=1e-4)


def test_bad_flags_fail_clearly(tmp_path):
    result = _run(["scripts/train.py", f"--flagfile={TINY}"])
    assert result.returncode != 0 and "model_dir" in result.stderr
    result = _run(["scripts/train.py", f"--flagfile={TINY}", f"--model_dir={tmp_path}",
                   "--dataset=hdm05", f"--data_dir={tmp_path / 'missing'}"])
    assert result.returncode != 0 and "HDM05 data directory not found" in result.stderr
    result = _run(["scripts/evaluate.py", f"--checkpoint={tmp_path / 'none.keras'}"])
    assert result.returncode != 0 and "Checkpoint not found" in result.stderr
    # A closing evaluation that cannot run fails before any training: a
    # centre-trained TCN has no causal reading without lookahead.
    result = _run(["scripts/train.py", "--flagfile=configs/tcn_demo.cfg",
                   f"--model_dir={tmp_path / 'tcn'}", "--eval_protocol=causal", "--lookahead=0"])
    assert result.returncode != 0 and "--tcn_lookahead=0" in result.stderr
    assert not (tmp_path / "tcn" / "training.csv").exists()
