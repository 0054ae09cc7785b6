"""Calibration inputs of the integer TFLite conversions (`int8`, `int16x8`).

The converter sets each tensor's quantised range from what it sees on
these inputs, so they are real 2D from the run's training views, in the
shape of the `serve_tflite` signature (batch 1, any number of frames).
"""

import numpy as np

# Chunks span several windows: with overlap-averaging (UGCN) the sums of
# overlapping predictions grow with the number of windows covering a
# frame, and a calibration on single windows would leave them outside the
# quantised range (it did: hundreds of millimetres of error).
WINDOWS_PER_CHUNK = 4
MIN_CHUNK_FRAMES = 64


def chunk_frames(num_frames):
    """Frames of a calibration chunk for a model of `num_frames`-frame windows."""
    return max(WINDOWS_PER_CHUNK * num_frames, MIN_CHUNK_FRAMES)


def representative_data(views, count, *, num_frames, with_intrinsics, seed=0):
    """`count` random chunks of `views`, as `serve_tflite` inputs.

    Args:
        views: `tfpose.data.sequence.View`s (the run's training split):
            their `keypoints_2d [T, 17, 2]` and, with `with_intrinsics`,
            `camera.normalized_intrinsics()`.
        count: the number of chunks.
        num_frames: the model's window; a chunk is `chunk_frames(num_frames)`
            frames, or the whole view where it is shorter. Views shorter
            than one window are left out, unless all are.
        with_intrinsics: add each chunk's intrinsics (DG-Net's balanced
            output takes them).
        seed: the same seed draws the same chunks.

    Returns:
        A list of `count` input lists, `[keypoints_2d [1, L, 17, 2]]` or
        `[keypoints_2d, intrinsics [1, 4]]`, float32: the
        `representative_data` of `tfpose.export.saved_model.export`.
    """
    views = [v for v in views if len(v.keypoints_2d) >= num_frames] or list(views)
    if not views:
        raise ValueError("No views to draw calibration data from.")
    length = chunk_frames(num_frames)
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(count):
        view = views[rng.integers(len(views))]
        start = rng.integers(max(1, len(view.keypoints_2d) - length + 1))
        item = [view.keypoints_2d[None, start : start + length].astype(np.float32)]
        if with_intrinsics:
            item.append(view.camera.normalized_intrinsics()[None])
        data.append(item)
    return data
