"""What DG-Net's dynamic graph convolutions share: neighbour selection and
edge weighting (Eq. 3-5 and 10-12, and the ablations of Table VII).

A dynamic graph convolution aggregates, for every joint `i`, transformed
features `x^j Phi` of a set of neighbours `j`, each weighted by an edge
score `w(i, j)`:

    y^i = sum_{j in N(i)} w(i, j) x^j Phi

Neighbourhoods (`N(i)`, the `graph` argument; `NEIGHBOURHOODS`):

- `"knn"`: the `k` joints nearest to `i` in a feature space (the paper's
  dynamic graph; DG-Net's "precomputed" ablation is `"knn"` with the 2D
  input as that feature space, see the `guide` call argument);
- `"random"`: `k` random joints per call;
- `"full"`: every joint;
- `"static"`: a fixed 0/1 adjacency given as `adjacency` (the "fixed" and
  "symmetry" ablations).

Weightings (`w`):

- `"fc"`: `sigmoid(FC([x^i, x^j]))` (Eq. 5 and 12);
- `"eg"`: the embedded Gaussian of non-local networks,
  `softmax_{j in N(i)}(theta(x^i) . phi(x^j))`, with linear `theta`, `phi`
  to `embed_channels` (half the input channels by default);
- `"none"`: 1 for every edge.

Sparse styles (`knn`, `random`) gather `k` neighbours per joint; dense ones
(`full`, `static`) multiply by a `[J, J]` weight matrix. Both use only ops
that TFLite has as builtins (`TOPK_V2`, `GATHER`, `BATCH_MATMUL`).
"""

import keras
import numpy as np
from keras import ops

from tfpose.layers import knn

NEIGHBOURHOODS = ("knn", "random", "full", "static")
WEIGHTINGS = ("fc", "eg", "none")
_MASKED = -1e9


@keras.saving.register_keras_serializable(package="tfpose")
class EdgeWeights(keras.layers.Layer):
    """Edge scores `w(i, j)` from the features of `i` and of `j`.

    Args:
        weighting: `"fc"`, `"eg"` or `"none"` (see the module docstring).
        embed_channels: width of `theta` and `phi` for `"eg"`; default half
            the input channels.

    Not called directly: `sparse()` scores `k` gathered neighbours per
    joint, `dense()` every pair under a mask. `build(input_shape)` takes
    the shape of the joint features.
    """

    def __init__(self, weighting="fc", embed_channels=None, **kwargs):
        super().__init__(**kwargs)
        if weighting not in WEIGHTINGS:
            raise ValueError(f"Unknown weighting {weighting!r}; expected one of {WEIGHTINGS}.")
        self.weighting = weighting
        self.embed_channels = None if embed_channels is None else int(embed_channels)
        if weighting == "fc":
            self.fc = keras.layers.Dense(1, dtype=self.dtype_policy, name="fc")

    def build(self, input_shape):
        channels = input_shape[-1]
        if self.weighting == "fc":
            self.fc.build(tuple(input_shape[:-1]) + (2 * channels,))
        elif self.weighting == "eg":
            # Created here: their width depends on the input's.
            embed = self.embed_channels or max(1, channels // 2)
            self.theta, self.phi = (
                keras.layers.Dense(embed, use_bias=False, dtype=self.dtype_policy, name=name)
                for name in ("theta", "phi"))
            self.theta.build(input_shape)
            self.phi.build(input_shape)

    def _halves(self, centres, others):
        # FC on a concatenation = one unit on each half, so each half is
        # projected once per joint instead of once per pair.
        channels = centres.shape[-1]
        kernel = self.fc.kernel
        return ops.matmul(centres, kernel[:channels]), ops.matmul(others, kernel[channels:])

    def sparse(self, centres, others, indices):
        """`[B, T, J, k]` scores of neighbours `indices` (into `others`), or
        `None` for `"none"`."""
        if self.weighting == "none":
            return None
        if self.weighting == "fc":
            own, theirs = self._halves(centres, others)  # [B, T, J, 1] each
            gathered = knn.gather_neighbors(theirs, indices)[..., 0]
            return ops.sigmoid(own + gathered + self.fc.bias)
        query = ops.expand_dims(self.theta(centres), -2)  # [B, T, J, 1, E]
        keys = knn.gather_neighbors(self.phi(others), indices)  # [B, T, J, k, E]
        return ops.softmax(ops.sum(query * keys, axis=-1), axis=-1)

    def dense(self, centres, others, mask):
        """`[B, T, J, J]` scores of every pair `(i, j)`, zero where `mask`
        (`[J, J]`, 0/1) is 0."""
        if self.weighting == "none":
            shape = ops.shape(centres)
            return ops.broadcast_to(mask, (shape[0], shape[1]) + tuple(mask.shape))
        if self.weighting == "fc":
            own, theirs = self._halves(centres, others)
            return ops.sigmoid(own + ops.swapaxes(theirs, -1, -2) + self.fc.bias) * mask
        logits = ops.matmul(self.theta(centres), ops.swapaxes(self.phi(others), -1, -2))
        return ops.softmax(logits + (1.0 - mask) * _MASKED, axis=-1) * mask

    def get_config(self):
        config = super().get_config()
        config.update({"weighting": self.weighting, "embed_channels": self.embed_channels})
        return config


class DynamicGraphConv(keras.layers.Layer):
    """Base of `DynamicSpatialGraphConv` and `DynamicTemporalGraphConv`.

    Args:
        filters: output channels.
        k: neighbours per joint of the sparse graph styles.
        graph: `"knn"`, `"random"`, `"full"` or `"static"`.
        weighting: `"fc"`, `"eg"` or `"none"`.
        adjacency: `[J, J]` 0/1 nested lists, for `graph="static"` only.
        use_bias: add a bias.
        kernel_regularizer: for the kernels.
        seed: seed of the `"random"` graph.
    """

    def __init__(self, filters, k=3, graph="knn", weighting="fc", adjacency=None,
                 use_bias=True, kernel_regularizer=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if graph not in NEIGHBOURHOODS:
            raise ValueError(f"Unknown graph {graph!r}; expected one of {NEIGHBOURHOODS}.")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"Unknown weighting {weighting!r}; expected one of {WEIGHTINGS}.")
        if int(k) < 1:
            raise ValueError(f"`k` must be >= 1, got {k}.")
        if (graph == "static") != (adjacency is not None):
            raise ValueError("`adjacency` is needed by, and only by, graph='static'.")
        if adjacency is not None:
            adjacency = np.asarray(adjacency, np.float32)
            if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
                raise ValueError(f"`adjacency` must be [J, J], got shape {adjacency.shape}.")
            if not np.isin(adjacency, (0.0, 1.0)).all() or (adjacency.sum(1) == 0).any():
                raise ValueError("`adjacency` must be 0/1 with at least one edge per joint.")
        self.filters = int(filters)
        self.k = int(k)
        self.graph = graph
        self.weighting = weighting
        self.adjacency = adjacency
        self.use_bias = bool(use_bias)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if graph == "random" else None

    def _edge_weights(self, name):
        return EdgeWeights(self.weighting, dtype=self.dtype_policy, name=name)

    def _check_input(self, input_shape):
        num_joints = input_shape[-2]
        if num_joints is None:
            return
        if self.graph in ("knn", "random") and self.k > num_joints:
            raise ValueError(f"`k` must be <= the number of joints {num_joints}, got k={self.k}.")
        if self.adjacency is not None and len(self.adjacency) != num_joints:
            raise ValueError(f"`adjacency` is {len(self.adjacency)}x{len(self.adjacency)} but the "
                             f"input has {num_joints} joints.")

    def _kernel(self, name, channels):
        return self.add_weight(name=name, shape=(channels, self.filters),
                               initializer="glorot_uniform", regularizer=self.kernel_regularizer)

    def _build_bias(self):
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)

    def _aggregate(self, centres, others, distances_from, edge_weights, kernel):
        """`sum_j w(i, j) others^j kernel` over the neighbours of every `i`.

        `distances_from` (`[B, T, J, C']`) is the space the kNN graph is
        built in; `centres` and `others` are `[B, T, J, C]`.
        """
        values = ops.matmul(others, kernel)
        num_joints = centres.shape[-2]
        if self.graph in ("full", "static"):
            mask = (ops.ones((num_joints, num_joints), values.dtype) if self.graph == "full"
                    else ops.convert_to_tensor(self.adjacency, values.dtype))
            return ops.matmul(edge_weights.dense(centres, others, mask), values)
        if self.graph == "knn":
            indices = knn.knn_indices(distances_from, self.k)
        else:
            shape = ops.shape(centres)
            indices = knn.random_indices((shape[0], shape[1], num_joints, num_joints), self.k,
                                         self.seed_generator)
        neighbors = knn.gather_neighbors(values, indices)
        scores = edge_weights.sparse(centres, others, indices)
        if scores is not None:
            neighbors = neighbors * ops.expand_dims(scores, -1)
        return ops.sum(neighbors, axis=-2)

    def _add_bias(self, y):
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "k": self.k, "graph": self.graph,
            "weighting": self.weighting,
            "adjacency": None if self.adjacency is None else self.adjacency.astype(int).tolist(),
            "use_bias": self.use_bias,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "seed": self.seed,
        })
        return config
