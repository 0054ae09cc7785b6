"""k-nearest-neighbour graphs over joint features (DG-Net Eq. 3 and 10).

Pure functions on `[..., J, C]` tensors, built from `keras.ops` that convert
to TFLite builtin ops (`TOPK_V2`, `GATHER`).
"""

from keras import ops


def pairwise_squared_distances(x):
    """`[..., J, C] -> [..., J, J]` squared Euclidean distances."""
    squared = ops.sum(ops.square(x), axis=-1, keepdims=True)
    inner = ops.matmul(x, ops.swapaxes(x, -1, -2))
    return ops.maximum(squared - 2.0 * inner + ops.swapaxes(squared, -1, -2), 0.0)


def knn_indices(x, k):
    """Indices `[..., J, k]` of the `k` nearest joints of every joint.

    Distances are Euclidean between the joints' feature vectors `x`
    (`[..., J, C]`); a joint is its own nearest neighbour (distance 0).
    """
    _, indices = ops.top_k(-pairwise_squared_distances(x), k)
    return indices


def random_indices(shape, k, seed):
    """`k` distinct random joints per joint: `shape` is `[..., J, J]` scores."""
    from keras import random  # local: only the "random" ablation needs it

    _, indices = ops.top_k(random.uniform(shape, seed=seed), k)
    return indices


def gather_neighbors(x, indices):
    """Features of the neighbours: `x [B, T, J, C]`, `indices [B, T, J, k]` ->
    `[B, T, J, k, C]`.

    One `take` from the flattened joints, with per-frame offsets added to
    the indices. (`take_along_axis` on the broadcast `[B, T, J, J, C]` would
    materialise J copies of every frame and was several times slower.)
    """
    shape = ops.shape(x)
    frames = shape[0] * shape[1]
    flat = ops.reshape(x, (-1, x.shape[-1]))
    offsets = ops.reshape(ops.arange(frames, dtype=indices.dtype) * shape[2],
                          (shape[0], shape[1], 1, 1))
    return ops.take(flat, offsets + indices, axis=0)
