"""A non-local block over the joints of every frame (used by DG-Net)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfpose")
class SpatialNonLocal(keras.layers.Layer):
    """Embedded-Gaussian non-local block (Wang et al. 2018) over joints.

    For every frame, each joint attends to all joints:

        a_t(i, j) = softmax_j(theta(x_t^i) . phi(x_t^j))
        z_t^i = x_t^i + BN(W_z sum_j a_t(i, j) g(x_t^j))

    `theta`, `phi`, `g` project to `inner_channels` (half the input by
    default). The batch norm's scale starts at zero, so the block starts as
    the identity, as Wang et al. recommend.

    Args:
        inner_channels: width of `theta`, `phi`, `g`; `None` for `C // 2`.
        momentum: of the batch norm's moving statistics.

    Call arguments:
        inputs: `[B, T, J, C]`.
        training: batch-norm mode.

    Returns:
        `[B, T, J, C]`.
    """

    def __init__(self, inner_channels=None, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.inner_channels = None if inner_channels is None else int(inner_channels)
        self.momentum = float(momentum)
        self.theta = self.phi = self.g = self.project = None
        self.norm = keras.layers.BatchNormalization(
            gamma_initializer="zeros", momentum=self.momentum, dtype=self.dtype_policy,
            name="norm")

    def build(self, input_shape):
        channels = input_shape[-1]
        inner = self.inner_channels or max(1, channels // 2)
        policy = self.dtype_policy
        self.theta = keras.layers.Dense(inner, dtype=policy, name="theta")
        self.phi = keras.layers.Dense(inner, dtype=policy, name="phi")
        self.g = keras.layers.Dense(inner, dtype=policy, name="g")
        self.project = keras.layers.Dense(channels, dtype=policy, name="project")
        for layer in (self.theta, self.phi, self.g):
            layer.build(input_shape)
        inner_shape = tuple(input_shape[:-1]) + (inner,)
        self.project.build(inner_shape)
        self.norm.build(input_shape)

    def call(self, inputs, training=None):
        logits = ops.matmul(self.theta(inputs), ops.swapaxes(self.phi(inputs), -1, -2))
        attention = ops.softmax(logits, axis=-1)
        z = self.project(ops.matmul(attention, self.g(inputs)))
        return inputs + self.norm(z, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"inner_channels": self.inner_channels, "momentum": self.momentum})
        return config
