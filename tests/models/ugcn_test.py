import keras
import numpy as np
import pytest

from tfpose import losses, metrics
from tfpose.models import UGCN


@pytest.mark.parametrize("frames", [16, 96, 160])
def test_output_shapes(frames):
    model = UGCN(num_frames=frames)
    x = np.random.default_rng(0).normal(size=(2, frames, 17, 2)).astype(np.float32)
    assert model(x, training=False).shape == (2, frames, 17, 3)


def test_default_size_and_dynamic_length():
    model = UGCN(num_frames=None)
    # The documented size: 1.61M trainable parameters.
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert 1_600_000 < trainable < 1_630_000
    for frames in (16, 48, 96):
        assert model(np.zeros((1, frames, 17, 2), np.float32)).shape == (1, frames, 17, 3)


@pytest.mark.parametrize("pairs", [0, 1, 2, 4])
def test_ablations_build(pairs):
    small = dict(down_channels=(4, 4, 4, 4, 4, 8, 8, 8, 8), merge_channels=4)
    for extra in ({}, {"merge": False}, {"spatial_graph": False}):
        model = UGCN(num_frames=16, num_pairs=pairs, **small, **extra)
        assert model(np.zeros((1, 16, 17, 2), np.float32)).shape == (1, 16, 17, 3)
    strides = [model.get_layer(f"down_{i}").stride for i in range(1, 10)]
    assert sum(s == 2 for s in strides) == pairs


def test_bad_arguments():
    with pytest.raises(ValueError, match="multiple of 16"):
        UGCN(num_frames=24)
    with pytest.raises(ValueError, match="num_pairs"):
        UGCN(num_pairs=5)
    with pytest.raises(ValueError, match="9 widths"):
        UGCN(down_channels=(8, 8))


def test_keras_round_trip_with_loss(tmp_path):
    model = UGCN(num_frames=16, down_channels=(4, 4, 4, 8, 8, 8, 8, 8, 8), merge_channels=4)
    model.compile("adam", loss=losses.MotionLoss(weight=0.5, intervals=(4, 8)),
                  metrics=metrics.pose_metrics())
    x = np.random.default_rng(1).normal(size=(4, 16, 17, 2)).astype(np.float32)
    y = np.random.default_rng(2).normal(size=(4, 16, 17, 3)).astype(np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "ugcn.keras"
    model.save(path)
    revived = keras.models.load_model(path)
    assert isinstance(revived, UGCN)
    np.testing.assert_allclose(revived(x, training=False), model(x, training=False), atol=1e-6)
    assert isinstance(revived.loss, losses.MotionLoss)
    assert revived.loss.weight == 0.5 and revived.loss.intervals == (4, 8)
    assert revived.get_config() == model.get_config()
    # The optimiser state comes back too (training continues from it).
    assert len(revived.optimizer.variables) == len(model.optimizer.variables) > 1
    for a, b in zip(revived.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_tiny_training_run_loss_falls():
    from tfpose.data import pipeline, synthetic
    from tfpose.data.sequence import add_virtual_cameras

    keras.utils.set_random_seed(0)
    sequences = add_virtual_cameras(synthetic.generate(8, 96, seed=0), 2)
    ds = pipeline.make_dataset([v for s in sequences for v in s.views], num_frames=16,
                               batch_size=16, training=True, stride=4, flip=True, seed=0)
    model = UGCN(num_frames=16, down_channels=(8, 8, 8, 16, 16, 16, 16, 16, 16),
                 merge_channels=8, dropout=0.0)
    model.compile(keras.optimizers.Adam(3e-3), loss=losses.MotionLoss(intervals=(4, 8)))
    history = model.fit(ds, epochs=6, verbose=0).history["loss"]
    assert np.isfinite(history).all()
    # The regressor starts at zero output, so the first loss is already
    # that of "every joint at the root"; training must still cut it well.
    assert history[-1] < 0.7 * history[0]
    assert history[-1] < min(history[:3])


def test_inference_model_folds_batch_norm():
    model = UGCN(num_frames=None, down_channels=(4, 6, 6, 8, 8, 8, 8, 12, 12),
                 merge_channels=4, dropout=0.3)
    rng = np.random.default_rng(0)
    for weight in model.weights:  # statistics and kernels far from their initial values
        shape = tuple(weight.shape)
        if "adjacency" in weight.path:
            continue
        if "moving_variance" in weight.path:
            weight.assign(rng.uniform(0.3, 3.0, shape).astype(np.float32))
        else:
            weight.assign(rng.normal(0, 0.5, shape).astype(np.float32))
    folded = model.inference_model()
    assert folded.get_config()["batch_norm"] is False and model.batch_norm
    assert not [w for w in folded.weights if "moving" in w.path]
    assert folded.count_params() < model.count_params()
    x = rng.normal(size=(3, 32, 17, 2)).astype(np.float32)
    expected = model(x, training=False).numpy()
    assert np.abs(expected).max() > 1.0
    np.testing.assert_allclose(folded(x), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    assert folded.inference_model() is folded
    with pytest.raises(ValueError, match="Fold from a block with batch norm"):
        folded.get_layer("down_1").fold_batch_norm_into(model.get_layer("down_1"))
