"""Nearest-neighbour upsampling in time (UGCN Eq. 11)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfpose")
class TemporalUpsample(keras.layers.Layer):
    """`y[t] = x[floor(t / factor)]` along the time axis.

    Args:
        factor: int >= 1.

    Call arguments:
        inputs: tensor `[B, T, J, C]`.

    Returns:
        tensor `[B, factor * T, J, C]`.
    """

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        if int(factor) < 1:
            raise ValueError(f"`factor` must be >= 1, got {factor}.")
        self.factor = int(factor)

    def call(self, inputs):
        return ops.repeat(inputs, self.factor, axis=1)

    def compute_output_shape(self, input_shape):
        frames = input_shape[1]
        return (input_shape[0], None if frames is None else frames * self.factor) + tuple(
            input_shape[2:]
        )

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor})
        return config
