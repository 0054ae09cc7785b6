"""scripts/benchmark.py runs and reports what it says (no timing assertions:
speed is measured by the benchmark, not by tests)."""

import json
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_benchmark_writes_its_report(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "scripts/benchmark.py", "--flagfile=configs/dgnet_demo.cfg",
         "--sequence_frames=30", "--window_batch=4", "--repeats=1", f"--output_json={out}"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["model"] == "dgnet" and report["protocol"] == "center"
    assert report["parameters"] > 0 and report["sequence_frames"] == 30
    for key in ("sequence_flip_true", "sequence_flip_false", "window_batch", "window_single"):
        assert report[key]["seconds"] > 0 and report[key]["frames_per_second"] > 0
