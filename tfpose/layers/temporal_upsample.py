"""Nearest-neighbour upsampling in time (UGCN Eq. 11)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfpose")
class TemporalUpsample(keras.layers.Layer):
    """`y[t] = x[floor(t / factor)]` along the time axis.

    With `causal=True`, `y[t] = x[floor((t + 1) / factor) - 1]` and zero for
    the first `factor - 1` frames: the upsampling that matches a causal
    strided `STGCNBlock`, whose coarse frame `c` has seen fine frames up to
    `factor * (c + 1) - 1` (on lengths that are multiples of `factor`).
    Each fine frame then reads the newest coarse frame that uses none of
    its future; the last one reads the last.

    Args:
        factor: int >= 1.
        causal: read no coarse frame that has seen a later fine frame.

    Call arguments:
        inputs: tensor `[B, T, J, C]`.

    Returns:
        tensor `[B, factor * T, J, C]`.
    """

    def __init__(self, factor=2, causal=False, **kwargs):
        super().__init__(**kwargs)
        self.causal = bool(causal)
        if int(factor) < 1:
            raise ValueError(f"`factor` must be >= 1, got {factor}.")
        self.factor = int(factor)

    def call(self, inputs):
        y = ops.repeat(inputs, self.factor, axis=1)
        if self.causal and self.factor > 1:
            y = ops.pad(y, ((0, 0), (self.factor - 1, 0), (0, 0), (0, 0)))[:, : 1 - self.factor]
        return y

    def compute_output_shape(self, input_shape):
        frames = input_shape[1]
        return (input_shape[0], None if frames is None else frames * self.factor) + tuple(
            input_shape[2:]
        )

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "causal": self.causal})
        return config
