"""Dynamical spatial graph convolution (DG-Net DSG, Eq. 3-7)."""

import keras
from keras import ops

from tfpose.layers import knn

WEIGHTINGS = ("fc", "none")


def check_graph_options(graph, weighting, k):
    if graph not in knn.GRAPHS:
        raise ValueError(f"Unknown graph {graph!r}; expected one of {knn.GRAPHS}.")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"Unknown weighting {weighting!r}; expected one of {WEIGHTINGS}.")
    if int(k) < 1:
        raise ValueError(f"`k` must be >= 1, got {k}.")


def neighbor_indices(layer, x, num_joints):
    """Neighbour indices `[B, T, J, K]` of `x [B, T, J, C]` by graph style."""
    shape = ops.shape(x)
    if layer.graph == "knn":
        return knn.knn_indices(x, layer.k)
    if layer.graph == "full":
        # Every joint, in order: the same sum as k = J nearest neighbours.
        return ops.broadcast_to(ops.arange(num_joints, dtype="int32"),
                                (shape[0], shape[1], num_joints, num_joints))
    return knn.random_indices((shape[0], shape[1], num_joints, num_joints), layer.k,
                              layer.seed_generator)


@keras.saving.register_keras_serializable(package="tfpose")
class DynamicSpatialGraphConv(keras.layers.Layer):
    """Graph convolution over each frame's `k` nearest joints in feature space.

    For joint `i` at frame `t` (Eq. 3-7):

        Omega_t^i = the k joints j nearest to i by |x_t^i - x_t^j|
        R_t(i, j) = sigmoid(FC([x_t^i, x_t^j]))         (importance, Eq. 5)
        y_t^i = sum_{j in Omega_t^i} R_t(i, j) x_t^j Phi + b

    i.e. `Y_t = B_t X_t Phi` with `B_t = D_t * R_t`. A joint is its own
    nearest neighbour (distance 0), so `Omega` includes it. The paper calls
    `gamma` "a nonlinear mapping ... a fully-connected layer"; tfpose uses one
    fully-connected unit followed by a sigmoid, so every edge weight lies in
    (0, 1). The nonlinearity `sigma` of Eq. 7 is left to the residual
    module around the layer.

    Args:
        filters: output channels `D`.
        k: neighbours per joint (3 in the paper), `1 <= k <= J`.
        graph: `"knn"` (the paper), or the ablations of Table VII: `"full"`
            (every joint) and `"random"` (k random joints per call).
        weighting: `"fc"` (Eq. 5) or `"none"` (`B_t = D_t`; Table VII).
        use_bias: add a bias.
        kernel_regularizer: for `Phi`.
        seed: seed of the `"random"` graph.

    Call arguments:
        inputs: `[B, T, J, C]`.

    Returns:
        `[B, T, J, D]`.

    Reference: Zhang et al., "Learning Dynamical Human-Joint Affinity for 3D
    Pose Estimation in Videos", IEEE TIP 2021.
    """

    def __init__(self, filters, k=3, graph="knn", weighting="fc", use_bias=True,
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
        self.edge_score = (keras.layers.Dense(1, dtype=self.dtype_policy, name="edge_score")
                           if weighting == "fc" else None)

    def build(self, input_shape):
        num_joints, channels = input_shape[-2], input_shape[-1]
        if num_joints is not None and self.graph != "full" and self.k > num_joints:
            raise ValueError(f"`k` must be <= the number of joints {num_joints}, got k={self.k}.")
        if self.edge_score is not None:
            self.edge_score.build(tuple(input_shape[:-1]) + (2 * channels,))
        self.kernel = self.add_weight(
            name="kernel", shape=(channels, self.filters), initializer="glorot_uniform",
            regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)

    def call(self, inputs):
        num_joints = inputs.shape[-2]
        indices = neighbor_indices(self, inputs, num_joints)
        neighbors = knn.gather_neighbors(ops.matmul(inputs, self.kernel), indices)
        if self.edge_score is not None:
            scores = edge_scores(self.edge_score, inputs, inputs, indices)
            neighbors = neighbors * ops.expand_dims(scores, -1)
        y = ops.sum(neighbors, axis=-2)
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


def edge_scores(dense, centres, others, indices):
    """`sigmoid(FC([x^i, y^j]))` for every neighbour `j` of `i`: `[B, T, J, K]`.

    A fully-connected unit on a concatenation is the sum of one unit on
    each half, so each half is projected once per joint and the neighbours'
    projections are gathered, instead of concatenating `J * K` pairs.
    """
    channels = centres.shape[-1]
    kernel = dense.kernel
    own = ops.matmul(centres, kernel[:channels])  # [B, T, J, 1]
    theirs = ops.matmul(others, kernel[channels:])  # [B, T, J, 1]
    gathered = knn.gather_neighbors(theirs, indices)[..., 0]  # [B, T, J, K]
    return ops.sigmoid(own + gathered + dense.bias)
