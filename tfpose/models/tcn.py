"""The temporal convolution network of VideoPose3D (Pavllo et al., CVPR 2019).

The baseline that video lifters are measured against: 2D keypoints of
`receptive_field` consecutive frames in, the 3D pose of one frame out (the
centre, or `lookahead` frames before the end), by dilated 1D convolutions
over time with the joints as channels.
"""

import math

import keras
from keras import ops

from tfpose import skeleton as skeleton_lib
from tfpose.layers.temporal_conv import TemporalConv


@keras.saving.register_keras_serializable(package="tfpose")
class TCN(keras.Model):
    """VideoPose3D's temporal convolution network.

    An expanding convolution of width `filter_widths[0]` from the `2J`
    input coordinates to `channels`, then one residual block per further
    width: a convolution of that width, dilated by the product of the
    widths before it, and a 1x1 convolution, each followed by batch norm,
    ReLU and dropout; the residual is the input's centre crop. A 1x1
    convolution regresses `3J` coordinates. Widths `(3, 3, 3, 3, 3)` give
    the 243-frame receptive field (16.95M parameters at 1024 channels),
    `(3, 3, 3)` 27 frames.

    Input `[B, T, J, 2]` with `T >= receptive_field`; output
    `[B, T - receptive_field + 1, J, 3]`: the frames whose whole receptive
    field is in the input, output `k` being input frame
    `k + receptive_field - 1 - lookahead`, in root-relative camera-frame
    metres. When `T`
    equals the receptive field (training windows: one output frame) the
    model runs the strided form, which computes only that frame; otherwise
    the dilated form, which lifts a whole (edge-padded) sequence in one
    pass.

    Args:
        filter_widths: temporal kernel widths, all odd.
        channels: feature width (1024 in the paper).
        num_frames: training window length (the receptive field by
            default); `None` builds for any length.
        dropout: dropout rate (0.25 in the paper).
        weight_decay: L2 on the convolution kernels (none in the paper).
        momentum: batch-norm momentum (PyTorch's 0.1 is Keras's 0.9).
        num_joints: joints in and out.
        lookahead: future frames in the receptive field of the frame it
            predicts: the centre by default (`(receptive_field - 1) // 2`,
            the paper's symmetric model), 0 for VideoPose3D's causal model.
            The convolutions are the same; training supervises that frame
            of each window, and every sequence protocol reads it there.
        root_relative: subtract the predicted root joint from every joint,
            so the output is root-relative by construction. The MPJPE loss
            measures joints from the predicted root, so without it nothing
            trains the root's own output and it drifts; the sequence
            protocols zero the root and keep the other joints, which then
            carry that drift (a 27-frame model scored 62 mm from its root
            and 121 mm with the root zeroed, average over actions). Models
            saved before this option load without it.
    """

    # How it lifts whole sequences (`tfpose.inference.protocols`).
    SEQUENCE_PROTOCOL = "convolutional"
    # Its paper's training loss as `tfpose.losses.MotionLoss` arguments:
    # MPJPE, no motion term.
    LOSS = {"weight": 0.0, "position": "mpjpe"}

    def __init__(self, filter_widths=(3, 3, 3, 3, 3), channels=1024, num_frames="receptive_field",
                 dropout=0.25, weight_decay=0.0, momentum=0.9,
                 num_joints=skeleton_lib.H36M.num_joints, lookahead=None, root_relative=True,
                 **kwargs):
        super().__init__(**kwargs)
        filter_widths = tuple(int(w) for w in filter_widths)
        if not filter_widths or any(w < 1 or w % 2 == 0 for w in filter_widths):
            raise ValueError(f"`filter_widths` must be odd and positive, got {filter_widths}.")
        self.filter_widths = filter_widths
        self.receptive_field = math.prod(filter_widths)
        if lookahead is None:
            lookahead = (self.receptive_field - 1) // 2
        if not 0 <= int(lookahead) < self.receptive_field:
            raise ValueError(f"`lookahead` must be in [0, {self.receptive_field - 1}] for a "
                             f"receptive field of {self.receptive_field} frames, got {lookahead}.")
        self.lookahead = int(lookahead)
        if num_frames == "receptive_field":
            num_frames = self.receptive_field
        if num_frames is not None and num_frames < self.receptive_field:
            raise ValueError(
                f"`num_frames` ({num_frames}) is shorter than the receptive field "
                f"({self.receptive_field}).")
        self.num_frames = num_frames
        self.channels = int(channels)
        self.dropout = float(dropout)
        self.weight_decay = float(weight_decay)
        self.momentum = float(momentum)
        self.num_joints = int(num_joints)
        self.root_relative = bool(root_relative)
        regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None

        def norm(name):
            return keras.layers.BatchNormalization(momentum=momentum, epsilon=1e-5, name=name)

        self.expand_conv = TemporalConv(channels, filter_widths[0],
                                        kernel_regularizer=regularizer, name="expand_conv")
        self.expand_norm = norm("expand_norm")
        self.convs, self.norms, self.pointwise, self.pointwise_norms = [], [], [], []
        for i, width in enumerate(filter_widths[1:], start=1):
            self.convs.append(TemporalConv(channels, width, kernel_regularizer=regularizer,
                                           name=f"conv_{i}"))
            self.norms.append(norm(f"norm_{i}"))
            self.pointwise.append(TemporalConv(channels, 1, kernel_regularizer=regularizer,
                                               name=f"pointwise_{i}"))
            self.pointwise_norms.append(norm(f"pointwise_norm_{i}"))
        self.drop = keras.layers.Dropout(dropout, name="dropout")
        # float32 under mixed precision too: the loss and metrics see float32.
        # Starts at zero output (every joint at the root), like UGCN's and
        # DG-Net's regressors: a random one starts metres off, and early
        # epochs go into undoing that.
        self.shrink = keras.layers.Conv1D(3 * num_joints, 1, kernel_regularizer=regularizer,
                                          kernel_initializer="zeros", dtype="float32",
                                          name="shrink")
        self.build((None, num_frames, num_joints, 2))

    def build(self, input_shape):
        features = (None, None, self.channels)
        self.expand_conv.build((None, None, 2 * self.num_joints))
        self.expand_norm.build(features)
        for layers in zip(self.convs, self.norms, self.pointwise, self.pointwise_norms):
            for layer in layers:
                layer.build(features)
        self.shrink.build(features)
        self.built = True

    def call(self, keypoints_2d, training=False):
        batch = ops.shape(keypoints_2d)[0]
        frames = keypoints_2d.shape[1]
        x = ops.reshape(keypoints_2d, (batch, -1, 2 * self.num_joints))
        strided = frames == self.receptive_field
        x = self.expand_conv(x, stride=self.filter_widths[0] if strided else 1)
        x = self.drop(ops.relu(self.expand_norm(x, training=training)), training=training)
        dilation = self.filter_widths[0]
        for i, width in enumerate(self.filter_widths[1:]):
            if strided:
                residual = x[:, width // 2 :: width]
                x = self.convs[i](x, stride=width)
            else:
                pad = (width - 1) * dilation // 2
                residual = x[:, pad : ops.shape(x)[1] - pad]
                x = self.convs[i](x, dilation=dilation)
            x = self.drop(ops.relu(self.norms[i](x, training=training)), training=training)
            x = self.pointwise[i](x)
            x = self.drop(ops.relu(self.pointwise_norms[i](x, training=training)),
                          training=training)
            x = residual + x
            dilation *= width
        y = ops.reshape(self.shrink(x), (batch, -1, self.num_joints, 3))
        return skeleton_lib.root_relative(y) if self.root_relative else y

    def output_frames(self, input_frames):
        """Frames out for `input_frames` frames in."""
        return input_frames - self.receptive_field + 1

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "filter_widths": list(self.filter_widths),
            "channels": self.channels,
            "num_frames": self.num_frames,
            "dropout": self.dropout,
            "weight_decay": self.weight_decay,
            "momentum": self.momentum,
            "num_joints": self.num_joints,
            "lookahead": self.lookahead,
            "root_relative": self.root_relative,
        }

    @classmethod
    def from_config(cls, config):
        # Models saved before `root_relative` existed were trained without it.
        return cls(**{"root_relative": False, **config})
