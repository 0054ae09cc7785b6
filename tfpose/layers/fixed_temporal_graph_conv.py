"""Fixed temporal graph convolution (DG-Net FTG, Eq. 8-9)."""

import keras
from keras import ops


def neighbor_frames(x):
    """`(x[t + 1], x[t - 1], has_next, has_previous)` for `x [B, T, ...]`.

    At the last frame there is no `t + 1` and at the first no `t - 1`: the
    shifted tensors repeat the edge frame there, and the masks (`[1, T, 1,
    1]`, 1.0 where the neighbour exists) let the caller drop those terms, so
    the first and last frame only see the side that exists. With `T = 1`
    both masks are zero.
    """
    following = ops.concatenate([x[:, 1:], x[:, -1:]], axis=1)
    previous = ops.concatenate([x[:, :1], x[:, :-1]], axis=1)
    frames = ops.shape(x)[1]
    t = ops.arange(frames)
    has_next = ops.cast(t < frames - 1, x.dtype)
    has_previous = ops.cast(t > 0, x.dtype)
    shape = (1, frames, 1, 1)
    return following, previous, ops.reshape(has_next, shape), ops.reshape(has_previous, shape)


@keras.saving.register_keras_serializable(package="tfpose")
class FixedTemporalGraphConv(keras.layers.Layer):
    """`Y_t = X_t W_x + X_{t+1} W_f + X_{t-1} W_b + b` (Eq. 9).

    Each joint is connected to itself in the previous and next frame
    (`P = I`, Eq. 8): a temporal convolution of width 3. At the first frame
    the backward term is absent and at the last frame the forward term (as
    with zero padding); the nonlinearity is left to the residual module.

    Args:
        filters: output channels `D`.
        use_bias: add a bias.
        kernel_regularizer: for `W_x`, `W_f`, `W_b`.

    Call arguments:
        inputs: `[B, T, J, C]`, any `T >= 1`.

    Returns:
        `[B, T, J, D]`.
    """

    def __init__(self, filters, use_bias=True, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.use_bias = bool(use_bias)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        shape = (input_shape[-1], self.filters)
        self.kernel_current, self.kernel_forward, self.kernel_backward = (
            self.add_weight(name=name, shape=shape, initializer="glorot_uniform",
                            regularizer=self.kernel_regularizer)
            for name in ("kernel_current", "kernel_forward", "kernel_backward"))
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)

    def call(self, inputs):
        following, previous, has_next, has_previous = neighbor_frames(inputs)
        y = (ops.matmul(inputs, self.kernel_current)
             + has_next * ops.matmul(following, self.kernel_forward)
             + has_previous * ops.matmul(previous, self.kernel_backward))
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "use_bias": self.use_bias,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        })
        return config
