"""Helpers shared by the tests (and handy for users' own checks)."""

import numpy as np


def random_rotation(rng):
    """A uniformly random proper rotation matrix `[3, 3]` (det = +1)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def randomize_zero_kernels(model, scale=0.1, seed=0):
    """Gives the zero-initialised output layers random weights, so that an
    untrained model's output depends on its input (tests only)."""
    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        if "kernel" in weight.path and not np.any(weight.numpy()):
            weight.assign(rng.normal(scale=scale, size=weight.shape).astype("float32"))
    return model


def randomize_weights(layer, seed=0, scale=0.5):
    """Random trainable weights and batch-norm statistics (tests only):
    zero-initialised kernels and scales (regressors, the non-local block's
    batch norm) would hide weights that a round trip drops. Fixed tables
    (UGCN's partition matrices) stay as they are."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        shape = tuple(weight.shape)
        if "moving_variance" in weight.path:
            weight.assign(rng.uniform(0.5, 2.0, shape).astype("float32"))
        elif weight.trainable or "moving_mean" in weight.path:
            weight.assign(rng.normal(scale=scale, size=shape).astype("float32"))
    return layer


def run_layer_test(layer, make_inputs, output_shape, directory, output_frames=None,
                   frames=(3, 7), batch=2, atol=1e-5):
    """The contract every tfpose layer keeps, after keras-hub's
    `run_layer_test` (`keras_hub/src/tests/test_case.py`).

    On `layer` (unbuilt), with random weights:

    - output shape and dtype: eager calls give `[batch, output_frames(T),
      *output_shape]` float32, and so do symbolic calls
      (`compute_output_shape`, where defined); with `T = None`,
      `[None, None, *output_shape]`;
    - dynamic T: one `tf.function` traced with `T = None` runs at both
      lengths `frames` and agrees with the eager layer at each;
    - config round trip: `from_config(get_config())` gives the same config
      and attributes, and with the same weights the same output;
    - `.keras` round trip: a functional model around the layer, saved to
      `directory` and loaded, gives the same output at both lengths.

    Args:
        layer: the layer, not yet built.
        make_inputs: `make_inputs(batch, frames) -> (args, kwargs)`, the
            call's arrays; every 4-D array is `[B, T, J, C]` (its time axis
            stays dynamic), others (e.g. intrinsics `[B, 4]`) have no time.
        output_shape: the shape of one frame's output, e.g. `(17, 8)`.
        directory: a `pathlib.Path` for the `.keras` file.
        output_frames: `T -> output frames` (default: `T`).
        frames: two different lengths.
    """
    import keras
    import tensorflow as tf

    output_frames = output_frames or (lambda t: t)
    # One sample set per length, so every check compares the same arrays.
    samples = {t: make_inputs(batch, t) for t in frames}
    layer_type = type(layer)

    def call(target, t):
        args, kwargs = samples[t]
        return keras.ops.convert_to_numpy(target(*args, **kwargs, training=False))

    call(layer, frames[0])  # builds
    randomize_weights(layer)
    expected = {t: call(layer, t) for t in frames}
    for t, y in expected.items():
        assert y.shape == (batch, output_frames(t), *output_shape), (t, y.shape)
        assert y.dtype == np.float32, y.dtype
    assert all(np.abs(y).max() > 1e-3 for y in expected.values()), "output is ~0"

    # Symbolic (`compute_output_shape`, where defined), at each length and
    # with a dynamic time axis.
    for t in frames:
        args, kwargs = samples[t]
        symbolic = layer(*[keras.KerasTensor(np.shape(a)) for a in args],
                         **{k: keras.KerasTensor(np.shape(a)) for k, a in kwargs.items()})
        assert tuple(symbolic.shape) == expected[t].shape, (t, symbolic.shape)
    args, kwargs = samples[frames[0]]

    def spec(a):
        a = np.asarray(a)
        return ((None,) + a.shape[1:]) if a.ndim != 4 else (None, None) + a.shape[2:]

    flat = list(args) + list(kwargs.values())
    symbols = [keras.Input(spec(a)[1:], batch_size=None) for a in flat]
    symbolic_args = symbols[: len(args)]
    symbolic_kwargs = dict(zip(kwargs, symbols[len(args):]))
    symbolic = layer(*symbolic_args, **symbolic_kwargs)
    assert tuple(symbolic.shape) == (None, None, *output_shape), symbolic.shape
    model = keras.Model(symbols if len(symbols) > 1 else symbols[0], symbolic)

    def flat_inputs(t):
        a, k = samples[t]
        return list(a) + list(k.values())

    # One trace with T unknown serves every length: nothing in the layer
    # may depend on a static number of frames.
    traced = tf.function(
        lambda *xs: layer(*xs[: len(args)], **dict(zip(kwargs, xs[len(args):])),
                          training=False),
        input_signature=[tf.TensorSpec(spec(a), tf.float32) for a in flat],
    ).get_concrete_function()
    for t in frames:
        got = traced(*[tf.constant(a, tf.float32) for a in flat_inputs(t)])
        np.testing.assert_allclose(got.numpy(), expected[t], rtol=1e-5, atol=atol,
                                   err_msg=f"traced, T={t}")

    # Config round trip: same config, same attributes, same function.
    config = layer.get_config()
    revived = layer_type.from_config(config)
    assert revived.get_config() == config
    call(revived, frames[0])
    revived.set_weights(layer.get_weights())
    # Hidden state (keras-hub's check); `_self_*` is TensorFlow's tracking
    # bookkeeping, there once a layer has been traced or saved.
    attributes = lambda obj: {a for a in dir(obj) if not a.startswith("_self_")}  # noqa: E731
    assert attributes(revived) == attributes(layer), attributes(revived) ^ attributes(layer)
    for t in frames:
        np.testing.assert_allclose(call(revived, t), expected[t], rtol=1e-5, atol=atol,
                                   err_msg=f"from_config, T={t}")

    # .keras round trip of a model holding the layer.
    path = directory / f"{layer.name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer(layer.name), layer_type)
    for t in frames:
        inputs = flat_inputs(t)
        got = loaded(inputs if len(inputs) > 1 else inputs[0], training=False)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), expected[t], rtol=1e-5,
                                   atol=atol, err_msg=f".keras, T={t}")
