import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpose import losses


def _encode(a, b, operator):
    """One joint's pairwise motion encoding (Eq. 3) as a list of components."""
    if operator == "subtract":
        return [b[c] - a[c] for c in range(3)]
    if operator == "inner":
        return [a[0] * b[0] + a[1] * b[1] + a[2] * b[2]]
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def eq4(s, g, intervals, operator):
    """Eq. 4 for one example, as written: explicit sums over tau, t, j and
    the encoding's components (the l1 norm)."""
    frames, joints = s.shape[:2]
    total = 0.0
    for tau in intervals:
        for t in range(frames - tau):  # empty when tau >= T
            for j in range(joints):
                m = _encode(s[t, j], s[t + tau, j], operator)
                m_gt = _encode(g[t, j], g[t + tau, j], operator)
                total += sum(abs(p - q) for p, q in zip(m, m_gt))
    return total


def eq5(s, g):
    """Eq. 5 for one example: sum over t, j of the squared joint error."""
    frames, joints = s.shape[:2]
    return sum(float(np.sum((s[t, j] - g[t, j]) ** 2))
               for t in range(frames) for j in range(joints))


def np_motion_loss(y_true, y_pred, intervals, operator):
    """`motion_loss`'s contract: Eq. 4 / (T * J) per example."""
    frames, joints = y_true.shape[1:3]
    return np.array([eq4(s.astype(np.float64), g.astype(np.float64), intervals, operator)
                     for s, g in zip(y_pred, y_true)]) / (frames * joints)


@pytest.mark.parametrize("operator", ["subtract", "inner", "cross"])
@pytest.mark.parametrize("intervals", [(8, 12, 16, 24), (1, 3), (5, 40), (30, 40)])
def test_motion_loss_matches_numpy(operator, intervals):
    rng = np.random.default_rng(0)
    y_true = rng.normal(scale=0.4, size=(2, 30, 5, 3)).astype(np.float32)
    y_pred = (y_true + rng.normal(scale=0.1, size=y_true.shape)).astype(np.float32)
    got = losses.motion_loss(y_true, y_pred, intervals, operator).numpy()
    assert got.shape == (2,)
    np.testing.assert_allclose(got, np_motion_loss(y_true, y_pred, intervals, operator),
                               rtol=1e-5, atol=1e-6)


def test_motion_loss_with_dynamic_frames():
    rng = np.random.default_rng(1)
    fn = tf.function(lambda a, b: losses.motion_loss(a, b, (2, 8), "cross"),
                     input_signature=[tf.TensorSpec([None, None, 4, 3])] * 2)
    for frames in (5, 8, 12):
        y_true = rng.normal(size=(2, frames, 4, 3)).astype(np.float32)
        y_pred = rng.normal(size=(2, frames, 4, 3)).astype(np.float32)
        np.testing.assert_allclose(fn(y_true, y_pred).numpy(),
                                   np_motion_loss(y_true, y_pred, (2, 8), "cross"), rtol=1e-5)
    # T <= every tau: nothing to compare, the loss is zero (not NaN).
    y = rng.normal(size=(2, 2, 4, 3)).astype(np.float32)
    np.testing.assert_array_equal(fn(y, y + 1.0).numpy(), [0.0, 0.0])


def test_motion_loss_known_answers():
    rng = np.random.default_rng(2)
    y = rng.normal(size=(2, 20, 17, 3)).astype(np.float32)
    # A constant offset of the trajectory leaves the subtraction encoding unchanged.
    assert np.allclose(losses.motion_loss(y, y + 0.3, operator="subtract"), 0, atol=1e-6)
    # A common rotation preserves inner products.
    angle = 0.7
    r = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    assert np.allclose(losses.motion_loss(y, y @ r.T, operator="inner"), 0, atol=1e-5)
    assert losses.motion_loss(y, y @ r.T, operator="cross").numpy().min() > 0.01


def test_motion_loss_class_and_gradients():
    rng = np.random.default_rng(3)
    y_true = rng.normal(scale=0.3, size=(4, 32, 17, 3)).astype(np.float32)
    y_true[:, :, 0] = 0.0  # root-relative: exact zeros at the root
    pred = tf.Variable(y_true)
    for position in ("mse", "mpjpe"):
        loss = losses.MotionLoss(weight=1.0, position=position)
        with tf.GradientTape() as tape:
            value = loss(y_true, pred)
        assert float(value) == pytest.approx(0.0, abs=1e-7)
        grad = tape.gradient(value, pred)
        assert np.isfinite(grad.numpy()).all()
    y_pred = y_true + rng.normal(scale=0.05, size=y_true.shape).astype(np.float32)
    loss = losses.MotionLoss(weight=0.5, intervals=(8, 12), operator="inner")
    # Eq. 6 per example, (Eq. 5 + lambda Eq. 4) / (T J), averaged over the batch.
    small_true, small_pred = y_true[:, :14, :5], y_pred[:, :14, :5]
    expected = np.mean([(eq5(s, g) + 0.5 * eq4(s, g, (8, 12), "inner")) / (14 * 5)
                        for s, g in zip(small_pred.astype(np.float64),
                                        small_true.astype(np.float64))])
    assert float(loss(small_true, small_pred)) == pytest.approx(expected, rel=1e-5)
    position_only = losses.MotionLoss(weight=0.0)
    assert float(position_only(y_true, y_pred)) == pytest.approx(
        np.square(y_pred - y_true).sum(-1).mean(), rel=1e-5)
    revived = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(revived, losses.MotionLoss)
    assert revived.get_config() == loss.get_config()


def test_motion_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    y_true = tf.constant(rng.normal(size=(1, 10, 5, 3)), tf.float64)
    y_pred = tf.constant(rng.normal(size=(1, 10, 5, 3)), tf.float64)
    theoretical, numerical = tf.test.compute_gradient(
        lambda p: losses.motion_loss(y_true, p, (2, 5), "cross"), [y_pred])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="operator"):
        losses.MotionLoss(operator="outer")
    with pytest.raises(ValueError, match="position"):
        losses.MotionLoss(position="l1")
    with pytest.raises(ValueError, match=">= 1"):
        losses.MotionLoss(intervals=(0, 4))


@pytest.mark.parametrize("position", ["mse", "mpjpe"])
@pytest.mark.parametrize("lookahead", [0, 3])
def test_stream_weight_matches_numpy(position, lookahead):
    rng = np.random.default_rng(5)
    y_true = rng.normal(scale=0.3, size=(3, 12, 5, 3))
    y_true[:, :, 0] = 0.0
    y_pred = y_true + rng.normal(scale=0.1, size=y_true.shape)
    weight = 2.5
    loss = losses.MotionLoss(weight=0.7, intervals=(2, 5), operator="cross", position=position,
                             stream_weight=weight, lookahead=lookahead)
    expected = []
    for s, g in zip(y_pred, y_true):
        if position == "mse":
            per_frame = [np.mean([np.sum((s[t, j] - g[t, j]) ** 2) for j in range(5)])
                         for t in range(12)]
        else:  # root-relative Euclidean error; the root is exactly zero in both
            per_frame = [np.mean([np.linalg.norm((s[t, j] - s[t, 0]) - g[t, j])
                                  for j in range(5)]) for t in range(12)]
        read = per_frame[12 - 1 - lookahead]
        position_term = (np.mean(per_frame) + weight * read) / (1 + weight)
        expected.append(position_term + 0.7 * eq4(s, g, (2, 5), "cross") / (12 * 5))
    got = float(loss(y_true.astype(np.float32), y_pred.astype(np.float32)))
    assert got == pytest.approx(np.mean(expected), rel=1e-5)
    # The gradient reaches the read frame more than any other.
    pred = tf.Variable(y_pred.astype(np.float32))
    with tf.GradientTape() as tape:
        value = losses.MotionLoss(weight=0.0, position=position, stream_weight=weight,
                                  lookahead=lookahead)(y_true.astype(np.float32), pred)
    per_frame_grad = np.abs(tape.gradient(value, pred).numpy()).sum(axis=(0, 2, 3))
    assert np.argmax(per_frame_grad) == 12 - 1 - lookahead
    revived = keras.losses.deserialize(keras.losses.serialize(loss))
    assert revived.get_config() == loss.get_config()


@pytest.mark.parametrize("lookahead", [0, 2])
def test_stream_reads_average_the_frames_a_period_apart(lookahead):
    rng = np.random.default_rng(8)
    frames, reads, period, weight = 14, 3, 4, 1.5
    y_true = rng.normal(scale=0.3, size=(2, frames, 4, 3))
    y_pred = y_true + rng.normal(scale=0.1, size=y_true.shape)
    loss = losses.MotionLoss(weight=0.0, stream_weight=weight, lookahead=lookahead,
                             stream_reads=reads, stream_period=period)
    expected = []
    for s, g in zip(y_pred, y_true):
        per_frame = [np.mean([np.sum((s[t, j] - g[t, j]) ** 2) for j in range(4)])
                     for t in range(frames)]
        read = np.mean([per_frame[frames - 1 - lookahead - k * period] for k in range(reads)])
        expected.append((np.mean(per_frame) + weight * read) / (1 + weight))
    got = float(loss(y_true.astype(np.float32), y_pred.astype(np.float32)))
    assert got == pytest.approx(np.mean(expected), rel=1e-5)
    # The same with the frame count known only when the graph runs.
    fn = tf.function(lambda a, b: loss(a, b),
                     input_signature=[tf.TensorSpec([None, None, 4, 3])] * 2)
    assert float(fn(y_true.astype(np.float32), y_pred.astype(np.float32))) == pytest.approx(
        got, rel=1e-6)
    # The gradient reaches exactly the read frames more than the others.
    pred = tf.Variable(np.zeros_like(y_true, np.float32))
    with tf.GradientTape() as tape:
        value = loss(np.ones_like(y_true, np.float32), pred)
    per_frame_grad = np.abs(tape.gradient(value, pred).numpy()).sum(axis=(0, 2, 3))
    read_frames = {frames - 1 - lookahead - k * period for k in range(reads)}
    assert set(np.flatnonzero(per_frame_grad > 1.5 * per_frame_grad.min())) == read_frames
    revived = keras.losses.deserialize(keras.losses.serialize(loss))
    assert revived.get_config() == loss.get_config()


def test_stream_reads_errors():
    y = np.zeros((2, 12, 4, 3), np.float32)
    # Reads at 11, 7, 3: fits; a fourth read would be at -1.
    losses.MotionLoss(stream_weight=1.0, stream_reads=3, stream_period=4)(y, y)
    with pytest.raises(ValueError, match="12 output frames"):
        losses.MotionLoss(stream_weight=1.0, stream_reads=4, stream_period=4)(y, y)
    # With the frame count known only when the graph runs, a window too
    # short for the reads fails rather than reading from its end.
    fn = tf.function(lambda a, b: losses.MotionLoss(stream_weight=1.0, stream_reads=3,
                                                    stream_period=4)(a, b),
                     input_signature=[tf.TensorSpec([None, None, 4, 3])] * 2)
    fn(y, y)
    with pytest.raises(tf.errors.InvalidArgumentError, match="past the first frame of the window"):
        fn(y[:, :8], y[:, :8])
    with pytest.raises(ValueError, match="stream_weight is 0"):
        losses.MotionLoss(stream_reads=2)
    with pytest.raises(ValueError, match=">= 1"):
        losses.MotionLoss(stream_weight=1.0, stream_period=0)


def test_stream_weight_zero_is_the_plain_loss():
    rng = np.random.default_rng(6)
    y_true = rng.normal(size=(2, 10, 4, 3)).astype(np.float32)
    y_pred = rng.normal(size=(2, 10, 4, 3)).astype(np.float32)
    for position in ("mse", "mpjpe"):
        plain = losses.MotionLoss(position=position)
        off = losses.MotionLoss(position=position, stream_weight=0.0, lookahead=4)
        assert float(off(y_true, y_pred)) == float(plain(y_true, y_pred))


def test_stream_weight_with_dynamic_frames_and_errors():
    loss = losses.MotionLoss(weight=0.0, stream_weight=1.0, lookahead=2)
    fn = tf.function(lambda a, b: loss(a, b),
                     input_signature=[tf.TensorSpec([None, None, 4, 3])] * 2)
    y = np.zeros((2, 6, 4, 3), np.float32)
    error = y.copy()
    error[:, 3] = 1.0  # only position T - 1 - 2 is wrong, by sqrt(3) per joint
    # (mean over frames 3/6 + 1 * 3) / 2
    assert float(fn(y, error)) == pytest.approx((3.0 / 6 + 3.0) / 2)
    with pytest.raises(ValueError, match="lookahead=6"):
        losses.MotionLoss(stream_weight=1.0, lookahead=6)(y, y)
    with pytest.raises(ValueError, match=">= 0"):
        losses.MotionLoss(stream_weight=-1.0)
