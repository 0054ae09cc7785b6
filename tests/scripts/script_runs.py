"""Tiny training runs of scripts/train.py for the script tests."""

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "configs" / "ugcn_tiny.cfg"
# scripts/train.py that SIGKILLs itself at a given step (resumption tests).
KILLED_TRAIN = REPO / "tests" / "scripts" / "train_killed.py"
# Tiny UGCN, 3 epochs of 4 steps, no dropout and no motion term, so that runs
# on other device counts can match it: the l1 motion term's gradient flips
# sign on rounding-level differences wherever predicted and true encodings
# nearly coincide, and Adam turns those flips into ~1e-3 weight differences
# within a few steps (measured between 1 and 2 replicas; 7e-7 without it).
# Fixed training views too: with drawn cameras the replicas' inputs are
# bit-identical to the one-device batches (checked), yet the weights end
# 1.6e-3 apart after these 12 steps (not explained yet); the drawn stream's
# sharding is tested at the input level in tests/data/camera_draw_test.py.
TINY_RUN = [f"--flagfile={TINY}", "--epochs=3", "--steps_per_epoch=4", "--dropout=0",
            "--motion_weight=0", "--training_cameras=fixed"]
# Every training process under `timeout -k`: a multi-worker process whose
# peer never comes waits forever and ignores SIGTERM.
LIMIT = ["timeout", "-k", "10", "300"]


def train(model_dir, *args, env=None, kill_at_step=None):
    """With `kill_at_step` (`"N"`, or `"N:TASK"`), through KILLED_TRAIN."""
    script = ["scripts/train.py"] if kill_at_step is None else [KILLED_TRAIN, kill_at_step]
    return subprocess.run(
        LIMIT + [sys.executable, *map(str, script), *TINY_RUN, f"--model_dir={model_dir}",
                 *args], cwd=REPO, capture_output=True, text=True, env=env)
