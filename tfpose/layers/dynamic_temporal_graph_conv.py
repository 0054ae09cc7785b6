"""Dynamical temporal graph convolution (DG-Net DTG, Eq. 10-14)."""

import keras
from keras import ops

from tfpose.layers.dynamic_graph import DynamicGraphConv
from tfpose.layers.fixed_temporal_graph_conv import neighbor_frames


@keras.saving.register_keras_serializable(package="tfpose")
class DynamicTemporalGraphConv(DynamicGraphConv):
    """Temporal graph convolution whose edges follow similar joint motion.

    For joint `i` at frame `t` (Eq. 10-14):

        U_{t+1}^i = the k joints j whose forward motion g_{t+1}^j - g_t^j is
                    nearest to that of i, g_{t+1}^i - g_t^i
        U_{t-1}^i = the k joints j whose backward motion g_t^j - g_{t-1}^j is
                    nearest to g_t^i - g_{t-1}^i
        H_{t+1}(i, j) = sigmoid(FC_alpha([x_t^i, x_{t+1}^j]))
        H_{t-1}(i, j) = sigmoid(FC_beta([x_t^i, x_{t-1}^j]))
        y_t^i = x_t^i U_x + sum_{j in U_{t+1}^i} H_{t+1}(i, j) x_{t+1}^j U_f
                          + sum_{j in U_{t-1}^i} H_{t-1}(i, j) x_{t-1}^j U_b + b

    with `g = x` (the paper) or `g = guide` (the "precomputed" ablation:
    motion of the 2D input). With `graph="static"`, `adjacency[i, j] = 1`
    links joint `i` at `t` to joint `j` at `t +- 1` (the identity gives Eq. 9
    with edge weights).

    First and last frame: frame 0 has no `t - 1`, so its backward term is
    absent; the last frame has no `t + 1`, so its forward term is absent
    (the same as a fixed temporal convolution with zero padding); a single
    frame keeps only `x_t U_x`. A joint's own motion is at distance 0 from
    itself, so it is always among its temporal neighbours.

    Args:
        filters: output channels `D`.
        k: neighbours per joint in each direction (4 in the paper).
        graph, weighting, adjacency, seed: see `DynamicSpatialGraphConv`.
        use_bias: add a bias.
        kernel_regularizer: for `U_x`, `U_f`, `U_b`.

    Call arguments:
        inputs: `[B, T, J, C]`, any `T >= 1`.
        guide: optional `[B, T, J, C']` features whose motion builds the graph.

    Returns:
        `[B, T, J, D]`.
    """

    def __init__(self, filters, k=4, **kwargs):
        super().__init__(filters, k=k, **kwargs)
        self.forward_score = self._edge_weights("forward_score")
        self.backward_score = self._edge_weights("backward_score")

    def build(self, inputs_shape, guide_shape=None):
        input_shape = inputs_shape
        self._check_input(input_shape)
        self.forward_score.build(input_shape)
        self.backward_score.build(input_shape)
        channels = input_shape[-1]
        self.kernel_current = self._kernel("kernel_current", channels)
        self.kernel_forward = self._kernel("kernel_forward", channels)
        self.kernel_backward = self._kernel("kernel_backward", channels)
        self._build_bias()

    def call(self, inputs, guide=None):
        following, previous, has_next, has_previous = neighbor_frames(inputs)
        if guide is None:
            forward_motion, backward_motion = following - inputs, inputs - previous
        else:
            guide_next, guide_previous, _, _ = neighbor_frames(guide)
            forward_motion, backward_motion = guide_next - guide, guide - guide_previous
        forward = self._aggregate(inputs, following, forward_motion, self.forward_score,
                                  self.kernel_forward)
        backward = self._aggregate(inputs, previous, backward_motion, self.backward_score,
                                   self.kernel_backward)
        y = ops.matmul(inputs, self.kernel_current) + has_next * forward + has_previous * backward
        return self._add_bias(y)
