"""Cost counting of `tfpose.benchmark` (no timing here: speed is measured by
scripts/benchmark.py, not by tests)."""

import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpose import benchmark
from tfpose.models import TCN, UGCN


def _pointwise(frames):
    """[1, T, 17, 2] -> [1, T, 17, 3]: 17 * T * (2 * 2 * 3 + 3) FLOPs."""
    inputs = keras.Input((frames, 17, 2))
    return keras.Model(inputs, keras.layers.Dense(3)(inputs))


def test_flops_match_hand_counts():
    inputs = keras.Input((6, 4))
    conv = keras.Model(inputs, keras.layers.Conv1D(5, 3)(inputs))
    # 4 valid output frames x 5 filters x (3 x 4 multiply-adds) x 2, plus the bias.
    assert benchmark.flops(conv, (1, 6, 4)) == 4 * 5 * 12 * 2 + 4 * 5
    assert benchmark.flops(_pointwise(8), (1, 8, 17, 2)) == 8 * 17 * 15


@pytest.mark.parametrize("protocol, step, windows", [
    ("average", 5, 4),   # starts 0, 5, 10 and 12 (the last aligned to the end)
    ("tiled", 4, 5),     # starts 0, 4, 8, 12, 16
    ("center", 1, 20),   # one per frame
])
def test_sequence_cost_counts_every_window(protocol, step, windows):
    model = _pointwise(8)
    for flip in (True, False):
        cost = benchmark.sequence_cost(model, 8, protocol, step=step, flip=flip, length=20)
        runs = windows * (2 if flip else 1)
        assert cost["windows"] == runs
        assert cost["flops_per_window"] == 8 * 17 * 15
        assert cost["flops_per_output_frame"] == pytest.approx(runs * 8 * 17 * 15 / 20)


def test_convolutional_cost_is_about_two_flops_per_weight_per_frame():
    model = TCN(filter_widths=(3, 3), channels=32, num_frames=9)
    cost = benchmark.sequence_cost(model, 9, "convolutional", flip=False, length=400)
    kernels = sum(int(np.prod(w.shape)) for w in model.trainable_weights
                  if "kernel" in w.path)
    # Every kernel weight is one multiply-add per output frame; the padded
    # edges, biases and batch norm add a little.
    assert 2 * kernels < cost["flops_per_output_frame"] < 1.15 * 2 * kernels
    assert cost["windows"] == 1
    # A strided window computes only what its one output frame needs.
    assert cost["flops_per_window"] < 1.15 * 2 * kernels * 3


def test_training_speed_runs_the_optimiser_on_the_pipelines_shapes():
    # TCN's strided form needs the static window length a tf.data pipeline
    # gives: the timed steps must be real optimiser steps of that form.
    result = benchmark.training_speed(
        "tcn", dict(filter_widths=(3, 3), channels=8), None, batch_size=4, repeats=3, warmup=1)
    assert result["steps_run"] == 4
    assert result["seconds_per_step"] > 0 and result["batch_size"] == 4


def _report(label, fps_flip, fps_plain, full=False):
    report = {"label": label, "parameters": 1000, "protocol": "tiled", "step": 4,
              "sequence_frames": 2000, "window_frames": 4,
              "sequence": {"flip_true": {"frames_per_second": fps_flip},
                           "flip_false": {"frames_per_second": fps_plain},
                           "in_graph_flip_true": {"frames_per_second": 2 * fps_flip}},
              "flops": {"flip_true": {"flops_per_output_frame": 2.5e9}}}
    if full:
        report["latency"] = {"ms": {"xla": 1.5, "tflite_1_thread": 0.25}}
        report["training"] = {"batch_size": 64, "steps_per_second": 3.0,
                              "windows_per_second": 192.0}
        report["memory"] = {"training": {"peak_mb": 900.0, "above_idle_mb": 300.0}}
    return report


def test_tables_give_ratios_against_the_first_row():
    text = benchmark.tables([_report("base", 1000.0, 2000.0, full=True),
                             _report("fast", 3500.0, 5000.0)])
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines()
            if "| tiled, step 4 |" in line}
    assert "| 3.50x |" in rows["fast"] and "| 2.50x |" in rows["fast"]
    assert "| 1.00x |" in rows["base"] and "| 2.50 |" in rows["base"]  # GFLOPs
    assert "| 0.286 |" in rows["fast"]  # ms per frame with flip
    assert rows["fast"].endswith("| 7,000 |")  # in one graph
    assert "| 1.50 | 0.25 |" in text  # latency columns of the backends measured
    assert "| 3.00 | 192 |" in text and "900 (+300)" in text


def test_latency_runs_every_backend_and_checks_its_output():
    model = _pointwise(8)
    result = benchmark.latency(model, 8, repeats=1, warmup=0)
    assert sorted(result["ms"]) == sorted(benchmark.BACKENDS)
    assert result["output_abs_max"] > 1e-3
    for backend in benchmark.BACKENDS:
        assert result["ms"][backend] > 0
        assert result["max_abs_difference"][backend] < 1e-5, backend
    with pytest.raises(ValueError, match="Unknown backend 'onnx'"):
        benchmark.latency(model, 8, backends=["onnx"])


def test_unknown_choices_are_named():
    benchmark.check_choices("measure", ["sequence"], ("sequence", "flops"))
    with pytest.raises(ValueError, match=r"Unknown --measure \['speed'\]; choose from"):
        benchmark.check_choices("measure", ["sequence", "speed"], ("sequence", "flops"))


@pytest.mark.skipif(not sys.platform.startswith("linux") or bool(
    tf.config.list_physical_devices("GPU")), reason="the CPU figures read /proc/self/status")
def test_memory_now_tracks_a_known_allocation():
    # The CPU figures are this process's VmRSS and VmHWM: a 192 MB array,
    # touched, must show in the current figure (in MiB, not kB or pages);
    # freed (numpy maps arrays this large, so the pages go back), it must
    # leave the current figure and stay in the peak.
    size_mb = 192
    before = benchmark.memory_now()
    assert before["device"] == "CPU"
    block = np.ones(size_mb * 2**20 // 8)
    held = benchmark.memory_now()
    # MiB: a 1000-based or kB figure is off by 2.4% (5 MB) or more.
    assert abs(held["current_mb"] - before["current_mb"] - size_mb) < 3, (before, held)
    del block
    after = benchmark.memory_now()
    assert after["current_mb"] < held["current_mb"] - 0.9 * size_mb
    assert after["peak_mb"] >= held["current_mb"] - 1  # the peak remembers the array


def test_streaming_latency_and_memory_run_every_backend():
    from tfpose import testing
    from tfpose.models import UGCN

    # 32 channels: the converter leaves kernels under 1,024 weights in float.
    model = UGCN(num_frames=8, down_channels=(32,) * 9, merge_channels=4, num_pairs=2,
                 dropout=0.0).inference_model()
    testing.randomize_zero_kernels(model, scale=0.05)
    result = benchmark.streaming_latency(model, 8, frames=12, warmup=2, flip=False)
    assert sorted(result["ms"]) == sorted(benchmark.STREAM_BACKENDS)
    assert all(ms["p50"] > 0 and ms["p99"] >= ms["p50"] for ms in result["ms"].values())
    scale = result["output_abs_max"]
    assert scale > 1e-3
    differences = result["max_abs_difference"]
    assert differences["keras"] == 0.0
    for backend in ("tflite_1_thread", "tflite_2_threads"):
        assert differences[backend] < 1e-4 * max(1.0, scale), (backend, differences)
    # int8 weights move the poses, but by a few percent of their scale: a
    # wrong conversion (another frame, another joint order) moves them by
    # about the scale itself.
    for backend in ("tflite_int8_1_thread", "tflite_int8_2_threads"):
        assert 0 < differences[backend] < 0.1 * scale, (backend, differences)
    memory = benchmark.streaming_memory(model, 8, "tflite_int8_1_thread", frames=20,
                                        flip=False)
    assert len(memory["samples"]) == 10 and memory["samples"][-1]["frames"] == 20
    with pytest.raises(ValueError, match="Unknown stream backend 'onnx'"):
        benchmark.streaming_latency(model, 8, backends=["onnx"], frames=2, warmup=0)


def test_sequence_cost_of_a_causal_ugcn_counts_the_tail_it_runs():
    model = UGCN(num_frames=16, causal=True, down_channels=(4,) * 9, merge_channels=3)
    causal = benchmark.sequence_cost(model, 16, "causal", flip=False, length=20)
    center = benchmark.sequence_cost(model, 16, "center", flip=False, length=20)
    assert causal["windows"] == center["windows"] == 20
    tail = benchmark.flops(model.tail_model(1), (1, 16, 17, 2))
    assert causal["flops_per_window"] == tail < center["flops_per_window"]
    assert causal["flops_per_output_frame"] == pytest.approx(tail)
