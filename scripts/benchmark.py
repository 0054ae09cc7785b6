"""Times one lifter on this machine: sequences, window batches, batch-1
latency per backend, training steps, peak memory, parameters and FLOPs.

    python scripts/benchmark.py --flagfile=configs/ugcn_hdm05.cfg --output_json=ugcn.json
    python scripts/benchmark.py --flagfile=configs/ugcn_hdm05.cfg --eval_protocol=tiled \\
        --eval_step=64 --measure=sequence,flops

The model comes from the flagfile's model flags (random weights: timing does
not depend on them) or from --checkpoint. Sequence lifting uses the model's
evaluation protocol (or --eval_protocol/--eval_step) with and without flip
augmentation. Every time is a median over --repeats runs after warm-up.
With `memory` in --measure, the peak memory of each measured workload
(sequence, windows, training; all of them with --measure=memory alone) is
taken in a fresh process (this script
again, with --memory_probe), so one workload's peak does not hide
another's. `scripts/benchmark_suite.py` runs the documented comparison.

Live lifting (opt-in, not in the default --measure): `streaming` times
`tfpose.inference.streaming.StreamingLifter.push` frame by frame (p50/p99 over
--stream_frames frames) on --stream_backends, causal with --lookahead;
`stream_memory` samples resident memory along a --stream_memory_frames
stream:

    python scripts/benchmark.py --flagfile=configs/ugcn_hdm05.cfg \
        --checkpoint=runs/ugcn_hdm05/model.keras --measure=streaming,stream_memory \
        --lookahead=0 --output_json=ugcn_stream.json
"""

import json
import os
import platform
import subprocess
import sys

import tfpose.quiet_startup  # noqa: F401  (first: before TensorFlow loads)

# isort: split

import keras
import tensorflow as tf
from absl import app, flags

from tfpose import benchmark, fileio, testing
from tfpose import flags as tfpose_flags
from tfpose.inference import protocols
from tfpose.models import MODELS, inference_model

MEASUREMENTS = ("sequence", "windows", "latency", "training", "flops", "memory")
STREAM_MEASUREMENTS = ("streaming", "stream_memory")
PROBES = ("sequence", "sequence_in_graph", "windows", "training")

_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A .keras model to time instead.")
_SEQUENCE_FRAMES = flags.DEFINE_integer("sequence_frames", 2000,
                                        "Length of the lifted sequence.", lower_bound=1)
_WINDOW_BATCH = flags.DEFINE_integer("window_batch", 64, "Windows per batch call.",
                                     lower_bound=1)
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed runs per measurement.", lower_bound=1)
_MEASURE = flags.DEFINE_list("measure", list(MEASUREMENTS),
                              f"What to measure, from {list(MEASUREMENTS)}.")
_BACKENDS = flags.DEFINE_list("backends", list(benchmark.BACKENDS),
                              f"Batch-1 latency backends, from {list(benchmark.BACKENDS)}.")
_STREAM_FRAMES = flags.DEFINE_integer("stream_frames", 2000,
                                     "Timed frames of the streaming measurement.", lower_bound=1)
_STREAM_BACKENDS = flags.DEFINE_list(
    "stream_backends", list(benchmark.STREAM_BACKENDS),
    f"StreamingLifter backends, from {list(benchmark.STREAM_BACKENDS)}.")
_STREAM_MEMORY_FRAMES = flags.DEFINE_integer(
    "stream_memory_frames", 100_000, "Frames of the stream_memory measurement.", lower_bound=1)
_STREAM_MEMORY_BACKEND = flags.DEFINE_enum(
    "stream_memory_backend", "tflite_1_thread", benchmark.STREAM_BACKENDS,
    "The backend of the stream_memory measurement.")
_MEMORY_PROBE = flags.DEFINE_enum("memory_probe", None, PROBES,
                                  "Internal: run one workload once and print its memory.")
_OUTPUT_JSON = flags.DEFINE_string("output_json", None, "Where to write the results.")
FLAGS = flags.FLAGS


def _trained_model():
    if _CHECKPOINT.value:
        return keras.models.load_model(_CHECKPOINT.value, compile=False)
    return MODELS[FLAGS.model](**tfpose_flags.model_kwargs())


def _count(model):
    return sum(int(w.numpy().size) for w in model.trainable_weights)


def _protocol(model, trained):
    # The trained model declares its protocol: DG-Net's inference model is
    # a plain functional one.
    protocol = protocols.resolve_protocol(trained, FLAGS.eval_protocol)
    num_frames = protocols.window_frames(model, FLAGS.num_frames)
    return protocol, num_frames


def _workload(name, model, protocol, num_frames, repeats, warmup):
    if name == "sequence":  # SequenceLifter (evaluation, lift.py)
        return {f"flip_{flip}".lower(): benchmark.sequence_lifting(
            model, num_frames, protocol, length=_SEQUENCE_FRAMES.value, flip=flip,
            repeats=repeats, step=FLAGS.eval_step, warmup=warmup, lookahead=FLAGS.lookahead)
            for flip in (True, False)}
    if name == "sequence_in_graph":  # the SavedModel's serving_default
        return benchmark.sequence_lifting_in_graph(
            model, num_frames, protocol, length=_SEQUENCE_FRAMES.value, flip=True,
            repeats=repeats, step=FLAGS.eval_step, warmup=warmup, lookahead=FLAGS.lookahead)
    if name == "windows":
        frames = protocols.window_frames(model, FLAGS.num_frames)
        return benchmark.window_throughput(model, frames, batch=_WINDOW_BATCH.value,
                                           repeats=repeats, warmup=warmup)
    if name == "training":  # in the precision train.py would run (--precision)
        precision = tfpose_flags.precision_policy()
        keras.mixed_precision.set_global_policy(precision)
        try:
            result = benchmark.training_speed(
                FLAGS.model, tfpose_flags.model_kwargs(), tfpose_flags.loss_kwargs(),
                batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate,
                repeats=2 * repeats, warmup=warmup)
        finally:
            keras.mixed_precision.set_global_policy("float32")
        return {**result, "precision": precision}
    raise ValueError(name)


def _probe(name):
    """Runs workload `name` once, warm-up included, in this fresh process."""
    gpu = bool(tf.config.list_physical_devices("GPU"))
    trained = None if name == "training" else _trained_model()
    model = None if trained is None else inference_model(trained)
    if gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
    before = benchmark.memory_now()
    _workload(name, model, *(_protocol(model, trained) if model is not None else ("", 0)),
              repeats=1, warmup=0)
    after = benchmark.memory_now()
    print("MEMORY " + json.dumps({"before_mb": before["current_mb"], "peak_mb": after["peak_mb"],
                                  "device": after["device"]}))


def _memory(name):
    argv = [a for a in sys.argv[1:] if not a.startswith(("--output_json", "--measure"))]
    result = subprocess.run([sys.executable, os.path.abspath(__file__), *argv,
                             f"--memory_probe={name}"], capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("MEMORY ")]
    if result.returncode or not lines:
        raise RuntimeError(f"The {name} memory probe failed:\n{result.stderr[-3000:]}")
    memory = json.loads(lines[-1][len("MEMORY "):])
    memory["above_idle_mb"] = memory["peak_mb"] - memory["before_mb"]
    return memory


def main(argv):
    del argv
    try:
        benchmark.check_choices("backends", _BACKENDS.value, benchmark.BACKENDS)
        benchmark.check_choices("measure", _MEASURE.value, MEASUREMENTS + STREAM_MEASUREMENTS)
        benchmark.check_choices("stream_backends", _STREAM_BACKENDS.value,
                                benchmark.STREAM_BACKENDS)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    if _MEMORY_PROBE.value:
        _probe(_MEMORY_PROBE.value)
        return
    trained = _trained_model()
    model = inference_model(trained)
    if not _CHECKPOINT.value:
        # Untrained regressors start at zero: give them weights, so that the
        # backends' outputs differ where a conversion went wrong.
        testing.randomize_zero_kernels(model, scale=0.05)
    protocol, num_frames = _protocol(model, trained)
    measure = set(_MEASURE.value)
    results = {
        "model": FLAGS.model,
        # As trained, and as run (UGCN folds batch norm, DG-Net drops its heads).
        "parameters": _count(trained), "inference_parameters": _count(model),
        "num_frames": trained.num_frames or FLAGS.num_frames,
        "window_frames": protocols.window_frames(model, FLAGS.num_frames),
        "protocol": protocol, "step": FLAGS.eval_step, "sequence_frames": _SEQUENCE_FRAMES.value,
        "lookahead": FLAGS.lookahead, "flip": FLAGS.eval_flip,
        "repeats": _REPEATS.value,
        "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "python": platform.python_version(),
    }
    if "flops" in measure:
        results["matmul_gflops"] = benchmark.matmul_gflops()
        results["flops"] = {f"flip_{flip}".lower(): benchmark.sequence_cost(
            model, num_frames, protocol, step=FLAGS.eval_step, flip=flip,
            length=_SEQUENCE_FRAMES.value, lookahead=FLAGS.lookahead) for flip in (True, False)}
    for name in ("sequence", "windows", "training"):
        if name in measure:
            results[name] = _workload(name, model, protocol, num_frames, _REPEATS.value, 2)
    if "sequence" in measure:
        results["sequence"]["in_graph_flip_true"] = _workload(
            "sequence_in_graph", model, protocol, num_frames, _REPEATS.value, 2)
    if "latency" in measure:
        results["latency"] = benchmark.latency(model, num_frames, _BACKENDS.value,
                                               repeats=4 * _REPEATS.value)
    if "streaming" in measure:
        results["streaming"] = benchmark.streaming_latency(
            model, FLAGS.num_frames, _STREAM_BACKENDS.value, frames=_STREAM_FRAMES.value,
            lookahead=FLAGS.lookahead, flip=FLAGS.eval_flip)
    if "stream_memory" in measure:
        results["stream_memory"] = benchmark.streaming_memory(
            model, FLAGS.num_frames, _STREAM_MEMORY_BACKEND.value,
            frames=_STREAM_MEMORY_FRAMES.value, lookahead=FLAGS.lookahead,
            flip=FLAGS.eval_flip)
    if "memory" in measure:  # the peaks of the measured workloads, or of all
        workloads = measure if measure & {"sequence", "windows", "training"} else set(PROBES)
        results["memory"] = {name: _memory(name) for name in PROBES
                             if name.replace("_in_graph", "") in workloads}
    print(json.dumps(results, indent=2))
    if _OUTPUT_JSON.value:
        fileio.write_json(_OUTPUT_JSON.value, results)


if __name__ == "__main__":
    tfpose_flags.define_data_flags()
    tfpose_flags.define_model_flags()
    tfpose_flags.define_training_flags()
    app.run(main)
