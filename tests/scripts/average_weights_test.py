"""scripts/average_weights.py: two runs in, one run out that evaluate.py takes."""

import subprocess
import sys

import keras
import numpy as np
from script_runs import REPO, TINY

from tfpose import testing
from tfpose.models import UGCN


def _run(*args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=600)


def _fake_run(directory, seed):
    """A run directory as train.py leaves it, with the tiny config's network."""
    directory.mkdir()
    model = UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8, 8, 8), merge_channels=4)
    model(np.zeros((1, 16, 17, 2), np.float32))
    testing.randomize_weights(model, seed=seed, scale=0.3)
    model.save(directory / "model.keras")
    (directory / "flags.cfg").write_text(f"--flagfile={TINY}\n--model_dir={directory}\n")
    return model.get_weights()


def test_averages_two_runs_into_a_run_that_evaluates(tmp_path):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "ab"
    weights = [_fake_run(a, 1), _fake_run(b, 2)]
    result = _run("scripts/average_weights.py", f"--run_dirs={a},{b}", f"--model_dir={out}",
                  "--weights=1,3")
    assert result.returncode == 0, result.stderr[-3000:]
    averaged = keras.models.load_model(out / "model.keras").get_weights()
    assert len(averaged) == len(weights[0]) == len(weights[1]) > 0
    for got, wa, wb in zip(averaged, *weights):
        np.testing.assert_allclose(got, 0.25 * wa + 0.75 * wb, rtol=1e-6, atol=1e-7)
    flags_cfg = (out / "flags.cfg").read_text()
    assert f"--model_dir={out}\n" in flags_cfg and f"--model_dir={b}" not in flags_cfg
    assert f"--flagfile={TINY}" in flags_cfg
    assert flags_cfg.startswith(f"# scripts/average_weights.py: the weights of {a} (x1), {b} (x3)")
    result = _run("scripts/evaluate.py", f"--flagfile={out}/flags.cfg")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "evaluation.json").exists() and f"wrote {out}/evaluation.json" in result.stdout

    # Bad input: a clear error, and the existing average is left as it was.
    saved = (out / "model.keras").read_bytes()
    for args, message in [
        ((f"--run_dirs={a}", f"--model_dir={tmp_path / 'one'}"), "needs two or more"),
        ((f"--run_dirs={a},{tmp_path / 'none'}", f"--model_dir={tmp_path / 'x'}"),
         "no model file at"),
        ((f"--run_dirs={a},{b}", f"--model_dir={out}"), "exists; choose a new --model_dir"),
        ((f"--run_dirs={a},{b}", f"--model_dir={tmp_path / 'y'}", "--weights=1"),
         "--weights has 1 values for 2 runs"),
        ((f"--run_dirs={a},{b}", f"--model_dir={tmp_path / 'y'}", "--weights=1,x"),
         "--weights must be numbers"),
        ((f"--run_dirs={a},{b}", f"--model_dir={tmp_path / 'y'}", "--weights=1,nan"),
         "finite non-negative"),
        ((f"--run_dirs={a},{b}", f"--model_dir={b}", "--checkpoint_name=model.keras"),
         "--model_dir is one of --run_dirs"),
    ]:
        result = _run("scripts/average_weights.py", *args)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr[-2000:])
    assert (out / "model.keras").read_bytes() == saved
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
