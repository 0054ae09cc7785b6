"""Playback-rate augmentation (`make_dataset(speed_scale=...)`,
`augment.resample_window`, `augment.playback_rates`)."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose import camera
from tfpose.data import augment, pipeline, synthetic

SLOPE = 0.01  # metres per frame that joint 1 moves away from the root


def _numpy_resample(frames, start, first, last, rate, num_frames, anchor):
    out = np.empty((num_frames,) + frames.shape[1:], np.float64)
    for i in range(num_frames):
        position = min(max(start + anchor + rate * (i - anchor), first), last)
        below = int(np.floor(position))
        above = min(below + 1, last)
        weight = position - below
        out[i] = (1 - weight) * frames[below] + weight * frames[above]
    return out


@pytest.mark.parametrize("rate, start, anchor", [
    (1.0, 10, 4), (1.37, 3, 4), (0.71, 20, 0), (1.9, 25, 7), (0.5, 0, 3)])
def test_resample_window_matches_numpy(rate, start, anchor):
    frames = np.random.default_rng(1).normal(size=(40, 5, 3)).astype(np.float32)
    first, last = 2, 30
    got = augment.resample_window(tf.constant(frames), tf.constant(start, tf.int64),
                                  tf.constant([first, last], tf.int64), tf.constant(rate),
                                  8, anchor).numpy()
    expected = _numpy_resample(frames.astype(np.float64), start, first, last, rate, 8, anchor)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    if rate == 1.0 and first <= start and start + 7 <= last:
        np.testing.assert_array_equal(got, frames[start:start + 8])


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
    full = [y.numpy() for _, y in pipeline.make_dataset(sequences, **kwargs).take(steps + 2)]
    resumed = [y.numpy() for _, y in
               pipeline.make_dataset(sequences, start_step=steps, **kwargs).take(2)]
    for a, b in zip(full[steps:], resumed):
        np.testing.assert_array_equal(a, b)


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
