import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpose.inference import protocols
from tfpose.models import TCN
from tfpose.training import runner


def _randomize(model, seed=0):
    """Random kernels and batch-norm statistics, so every term matters."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        shape = tuple(weight.shape)
        if "moving_variance" in weight.path:
            weight.assign(rng.uniform(0.5, 2.0, shape).astype(np.float32))
        else:
            weight.assign(rng.normal(0, 0.3, shape).astype(np.float32))
    return model


def _numpy_tcn(model, x):
    """VideoPose3D's dilated TemporalModel, inference mode, in numpy."""

    def conv(h, kernel, dilation=1):
        width = kernel.shape[0]
        frames = h.shape[1] - (width - 1) * dilation
        return sum(h[:, k * dilation : k * dilation + frames] @ kernel[k] for k in range(width))

    def norm(h, layer):
        gamma, beta, mean, variance = (w.numpy() for w in layer.weights)
        return gamma * (h - mean) / np.sqrt(variance + layer.epsilon) + beta

    relu = lambda h: np.maximum(h, 0.0)  # noqa: E731
    h = x.reshape(x.shape[0], x.shape[1], -1).astype(np.float64)
    h = relu(norm(conv(h, model.expand_conv.kernel.numpy()), model.expand_norm))
    dilation = model.filter_widths[0]
    for i, width in enumerate(model.filter_widths[1:]):
        pad = (width - 1) * dilation // 2
        residual = h[:, pad : h.shape[1] - pad]
        h = relu(norm(conv(h, model.convs[i].kernel.numpy(), dilation), model.norms[i]))
        h = relu(norm(conv(h, model.pointwise[i].kernel.numpy()), model.pointwise_norms[i]))
        h = residual + h
        dilation *= width
    kernel, bias = (w.numpy() for w in model.shrink.weights)
    y = (h @ kernel[0] + bias).reshape(x.shape[0], -1, x.shape[2], 3)
    return y - y[..., :1, :] if model.root_relative else y


@pytest.mark.parametrize("root_relative", [True, False])
def test_dilated_and_strided_forms_match_numpy(root_relative):
    model = _randomize(TCN(filter_widths=(3, 5, 3), channels=12, num_frames=None,
                           root_relative=root_relative))
    assert model.receptive_field == 45
    x = np.random.default_rng(1).normal(size=(2, 52, 17, 2)).astype(np.float32)
    dilated = model(x, training=False).numpy()
    assert dilated.shape == (2, 8, 17, 3)
    np.testing.assert_allclose(dilated, _numpy_tcn(model, x), rtol=1e-4, atol=1e-4)
    # Exactly one receptive field in: the strided form, the same frame.
    strided = model(x[:, 3:48], training=False).numpy()
    np.testing.assert_allclose(strided[:, 0], dilated[:, 3], rtol=1e-4, atol=1e-4)
    # ... and its gradients reach every weight.
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(model(x[:, :45], training=True)))
    grads = tape.gradient(loss, model.trainable_weights)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)


def test_paper_sizes(documented):
    model = TCN()  # 243 frames, 1024 channels
    assert model.receptive_field == 243
    # VideoPose3D's count for the 243-frame model: 16.95M.
    (expected,) = documented(r"give a 243-frame receptive field and ([\d,]+) parameters")
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == expected
    assert TCN(filter_widths=(3, 3, 3)).receptive_field == 27
    with pytest.raises(ValueError, match="odd"):
        TCN(filter_widths=(3, 4))
    with pytest.raises(ValueError, match="shorter than the receptive field"):
        TCN(filter_widths=(3, 3), num_frames=5)


def test_convolutional_protocol_is_the_centred_window_protocol():
    model = _randomize(TCN(filter_widths=(3, 3), channels=8, num_frames=9), seed=2)
    x = np.random.default_rng(3).normal(size=(23, 17, 2)).astype(np.float32)
    # One pass over the padded sequence (dilated form) == one window
    # around every frame (strided form), flip included.
    one_pass = protocols.SequenceLifter(model, 9, protocol="convolutional")(x)
    windows = protocols.SequenceLifter(model, 9, protocol="center")(x)
    np.testing.assert_allclose(one_pass, windows, rtol=1e-4, atol=1e-5)
    assert np.all(one_pass[:, 0] == 0)  # root output zeroed
    in_graph = protocols.lift_sequences(model, np.stack([x, x[::-1]]), num_frames=9,
                                        protocol="convolutional")
    np.testing.assert_allclose(in_graph[0], one_pass, rtol=1e-4, atol=1e-5)
    reverse = protocols.SequenceLifter(model, 9, protocol="convolutional")(x[::-1])
    np.testing.assert_allclose(in_graph[1], reverse, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("lookahead", [0, 2, None])
def test_training_supervises_the_frame_the_protocols_read(lookahead):
    from tfpose.data import pipeline

    model = TCN(filter_widths=(3, 3), channels=8, num_frames=9, lookahead=lookahead)
    own = protocols.model_lookahead(model)
    assert own == (4 if lookahead is None else lookahead)
    # Joint 1's x says which frame a pose or keypoint is.
    frames = np.arange(12, dtype=np.float32)
    keypoints = np.zeros((12, 17, 2), np.float32)
    poses = np.zeros((12, 17, 3), np.float32)
    keypoints[:, 1, 0] = poses[:, 1, 0] = frames
    dataset = pipeline.make_dataset([(keypoints, poses)], num_frames=9, batch_size=12,
                                    training=False, lookahead=own)
    (x, y), = runner.match_targets(dataset, model).as_numpy_iterator()
    assert y.shape == (12, 1, 17, 3)
    np.testing.assert_array_equal(y[:, 0, 1, 0], frames)  # every frame once, in order
    # ... at the window position the protocols read, with `own` frames after it.
    np.testing.assert_array_equal(x[:, 8 - own, 1, 0], frames)
    np.testing.assert_array_equal(x[:, 8, 1, 0], np.minimum(frames + own, 11))


def test_lookahead_must_be_inside_the_receptive_field():
    with pytest.raises(ValueError, match=r"`lookahead` must be in \[0, 8\].*got 9"):
        TCN(filter_widths=(3, 3), channels=8, lookahead=9)


def test_tiny_training_run_and_round_trip(tmp_path):
    from tfpose.data import sources

    keras.utils.set_random_seed(0)
    sequences = sources.load_sequences("synthetic", "train", synthetic_sequences=6,
                                       synthetic_frames=64, num_cameras=2)
    kwargs = dict(filter_widths=[3, 3], channels=32, num_frames=9, dropout=0.0)
    make_train, _, steps = runner.train_datasets(
        sequences, [], num_frames=9, batch_size=32, stride=2, seed=0, flip=True, noise_std=0.0)
    model = runner.build_model("tcn", kwargs, dict(weight=0.0, position="mpjpe"), 2e-3)
    history = model.fit(runner.match_targets(make_train(), model), epochs=4,
                        steps_per_epoch=steps, verbose=0, shuffle=False).history
    assert np.isfinite(history["loss"]).all()
    assert history["mpjpe"][-1] < 0.8 * history["mpjpe"][0]
    path = tmp_path / "tcn.keras"
    model.save(path)
    revived = keras.models.load_model(path)
    assert isinstance(revived, TCN) and revived.get_config() == model.get_config()
    x = np.random.default_rng(4).normal(size=(1, 20, 17, 2)).astype(np.float32)
    np.testing.assert_allclose(revived(x), model(x), rtol=1e-5, atol=1e-6)
    summary = runner.evaluate_model(model, sequences[:1], 9, protocol="convolutional")
    assert summary["num_frames"] == 128 and np.isfinite(summary["average"]["mpjpe"])
    # The shipped-model interface picks the convolutional protocol from the class.
    from tfpose.inference import lifters

    lifter = lifters.load_lifter(path)
    expected = protocols.SequenceLifter(model, 9, protocol="convolutional")(x[0])
    np.testing.assert_allclose(lifter(x[0]), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lookahead", [0, 3])
def test_validation_scores_frames_where_the_protocols_read_them(lookahead):
    from tfpose.data import pipeline, sources

    sequences = sources.load_sequences("synthetic", "train", synthetic_sequences=2,
                                       synthetic_frames=21, num_cameras=2)
    model = TCN(filter_widths=(3, 3), channels=8, num_frames=9, lookahead=lookahead)
    _, val_ds, _ = runner.train_datasets(
        sequences[:1], sequences, num_frames=9, batch_size=5, stride=1, seed=0, flip=False,
        noise_std=0.0, lookahead=lookahead)
    batches = list(runner.match_targets(val_ds, model).as_numpy_iterator())
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    stride = runner.VALIDATION_FRAME_STRIDE
    views = pipeline.view_arrays(runner.views_of(sequences))
    # Every stride-th frame of every view, in order, once each ...
    np.testing.assert_allclose(y[:, 0], np.concatenate([p[::stride] for _, p in views]))
    # ... with its keypoints at the window position the model predicts.
    np.testing.assert_allclose(x[:, 8 - lookahead],
                               np.concatenate([k[::stride] for k, _ in views]))


def test_root_relative_output_is_what_the_loss_and_the_protocols_score():
    x = np.random.default_rng(5).normal(size=(31, 17, 2)).astype(np.float32)
    free = _randomize(TCN(filter_widths=(3, 3), channels=8, num_frames=9, root_relative=False))
    model = TCN(filter_widths=(3, 3), channels=8, num_frames=9)
    assert model.root_relative  # the default
    model.set_weights(free.get_weights())
    raw = free(np.stack([x[:9]]), training=False).numpy()
    assert np.abs(raw[..., 0, :]).min() > 0  # nothing puts a free root at zero
    np.testing.assert_allclose(model(x[None, :9], training=False), raw - raw[..., :1, :],
                               rtol=1e-5, atol=1e-6)
    # The protocols zero the root and keep the other joints: for a
    # root-relative model that is the pose the MPJPE loss measured.
    lifted = protocols.SequenceLifter(model, 9, protocol="convolutional", flip=False)(x)
    windows = np.stack([x[max(0, min(len(x) - 1, t + k))] for t in range(len(x))
                        for k in range(-4, 5)]).reshape(len(x), 9, 17, 2)
    expected = model(windows, training=False).numpy()[:, 0]
    np.testing.assert_allclose(lifted, expected, rtol=1e-4, atol=1e-5)


def test_models_saved_before_root_relative_load_without_it():
    config = TCN(filter_widths=(3, 3), channels=8).get_config()
    assert config["root_relative"] is True
    assert TCN.from_config(config).root_relative
    del config["root_relative"]
    assert not TCN.from_config(config).root_relative
