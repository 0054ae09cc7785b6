"""Dynamical spatial graph convolution (DG-Net DSG, Eq. 3-7)."""

import keras

from tfpose.layers.dynamic_graph import DynamicGraphConv


@keras.saving.register_keras_serializable(package="tfpose")
class DynamicSpatialGraphConv(DynamicGraphConv):
    """Graph convolution over each frame's `k` nearest joints in feature space.

    For joint `i` at frame `t` (Eq. 3-7):

        Omega_t^i = the k joints j nearest to i by |g_t^i - g_t^j|
        R_t(i, j) = sigmoid(FC([x_t^i, x_t^j]))         (importance, Eq. 5)
        y_t^i = sum_{j in Omega_t^i} R_t(i, j) x_t^j Phi + b

    i.e. `Y_t = B_t X_t Phi` with `B_t = D_t * R_t`. The graph is built on
    `g = x`, the layer's own input features (the paper), or on the `guide`
    call argument (DG-Net's "precomputed" ablation passes the 2D input). A
    joint is its own nearest neighbour (distance 0), so `Omega` includes it.
    The paper calls `gamma` "a nonlinear mapping ... a fully-connected
    layer"; tfpose uses one fully-connected unit followed by a sigmoid, so
    every edge weight lies in (0, 1). The nonlinearity `sigma` of Eq. 7 is
    left to the residual module around the layer.

    Args:
        filters: output channels `D`.
        k: neighbours per joint (3 in the paper), `1 <= k <= J`.
        graph: `"knn"` (the paper), or the ablations of Table VII:
            `"full"`, `"random"`, `"static"` (with `adjacency`); see
            `tfpose.layers.dynamic_graph`.
        weighting: `"fc"` (Eq. 5), `"eg"` (embedded Gaussian) or `"none"`
            (`B_t = D_t`).
        adjacency: `[J, J]` 0/1 graph for `graph="static"`.
        use_bias: add a bias.
        kernel_regularizer: for `Phi`.
        seed: seed of the `"random"` graph.

    Call arguments:
        inputs: `[B, T, J, C]`.
        guide: optional `[B, T, J, C']` features to build the kNN graph on.

    Returns:
        `[B, T, J, D]`.

    Reference: Zhang et al., "Learning Dynamical Human-Joint Affinity for 3D
    Pose Estimation in Videos", IEEE TIP 2021.
    """

    def __init__(self, filters, k=3, **kwargs):
        super().__init__(filters, k=k, **kwargs)
        self.edge_score = self._edge_weights("edge_score")

    def build(self, inputs_shape, guide_shape=None):
        input_shape = inputs_shape
        self._check_input(input_shape)
        self.edge_score.build(input_shape)
        self.kernel = self._kernel("kernel", input_shape[-1])
        self._build_bias()

    def call(self, inputs, guide=None):
        guide = inputs if guide is None else guide
        return self._add_bias(self._aggregate(inputs, inputs, guide, self.edge_score,
                                              self.kernel))
