"""scripts/lift.py --stream in a pipe: JSON lines in, a line per frame out."""

import json
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest

from tfpose import testing
from tfpose.models import UGCN

REPO = pathlib.Path(__file__).resolve().parents[2]
FRAME = json.dumps([[300 + 7 * j, 200 + 11 * j, 0.9] for j in range(17)])


@pytest.fixture(scope="module")
def tiny_keras(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "tiny.keras"
    testing.randomize_zero_kernels(
        UGCN(num_frames=16, down_channels=(4, 4, 4, 4, 4, 8, 8, 8, 8), merge_channels=4),
        scale=0.05).save(path)
    return path


def _start(model, *args):
    return subprocess.Popen(
        [sys.executable, "scripts/lift.py", "--stream", "--input=-", f"--model={model}",
         "--layout=coco", "--width=640", "--height=480", *args], cwd=REPO,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _read_line(pipe, timeout=120):
    """The next line of `pipe`, or a failure after `timeout` s (no hang)."""
    box = []
    reader = threading.Thread(target=lambda: box.append(pipe.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert box, f"no output line within {timeout} s"
    return box[0]


def test_first_line_comes_before_the_input_ends_and_bad_lines_are_skipped(tiny_keras):
    process = _start(tiny_keras, "--on_error=skip")
    try:
        process.stdin.write(FRAME + "\n")
        process.stdin.flush()
        first = json.loads(_read_line(process.stdout))  # stdin is still open
        assert first["frame"] == 0 and first["line"] == 1
        assert np.asarray(first["poses_3d"]).shape == (17, 3)
        assert np.asarray(first["poses_3d_camera"]).shape == (17, 3)
        assert len(first["root_position"]) == 3 and not any(first["filled"])
        process.stdin.write("{not json\n" + "[[1, 2]]\n" + FRAME + "\n")
        process.stdin.close()
        rest = [json.loads(line) for line in process.stdout.read().splitlines()]
        stderr = process.stderr.read()
        assert process.wait(timeout=60) == 0, stderr[-2000:]
    finally:
        process.kill()
    assert [(r["frame"], r["line"]) for r in rest] == [(1, 4)]
    assert "lift.py: line 2: not valid JSON" in stderr
    assert "lift.py: line 3: keypoints of shape (1, 2); expected 17 joints" in stderr
    assert "assuming a 60-degree horizontal field of view" in stderr


def test_a_bad_line_stops_the_stream(tiny_keras):
    process = _start(tiny_keras, "--on_error=stop", "--lookahead=1")
    out, err = process.communicate(FRAME + "\n" + FRAME + "\n" + "null, 3\n" + FRAME + "\n",
                                   timeout=300)
    assert process.returncode == 1
    assert "lift.py: line 3: not valid JSON" in err
    # The frames before the bad line are all written (the last by the flush).
    assert [json.loads(line)["frame"] for line in out.splitlines()] == [0, 1]
