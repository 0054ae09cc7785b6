"""Dynamical temporal graph convolution (DG-Net DTG, Eq. 10-14)."""

import keras
from keras import ops

from tfpose.layers import knn
from tfpose.layers.dynamic_spatial_graph_conv import (
    check_graph_options, edge_scores, neighbor_indices)
from tfpose.layers.fixed_temporal_graph_conv import neighbor_frames


@keras.saving.register_keras_serializable(package="tfpose")
class DynamicTemporalGraphConv(keras.layers.Layer):
    """Temporal graph convolution whose edges follow similar joint motion.

    For joint `i` at frame `t` (Eq. 10-14):

        U_{t+1}^i = the k joints j whose forward motion x_{t+1}^j - x_t^j is
                    nearest to that of i, x_{t+1}^i - x_t^i
        U_{t-1}^i = the k joints j whose backward motion x_t^j - x_{t-1}^j is
                    nearest to x_t^i - x_{t-1}^i
        H_{t+1}(i, j) = sigmoid(FC_alpha([x_t^i, x_{t+1}^j]))
        H_{t-1}(i, j) = sigmoid(FC_beta([x_t^i, x_{t-1}^j]))
        y_t^i = x_t^i U_x + sum_{j in U_{t+1}^i} H_{t+1}(i, j) x_{t+1}^j U_f
                          + sum_{j in U_{t-1}^i} H_{t-1}(i, j) x_{t-1}^j U_b + b

    First and last frame: frame 0 has no `t - 1`, so its backward term is
    absent; the last frame has no `t + 1`, so its forward term is absent
    (the same as a fixed temporal convolution with zero padding); a single
    frame keeps only `x_t U_x`. A joint's own motion is at distance 0 from
    itself, so it is always among its temporal neighbours.

    Args:
        filters: output channels `D`.
        k: neighbours per joint in each direction (4 in the paper).
        graph: `"knn"`, `"full"` or `"random"` (see `DynamicSpatialGraphConv`).
        weighting: `"fc"` (Eq. 12) or `"none"` (`Q = L`).
        use_bias: add a bias.
        kernel_regularizer: for `U_x`, `U_f`, `U_b`.
        seed: seed of the `"random"` graph.

    Call arguments:
        inputs: `[B, T, J, C]`, any `T >= 1`.

    Returns:
        `[B, T, J, D]`.
    """

    def __init__(self, filters, k=4, graph="knn", weighting="fc", use_bias=True,
                 kernel_regularizer=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        check_graph_options(graph, weighting, k)
        self.filters = int(filters)
        self.k = int(k)
        self.graph = graph
        self.weighting = weighting
        self.use_bias = bool(use_bias)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if graph == "random" else None
        self.forward_score = self.backward_score = None
        if weighting == "fc":
            self.forward_score = keras.layers.Dense(1, dtype=self.dtype_policy,
                                                    name="forward_score")
            self.backward_score = keras.layers.Dense(1, dtype=self.dtype_policy,
                                                     name="backward_score")

    def build(self, input_shape):
        num_joints, channels = input_shape[-2], input_shape[-1]
        if num_joints is not None and self.graph != "full" and self.k > num_joints:
            raise ValueError(f"`k` must be <= the number of joints {num_joints}, got k={self.k}.")
        if self.forward_score is not None:
            pair_shape = tuple(input_shape[:-1]) + (2 * channels,)
            self.forward_score.build(pair_shape)
            self.backward_score.build(pair_shape)
        shape = (channels, self.filters)
        self.kernel_current, self.kernel_forward, self.kernel_backward = (
            self.add_weight(name=name, shape=shape, initializer="glorot_uniform",
                            regularizer=self.kernel_regularizer)
            for name in ("kernel_current", "kernel_forward", "kernel_backward"))
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)

    def _aggregate(self, inputs, neighbor_frame, motion, kernel, score_layer, num_joints):
        indices = neighbor_indices(self, motion, num_joints)
        neighbors = knn.gather_neighbors(ops.matmul(neighbor_frame, kernel), indices)
        if score_layer is not None:
            scores = edge_scores(score_layer, inputs, neighbor_frame, indices)
            neighbors = neighbors * ops.expand_dims(scores, -1)
        return ops.sum(neighbors, axis=-2)

    def call(self, inputs):
        num_joints = inputs.shape[-2]
        following, previous, has_next, has_previous = neighbor_frames(inputs)
        forward = self._aggregate(inputs, following, following - inputs, self.kernel_forward,
                                  self.forward_score, num_joints)
        backward = self._aggregate(inputs, previous, inputs - previous, self.kernel_backward,
                                   self.backward_score, num_joints)
        y = ops.matmul(inputs, self.kernel_current) + has_next * forward + has_previous * backward
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "k": self.k, "graph": self.graph,
            "weighting": self.weighting, "use_bias": self.use_bias,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "seed": self.seed,
        })
        return config
