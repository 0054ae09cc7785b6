"""DG-Net: dynamical graph network of Zhang et al. (IEEE TIP 2021)."""

import keras

from tfpose import skeleton as skeleton_lib
from tfpose.layers import FixedSpatialGraphConv, GraphResidualModule, SpatialNonLocal

GRAPHS = ("dynamic", "fixed", "full", "random")
NETWORK_OUTPUT = "network"


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
    (Eq. 15-17, `lambda = 0.1`); `inference_model()` keeps only the
    network-level head, as the paper's deployed model (2.39M vs 2.69M
    parameters with the block heads in the paper's count).

    Ablations: `k_spatial`, `k_temporal` (Table VI), `graph` (Table VII:
    `"dynamic"` kNN graphs, `"fixed"` skeleton/identity only, i.e. DSG and
    DTG replaced by FSG and FTG, `"full"` all joints, `"random"` random
    neighbours), `weighting` (Table VII: `"fc"` or `"none"`), `num_blocks`
    and `num_frames` (Table IX), `non_local` and `multi_level` (Table XI).

    Args:
        num_frames: input frames `T` (4 in the paper) or `None` for any.
        channels: feature width (128).
        num_blocks: DG-Conv blocks (5).
        k_spatial: neighbours in DSG (3).
        k_temporal: neighbours in DTG (4).
        graph: graph style, see above.
        weighting: `"fc"` or `"none"`.
        non_local: use the spatial non-local blocks.
        multi_level: add the block-level heads (training outputs a dict).
        dropout: dropout rate inside the residual modules.
        weight_decay: L2 weight decay on the graph-convolution kernels
            (`weight_decay / 2 * |w|^2`).
        parents: joint tree of the input layout (H36M).
        seed: seed of the `"random"` graph ablation.

    Input: `keypoints_2d`, `[B, T, J, 2]` normalised screen coordinates.
    Output: `[B, T, J, 3]` root-relative 3D in metres, or a dict of such.
    """

    def __init__(
        self,
        num_frames=4,
        channels=128,
        num_blocks=5,
        k_spatial=3,
        k_temporal=4,
        graph="dynamic",
        weighting="fc",
        non_local=True,
        multi_level=True,
        dropout=0.0,
        weight_decay=0.0,
        parents=skeleton_lib.H36M.parents,
        seed=None,
        **kwargs,
    ):
        if graph not in GRAPHS:
            raise ValueError(f"Unknown graph {graph!r}; expected one of {GRAPHS}.")
        if int(num_blocks) < 1:
            raise ValueError(f"`num_blocks` must be >= 1, got {num_blocks}.")
        if num_frames is not None and int(num_frames) < 1:
            raise ValueError(f"`num_frames` must be >= 1, got {num_frames}.")
        parents = tuple(int(p) for p in parents)
        regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
        layer_graph = {"dynamic": "knn", "full": "full", "random": "random"}.get(graph)

        def module(kind, name, index):
            if graph == "fixed":
                kind = {"dsg": "fsg", "dtg": "ftg"}.get(kind, kind)
            k = k_spatial if kind == "dsg" else k_temporal
            return GraphResidualModule(
                kind, channels, k=k, graph=layer_graph or "knn", weighting=weighting,
                dropout=dropout, parents=parents, kernel_regularizer=regularizer,
                seed=None if seed is None else seed + 10 * index, name=name)

        def head(name):
            # Heads start at zero output (every joint at the root), as
            # UGCN's regressor does, rather than metres away.
            return FixedSpatialGraphConv(3, parents=parents, kernel_initializer="zeros",
                                         name=name)

        # === Functional Model ===
        inputs = keras.Input((num_frames, len(parents), 2), name="keypoints_2d")
        x = FixedSpatialGraphConv(channels, parents=parents, use_bias=False,
                                  kernel_regularizer=regularizer, name="embedding")(inputs)
        x = keras.layers.BatchNormalization(name="embedding_norm")(x)
        x = keras.layers.ReLU(name="embedding_relu")(x)
        features, outputs = [], {}
        for b in range(1, int(num_blocks) + 1):
            x = module("fsg", f"block_{b}_spatial_fsg", 4 * b)(x)
            x = module("dsg", f"block_{b}_spatial_dsg", 4 * b + 1)(x)
            if non_local:
                x = SpatialNonLocal(name=f"block_{b}_spatial_non_local")(x)
            x = module("ftg", f"block_{b}_temporal_ftg_1", 4 * b + 2)(x)
            x = module("dtg", f"block_{b}_temporal_dtg", 4 * b + 3)(x)
            x = module("ftg", f"block_{b}_temporal_ftg_2", 4 * b + 2)(x)
            if non_local:
                x = SpatialNonLocal(name=f"block_{b}_temporal_non_local")(x)
            features.append(x)
            if multi_level:
                outputs[f"block_{b}"] = head(f"block_{b}_head")(x)
        merged = (keras.layers.Concatenate(name="concatenate_blocks")(features)
                  if len(features) > 1 else features[0])
        network = head("network_head")(merged)
        if multi_level:
            outputs = {NETWORK_OUTPUT: network, **outputs}
        else:
            outputs = network
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_frames = None if num_frames is None else int(num_frames)
        self.channels = int(channels)
        self.num_blocks = int(num_blocks)
        self.k_spatial = int(k_spatial)
        self.k_temporal = int(k_temporal)
        self.graph = graph
        self.weighting = weighting
        self.non_local = bool(non_local)
        self.multi_level = bool(multi_level)
        self.dropout = float(dropout)
        self.weight_decay = float(weight_decay)
        self.parents = parents
        self.seed = seed

    def get_config(self):
        return {
            "name": self.name, "trainable": self.trainable, "num_frames": self.num_frames,
            "channels": self.channels, "num_blocks": self.num_blocks,
            "k_spatial": self.k_spatial, "k_temporal": self.k_temporal, "graph": self.graph,
            "weighting": self.weighting, "non_local": self.non_local,
            "multi_level": self.multi_level, "dropout": self.dropout,
            "weight_decay": self.weight_decay, "parents": list(self.parents), "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def inference_model(self):
        """The deployed model: input -> network-level head, shared weights."""
        if not self.multi_level:
            return self
        return keras.Model(self.inputs[0], self.get_layer("network_head").output,
                           name=f"{self.name}_inference")
