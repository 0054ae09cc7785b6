"""UGCN: the U-shaped spatial-temporal graph network of Wang et al. (ECCV 2020)."""

import weakref

import keras

from tfpose import skeleton as skeleton_lib
from tfpose.layers import JointEmbedding, STGCNBlock, TemporalUpsample

# The paper gives no channel widths. These double at every temporal
# downsampling, from 16 to 256 (as ST-GCN widens with depth), which gives
# 1.61M parameters, the size of the public PyTorch re-implementation of
# UGCN. Index i is the width of down block i + 1; each up block takes the
# width of the down block whose output it meets.
DOWN_CHANNELS = (16, 32, 32, 64, 64, 128, 128, 256, 256)
STRIDED_BLOCKS = (1, 3, 5, 7)  # 0-based: the 2nd, 4th, 6th and 8th blocks
SHORTCUT_BLOCKS = (6, 4, 2, 0)  # down block whose output meets up block i


@keras.saving.register_keras_serializable(package="tfpose")
class UGCN(keras.Model):
    """U-shaped graph convolutional network for 2D -> 3D pose sequences.

    Three stages of `STGCNBlock`s (Fig. 4 of the paper):

    1. Downsampling: 9 blocks; blocks 2, 4, 6, 8 have temporal stride 2,
       so the deepest features have `T / 16` frames.
    2. Upsampling: 4 blocks, each followed by x2 nearest-neighbour
       upsampling in time (Eq. 11); after each, the output of the
       downsampling block with the same temporal resolution (blocks 7, 5, 3,
       1) is added (the U-net shortcuts).
    3. Merging: the four upsampling outputs (at `T/8, T/4, T/2, T`) are
       each projected to `merge_channels` by a 1x1 convolution, upsampled
       to `T` frames and concatenated: the multi-scale embedding.

    A final st-gcn regressor (graph convolution, then temporal convolution
    to 3 channels; no norm or activation; its last kernel starts at zero)
    outputs the root-relative 3D pose.

    Ablations of the paper: `num_pairs` down/up-sampling pairs (Table 3:
    0, 1, 2, 4; the first `num_pairs` strided blocks keep stride 2 and the
    last `num_pairs` upsampling blocks upsample), `merge=False` (the
    regressor reads the last upsampling output; Table 4) and
    `spatial_graph=False` (every graph convolution sees only its own
    joint; Table 4).

    Args:
        num_frames: input frames `T`, a multiple of `2 ** num_pairs`, or
            `None` for any such length.
        down_channels: widths of the 9 downsampling blocks.
        merge_channels: width of each scale in the merging stage.
        num_pairs: number of down/up-sampling pairs, 0 to 4.
        merge: use the merging stage.
        spatial_graph: use the skeleton graph (else joints are independent).
        temporal_kernel: temporal kernel size of every block.
        dropout: dropout rate of every block.
        weight_decay: L2 weight decay on convolution kernels; the penalty
            `weight_decay / 2 * |w|^2` has the gradient `weight_decay * w`
            of the paper's (PyTorch Adam) weight decay.
        parents: joint tree of the input layout (H36M by default); its
            length is the number of joints `J`.
        joint_embedding: add a learned vector per joint to the first
            block's output (`tfpose.layers.JointEmbedding`; not in the
            paper). The blocks share their kernels over the joints of a
            left/right symmetric graph, so without it UGCN is exactly
            equivariant to swapping left and right joints (docs/MODELS.md).
        batch_norm: batch normalisation in every block (the paper's);
            `False` is the form `inference_model()` folds a trained model
            into.
        causal: every temporal convolution padded in the past only (not
            in the paper), each strided one ending its groups on the
            window's last frame and each upsampling reading the newest
            coarse frame that has seen no later input, so each output frame
            depends on its own and earlier input frames only, and the
            window's last frame reads every scale's newest features. Such a
            model is read at its window's last frame (`sequence_protocol`
            is `"causal"`), where it has the most context, for live lifting
            with no delay (docs/MODELS.md).

    Input: `keypoints_2d`, `[B, T, J, 2]` normalised screen coordinates.
    Output: `[B, T, J, 3]` root-relative 3D in metres (camera frame).
    """

    # How it lifts whole sequences (`tfpose.inference.protocols`).
    SEQUENCE_PROTOCOL = "average"
    # Its paper's training loss as `tfpose.losses.MotionLoss` arguments:
    # none, since MotionLoss's defaults are UGCN's Eq. 6 (lambda = 1).
    LOSS = {}

    def __init__(
        self,
        num_frames=96,
        down_channels=DOWN_CHANNELS,
        merge_channels=64,
        num_pairs=4,
        merge=True,
        spatial_graph=True,
        temporal_kernel=5,
        dropout=0.5,
        weight_decay=1e-5,
        parents=skeleton_lib.H36M.parents,
        joint_embedding=False,
        batch_norm=True,
        causal=False,
        **kwargs,
    ):
        down_channels = tuple(int(c) for c in down_channels)
        if len(down_channels) != 9:
            raise ValueError(f"`down_channels` needs 9 widths, got {len(down_channels)}.")
        if not 0 <= int(num_pairs) <= 4:
            raise ValueError(f"`num_pairs` must be in 0..4, got {num_pairs}.")
        num_pairs = int(num_pairs)
        factor = 2**num_pairs
        if num_frames is not None and (num_frames < factor or num_frames % factor):
            raise ValueError(
                f"`num_frames` must be a multiple of {factor} with num_pairs="
                f"{num_pairs}, got {num_frames}."
            )
        parents = tuple(int(p) for p in parents)
        num_joints = len(parents)
        regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
        partition = "spatial" if spatial_graph else "none"

        def block(filters, name, stride=1, **extra):
            options = dict(
                temporal_kernel=temporal_kernel, stride=stride, dropout=dropout,
                parents=parents, partition=partition, kernel_regularizer=regularizer,
                batch_norm=batch_norm, causal=causal,
            )
            options.update(extra)
            return STGCNBlock(filters, name=name, **options)

        # === Functional Model ===
        inputs = keras.Input((num_frames, num_joints, 2), name="keypoints_2d")
        strided = STRIDED_BLOCKS[:num_pairs]
        down = []
        x = inputs
        for i, filters in enumerate(down_channels):
            x = block(filters, f"down_{i + 1}", stride=2 if i in strided else 1)(x)
            if i == 0 and joint_embedding:
                x = JointEmbedding(name="joint_embedding")(x)
            down.append(x)
        scales = []
        for i, shortcut in enumerate(SHORTCUT_BLOCKS):
            x = block(down_channels[shortcut], f"up_{i + 1}")(x)
            if i >= 4 - num_pairs:
                x = TemporalUpsample(2, causal=causal, name=f"upsample_{i + 1}")(x)
            x = keras.layers.Add(name=f"shortcut_{i + 1}")([x, down[shortcut]])
            scales.append(x)
        if merge:
            merged = []
            for i, scale in enumerate(scales):
                h = keras.layers.Conv2D(
                    merge_channels, 1, kernel_regularizer=regularizer, name=f"merge_conv_{i + 1}"
                )(scale)
                # Scale i is as many x2 steps below T as later up blocks upsample.
                steps = len([j for j in range(i + 1, 4) if j >= 4 - num_pairs])
                if steps:
                    h = TemporalUpsample(
                        2**steps, causal=causal, name=f"merge_upsample_{i + 1}"
                    )(h)
                merged.append(h)
            x = keras.layers.Concatenate(name="merge")(merged)
        # The regressor starts at zero output (every joint at the root): a
        # randomly initialised one starts metres off, and the first epochs
        # go into undoing that.
        # float32 even under a mixed-precision policy: the loss and metrics
        # see float32 poses.
        outputs = block(
            3, "regressor", activation=None, batch_norm=False, dropout=0.0, residual=False,
            temporal_initializer="zeros", dtype="float32",
        )(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_frames = num_frames
        self.down_channels = down_channels
        self.merge_channels = int(merge_channels)
        self.num_pairs = num_pairs
        self.merge = bool(merge)
        self.spatial_graph = bool(spatial_graph)
        self.temporal_kernel = int(temporal_kernel)
        self.dropout = float(dropout)
        self.weight_decay = float(weight_decay)
        self.parents = parents
        self.joint_embedding = bool(joint_embedding)
        self.batch_norm = bool(batch_norm)
        self.causal = bool(causal)

    @property
    def sequence_protocol(self):
        """How this instance lifts whole sequences: the paper's `"average"`,
        or `"causal"` (read at each window's end) for a causal model."""
        return "causal" if self.causal else self.SEQUENCE_PROTOCOL

    @property
    def stream_period(self):
        """Frames between window frames at the same place in every scale's
        grid (`2 ** num_pairs`): each such frame of a causal model is the
        live reading of a window that ends there
        (`tfpose.losses.MotionLoss(stream_reads=...)`)."""
        return self.frame_multiple

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_frames": self.num_frames,
            "down_channels": list(self.down_channels),
            "merge_channels": self.merge_channels,
            "num_pairs": self.num_pairs,
            "merge": self.merge,
            "spatial_graph": self.spatial_graph,
            "temporal_kernel": self.temporal_kernel,
            "dropout": self.dropout,
            "weight_decay": self.weight_decay,
            "parents": list(self.parents),
            "joint_embedding": self.joint_embedding,
            "batch_norm": self.batch_norm,
            "causal": self.causal,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def inference_model(self):
        """The same inference function, cheaper: a copy without batch norm
        whose convolutions carry the frozen statistics (`batch_norm=False`,
        see `STGCNBlock.fold_batch_norm_into`).
        Equal to `self(x, training=False)` up to float rounding. For
        evaluation and export, not for training."""
        if not self.batch_norm:
            return self
        folded = UGCN(**{**self.get_config(), "batch_norm": False,
                         "name": f"{self.name}_inference"})
        for layer in self.layers:
            target = folded.get_layer(layer.name)
            if isinstance(layer, STGCNBlock) and layer.batch_norm:
                layer.fold_batch_norm_into(target)
            else:
                for source, weight in zip(layer.weights, target.weights):
                    weight.assign(source)
        return folded

    def tail_model(self, frames=1, lookahead=0):
        """A model of the same layers (weights shared) whose output is
        `frames` frames of this causal model's, those that end `lookahead`
        frames before the window's end (`[B, frames, J, 3]`), computing
        only what they depend on.

        A causal model reads its windows near their end (the causal
        protocol, live streaming), and each output frame depends on its
        own and earlier frames only, so everything the read frames do not
        depend on can go: in the decoder, merging stage and regressor, a
        few frames of each scale instead of all of them (at T = 96 the
        encoder's every frame is still needed). Every tensor keeps only
        its last frames, as many as the frames read downstream depend on
        (`_block_need`, `_upsample_need`). A causal convolution's zero
        padding then sits before a tensor's slice instead of before the
        window, which changes only the frames that are cut afterwards, so
        the result equals `self(x)[:, T - lookahead - frames : T -
        lookahead]` up to float rounding. For inference only: in training,
        batch norm would see the sliced frames' statistics. One tail per
        `(frames, lookahead)` is built and kept. A model built for any
        length (`num_frames=None`) cannot check that its windows are long
        enough for the read: give it at least `frames + lookahead`.
        """
        if not self.causal:
            raise ValueError("Only a causal UGCN's outputs depend on their past alone; "
                             "`tail_model` needs `causal=True`.")
        frames, lookahead = int(frames), int(lookahead)
        num_frames = self.num_frames
        if frames < 1 or lookahead < 0 or (
                num_frames is not None and frames + lookahead > num_frames):
            raise ValueError(f"`frames` >= 1 and `lookahead` >= 0 must fit the window of "
                             f"{num_frames} frames together, got {frames} and {lookahead}.")
        tails = _TAILS.setdefault(self, {})
        if (frames, lookahead) not in tails:
            tails[frames, lookahead] = self._build_tail(frames, lookahead)
        return tails[frames, lookahead]

    def _build_tail(self, frames, lookahead):
        num_frames = self.num_frames
        read = frames
        frames += lookahead
        get = self.get_layer
        up_pairs = [i >= 4 - self.num_pairs for i in range(4)]  # up block i upsamples
        downs = [get(f"down_{i + 1}") for i in range(9)]
        ups = [get(f"up_{i + 1}") for i in range(4)]
        regressor = get("regressor")

        # Frames needed, backwards from the output: of the merged features,
        # of each scale, of each up block's output, of each down block's.
        merged_need = _block_need(regressor, frames)
        scale_need = [0] * 4
        if self.merge:
            for i in range(4):
                steps = sum(up_pairs[i + 1:])
                scale_need[i] = _upsample_need(merged_need, 2**steps)
        else:
            scale_need[3] = merged_need
        up_out_need = [0] * 4
        down_need = [0] * 9
        for i in reversed(range(4)):
            up_out_need[i] = (_upsample_need(scale_need[i], 2) if up_pairs[i]
                              else scale_need[i])
            down_need[SHORTCUT_BLOCKS[i]] = max(down_need[SHORTCUT_BLOCKS[i]], scale_need[i])
            block_input = _block_need(ups[i], up_out_need[i])
            if i:
                scale_need[i - 1] = max(scale_need[i - 1], block_input)
            else:
                down_need[8] = max(down_need[8], block_input)
        for i in reversed(range(1, 9)):
            down_need[i - 1] = max(down_need[i - 1], _block_need(downs[i], down_need[i]))
        input_need = _block_need(downs[0], down_need[0])

        def last(x, count):
            length = x.shape[1]
            return x if length is not None and count >= length else x[:, -count:]

        inputs = keras.Input((num_frames, len(self.parents), 2), name="keypoints_2d")
        x = last(inputs, input_need)
        down = []
        for i, block in enumerate(downs):
            x = block(x if i == 0 else last(x, _block_need(block, down_need[i])))
            if i == 0 and self.joint_embedding:
                x = get("joint_embedding")(x)
            down.append(x)
        scales = []
        for i, block in enumerate(ups):
            x = last(block(last(x, _block_need(block, up_out_need[i]))), up_out_need[i])
            if up_pairs[i]:
                x = get(f"upsample_{i + 1}")(x)
            x = get(f"shortcut_{i + 1}")([last(x, scale_need[i]),
                                          last(down[SHORTCUT_BLOCKS[i]], scale_need[i])])
            scales.append(x)
        if self.merge:
            merged = []
            for i, scale in enumerate(scales):
                steps = sum(up_pairs[i + 1:])
                h = get(f"merge_conv_{i + 1}")(last(scale, _upsample_need(merged_need,
                                                                          2**steps)))
                if steps:
                    h = get(f"merge_upsample_{i + 1}")(h)
                merged.append(last(h, merged_need))
            x = get("merge")(merged)
        outputs = last(regressor(last(x, merged_need)), frames)
        if lookahead:
            outputs = outputs[:, :read]
        return keras.Model(inputs, outputs, name=f"{self.name}_tail")

    @property
    def frame_multiple(self):
        """Input lengths must be multiples of this."""
        return 2**self.num_pairs


# Each causal UGCN's tail models by (frames, lookahead), built once: every
# build adds nodes to the shared layers. Not an attribute, which Keras
# would track (and save) as part of the model.
_TAILS = weakref.WeakKeyDictionary()


def _block_need(block, frames):
    """Input frames that a causal `STGCNBlock`'s last `frames` outputs
    depend on: the strided groups end on the last input frame, and each
    output reads `temporal_kernel` frames back from its group's end."""
    return block.stride * (frames - 1) + block.temporal_kernel


def _upsample_need(frames, factor):
    """Coarse frames that a causal x`factor` upsampling's last `frames`
    outputs read (`TemporalUpsample`: fine frame `t` reads coarse frame
    `floor((t + 1) / factor) - 1`)."""
    return 1 + (frames - 1 + factor - 1) // factor
