"""Speed, memory and cost measurements of lifting models.

Timing belongs here and in `scripts/benchmark.py`, never in tests: every
figure is a median over repeated runs after warm-up (`median_seconds`).

Measurements (each returns a plain dict, JSON-ready):

- `sequence_lifting`: frames/s of `tfpose.inference.protocols.SequenceLifter` on one
  long sequence with a model's protocol (what evaluation and `lift.py` run);
  `sequence_lifting_in_graph`: the same protocol as one graph
  (`lift_sequences`, what the exported SavedModel runs).
- `window_throughput`: output frames/s of one batch of windows through a
  `tf.function`.
- `latency`: one window at batch 1 through each deployment backend
  (`BACKENDS`): eager Keras (`model(x)`), Keras' compiled
  `predict_on_batch`, `tf.function`, XLA, the exported SavedModel's
  `window` signature and TFLite with 1 and 2 threads.
- `training_speed`: steps/s of the compiled training step that
  `scripts/train.py` runs (same losses and metrics).
- `flops`: floating-point operations of one call, counted by TensorFlow's
  profiler on the frozen graph; `sequence_cost` turns them into FLOPs per
  output frame under a protocol (window overlap and flip included);
  `matmul_gflops`: the device's rate on one large matrix product.
- `memory_now`: resident memory of this process now and at its peak (CPU),
  or the GPU allocator's figures; `scripts/benchmark.py` measures peaks in
  a fresh process per workload.
- `streaming_latency`: per-frame latency of `tfpose.inference.streaming.StreamingLifter`
  (batch 1, one `push` per frame) on each `STREAM_BACKENDS`: percentiles
  over thousands of frames, since a live app's worst frames matter;
  `streaming_memory`: resident memory along a long stream (it must stay
  flat).
"""

import collections
import os
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf

from tfpose.inference import protocols
from tfpose.training import runner

BACKENDS = ("keras_eager", "keras_predict", "tf_function", "xla", "saved_model",
            "tflite_1_thread", "tflite_2_threads")


def check_choices(name, values, choices):
    """A clear error for list-flag values outside `choices`."""
    unknown = sorted(set(values) - set(choices))
    if unknown:
        raise ValueError(f"Unknown --{name} {unknown}; choose from {list(choices)}.")


def median_seconds(fn, repeats=5, warmup=2):
    """Median wall time of `fn()` over `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def random_keypoints(shape, seed=0):
    """Plausible normalised 2D input: a random walk around the image centre."""
    rng = np.random.default_rng(seed)
    base = rng.normal(scale=0.2, size=shape[:-3] + (1,) + shape[-2:])
    drift = np.cumsum(rng.normal(scale=0.005, size=shape), axis=-3)
    return (base + drift).astype(np.float32)


INTRINSICS = np.array([2.3, 2.3, 0.0, 0.0], np.float32)


def _inputs(model, x):
    if protocols.needs_intrinsics(model):
        return [tf.constant(x), tf.constant(np.tile(INTRINSICS[None], (len(x), 1)))]
    return tf.constant(x)


def sequence_lifting(model, num_frames, protocol, length=2000, flip=True, batch_size=256,
                     repeats=5, step=5, warmup=2, lookahead=0):
    """Frames per second of `SequenceLifter` on one `length`-frame sequence."""
    lifter = protocols.SequenceLifter(model, num_frames, flip=flip, batch_size=batch_size,
                                      protocol=protocol, step=step, lookahead=lookahead)
    x = random_keypoints((length, 17, 2))
    seconds = median_seconds(lambda: lifter(x, intrinsics=INTRINSICS), repeats, warmup)
    return {"seconds": seconds, "frames_per_second": length / seconds,
            "ms_per_frame": 1000.0 * seconds / length}


def sequence_lifting_in_graph(model, num_frames, protocol, length=2000, flip=True,
                              repeats=5, step=5, warmup=2, lookahead=0):
    """Frames per second of `protocols.lift_sequences` in one `tf.function`
    call (what the exported SavedModel's `serving_default` runs)."""
    with_intrinsics = protocols.needs_intrinsics(model)
    fn = tf.function(lambda x, k: protocols.lift_sequences(
        model, x, k if with_intrinsics else None, num_frames=num_frames, protocol=protocol,
        step=step, flip=flip, lookahead=lookahead))
    x = tf.constant(random_keypoints((1, length, 17, 2)))
    k = tf.constant(INTRINSICS[None])
    seconds = median_seconds(lambda: fn(x, k).numpy(), repeats, warmup)
    return {"seconds": seconds, "frames_per_second": length / seconds,
            "ms_per_frame": 1000.0 * seconds / length}


def window_throughput(model, num_frames, batch=64, repeats=5, warmup=2):
    """Output frames per second of one `tf.function` call on `batch` windows."""
    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    inputs = _inputs(model, random_keypoints((batch, num_frames, 17, 2)))
    output = predict(inputs)
    frames = int(output.shape[0]) * int(output.shape[1])  # a TCN outputs one per window
    seconds = median_seconds(lambda: predict(inputs).numpy(), repeats, warmup)
    return {"seconds": seconds, "frames_per_second": frames / seconds,
            "windows_per_second": batch / seconds, "output_frames": frames}


def _backend(model, num_frames, name, directory):
    """`fn(inputs) -> numpy` running one `[1, num_frames, 17, 2]` window."""
    with_intrinsics = protocols.needs_intrinsics(model)
    if name == "keras_eager":
        return lambda inputs: model(inputs, training=False).numpy()
    if name == "keras_predict":
        return lambda inputs: model.predict_on_batch(inputs)
    if name in ("tf_function", "xla"):
        fn = tf.function(lambda inputs: model(inputs, training=False),
                         jit_compile=name == "xla")
        return lambda inputs: fn(inputs).numpy()
    if name == "saved_model":
        from tfpose.export import saved_model

        path = os.path.join(directory, "saved_model")
        if not os.path.exists(path):
            saved_model.write(model, path, num_frames=num_frames, protocol="center",
                              flip=False)
        signature = saved_model.load_signature(path, saved_model.WINDOW)

        def run(inputs):
            named = ({"keypoints_2d": inputs[0], "intrinsics": inputs[1]} if with_intrinsics
                     else {"keypoints_2d": inputs})
            return signature(**named)["poses_3d"].numpy()

        return run
    if name.startswith("tflite"):
        from tfpose.export import tflite

        path = os.path.join(directory, "window.tflite")
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(tflite.convert(model, num_frames=num_frames, batch_size=1))
        runner = tflite.Runner(path, num_threads=1 if "1" in name else 2)
        return lambda inputs: runner(*inputs) if with_intrinsics else runner(inputs)
    raise ValueError(f"Unknown backend {name!r}; expected one of {BACKENDS}.")


def latency(model, num_frames, backends=BACKENDS, repeats=20, warmup=3):
    """Milliseconds per single window (batch 1) through each backend, and
    the largest difference of its output from eager Keras (a conversion
    that runs fast but wrong shows up here)."""
    num_frames = protocols.window_frames(model, num_frames)
    inputs = _inputs(model, random_keypoints((1, num_frames, 17, 2)))
    numpy_inputs = ([t.numpy() for t in inputs] if isinstance(inputs, list)
                    else inputs.numpy())
    reference = model(inputs, training=False).numpy()
    results = {"ms": {}, "max_abs_difference": {},
               "output_abs_max": float(np.abs(reference).max())}
    with tempfile.TemporaryDirectory() as directory:
        for name in backends:
            fn = _backend(model, num_frames, name, directory)
            args = numpy_inputs if name.startswith(("saved", "tflite")) else inputs
            output = fn(args)
            seconds = median_seconds(lambda: fn(args), repeats, warmup)
            results["ms"][name] = 1000.0 * seconds
            results["max_abs_difference"][name] = float(np.abs(output - reference).max())
    return results


def training_speed(model_name, model_kwargs, loss_kwargs, *, batch_size, learning_rate=1e-3,
                   repeats=10, warmup=3):
    """Steps/s of the training step `model.fit` runs, for the model
    `scripts/train.py` compiles (`runner.build_model`: its losses, weights
    and metrics), on a random batch of `batch_size` windows of the model's
    `num_frames`.

    The batch comes from a `tf.data` iterator, as in training, so the step
    is traced with the pipeline's static shapes (TCN's strided form keys on
    them; `train_on_batch` traced a shape-relaxed step that training does
    not run)."""
    model = runner.build_model(model_name, model_kwargs, loss_kwargs, learning_rate)
    x = random_keypoints((batch_size, model.num_frames, 17, 2))
    y = np.random.default_rng(1).normal(scale=0.3, size=(batch_size, model.num_frames, 17, 3))
    inputs = _inputs(model, x)
    dataset = runner.match_targets(tf.data.Dataset.from_tensors((inputs, y.astype("float32"))),
                                   model)
    iterator = iter(dataset.repeat())
    model.make_train_function()

    def step():
        # Reading a log value waits for the step (an accelerator runs it
        # asynchronously).
        logs = model.train_function(iterator)
        return float(next(iter(logs.values())))

    seconds = median_seconds(step, repeats, warmup)
    return {"seconds_per_step": seconds, "steps_per_second": 1.0 / seconds,
            "windows_per_second": batch_size / seconds, "batch_size": batch_size,
            "steps_run": int(model.optimizer.iterations.numpy()),
            # The dtype policies of the layers with weights (containers and the
            # model included), so a report shows the precision the model was built in.
            "compute_dtypes": dict(collections.Counter(
                layer.compute_dtype for layer in model._flatten_layers() if layer.weights)),
            "variable_dtypes": sorted({v.dtype for v in model.trainable_weights})}


def flops(model, *shapes):
    """Floating-point operations (multiply and add counted apart) of one
    inference call on inputs of `shapes`, from TensorFlow's profiler on the
    frozen graph (convolutions, matrix products and elementwise ops with
    registered statistics)."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    specs = [tf.TensorSpec(s, tf.float32) for s in shapes]
    fn = tf.function(lambda *x: model(list(x) if len(x) > 1 else x[0], training=False))
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function(*specs))
    options = (tf.compat.v1.profiler.ProfileOptionBuilder(
        tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()).with_empty_output().build())
    return int(tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
               .total_float_ops)


def sequence_cost(model, num_frames, protocol, step=5, flip=True, length=2000, lookahead=0):
    """FLOPs per output frame of lifting a `length`-frame sequence with
    `protocol` (every window it runs, twice with flip), and per call."""
    shapes = lambda frames: [(1, frames, 17, 2)] + (  # noqa: E731
        [(1, 4)] if protocols.needs_intrinsics(model) else [])
    if protocol == "convolutional" or (protocol == "causal"
                                       and protocols.is_convolutional(model)):
        window = flops(model, *shapes(model.receptive_field))
        total = flops(model, *shapes(length + model.receptive_field - 1))
        windows = 1
    else:
        index, _ = protocols.window_plan(tf.constant(length), num_frames, protocol, step,
                                         lookahead)
        windows = int(index.shape[0])
        # What the protocol runs per window: a causal UGCN's tail.
        model = protocols.read_model(model, protocol, lookahead)[0]
        window = flops(model, *shapes(protocols.window_frames(model, num_frames)))
        per_call = (window if protocols.window_frames(model, num_frames) == num_frames
                    else flops(model, *shapes(num_frames)))
        total = windows * per_call
    total *= 2 if flip else 1
    return {"flops_per_output_frame": total / length, "flops_per_window": window,
            "windows": windows * (2 if flip else 1)}


def matmul_gflops(size=2048, repeats=5):
    """GFLOP/s of one large float32 matrix product on this device: the
    practical ceiling that the models' FLOP counts are compared with."""
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    fn = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    return 2.0 * size**3 / median_seconds(lambda: fn().numpy(), repeats) / 1e9


# `tflite_int8_*`: the stream signature with dynamic-range int8 weights
# (`tfpose.export.tflite`'s "dynamic_int8": int8 kernels, activations
# quantised on the fly), which needs no calibration data.
STREAM_BACKENDS = ("keras", "tflite_1_thread", "tflite_2_threads", "tflite_int8_1_thread",
                   "tflite_int8_2_threads")


def _stream_lifter(model, backend, directory, lookahead, flip, num_frames):
    """A `StreamingLifter` on `backend`: the Keras model, or its stream
    signature converted to TFLite (each file written once to `directory`)."""
    from tfpose.inference import streaming

    if backend not in STREAM_BACKENDS:
        raise ValueError(f"Unknown stream backend {backend!r}; expected one of "
                         f"{STREAM_BACKENDS}.")
    if protocols.is_convolutional(model):  # a TCN streams at its own lookahead
        lookahead = protocols.model_lookahead(model)
    if backend == "keras":
        return streaming.StreamingLifter(model, lookahead=lookahead, flip=flip,
                                         num_frames=num_frames)
    quantization = "dynamic_int8" if "int8" in backend else "fp32"
    path = os.path.join(directory, f"stream_{quantization}.tflite")
    if not os.path.exists(path):
        from tfpose.export import saved_model, tflite

        saved = os.path.join(directory, "stream_saved_model")
        if not os.path.exists(saved):
            frames = protocols.window_frames(model, num_frames)
            saved_model.write(model, saved, num_frames=frames, protocol="center", flip=flip,
                              stream_lookahead=lookahead)
        with open(path, "wb") as f:
            f.write(tflite.convert_saved_model(saved, saved_model.STREAM, quantization))
    return streaming.StreamingLifter(path, lookahead=lookahead,
                                     num_threads=1 if backend.endswith("1_thread") else 2)


def streaming_latency(model, num_frames, backends=STREAM_BACKENDS, frames=2000, lookahead=0,
                      flip=True, warmup=50):
    """Milliseconds per `StreamingLifter.push` (one frame, batch 1) on each
    backend: p50, p90, p99, max and mean over `frames` pushes after
    `warmup`, and the largest difference of the poses from the first
    backend's (Keras, when measured) over the first 100 frames, beside that
    backend's largest output (`output_abs_max`)."""
    x = random_keypoints((frames + warmup, 17, 2), seed=1)
    if protocols.is_convolutional(model):  # a TCN streams at its own lookahead
        lookahead = protocols.model_lookahead(model)
    results = {"frames": frames, "lookahead": lookahead, "flip": flip, "ms": {},
               "max_abs_difference": {}}
    reference = None
    with tempfile.TemporaryDirectory() as directory:
        for backend in backends:
            lifter = _stream_lifter(model, backend, directory, lookahead, flip, num_frames)
            poses = []
            times = np.empty(frames)
            for t in range(warmup + frames):
                start = time.perf_counter()
                out = lifter.push(x[t])
                if t >= warmup:
                    times[t - warmup] = time.perf_counter() - start
                if out is not None and len(poses) < 100:
                    poses.append(out.poses_3d)
            ms = 1000.0 * times
            results["ms"][backend] = {
                "p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)),
                "p99": float(np.percentile(ms, 99)), "max": float(ms.max()),
                "mean": float(ms.mean())}
            poses = np.stack(poses)
            if reference is None:
                reference = poses
                results["output_abs_max"] = float(np.abs(reference).max())
            results["max_abs_difference"][backend] = float(np.abs(poses - reference).max())
    return results


def streaming_memory(model, num_frames, backend="tflite_1_thread", frames=100_000,
                     lookahead=0, flip=True):
    """Resident memory (MB) at every tenth of a `frames`-frame stream
    through `StreamingLifter` on `backend`; `growth_mb` is the last sample
    minus the first (taken after the first tenth, past the warm-up)."""
    every = max(1, frames // 10)
    x = random_keypoints((every, 17, 2), seed=2)
    with tempfile.TemporaryDirectory() as directory:
        lifter = _stream_lifter(model, backend, directory, lookahead, flip, num_frames)
        samples = []
        for t in range(frames):
            lifter.push(x[t % every])
            if (t + 1) % every == 0:
                samples.append({"frames": t + 1, "rss_mb": memory_now()["current_mb"]})
    return {"backend": backend, "frames": frames, "samples": samples,
            "growth_mb": samples[-1]["rss_mb"] - samples[0]["rss_mb"] if samples else None,
            "peak_mb": memory_now()["peak_mb"]}


def memory_now():
    """This process's resident memory now and at its peak, in MB (Linux);
    on a GPU, the allocator's current and peak bytes of GPU:0."""
    if tf.config.list_physical_devices("GPU"):
        info = tf.config.experimental.get_memory_info("GPU:0")
        return {"device": "GPU:0", "current_mb": info["current"] / 2**20,
                "peak_mb": info["peak"] / 2**20}
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(value.split()[0]) / 1024.0
    return {"device": "CPU", "current_mb": values.get("VmRSS"), "peak_mb": values.get("VmHWM")}


def _cell(value, digits=0, suffix=""):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def tables(results):
    """Markdown tables of `scripts/benchmark.py` reports (dicts with a
    `label`); ratios are against the first report, measured in the same run."""
    base = results[0]

    def fps(result, flip, prefix=""):
        return result.get("sequence", {}).get(f"{prefix}flip_{flip}".lower(), {}).get(
            "frames_per_second")

    def ratio(result, flip):
        a, b = fps(result, flip), fps(base, flip)
        return f"{a / b:.2f}x" if a and b else "-"

    def gflops(result):
        value = result.get("flops", {}).get("flip_true", {}).get("flops_per_output_frame")
        return None if value is None else value / 1e9

    first = base["label"]
    rate = base.get("matmul_gflops")
    lines = [f"One 2048 x 2048 float32 matrix product on this device: {rate:,.0f} GFLOP/s "
             "(the practical ceiling for the FLOP counts below).", ""] if rate else []
    lines += [
        f"Sequence lifting ({base['sequence_frames']:,} frames, batch of windows per "
        f"call; ratios: frames/s against {first} in the same run):",
        "",
        "| model | parameters | protocol | GFLOPs per frame (flip) | frames/s, flip | ms per "
        f"frame, flip | vs {first}, flip | frames/s, no flip | vs {first}, no flip | "
        "frames/s, flip, in one graph |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        protocol = r["protocol"] + (f", step {r['step']}" if r["protocol"] in ("average",
                                                                               "tiled") else "")
        flip = fps(r, True)
        lines.append(
            f"| {r['label']} | {r['parameters']:,} | {protocol} | {_cell(gflops(r), 2)} | "
            f"{_cell(flip)} | {_cell(flip and 1000.0 / flip, 3)} | {ratio(r, True)} | "
            f"{_cell(fps(r, False))} | {ratio(r, False)} | {_cell(fps(r, True, 'in_graph_'))} |")
    full = [r for r in results if {"latency", "windows", "training", "memory"} & set(r)]
    if full:
        names = [n for n in BACKENDS if any(n in r.get("latency", {}).get("ms", {})
                                            for r in full)]
        lines += [
            "", "Window batches (output frames/s of one call on 64 windows) and one window "
            "at batch 1 (median ms per call; TFLite fp32 through ai-edge-litert):", "",
            "| model | window frames | 64 windows, output frames/s | "
            + " | ".join(names) + " |",
            "| --- | ---: | ---: | " + " | ".join("---:" for _ in names) + " |",
        ]
        for r in full:
            ms = r.get("latency", {}).get("ms", {})
            lines.append(
                f"| {r['label']} | {r['window_frames']} | "
                f"{_cell(r.get('windows', {}).get('frames_per_second'))} | "
                + " | ".join(_cell(ms.get(n), 2) for n in names) + " |")
        lines += [
            "", "Training (the compiled step of scripts/train.py: loss, metrics, Adam) and "
            "peak memory (resident MB of a fresh process running the workload once, and "
            "its increase over the process before the workload):", "",
            "| model | batch | steps/s | windows/s | peak MB: sequence | sequence in one "
            "graph | 64 windows | training |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in full:
            train = r.get("training", {})
            memory = r.get("memory", {})

            def peak(name):
                m = memory.get(name)
                return "-" if m is None else f"{m['peak_mb']:,.0f} (+{m['above_idle_mb']:,.0f})"

            lines.append(
                f"| {r['label']} | {train.get('batch_size', '-')} | "
                f"{_cell(train.get('steps_per_second'), 2)} | "
                f"{_cell(train.get('windows_per_second'))} | {peak('sequence')} | "
                f"{peak('sequence_in_graph')} | {peak('windows')} | {peak('training')} |")
    return "\n".join(lines) + "\n"
