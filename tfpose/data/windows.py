"""Fixed-length windows over variable-length sequences (numpy).

VideoPose3D's generators index a dataset by `(sequence, start)` pairs over
edge-padded sequences; tfpose does the same, with all sequences padded and
concatenated into one array so that a window is one contiguous slice.
"""

import numpy as np

PADDINGS = ("same", "valid")


def pad_amounts(length, num_frames, padding, lookahead=None):
    """Frames of edge padding `(before, after)` for one sequence.

    - `"same"`: every frame is at one position of a window (frame `t` is at
      position `num_frames - 1 - lookahead` of the window starting at
      padded index `t`): `num_frames - 1 - lookahead` before, `lookahead`
      after. `lookahead=None` is the centre: `num_frames // 2` before,
      `(num_frames - 1) // 2` after. (A TCN trained to predict another
      frame than its window's centre needs every frame at that position.)
    - `"valid"`: no padding, except at the end of a sequence shorter than
      `num_frames`, so that it still yields one window.
    """
    if padding == "same":
        if lookahead is None:
            lookahead = (num_frames - 1) // 2
        if not 0 <= lookahead < num_frames:
            raise ValueError(f"`lookahead` must be in [0, {num_frames - 1}], got {lookahead}.")
        return num_frames - 1 - lookahead, lookahead
    if padding == "valid":
        return 0, max(0, num_frames - length)
    raise ValueError(f"Unknown padding {padding!r}; expected one of {PADDINGS}.")


def window_starts(length, num_frames, stride, padding, lookahead=None):
    """Start indices of windows in the padded sequence.

    With `"valid"` padding the last window is moved back to end at the
    last frame, so no frame is left out whatever the stride.
    """
    if stride < 1:
        raise ValueError(f"`stride` must be >= 1, got {stride}.")
    before, after = pad_amounts(length, num_frames, padding, lookahead)
    padded = length + before + after
    starts = list(range(0, padded - num_frames + 1, stride))
    if padding == "valid" and starts[-1] != padded - num_frames:
        starts.append(padded - num_frames)
    return np.asarray(starts, np.int64)


def edge_pad(array, before, after):
    """Repeats the first and last frames of `[T, ...]`."""
    width = [(before, after)] + [(0, 0)] * (array.ndim - 1)
    return np.pad(array, width, mode="edge")


def concatenate(arrays, num_frames, stride, padding, lookahead=None):
    """Pads and concatenates sequences; returns `(data, starts)`.

    Args:
        arrays: list of `[T_i, ...]` arrays (or tuples of arrays sharing
            `T_i`, padded alike).
        num_frames, stride, padding, lookahead: see `pad_amounts`.

    Returns:
        `data`: the padded arrays concatenated along time (a tuple if
        `arrays` holds tuples), and `starts`: `[W]` int64 offsets of every
        window into `data`.
    """
    if not arrays:
        raise ValueError("No sequences to make windows from.")
    as_tuple = isinstance(arrays[0], tuple)
    parts, starts, offset = [], [], 0
    for item in arrays:
        item = item if as_tuple else (item,)
        length = len(item[0])
        if length == 0:
            raise ValueError("A sequence has no frames.")
        before, after = pad_amounts(length, num_frames, padding, lookahead)
        parts.append(tuple(edge_pad(a, before, after) for a in item))
        starts.append(offset + window_starts(length, num_frames, stride, padding, lookahead))
        offset += length + before + after
    data = tuple(np.concatenate(column) for column in zip(*parts))
    return (data if as_tuple else data[0]), np.concatenate(starts)


def sequence_bounds(lengths, num_frames, stride, padding, lookahead=None):
    """`[W, 2]` int64: the first and last index, in `concatenate`'s data, of
    the padded sequence that each of its windows lies in (same order as its
    `starts`)."""
    bounds, offset = [], 0
    for length in lengths:
        before, after = pad_amounts(length, num_frames, padding, lookahead)
        padded = length + before + after
        count = len(window_starts(length, num_frames, stride, padding, lookahead))
        bounds.append(np.tile([[offset, offset + padded - 1]], (count, 1)))
        offset += padded
    return np.concatenate(bounds).astype(np.int64)
