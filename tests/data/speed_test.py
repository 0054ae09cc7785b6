"""Playback-rate augmentation (`make_dataset(speed_scale=...)`,
`augment.resample_window`, `augment.playback_rates`)."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose import camera
from tfpose.data import augment, pipeline, synthetic, windows

SLOPE = 0.01  # metres per frame that joint 1 moves away from the root


@pytest.mark.parametrize("rate, start, anchor, first, last", [
    (1.0, 10, 4, 2, 30), (1.37, 3, 4, 2, 30), (0.71, 20, 0, 2, 30), (1.9, 25, 7, 2, 30),
    (0.5, 0, 3, 2, 30), (1.6, 33, 4, 5, 39), (0.8, 36, 7, 0, 39)])
def test_resample_window_reads_the_motion_at_the_stretched_times(rate, start, anchor, first,
                                                                last):
    # Frames affine in time: linear interpolation reads them exactly, so the
    # window's frame i must be the motion at the clamped time
    # start + anchor + rate * (i - anchor), whatever the interpolation code.
    rng = np.random.default_rng(1)
    velocity, offset = rng.normal(size=(2, 5, 3))
    frames = (np.arange(40)[:, None, None] * velocity + offset).astype(np.float32)
    got = augment.resample_window(tf.constant(frames), tf.constant(start, tf.int64),
                                  tf.constant([first, last], tf.int64), tf.constant(rate),
                                  8, anchor).numpy()
    times = np.clip(start + anchor + rate * (np.arange(8) - anchor), first, last)
    expected = times[:, None, None] * velocity + offset
    np.testing.assert_allclose(got, expected, atol=2e-5)
    assert got[anchor] == pytest.approx(frames[min(max(start + anchor, first), last)], abs=1e-6)
    if rate == 1.0:
        np.testing.assert_array_equal(got, frames[start:start + 8])
    # Curved motion between frames: the linear blend of the two neighbours.
    curved = np.sin(np.arange(40, dtype=np.float32))[:, None, None] * np.ones((1, 5, 3))
    got = augment.resample_window(tf.constant(curved.astype(np.float32)),
                                  tf.constant(start, tf.int64),
                                  tf.constant([first, last], tf.int64), tf.constant(rate),
                                  8, anchor).numpy()[:, 0, 0]
    expected = np.interp(times, np.arange(40), np.sin(np.arange(40)))
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("padding, lookahead", [("same", None), ("valid", None), ("same", 0),
                                                ("same", 3)])
def test_sequence_bounds_hold_each_window_inside_its_padded_sequence(padding, lookahead):
    lengths, num_frames = [5, 23, 12, 40], 8
    if padding == "valid":
        lengths = [9, 23, 12, 40]
    coded = [np.full(n, k, np.int64) for k, n in enumerate(lengths)]
    data, starts = windows.concatenate(coded, num_frames, 2, padding, lookahead)
    bounds = windows.sequence_bounds(lengths, num_frames, 2, padding, lookahead)
    assert bounds.shape == (len(starts), 2) and bounds.dtype == np.int64
    for start, (first, last) in zip(starts, bounds):
        k = data[start]
        # The whole padded sequence of the window, and nothing beyond it.
        assert (data[first:last + 1] == k).all()
        assert first == 0 or data[first - 1] != k
        assert last == len(data) - 1 or data[last + 1] != k
        assert first <= start and start + num_frames - 1 <= last
    assert bounds[-1, 1] == len(data) - 1


def test_playback_rates_are_log_uniform_over_the_range():
    rates = augment.playback_rates(tf.random.stateless_uniform([20000], [5, 6]), 0.25).numpy()
    assert rates.min() >= 1 / 1.25 - 1e-6 and rates.max() <= 1.25 + 1e-6
    assert rates.min() < 0.81 and rates.max() > 1.24
    # As likely k times faster as k times slower.
    assert abs(np.mean(rates > 1.0) - 0.5) < 0.02
    assert abs(np.mean(rates > 1.1) - np.mean(rates < 1 / 1.1)) < 0.02
    np.testing.assert_array_equal(augment.playback_rates([0.0, 0.5, 0.99], 0.0).numpy(), 1.0)


def _coded_sequences(lengths):
    """World motions whose root-relative distances tell the sequence apart
    (joint 2: `0.2 * (1 + k)` in sequence `k`) and the frame (joint 1:
    `0.1 + SLOPE * t`), whatever camera sees them."""
    base = synthetic.generate(1, 1, seed=0)[0].poses_3d[0].astype(np.float64)
    sequences = []
    for k, length in enumerate(lengths):
        t = np.arange(length, dtype=np.float64)
        poses = np.tile(base, (length, 1, 1))
        root = base[0] + np.stack([0.02 * t, 0.01 * t, 0 * t], -1)  # walks
        poses += (root - base[0])[:, None]
        direction = np.array([0.6, 0.0, -0.8])
        poses[:, 1] = root + (0.1 + SLOPE * t)[:, None] * direction
        poses[:, 2] = root + 0.2 * (1 + k) * np.array([0.0, 0.6, -0.8])
        sequences.append(poses.astype(np.float32))
    return sequences


@pytest.mark.parametrize("lookahead", [None, 0])
def test_windows_play_at_drawn_rates_inside_their_own_sequence(lookahead):
    num_frames, scale, lengths = 16, 0.5, [30, 45, 38]

    def codes(speed_scale):
        ds = pipeline.make_dataset(_coded_sequences(lengths), num_frames=num_frames,
                                   batch_size=32, training=True, seed=2, lookahead=lookahead,
                                   cameras=camera.VirtualCameras(), speed_scale=speed_scale,
                                   endless=True)
        y = np.concatenate([y.numpy() for _, y in ds.take(3)]).astype(np.float64)
        # Root-relative distances, whatever the camera: the frame and sequence.
        return ((np.linalg.norm(y[:, :, 1], axis=-1) - 0.1) / SLOPE,
                np.linalg.norm(y[:, :, 2], axis=-1) / 0.2 - 1)

    frame, sequence = codes(scale)
    still_frame, still_sequence = codes(0.0)
    anchor = num_frames // 2 if lookahead is None else num_frames - 1
    # The same windows as without the tempo, each still about its own frame.
    np.testing.assert_allclose(frame[:, anchor], still_frame[:, anchor], atol=2e-3)
    np.testing.assert_allclose(sequence, still_sequence, atol=1e-3)
    rates, longer = [], 0
    for w in range(len(frame)):
        # One sequence per window, none of the next one's frames.
        k = int(np.round(sequence[w, 0]))
        np.testing.assert_allclose(sequence[w], k, atol=1e-3)
        # A window stands still only at its sequence's first or last frame.
        steps = np.diff(frame[w])
        still = np.abs(steps) < 1e-3
        ends = np.minimum(np.abs(frame[w, 1:]), np.abs(frame[w, 1:] - (lengths[k] - 1)))
        assert (ends[still] < 2e-3).all()
        # Away from those ends it moves through the motion at one rate.
        # (The steps out of a clamped end are partial: left out.)
        moving = steps[~still][1:-1]
        if len(moving) < 4:  # a window at a sequence's start, mostly padding
            continue
        rate = np.median(moving)
        np.testing.assert_allclose(moving, rate, atol=3e-3)
        rates.append(rate)
        longer += frame[w, -1] - frame[w, 0] > num_frames - 1 + 0.5
    rates = np.array(rates)
    assert len(rates) > 48 and longer > 5  # faster windows span more of the motion
    assert rates.min() >= 1 / (1 + scale) - 3e-3 and rates.max() <= 1 + scale + 3e-3
    assert rates.min() < 0.8 and rates.max() > 1.25  # drawn, not fixed


def test_speed_draw_is_deterministic_and_resumes():
    sequences = _coded_sequences([30, 45, 38])
    kwargs = dict(num_frames=8, batch_size=16, training=True, stride=2, flip=True, seed=3,
                  endless=True, cameras=camera.VirtualCameras(), speed_scale=0.3,
                  body_scale=0.1, bone_scale=0.05)
    steps = pipeline.steps_per_pass(sequences, num_frames=8, batch_size=16, stride=2)
    full = [y.numpy() for _, y in pipeline.make_dataset(sequences, **kwargs).take(steps + 3)]
    # Resumed mid-pass, in the first and in the second pass.
    for start_step in (1, steps + 1):
        resumed = [y.numpy() for _, y in
                   pipeline.make_dataset(sequences, start_step=start_step, **kwargs).take(2)]
        assert len(resumed) == 2
        for a, b in zip(full[start_step:start_step + 2], resumed):
            np.testing.assert_array_equal(a, b)
    # The second pass draws anew (order, cameras, bodies, tempi): other batches.
    assert not np.allclose(full[0], full[steps])


def test_speed_errors():
    sequences = _coded_sequences([30])
    with pytest.raises(ValueError, match="pass `cameras`"):
        pipeline.make_dataset([(np.zeros((30, 17, 2), np.float32),
                                np.zeros((30, 17, 3), np.float32))], num_frames=8,
                              batch_size=2, training=True, speed_scale=0.1)
    with pytest.raises(ValueError, match="`speed_scale` must be in"):
        pipeline.make_dataset(sequences, num_frames=8, batch_size=2, training=True,
                              cameras=camera.VirtualCameras(), speed_scale=1.5)


def test_model_card_states_the_tempo_range():
    from tfpose.export import model_card
    flags = {"training_cameras": "fresh", "speed_scale": 0.25}
    assert "played at 0.8-1.25 times the capture's speed" in model_card._drawn_camera_text(flags)
    assert "speed" not in model_card._drawn_camera_text(dict(flags, speed_scale=0.0))
