"""StreamingLifter: the offline causal protocol, one frame at a time."""

import numpy as np
import pytest

from tfpose import camera, testing
from tfpose.inference import camera_space, protocols, streaming
from tfpose.models import TCN, UGCN, DGNet

INTRINSICS = camera.intrinsics_for(1000, 800, focal_px=1100.0)


@pytest.fixture(scope="module")
def models():
    return {
        "ugcn": (testing.randomize_zero_kernels(
            UGCN(num_frames=16, down_channels=(4, 4, 4, 4, 4, 8, 8, 8, 8), merge_channels=4),
            scale=0.1), 16),
        # Read through its tail (`UGCN.tail_model`).
        "causal_ugcn": (testing.randomize_weights(
            UGCN(num_frames=16, down_channels=(4, 4, 4, 4, 4, 8, 8, 8, 8), merge_channels=4,
                 causal=True), seed=3, scale=0.3), 16),
        "tcn": (testing.randomize_zero_kernels(
            TCN(filter_widths=(3, 3), channels=8, num_frames=None, lookahead=2), scale=0.1), 9),
        # Balanced output: the model itself takes the intrinsics.
        "balanced": (testing.randomize_zero_kernels(
            DGNet(num_frames=4, channels=8, num_blocks=1, multi_level=False, balanced=True),
            scale=0.1), 4),
    }


def _stream(lifter, frames, confidences=None):
    """Pushes every frame, then flushes; the outputs in order."""
    outputs = []
    for t, frame in enumerate(frames):
        out = lifter.push(frame, None if confidences is None else confidences[t])
        assert (out is None) == (t < lifter.lookahead)
        if out is not None:
            outputs.append(out)
    return outputs + lifter.flush()


@pytest.mark.parametrize("name, lookahead", [("ugcn", 0), ("ugcn", 4), ("causal_ugcn", 0),
                                             ("causal_ugcn", 3), ("tcn", 2), ("balanced", 1)])
def test_equals_the_offline_causal_protocol_frame_by_frame(models, name, lookahead):
    model, frames = models[name]
    x = np.random.default_rng(0).normal(scale=0.3, size=(19, 17, 2)).astype(np.float32)
    offline = protocols.SequenceLifter(model, frames, protocol="causal", lookahead=lookahead)(
        x, intrinsics=INTRINSICS)
    lifter = streaming.StreamingLifter(model, lookahead=lookahead, intrinsics=INTRINSICS)
    assert lifter.num_frames == frames and lifter.lookahead == lookahead
    outputs = _stream(lifter, x)
    assert [o.frame for o in outputs] == list(range(len(x)))
    np.testing.assert_allclose(np.stack([o.poses_3d for o in outputs]), offline, atol=1e-5)
    poses_camera, root = camera_space.to_camera_space(offline, x, INTRINSICS)
    np.testing.assert_allclose(np.stack([o.root_position for o in outputs]), root, atol=1e-4)
    np.testing.assert_allclose(np.stack([o.poses_3d_camera for o in outputs]), poses_camera,
                               atol=1e-4)
    assert not np.stack([o.filled for o in outputs]).any()
    # flush() ended the stream: the next one starts afresh, shorter than L.
    again = _stream(lifter, x[:2])
    np.testing.assert_allclose(
        np.stack([o.poses_3d for o in again]),
        protocols.SequenceLifter(model, frames, protocol="causal", lookahead=lookahead)(
            x[:2], intrinsics=INTRINSICS), atol=1e-5)


@pytest.mark.parametrize("lookahead", [0, 3])
def test_a_causal_ugcn_streams_its_full_windows_read_frame(models, lookahead):
    # The causal protocol runs a causal UGCN's tail; what it must give is
    # the full network's output at T - 1 - L of each edge-padded window,
    # averaged with the mirrored window's.
    from tfpose.data import augment

    model, frames = models["causal_ugcn"]
    x = np.random.default_rng(1).normal(scale=0.3, size=(21, 17, 2)).astype(np.float32)
    position = frames - 1 - lookahead
    index = np.clip(np.arange(len(x))[:, None] + np.arange(frames) - position, 0, len(x) - 1)
    windows = x[index]
    direct = model(windows, training=False).numpy()[:, position]
    mirrored = np.asarray(augment.flip(model(augment.flip(windows), training=False)))[:, position]
    expected = 0.5 * (direct + mirrored)
    expected[:, 0] = 0.0
    scale = np.abs(expected).max()
    offline = protocols.SequenceLifter(model, frames, protocol="causal", lookahead=lookahead)(x)
    np.testing.assert_allclose(offline, expected, rtol=1e-5, atol=1e-5 * scale)
    lifter = streaming.StreamingLifter(model, lookahead=lookahead)
    np.testing.assert_allclose(np.stack([o.poses_3d for o in _stream(lifter, x)]), expected,
                               rtol=1e-5, atol=1e-5 * scale)


def test_a_tcn_streams_at_its_own_lookahead(models):
    model, _ = models["tcn"]  # trained (here: built) to predict 2 frames before its end
    assert streaming.StreamingLifter(model).lookahead == 2
    assert streaming.StreamingLifter(model, lookahead=5).lookahead == 2
    with pytest.raises(ValueError, match="--tcn_lookahead=0"):
        streaming.StreamingLifter(model, lookahead=0)


def test_missing_joints_are_held_and_flagged(models):
    model, frames = models["ugcn"]
    rng = np.random.default_rng(1)
    pixels = rng.uniform(100, 700, size=(12, 17, 2)).astype(np.float32)
    scores = np.ones((12, 17), np.float32)
    pixels[3, 5] = np.nan                  # missing in one frame
    scores[6:9, 13] = 0.1                  # low confidence for three frames
    held = camera.normalize_screen_coordinates(pixels, 1000, 800).astype(np.float32)
    held[3, 5] = held[2, 5]
    held[6:9, 13] = held[5, 13]
    lifter = streaming.StreamingLifter(model, lookahead=2, image_size=(1000, 800))
    outputs = _stream(lifter, pixels, scores)
    offline = protocols.SequenceLifter(model, frames, protocol="causal", lookahead=2)(held)
    np.testing.assert_allclose(np.stack([o.poses_3d for o in outputs]), offline, atol=1e-5)
    filled = np.stack([o.filled for o in outputs])
    expected = np.zeros((12, 17), bool)
    expected[3, 5] = expected[6:9, 13] = True
    np.testing.assert_array_equal(filled, expected)
    # A joint missing from the very first frame starts at the mean of the
    # valid joints, then is held.
    first = held.copy()
    first[:2, 4] = np.nan
    outputs = _stream(lifter.__class__(model, lookahead=0), first)
    reference = held.copy()
    reference[:2, 4] = np.delete(held[0], 4, axis=0).mean(0)
    np.testing.assert_allclose(
        np.stack([o.poses_3d for o in outputs]),
        protocols.SequenceLifter(model, frames, protocol="causal")(reference), atol=1e-5)


def test_bad_arguments(models, tmp_path):
    model, _ = models["ugcn"]
    with pytest.raises(ValueError, match=r"`lookahead` must be in \[0, 15\]"):
        streaming.StreamingLifter(model, lookahead=16)
    lifter = streaming.StreamingLifter(model)
    with pytest.raises(ValueError, match=r"\[17, 2\]"):
        lifter.push(np.zeros((16, 2)))
    with pytest.raises(FileNotFoundError):
        streaming.StreamingLifter(tmp_path / "missing.tflite")
