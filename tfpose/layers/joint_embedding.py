"""A learned vector per joint, added to every frame's joint features."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfpose")
class JointEmbedding(keras.layers.Layer):
    """`x[..., j, :] + e_j`, with one learned `e_j` per joint.

    Graph convolutions share their kernels over the joints, and the H36M
    skeleton is left/right symmetric, so a network of them computes the
    same function after swapping every left joint with its right twin:
    `f(P x) = P f(x)` for the mirror permutation `P`. The true lifting does
    not: swapping the labels of a 2D pose seen from the front gives the 2D
    pose of a body seen from the back, whose limbs' depths are the
    other way round (knees and elbows bend one way). Such a network
    cannot tell which way a person faces from which side is left, so it
    averages the depths of the limbs. A vector per joint, drawn at random,
    tells the joints apart from the first step (symmetric initial values
    would stay symmetric in expectation under flip-augmented data).

    Args:
        initializer: of the `[J, C]` embeddings.

    Call arguments:
        inputs: `[..., J, C]`.

    Returns:
        `[..., J, C]`.
    """

    def __init__(self, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        if input_shape[-2] is None or input_shape[-1] is None:
            raise ValueError(f"JointEmbedding needs known joints and channels, got {input_shape}.")
        self.embeddings = self.add_weight(name="embeddings", shape=tuple(input_shape[-2:]),
                                          initializer=self.initializer)

    def call(self, inputs):
        return inputs + ops.cast(self.embeddings, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["initializer"] = keras.initializers.serialize(self.initializer)
        return config
