"""The residual module DG-Net wraps around every graph convolution."""

import keras
from keras import ops

from tfpose import skeleton as skeleton_lib
from tfpose.layers.dynamic_spatial_graph_conv import DynamicSpatialGraphConv
from tfpose.layers.dynamic_temporal_graph_conv import DynamicTemporalGraphConv
from tfpose.layers.fixed_spatial_graph_conv import FixedSpatialGraphConv
from tfpose.layers.fixed_temporal_graph_conv import FixedTemporalGraphConv

KINDS = ("fsg", "dsg", "ftg", "dtg")


@keras.saving.register_keras_serializable(package="tfpose")
class GraphResidualModule(keras.layers.Layer):
    """Two graph convolutions of one kind in a residual module.

        h = ReLU(BN(conv_1(x)))
        y = ReLU(x + Dropout(BN(conv_2(h))))

    "For each type of graph convolution in a dynamical unit, we use the
    residual-style module built by two layers with 128 feature channels"
    (DG-Net, section III-C), in the style of Zhao et al.'s SemGCN.

    Args:
        kind: `"fsg"`, `"dsg"`, `"ftg"` or `"dtg"`.
        filters: channels (128 in the paper); the input must have as many.
        k: neighbours of the dynamic kinds.
        graph, weighting, adjacency, seed: of the dynamic kinds (see
            `tfpose.layers.dynamic_graph`).
        dropout: dropout rate before the residual sum.
        momentum: of the batch norms' moving statistics.
        parents: the joint tree, for `"fsg"`.
        kernel_regularizer: for the convolution kernels.

    Call arguments:
        inputs: `[B, T, J, filters]`.
        guide: optional features the dynamic kinds build their kNN graph on.
        training: batch-norm and dropout mode.

    Returns:
        `[B, T, J, filters]`.
    """

    def __init__(self, kind, filters=128, k=3, graph="knn", weighting="fc", adjacency=None,
                 dropout=0.0, parents=skeleton_lib.H36M.parents, kernel_regularizer=None,
                 seed=None, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"Unknown graph convolution {kind!r}; expected one of {KINDS}.")
        self.kind = kind
        self.filters = int(filters)
        self.k = int(k)
        self.graph = graph
        self.weighting = weighting
        self.adjacency = None if adjacency is None else [[int(a) for a in row] for row in adjacency]
        self.dropout = float(dropout)
        self.parents = tuple(int(p) for p in parents)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.seed = seed
        self.momentum = float(momentum)
        policy = self.dtype_policy

        def conv(name, seed_offset):
            common = dict(use_bias=False, kernel_regularizer=self.kernel_regularizer,
                          dtype=policy, name=name)
            dynamic = dict(k=self.k, graph=graph, weighting=weighting, adjacency=self.adjacency,
                           seed=None if seed is None else seed + seed_offset)
            if kind == "fsg":
                return FixedSpatialGraphConv(self.filters, parents=self.parents, **common)
            if kind == "ftg":
                return FixedTemporalGraphConv(self.filters, **common)
            if kind == "dsg":
                return DynamicSpatialGraphConv(self.filters, **dynamic, **common)
            return DynamicTemporalGraphConv(self.filters, **dynamic, **common)

        self.conv_1 = conv("conv_1", 0)
        self.conv_2 = conv("conv_2", 1)
        self.norm_1 = keras.layers.BatchNormalization(momentum=self.momentum, dtype=policy,
                                                      name="norm_1")
        self.norm_2 = keras.layers.BatchNormalization(momentum=self.momentum, dtype=policy,
                                                      name="norm_2")
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=policy, name="dropout")

    def build(self, inputs_shape, guide_shape=None):
        input_shape = inputs_shape
        if input_shape[-1] != self.filters:
            raise ValueError(
                f"GraphResidualModule needs {self.filters} input channels, got {input_shape[-1]}.")
        for layer in (self.conv_1, self.norm_1, self.conv_2, self.norm_2):
            layer.build(input_shape)

    def call(self, inputs, guide=None, training=None):
        if self.kind in ("dsg", "dtg"):
            conv_1 = lambda x: self.conv_1(x, guide=guide)  # noqa: E731
            conv_2 = lambda x: self.conv_2(x, guide=guide)  # noqa: E731
        else:
            conv_1, conv_2 = self.conv_1, self.conv_2
        h = ops.relu(self.norm_1(conv_1(inputs), training=training))
        h = self.dropout_layer(self.norm_2(conv_2(h), training=training), training=training)
        return ops.relu(inputs + h)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "kind": self.kind, "filters": self.filters, "k": self.k, "graph": self.graph,
            "weighting": self.weighting, "adjacency": self.adjacency, "dropout": self.dropout,
            "parents": list(self.parents),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "seed": self.seed, "momentum": self.momentum,
        })
        return config
