"""Spatial graph convolution with the ST-GCN distance partition (UGCN Eq. 9-10)."""

import keras
import numpy as np
from keras import ops

from tfpose import skeleton as skeleton_lib

PARTITIONS = ("spatial", "none")


def partition_matrices(parents, partition):
    """`[K, J, J]` normalised adjacency per subset for a joint tree."""
    names = tuple(str(j) for j in range(len(parents)))
    tree = skeleton_lib.Skeleton(names, tuple(parents), (), ())
    if partition == "spatial":
        return skeleton_lib.spatial_partition(tree)
    if partition == "none":
        # Each joint sees only itself: the "w/o spatial graph" ablation.
        return np.eye(len(parents), dtype=np.float32)[None]
    raise ValueError(f"Unknown partition {partition!r}; expected one of {PARTITIONS}.")


@keras.saving.register_keras_serializable(package="tfpose")
class SpatialGraphConv(keras.layers.Layer):
    """Graph convolution over the joints of every frame (UGCN Eq. 9).

    `y[t, j] = sum_k sum_i A_k[j, i] x[t, i] W_k + b`: the neighbours of
    joint `j` (itself and the joints one bone away) are split into subsets
    by hop distance to the hip (Eq. 10, see
    `tfpose.skeleton.spatial_partition`); each subset has its own weight
    `W_k` and `A_k` averages over its members (the `1 / Z` of Eq. 9).

    Shorthands: `B` batch, `T` frames, `J` joints, `C` input channels, `D`
    output channels.

    Args:
        filters: int, output channels `D`.
        parents: parent of each joint (`-1` for the root); the H36M tree by
            default.
        partition: `"spatial"` (3 subsets) or `"none"` (only the joint
            itself: the paper's "w/o spatial graph" ablation).
        use_bias: add a bias.
        kernel_initializer, kernel_regularizer: for the `[K, C, D]` kernel.

    Call arguments:
        inputs: float tensor `[B, T, J, C]`.

    Returns:
        float tensor `[B, T, J, D]`.

    Reference: Wang et al., "Motion Guided 3D Pose Estimation from Videos",
    ECCV 2020; Yan et al., "Spatial Temporal Graph Convolutional Networks",
    AAAI 2018.
    """

    def __init__(
        self,
        filters,
        parents=skeleton_lib.H36M.parents,
        partition="spatial",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.parents = tuple(int(p) for p in parents)
        self.partition = partition
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self._matrices = partition_matrices(self.parents, partition)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"Expected inputs [B, T, J, C], got shape {input_shape}.")
        num_joints, channels = input_shape[-2], input_shape[-1]
        if num_joints != len(self.parents):
            raise ValueError(
                f"Expected {len(self.parents)} joints (axis -2), got {num_joints}."
            )
        subsets = self._matrices.shape[0]
        self.adjacency = self.add_weight(
            name="adjacency",
            shape=self._matrices.shape,
            initializer=keras.initializers.Constant(self._matrices),
            trainable=False,
        )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(subsets, channels, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
            if self.use_bias
            else None
        )

    def call(self, inputs):
        subsets, channels, filters = self.kernel.shape
        num_joints = self.adjacency.shape[-1]
        kernel = ops.reshape(ops.transpose(self.kernel, (1, 0, 2)), (channels, subsets * filters))
        # Transform first, then aggregate: [B, T, J, K*D] is cheaper than
        # aggregating C channels K times when D <= C.
        h = ops.matmul(inputs, kernel)
        # sum_k A_k h_k as one product: [B, T, J, K*D] is [B, T, J*K, D] in
        # memory (row j*K + k), and [A_0 | A_1 | ...] interleaved the same
        # way, [J, J*K], contracts joints and subsets together. One
        # broadcast matmul of depth J*K instead of K of depth J, a split and
        # K - 1 sums: a UGCN training step 1.2-1.26x faster on a CPU
        # (docs/BENCHMARKS.md). (An einsum
        # lowers to reshapes that TFLite's converter gets wrong when the
        # batch is dynamic; slices per subset had a gradient that wrote a
        # full-size zero tensor each.)
        h = ops.reshape(h, tuple(ops.shape(h)[:-2]) + (num_joints * subsets, filters))
        adjacency = ops.reshape(ops.transpose(self.adjacency, (1, 2, 0)),
                                (num_joints, num_joints * subsets))
        y = ops.matmul(adjacency, h)
        if self.bias is not None:
            y = y + self.bias
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "parents": list(self.parents),
            "partition": self.partition,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        })
        return config
