"""Fixed spatial graph convolution over the skeleton (DG-Net FSG, Eq. 1-2)."""

import keras
from keras import ops

from tfpose import skeleton as skeleton_lib


@keras.saving.register_keras_serializable(package="tfpose")
class FixedSpatialGraphConv(keras.layers.Layer):
    """`Y_t = A X_t Theta + b` with the skeleton's normalised adjacency.

    `A = D^-1/2 (A_bones + I) D^-1/2` (`tfpose.skeleton.normalized_adjacency`):
    Eq. 1's bone adjacency with self loops, normalised so that feature
    scales do not grow with a joint's degree. The nonlinearity `sigma` of
    Eq. 2 is left to the residual module around the layer.

    Args:
        filters: output channels `D`.
        parents: the joint tree (H36M by default).
        use_bias: add a bias.
        kernel_regularizer, kernel_initializer: for `Theta`.

    Call arguments:
        inputs: `[B, T, J, C]`.

    Returns:
        `[B, T, J, D]`.

    Reference: Zhang et al., "Learning Dynamical Human-Joint Affinity for 3D
    Pose Estimation in Videos", IEEE TIP 2021.
    """

    def __init__(self, filters, parents=skeleton_lib.H36M.parents, use_bias=True,
                 kernel_regularizer=None, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.parents = tuple(int(p) for p in parents)
        self.use_bias = bool(use_bias)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        names = tuple(str(j) for j in range(len(self.parents)))
        self._matrix = skeleton_lib.normalized_adjacency(
            skeleton_lib.Skeleton(names, self.parents, (), ()))

    def build(self, input_shape):
        if input_shape[-2] != len(self.parents):
            raise ValueError(
                f"Expected {len(self.parents)} joints (axis -2), got {input_shape[-2]}.")
        self.adjacency = self.add_weight(
            name="adjacency", shape=self._matrix.shape,
            initializer=keras.initializers.Constant(self._matrix), trainable=False)
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)

    def call(self, inputs):
        y = ops.matmul(self.adjacency, ops.matmul(inputs, self.kernel))
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "parents": list(self.parents), "use_bias": self.use_bias,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
