import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpose import metrics
from tfpose.testing import random_rotation


def _poses(seed, shape=(6, 17, 3)):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=0.3, size=shape)


def _np_mpjpe_loops(p, t):
    total, count = 0.0, 0
    for f in range(len(p)):
        for j in range(p.shape[1]):
            d = (p[f, j] - p[f, 0]) - (t[f, j] - t[f, 0])
            total += np.sqrt((d**2).sum())
            count += 1
    return total / count


def test_known_answers():
    p = _poses(0)
    assert metrics.mpjpe(p, p) == 0.0
    assert metrics.p_mpjpe(p, p) == pytest.approx(0.0, abs=1e-9)
    assert metrics.mpjve(p, p) == 0.0
    # A global translation is removed by root-relative evaluation.
    assert metrics.mpjpe(p + [1.0, 2.0, 3.0], p) == pytest.approx(0.0, abs=1e-12)
    # Moving one non-root joint of every frame by 3 cm: error 3 cm / 17.
    q = p.copy()
    q[:, 5, 1] += 0.03
    assert metrics.mpjpe(q, p) == pytest.approx(0.03 / 17)
    assert metrics.pck(q, p) == 1.0
    q[:, 5, 1] += 0.2
    assert metrics.pck(q, p) == pytest.approx(16 / 17)


def test_mpjpe_matches_loops():
    p, t = _poses(1), _poses(2)
    assert metrics.mpjpe(p, t) == pytest.approx(_np_mpjpe_loops(p, t))


def test_p_mpjpe_invariant_to_similarity_of_prediction():
    rng = np.random.default_rng(3)
    p, t = _poses(4), _poses(5)
    base = metrics.p_mpjpe(p, t)
    transformed = 1.7 * p @ random_rotation(rng).T + [0.3, -2.0, 5.0]
    assert metrics.p_mpjpe(transformed, t) == pytest.approx(base, rel=1e-9)
    # A similarity of the target itself is recovered exactly.
    target = _poses(6)
    pred = 0.6 * target @ random_rotation(rng).T + [1.0, 0.0, -1.0]
    assert metrics.p_mpjpe(pred, target) == pytest.approx(0.0, abs=1e-9)
    assert metrics.p_mpjpe(p, t) <= metrics.n_mpjpe(p, t) + 1e-12


def test_p_mpjpe_refuses_reflections():
    target = _poses(7)
    mirrored = target * [-1, 1, 1]
    # A mirror image is not a rotation, so it keeps a real error.
    assert metrics.p_mpjpe(mirrored, target) > 0.05


def test_n_mpjpe_scale():
    t = _poses(8)
    assert metrics.n_mpjpe(2.5 * t, t) == pytest.approx(0.0, abs=1e-12)
    assert metrics.mpjpe(2.5 * t, t) > 0.1


def test_mpjve_reference():
    p, t = _poses(9), _poses(10)
    pr, tr = p - p[:, :1], t - t[:, :1]
    ref = np.mean([np.linalg.norm((pr[i + 1] - pr[i]) - (tr[i + 1] - tr[i]), axis=-1).mean()
                   for i in range(len(p) - 1)])
    assert metrics.mpjve(p, t) == pytest.approx(ref)
    # A constant per-joint offset has no velocity error.
    assert metrics.mpjve(t + _poses(11, (1, 17, 3)), t) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="T >= 2"):
        metrics.mpjve(p[:1], t[:1])


def test_auc_reference():
    p, t = _poses(12), _poses(12) + _poses(13) * 0.2
    errors = np.linalg.norm((p - p[:, :1]) - (t - t[:, :1]), axis=-1)
    ref = np.mean([(errors < th).mean() for th in np.arange(0, 151, 5) / 1000])
    assert metrics.auc(p, t) == pytest.approx(ref)
    assert 0 < metrics.auc(p, t) < metrics.pck(p, t) <= 1


def test_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 16, 3)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.mpjpe(np.full((2, 17, 3), np.nan), np.zeros((2, 17, 3)))
    with pytest.raises(ValueError, match=r"\[..., J, 3\]"):
        metrics.mpjpe(np.zeros((2, 17, 2)), np.zeros((2, 17, 2)))


def test_aggregate():
    results = [
        ("walk", 10, {"mpjpe": 1.0}),
        ("walk", 30, {"mpjpe": 3.0}),
        ("sit", 60, {"mpjpe": 6.0}),
    ]
    agg = metrics.aggregate(results)
    assert agg["per_action"]["walk"]["mpjpe"] == pytest.approx(2.5)
    assert agg["average"]["mpjpe"] == pytest.approx((2.5 + 6.0) / 2)
    assert agg["all_frames"]["mpjpe"] == pytest.approx((10 + 90 + 360) / 100)


@pytest.mark.parametrize("kind", ["mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "pck", "auc"])
def test_keras_metrics_match_numpy(kind):
    y_true = _poses(14, (3, 8, 17, 3)).astype(np.float32)
    y_pred = (y_true + _poses(15, (3, 8, 17, 3)) * 0.3).astype(np.float32)
    metric = metrics.PoseMetric(kind)
    metric.update_state(y_true, y_pred)
    reference = {"mpjpe": metrics.mpjpe, "p_mpjpe": metrics.p_mpjpe,
                 "n_mpjpe": metrics.n_mpjpe, "mpjve": metrics.mpjve,
                 "pck": metrics.pck, "auc": metrics.auc}[kind]
    scale = 100 if kind in ("pck", "auc") else 1000
    # Equal sequences per example: the mean of means is the overall mean.
    expected = np.mean([reference(p, t) for p, t in zip(y_pred, y_true)]) * scale
    assert 0 < expected < (100 if scale == 100 else 1e4)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-4)
    revived = metrics.PoseMetric.from_config(metric.get_config())
    assert revived.kind == kind and revived.name == kind


def test_keras_mpjpe_gradient_finite_at_zero_error():
    y = tf.constant(_poses(16, (2, 4, 17, 3)), tf.float32)
    pred = tf.Variable(y)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(metrics.mpjpe_per_example(y, pred))
    grad = tape.gradient(loss, pred)
    assert np.isfinite(grad.numpy()).all()


def test_metrics_in_compile_and_evaluate():
    inputs = keras.Input((4, 17, 3))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    model.compile(loss="mse", metrics=metrics.pose_metrics())
    y = _poses(17, (8, 4, 17, 3)).astype(np.float32)
    out = model.evaluate(y, y, verbose=0, return_dict=True)
    assert out["mpjpe"] == pytest.approx(0.0, abs=1e-3)
    assert out["p_mpjpe"] == pytest.approx(0.0, abs=1e-3)
