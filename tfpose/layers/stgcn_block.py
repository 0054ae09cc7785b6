"""ST-GCN block: spatial graph convolution then temporal convolution."""

import keras
from keras import ops

from tfpose import skeleton as skeleton_lib
from tfpose.layers.spatial_graph_conv import SpatialGraphConv


@keras.saving.register_keras_serializable(package="tfpose")
class STGCNBlock(keras.layers.Layer):
    """The st-gcn unit of UGCN (Eq. 7-8), as in ST-GCN (Yan et al. 2018).

        h = ReLU(BN(SpatialGraphConv(x)))
        h = Dropout(BN(TemporalConv_k,stride(h)))
        y = ReLU(h + residual(x))

    The residual is the identity, or a strided 1x1 convolution with batch
    norm where channels or stride change. The temporal convolution runs
    along time for each joint separately, with "same" padding, so the
    output has `ceil(T / stride)` frames; with `causal=True` it is padded
    with zero frames before the first only, and a strided block samples the
    last frame of each group of `stride`, counted back from the last input
    frame: with `e = (-T) mod stride`, output frame `i` sees input frames up
    to `stride * (i + 1) - 1 - e` only (again `ceil(T / stride)` frames),
    and the last output frame sees the last input frame. Sampling the
    group's first frame instead would leave a window's last output, the
    one a live reading uses, with features up to `stride - 1` frames old
    at every level of a U-shape (15 frames at UGCN's deepest).

    With `activation=None, batch_norm=False, dropout=0, residual=False` it
    is a plain graph convolution followed by a temporal convolution: UGCN's
    st-gcn regressor.

    Args:
        filters: output channels `D`.
        temporal_kernel: temporal kernel size (5 in UGCN).
        stride: temporal stride.
        dropout: dropout rate after the temporal convolution.
        activation: `"relu"` or `None`.
        batch_norm: use batch normalisation.
        residual: add the residual path.
        parents, partition: the graph (see `SpatialGraphConv`).
        kernel_regularizer: for every convolution kernel.
        temporal_initializer: initialiser of the temporal convolution kernel.
        causal: pad the temporal convolution in the past only, the
            strided output aligned to the last input frame.

    Call arguments:
        inputs: `[B, T, J, C]`.
        training: dropout and batch norm mode.

    Returns:
        `[B, ceil(T / stride), J, D]`.
    """

    def __init__(
        self,
        filters,
        temporal_kernel=5,
        stride=1,
        dropout=0.5,
        activation="relu",
        batch_norm=True,
        residual=True,
        parents=skeleton_lib.H36M.parents,
        partition="spatial",
        kernel_regularizer=None,
        temporal_initializer="glorot_uniform",
        causal=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.temporal_kernel = int(temporal_kernel)
        self.stride = int(stride)
        self.dropout = float(dropout)
        self.activation = activation
        self.batch_norm = bool(batch_norm)
        self.residual = bool(residual)
        self.parents = tuple(int(p) for p in parents)
        self.partition = partition
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.temporal_initializer = keras.initializers.get(temporal_initializer)
        self.causal = bool(causal)
        if self.temporal_kernel < 1 or self.stride < 1:
            raise ValueError(
                f"`temporal_kernel` and `stride` must be >= 1, got "
                f"{temporal_kernel}, {stride}."
            )
        if activation not in ("relu", None):
            raise ValueError(f"`activation` must be 'relu' or None, got {activation!r}.")

        # === Layers ===
        policy = self.dtype_policy
        self.graph_conv = SpatialGraphConv(
            self.filters, parents=self.parents, partition=partition,
            use_bias=not self.batch_norm, kernel_regularizer=self.kernel_regularizer,
            dtype=policy, name="graph_conv",
        )
        self.temporal_conv = keras.layers.Conv2D(
            self.filters, (self.temporal_kernel, 1), strides=(self.stride, 1),
            padding="valid" if self.causal else "same", use_bias=not self.batch_norm,
            kernel_initializer=self.temporal_initializer,
            kernel_regularizer=self.kernel_regularizer, dtype=policy, name="temporal_conv",
        )
        self.graph_norm = self.temporal_norm = self.residual_norm = None
        if self.batch_norm:
            self.graph_norm = keras.layers.BatchNormalization(dtype=policy, name="graph_norm")
            self.temporal_norm = keras.layers.BatchNormalization(dtype=policy, name="temporal_norm")
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=policy, name="dropout")
        self.residual_conv = None

    def build(self, input_shape):
        channels = input_shape[-1]
        self.graph_conv.build(input_shape)
        hidden = tuple(input_shape[:-1]) + (self.filters,)
        if self.graph_norm is not None:
            self.graph_norm.build(hidden)
        padded = hidden
        if self.causal and hidden[1] is not None:  # "valid" on the padded frames
            extra = self.temporal_kernel - self.stride + (-hidden[1]) % self.stride
            padded = (hidden[0], hidden[1] + extra) + tuple(hidden[2:])
        self.temporal_conv.build(padded)
        if self.temporal_norm is not None:
            self.temporal_norm.build(hidden)
        if self.residual and (channels != self.filters or self.stride != 1):
            # Strided by slicing the frames first (`_shortcut_frames`): the
            # same function and weights as a strided 1x1 convolution, whose
            # bfloat16 filter gradient TF 2.21's oneDNN heap-corrupts on
            # under 16 channels (docs/BENCHMARKS.md).
            self.residual_conv = keras.layers.Conv2D(
                self.filters, 1, padding="same",
                use_bias=not self.batch_norm, kernel_regularizer=self.kernel_regularizer,
                dtype=self.dtype_policy, name="residual_conv",
            )
            self.residual_conv.build(input_shape)
            if self.batch_norm:
                self.residual_norm = keras.layers.BatchNormalization(
                    dtype=self.dtype_policy, name="residual_norm"
                )
                self.residual_norm.build(hidden)

    def _first_group_end(self, x):
        """The first frame that ends a group of `stride` frames when the
        groups are counted back from the last frame: `stride - 1 - e`,
        `e = (-T) mod stride` (a tensor where `T` is not static: a slice
        start, which keeps the other dimensions static for TFLite)."""
        frames = ops.shape(x)[1]
        if isinstance(frames, int):
            return self.stride - 1 - (-frames) % self.stride
        return self.stride - 1 - ops.mod(-frames, self.stride)

    def _shortcut_frames(self, x):
        """The input frames the strided outputs stand for: every `stride`-th
        from the first, or causally the last of each group."""
        if self.stride == 1:
            return x
        start = self._first_group_end(x) if self.causal else 0
        return x[:, start :: self.stride]

    def _activate(self, x):
        return keras.ops.relu(x) if self.activation == "relu" else x

    def call(self, inputs, training=None):
        h = self.graph_conv(inputs)
        if self.graph_norm is not None:
            h = self.graph_norm(h, training=training)
        h = self._activate(h)
        if self.causal:
            # k - 1 zero frames, less those before the first group's end.
            start = self._first_group_end(h) if self.stride > 1 else 0
            h = ops.pad(h, ((0, 0), (self.temporal_kernel - 1, 0), (0, 0), (0, 0)))[:, start:]
        h = self.temporal_conv(h)
        if self.temporal_norm is not None:
            h = self.temporal_norm(h, training=training)
        h = self.dropout_layer(h, training=training)
        if self.residual:
            shortcut = inputs
            if self.residual_conv is not None:
                shortcut = self.residual_conv(self._shortcut_frames(inputs))
                if self.residual_norm is not None:
                    shortcut = self.residual_norm(shortcut, training=training)
            h = h + shortcut
        return self._activate(h)

    def fold_batch_norm_into(self, target):
        """Writes this block's inference function into `target`, a built
        block of the same shape with `batch_norm=False`: each batch norm's
        frozen statistics become a scale of the kernel before it and that
        convolution's bias (`scale * (x W) + shift = x (W scale) + shift`;
        the graph aggregation is linear per channel, so the scale passes
        through it)."""
        if not self.batch_norm or target.batch_norm:
            raise ValueError("Fold from a block with batch norm into one without.")
        target.graph_conv.adjacency.assign(self.graph_conv.adjacency)
        pairs = [(self.graph_conv, self.graph_norm, target.graph_conv),
                 (self.temporal_conv, self.temporal_norm, target.temporal_conv)]
        if self.residual_conv is not None:
            pairs.append((self.residual_conv, self.residual_norm, target.residual_conv))
        for conv, norm, folded in pairs:
            scale = norm.gamma * ops.rsqrt(norm.moving_variance + norm.epsilon)
            folded.kernel.assign(ops.cast(conv.kernel, "float32") * scale)
            folded.bias.assign(norm.beta - norm.moving_mean * scale)

    def compute_output_shape(self, input_shape):
        frames = input_shape[1]
        if frames is not None:
            frames = -(-frames // self.stride)
        return (input_shape[0], frames, input_shape[2], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "temporal_kernel": self.temporal_kernel,
            "stride": self.stride,
            "dropout": self.dropout,
            "activation": self.activation,
            "batch_norm": self.batch_norm,
            "residual": self.residual,
            "parents": list(self.parents),
            "partition": self.partition,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "temporal_initializer": keras.initializers.serialize(self.temporal_initializer),
            "causal": self.causal,
        })
        return config
