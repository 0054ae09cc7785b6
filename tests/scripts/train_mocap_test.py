"""scripts/train.py and inspect_data.py on a folder of BVH takes."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from script_runs import REPO, train

sys.path.insert(0, str(REPO / "tests" / "data"))
import mocap_files  # noqa: E402

from tfpose.training import runner  # noqa: E402


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    return mocap_files.write_folder(tmp_path_factory.mktemp("mocap") / "capture", frames=64)


def test_fine_tune_on_a_bvh_folder(tiny_run, capture, tmp_path):
    # From the tiny run's model, at learning rate 0: the weights must stay
    # the initial ones, which shows that --init_from loaded them.
    run = tmp_path / "run"
    result = train(run, "--dataset=mocap", f"--data_dir={capture}", "--num_cameras=1",
                   f"--init_from={tiny_run / 'model.keras'}", "--learning_rate=0",
                   "--epochs=1", "--steps_per_epoch=2")
    assert result.returncode == 0, result.stderr[-3000:]
    flags_cfg = (run / "flags.cfg").read_text()
    assert "--dataset=mocap" in flags_cfg and "--init_from=" in flags_cfg
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["per_action"]) == {"walk"} and metrics["average"]["mpjpe"] > 0
    # (Batch-norm statistics still move at learning rate 0.)
    before, after = (keras.models.load_model(p, compile=False).trainable_weights
                     for p in (tiny_run / "model.keras", run / "model.keras"))
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # That evaluate.py repeats a run's closing evaluation from its flags:
    # train_evaluate_test.py (the data comes through the same loader).


def test_inspect_data_on_a_bvh_folder(capture):
    result = subprocess.run(
        [sys.executable, "scripts/inspect_data.py", "--dataset=mocap", f"--data_dir={capture}",
         "--mocap_mapping=bvh", "--test_glob=test/*_01.bvh", "--num_frames=16",
         "--batch_size=4", "--num_cameras=1"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "anna" in result.stdout and "ben" in result.stdout
    assert "bone lengths in mm" in result.stdout and "LElbow" in result.stdout
    # The built-in mapping infers the unit and the up axis, and says so.
    assert "taken to be centimetres" in result.stderr and "detected +y up" in result.stderr


def test_init_from_a_different_architecture(tmp_path):
    def build(width):
        return runner.build_model(
            "ugcn", dict(num_frames=16, down_channels=[4, 4, 4, 8, 8, 8, 8, 8, width],
                         merge_channels=4, num_pairs=1),
            dict(intervals=[2, 4]), 1e-3)

    build(8).save(tmp_path / "a.keras")
    model = build(8)
    assert runner.initialize_from(model, str(tmp_path / "a.keras")) == {}
    # Same shapes, other settings: allowed (a fine-tune may mean it), and reported.
    other = runner.build_model(
        "ugcn", dict(num_frames=16, down_channels=[4, 4, 4, 8, 8, 8, 8, 8, 8],
                     merge_channels=4, num_pairs=1, dropout=0.25),
        dict(intervals=[2, 4]), 1e-3)
    assert runner.initialize_from(other, str(tmp_path / "a.keras")) == {"dropout": (0.5, 0.25)}
    np.testing.assert_array_equal(other.get_weights()[0], model.get_weights()[0])
    tcn = runner.build_model("tcn", dict(filter_widths=[3], channels=8), {}, 1e-3)
    with pytest.raises(ValueError, match=r"it is a UGCN, the model built from the flags a TCN"):
        runner.initialize_from(tcn, str(tmp_path / "a.keras"))
    with pytest.raises(ValueError, match=r"a.keras: its architecture differs from the model "
                                         r"built from the flags \((its weight|it has \d+ weight)"):
        runner.initialize_from(build(16), str(tmp_path / "a.keras"))
    with pytest.raises(FileNotFoundError, match="No model to initialise from"):
        runner.initialize_from(model, str(tmp_path / "none.keras"))
