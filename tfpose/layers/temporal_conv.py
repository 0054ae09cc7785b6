"""A 1D convolution over time for VideoPose3D's TCN (`tfpose.models.tcn`)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfpose")
class TemporalConv(keras.layers.Layer):
    """A bias-free 1D convolution over time whose dilation or stride is
    chosen per call, so that one kernel serves both of VideoPose3D's forms:
    dilated (any length, fully convolutional) and strided (exactly one
    receptive field in, one frame out: the same result, far less work).

    Input `[B, T, C_in]`, kernel `[width, C_in, C_out]`, "valid" padding.
    """

    def __init__(self, filters, width, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.width = int(width)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(self.width, input_shape[-1], self.filters),
            initializer="glorot_uniform", regularizer=self.kernel_regularizer)

    def call(self, x, dilation=1, stride=1):
        frames = x.shape[1]
        if stride == self.width and dilation == 1 and frames is not None and (
                frames % self.width == 0):
            # Non-overlapping windows: one matmul over `width` frames
            # stacked as channels. TensorFlow's CPU gradient of a strided
            # convolution made a TCN-243 training step 5x slower.
            batch = ops.shape(x)[0]
            stacked = ops.reshape(x, (batch, frames // self.width, self.width * x.shape[-1]))
            kernel = ops.reshape(self.kernel, (-1, self.filters))
            return ops.matmul(stacked, ops.cast(kernel, stacked.dtype))
        return ops.conv(x, self.kernel, strides=stride, padding="valid", dilation_rate=dilation)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1] + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "width": self.width,
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}
