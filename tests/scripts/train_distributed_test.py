"""scripts/train.py under tf.distribute, killed and resumed (subprocesses).

Every training process runs under `timeout -k` (a worker whose peer never
comes waits forever), with conftest.py's tiny UGCN run, whose weights each
must end with.
"""

import io
import os
import re
import subprocess
import sys

import keras
import numpy as np
from script_runs import KILLED_TRAIN, LIMIT, REPO, TINY_RUN, train

import tfpose.models  # noqa: F401  (registers the layers for loading)
from tfpose.training import cluster


def _weights(model_dir):
    return keras.models.load_model(model_dir / "model.keras", compile=False).get_weights()


def _assert_close(a, b, atol):
    assert len(a) == len(b)
    worst = max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))
    assert worst < atol, worst


def _epochs_logged(model_dir):
    rows = (model_dir / "training.csv").read_text().strip().splitlines()[1:]
    return [int(row.split(",")[0]) for row in rows]


def test_mirrored_over_two_cpus_matches_default(tiny_run, tmp_path):
    result = train(tmp_path, "--strategy=mirrored", "--num_devices=2", "--noevaluate")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 replicas" in result.stderr
    # Same global batches, batch norm synchronised: the same training.
    _assert_close(_weights(tmp_path), _weights(tiny_run), 1e-5)
    assert _epochs_logged(tmp_path) == [0, 1, 2]


def test_two_workers_killed_mid_epoch_resume_and_match_one_process(tiny_run, tmp_path):
    run = tmp_path / "run"
    args = [*TINY_RUN, f"--model_dir={run}", "--noevaluate", "--backup_every_steps=2",
            "--verbose=0", "--verbosity=1"]
    # Worker 1 dies by SIGKILL after step 7 (mid-epoch 1, last backup at
    # step 6); the launch then kills the chief, which waits for it. Launched
    # as scripts/launch_workers.py does, but each worker runs the killable
    # train.py; one thread each, as the launcher gives them on 2 cores.
    output = io.StringIO()
    codes = cluster.launch(
        [sys.executable, str(KILLED_TRAIN), "7:1", "--strategy=multi_worker", *args], 2,
        timeout_s=240, cwd=REPO, output=output,
        env=dict(os.environ, TF_NUM_INTRAOP_THREADS="1"))
    assert codes[1] == -9, (codes, output.getvalue()[-3000:])
    assert not (run / "model.keras").exists()
    assert '"step": 6' in next((run / "backup").glob("state-*/state.json")).read_text()

    launch = [sys.executable, "scripts/launch_workers.py", "--num_workers=2", "--timeout_s=240",
              "--", *args]
    resumed = subprocess.run(LIMIT + launch, cwd=REPO, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    # --verbosity=1 shows each worker's digest.
    digests = dict(re.findall(r"\[worker (\d)\].*final weights sha256 (\w+)", resumed.stdout))
    assert len(digests) == 2 and digests["0"] == digests["1"]  # bit-equal on both workers
    _assert_close(_weights(run), _weights(tiny_run), 1e-5)
    assert _epochs_logged(run) == [0, 1, 2]
    # Only the chief wrote the run directory.
    assert sorted(p.name for p in run.iterdir()) == [
        "backup", "checkpoints", "flags.cfg", "logs", "model.keras", "training.csv"]


def test_sigkill_mid_epoch_then_rerun_ends_with_uninterrupted_weights(tiny_run, tmp_path):
    run = tmp_path / "run"
    killed = train(run, "--noevaluate", kill_at_step="6")
    assert killed.returncode == -9  # timeout passes the child's SIGKILL on
    assert _epochs_logged(run) == [0] and not (run / "model.keras").exists()
    # Restarted from the flags it recorded (which also shows that they
    # repeat the run).
    result = subprocess.run(
        LIMIT + [sys.executable, "scripts/train.py", f"--flagfile={run / 'flags.cfg'}"],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_close(_weights(run), _weights(tiny_run), 1e-6)
    assert (run / "training.csv").read_text() == (tiny_run / "training.csv").read_text()
