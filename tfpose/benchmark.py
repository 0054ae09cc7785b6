"""Timing helpers for lifting models: medians over repeated runs after warm-up.

Timing belongs here and in `scripts/benchmark.py`, never in tests.
"""

import statistics
import time

import numpy as np
import tensorflow as tf

from tfpose import inference


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


def _inputs(model, x):
    if inference.needs_intrinsics(model):
        k = np.tile(np.array([[2.3, 2.3, 0.0, 0.0]], np.float32), (len(x), 1))
        return [tf.constant(x), tf.constant(k)]
    return tf.constant(x)


def sequence_lifting(model, num_frames, protocol, length=2000, flip=True, batch_size=256,
                     repeats=5, step=5):
    """Frames per second of `SequenceLifter` on one `length`-frame sequence."""
    lifter = inference.SequenceLifter(model, num_frames, flip=flip, batch_size=batch_size,
                                      protocol=protocol, step=step)
    x = random_keypoints((length, 17, 2))
    intrinsics = np.array([2.3, 2.3, 0.0, 0.0], np.float32)
    seconds = median_seconds(lambda: lifter(x, intrinsics=intrinsics), repeats)
    return {"seconds": seconds, "frames_per_second": length / seconds,
            "ms_per_frame": 1000.0 * seconds / length}


def window_throughput(model, num_frames, batch=64, repeats=5):
    """Output frames per second of one `tf.function` call on `batch` windows."""
    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    inputs = _inputs(model, random_keypoints((batch, num_frames, 17, 2)))
    output = predict(inputs)
    frames = int(output.shape[0]) * int(output.shape[1])  # a TCN outputs one per window
    seconds = median_seconds(lambda: predict(inputs).numpy(), repeats)
    return {"seconds": seconds, "frames_per_second": frames / seconds,
            "windows_per_second": batch / seconds}
