"""DG-Net: dynamical graph network of Zhang et al. (IEEE TIP 2021)."""

import keras
import numpy as np

from tfpose import skeleton as skeleton_lib
from tfpose.layers import (
    BalancedCoordinates,
    FixedSpatialGraphConv,
    GraphResidualModule,
    JointEmbedding,
    RootRelative,
    SpatialNonLocal,
)
from tfpose.layers.dynamic_graph import WEIGHTINGS

# The model's graph variants (Table VII rows), which `DGNet` maps onto the
# neighbourhoods its layers know (`dynamic_graph.NEIGHBOURHOODS`).
GRAPH_VARIANTS = ("dynamic", "precomputed", "fixed", "symmetry", "full", "random")
SPATIAL_KINDS = ("fsg", "dsg")
TEMPORAL_KINDS = ("ftg", "dtg")
NETWORK_OUTPUT = "network"


def static_adjacency(graph, parents, mirror, temporal):
    """`[J, J]` 0/1 graphs of the "fixed" and "symmetry" ablations.

    "fixed": spatially the skeleton's bones and self loops (Eq. 1 with
    self loops), temporally each joint to itself at `t +- 1` (Eq. 8-9).
    "symmetry" (after Fang et al.'s symmetry grammar, the paper's [33]):
    each joint to itself and its left/right mirror joint, in space and in
    time (central joints only to themselves).
    """
    num_joints = len(parents)
    adjacency = np.eye(num_joints, dtype=int)
    if graph == "fixed" and not temporal:
        for child, parent in enumerate(parents):
            if parent >= 0:
                adjacency[child, parent] = adjacency[parent, child] = 1
    elif graph == "symmetry":
        adjacency[np.arange(num_joints), list(mirror)] = 1
    return adjacency.tolist()


@keras.saving.register_keras_serializable(package="tfpose")
class DGNet(keras.Model):
    """Dynamical graph network for 2D -> 3D pose lifting over short windows.

    Architecture (section III-C and Fig. 3 of the paper):

    - embedding: FSG from the 2D input to `channels` (128), BN, ReLU;
    - `num_blocks` (5) DG-Conv blocks, each
      - a dynamical spatial unit: residual FSG module, residual DSG module,
        spatial non-local block;
      - a dynamical temporal unit: residual FTG, DTG and FTG modules,
        spatial non-local block;
      - a block-level 3D head (FSG to 3 channels);
    - a network-level 3D head: FSG to 3 channels on the concatenated
      features of all blocks.

    Every graph convolution sits in a residual module of two layers
    (`GraphResidualModule`). With `multi_level=True` the model outputs a
    dict: `"network"` and `"block_1"` ... `"block_<n>"`, all `[B, T, J, 3]`,
    for the multi-level supervision `L = L_network + lambda * sum L_block`
    (Eq. 15-17, `lambda` = `BLOCK_LOSS_WEIGHT`); `inference_model()` keeps only the
    network-level head, as the paper's deployed model (2.39M vs 2.69M
    parameters with the block heads in the paper's count).

    Ablations: `k_spatial`, `k_temporal` (Table VI); `graph`, the graph
    style of every DSG and DTG (Table VII): `"dynamic"` (kNN in the layer's
    feature space, the paper), `"precomputed"` (kNN on the 2D input, the
    same graph in every layer), `"fixed"` (skeleton in space, the same joint
    in time), `"symmetry"` (mirror joints), `"full"` (all joints),
    `"random"` (k random joints); `weighting` (Table VII): `"fc"`,
    `"eg"` (embedded Gaussian) or `"none"`; `spatial_unit` and
    `temporal_unit`, the graph convolutions of each unit (Table VIII, e.g.
    `("fsg", "dsg", "fsg")` or an empty temporal unit); `num_blocks` and
    `num_frames` (Table IX); `non_local`, `multi_level` and `balanced`
    (Table XI).

    Balanced output (`balanced=True`): the model takes a second input,
    `intrinsics` `[B, 4]` (`(f_x, f_y, c_x, c_y)` in normalised screen
    coordinates, `tfpose.camera.normalized_intrinsics`), and every head's
    pose is averaged with its back-projection through the 2D input
    (`tfpose.layers.BalancedCoordinates`).

    Args:
        num_frames: input frames `T` (4 in the paper) or `None` for any.
        channels: feature width (128).
        num_blocks: DG-Conv blocks (5).
        k_spatial: neighbours in DSG (3).
        k_temporal: neighbours in DTG (4).
        graph: graph style, see above.
        weighting: `"fc"`, `"eg"` or `"none"`.
        spatial_unit: kinds (`"fsg"`, `"dsg"`) of the spatial unit's modules.
        temporal_unit: kinds (`"ftg"`, `"dtg"`) of the temporal unit's modules.
        balanced: the balanced coordinate output (second input).
        root_relative: subtract each head's predicted root from its pose.
            The heads share one kernel over all joints, so they cannot put
            the root at zero by themselves: trained on HDM05 without this,
            the root sat 134 mm off and every root-relative joint with it
            (docs/RESULTS.md). `False` only for models saved before it
            existed (their configs lack the key). The balanced output is
            root-relative either way.
        joint_embedding: add a learned vector per joint to the embedded
            input (`tfpose.layers.JointEmbedding`; not in the paper). Every
            other layer shares its weights over the joints of a left/right
            symmetric graph, so without it the network is exactly
            equivariant to swapping left and right joints and cannot tell
            a body seen from the front from one seen from the back.
            `False` for models saved before it existed.
        non_local: use the spatial non-local blocks.
        multi_level: add the block-level heads (training outputs a dict).
        dropout: dropout rate inside the residual modules.
        momentum: of every batch norm's moving statistics: PyTorch's
            default (its 0.1 is Keras's 0.9), which the paper's PyTorch
            model ran with. Keras's own 0.99 averages over about 100 steps,
            and while DG-Net's deep features change fast that average lags
            them: 200 steps into the release recipe the moving statistics
            scored 417 mm on training windows that the batch statistics
            scored at 194 (docs/RESULTS.md). `0.99` for models saved before
            this argument existed.
        weight_decay: L2 weight decay on the graph-convolution kernels
            (`weight_decay / 2 * |w|^2`).
        parents: joint tree of the input layout (H36M).
        mirror: each joint's left/right mirror joint, for `"symmetry"`.
        seed: seed of the `"random"` graph ablation.

    Input: `keypoints_2d`, `[B, T, J, 2]` normalised screen coordinates
    (and `intrinsics` `[B, 4]` with `balanced=True`).
    Output: `[B, T, J, 3]` root-relative 3D in metres, or a dict of such.
    """

    # How it lifts whole sequences (`tfpose.inference.protocols`).
    SEQUENCE_PROTOCOL = "center"
    # Its paper's training loss (Eq. 15-17): the squared joint error alone
    # (`tfpose.losses.MotionLoss` arguments) on every head, the block-level
    # heads weighted lambda.
    LOSS = {"weight": 0.0}
    BLOCK_LOSS_WEIGHT = 0.1

    def __init__(
        self,
        num_frames=4,
        channels=128,
        num_blocks=5,
        k_spatial=3,
        k_temporal=4,
        graph="dynamic",
        weighting="fc",
        spatial_unit=("fsg", "dsg"),
        temporal_unit=("ftg", "dtg", "ftg"),
        non_local=True,
        multi_level=True,
        balanced=False,
        root_relative=True,
        joint_embedding=True,
        dropout=0.0,
        momentum=0.9,
        weight_decay=0.0,
        parents=skeleton_lib.H36M.parents,
        mirror=None,
        seed=None,
        **kwargs,
    ):
        if graph not in GRAPH_VARIANTS:
            raise ValueError(f"Unknown graph {graph!r}; expected one of {GRAPH_VARIANTS}.")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"Unknown weighting {weighting!r}; expected one of {WEIGHTINGS}.")
        spatial_unit = tuple(spatial_unit)
        temporal_unit = tuple(temporal_unit)
        if not spatial_unit or any(k not in SPATIAL_KINDS for k in spatial_unit):
            raise ValueError(f"`spatial_unit` must be a non-empty sequence of {SPATIAL_KINDS}, "
                             f"got {spatial_unit}.")
        if any(k not in TEMPORAL_KINDS for k in temporal_unit):
            raise ValueError(f"`temporal_unit` must hold only {TEMPORAL_KINDS}, "
                             f"got {temporal_unit}.")
        if int(num_blocks) < 1:
            raise ValueError(f"`num_blocks` must be >= 1, got {num_blocks}.")
        if num_frames is not None and int(num_frames) < 1:
            raise ValueError(f"`num_frames` must be >= 1, got {num_frames}.")
        parents = tuple(int(p) for p in parents)
        if mirror is None:
            if len(parents) != skeleton_lib.H36M.num_joints:
                raise ValueError("Give `mirror` for a layout other than H36M's 17 joints.")
            mirror = skeleton_lib.H36M.flip_permutation()
        mirror = tuple(int(m) for m in mirror)
        if len(mirror) != len(parents):
            raise ValueError(f"`mirror` has {len(mirror)} joints, `parents` {len(parents)}.")
        regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
        layer_graph = {"dynamic": "knn", "precomputed": "knn", "full": "full",
                       "random": "random"}.get(graph, "static")

        def module(kind, name, index):
            k = k_spatial if kind == "dsg" else k_temporal
            adjacency = None
            if layer_graph == "static" and kind in ("dsg", "dtg"):
                adjacency = static_adjacency(graph, parents, mirror, temporal=kind == "dtg")
            return GraphResidualModule(
                kind, channels, k=k, graph=layer_graph, weighting=weighting,
                adjacency=adjacency, dropout=dropout, parents=parents,
                kernel_regularizer=regularizer, momentum=momentum,
                seed=None if seed is None else seed + 10 * index, name=name)

        def apply(kind, name, index, x):
            layer = module(kind, name, index)
            if graph == "precomputed" and kind in ("dsg", "dtg"):
                return layer(x, guide=inputs)
            return layer(x)

        def head(name):
            # Heads start at zero output (every joint at the root), as
            # UGCN's regressor does, rather than metres away.
            # float32 under mixed precision too, for the loss and metrics.
            return FixedSpatialGraphConv(3, parents=parents, kernel_initializer="zeros",
                                         dtype="float32", name=name)

        # === Functional Model ===
        inputs = keras.Input((num_frames, len(parents), 2), name="keypoints_2d")
        model_inputs = inputs
        if balanced:
            intrinsics = keras.Input((4,), name="intrinsics")
            model_inputs = [inputs, intrinsics]
            balance = BalancedCoordinates(root=parents.index(-1), dtype="float32",
                                          name="balanced")

        root = parents.index(-1)

        def pose(features, name):
            y = head(name)(features)
            if balanced:
                return balance(y, inputs, intrinsics)
            if root_relative:
                return RootRelative(root, dtype="float32", name=f"{name}_root_relative")(y)
            return y

        x = FixedSpatialGraphConv(channels, parents=parents, use_bias=False,
                                  kernel_regularizer=regularizer, name="embedding")(inputs)
        if joint_embedding:
            x = JointEmbedding(name="joint_embedding")(x)
        x = keras.layers.BatchNormalization(momentum=momentum, name="embedding_norm")(x)
        x = keras.layers.ReLU(name="embedding_relu")(x)
        features, outputs = [], {}
        for b in range(1, int(num_blocks) + 1):
            for unit, kinds in (("spatial", spatial_unit), ("temporal", temporal_unit)):
                if not kinds:
                    continue
                for m, kind in enumerate(kinds, start=1):
                    # Module m of a unit gets its own seeds (the "random" graph).
                    x = apply(kind, f"block_{b}_{unit}_{m}_{kind}", 100 * b + 10 * m, x)
                if non_local:
                    x = SpatialNonLocal(momentum=momentum,
                                        name=f"block_{b}_{unit}_non_local")(x)
            features.append(x)
            if multi_level:
                outputs[f"block_{b}"] = pose(x, f"block_{b}_head")
        merged = (keras.layers.Concatenate(name="concatenate_blocks")(features)
                  if len(features) > 1 else features[0])
        network = pose(merged, "network_head")
        if multi_level:
            outputs = {NETWORK_OUTPUT: network, **outputs}
        else:
            outputs = network
        super().__init__(inputs=model_inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_frames = None if num_frames is None else int(num_frames)
        self.channels = int(channels)
        self.num_blocks = int(num_blocks)
        self.k_spatial = int(k_spatial)
        self.k_temporal = int(k_temporal)
        self.graph = graph
        self.weighting = weighting
        self.spatial_unit = spatial_unit
        self.temporal_unit = temporal_unit
        self.non_local = bool(non_local)
        self.multi_level = bool(multi_level)
        self.balanced = bool(balanced)
        self.root_relative = bool(root_relative)
        self.joint_embedding = bool(joint_embedding)
        self.dropout = float(dropout)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.parents = parents
        self.mirror = mirror
        self.seed = seed

    def get_config(self):
        return {
            "name": self.name, "trainable": self.trainable, "num_frames": self.num_frames,
            "channels": self.channels, "num_blocks": self.num_blocks,
            "k_spatial": self.k_spatial, "k_temporal": self.k_temporal, "graph": self.graph,
            "weighting": self.weighting, "spatial_unit": list(self.spatial_unit),
            "temporal_unit": list(self.temporal_unit), "non_local": self.non_local,
            "multi_level": self.multi_level, "balanced": self.balanced,
            "root_relative": self.root_relative, "joint_embedding": self.joint_embedding,
            "dropout": self.dropout,
            "momentum": self.momentum, "weight_decay": self.weight_decay,
            "parents": list(self.parents),
            "mirror": list(self.mirror), "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        # Models saved before `root_relative`, `joint_embedding` and
        # `momentum` existed were trained without the first two and with
        # Keras's default of the third.
        return cls(**{"root_relative": False, "joint_embedding": False, "momentum": 0.99,
                      **config})

    def inference_model(self):
        """The deployed model: input -> network-level head, shared weights."""
        if not self.multi_level:
            return self
        network = self.output[NETWORK_OUTPUT]
        return keras.Model(self.inputs if self.balanced else self.inputs[0], network,
                           name=f"{self.name}_inference")
