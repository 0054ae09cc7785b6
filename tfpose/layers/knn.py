"""k-nearest-neighbour graphs over joint features (DG-Net Eq. 3 and 10).

Pure functions on `[..., J, C]` tensors whose ops convert to TFLite builtin
ops (`TOPK_V2`, `GATHER`).
"""

from keras import ops


def pairwise_squared_distances(x):
    """`[..., J, C] -> [..., J, J]` squared Euclidean distances.

    Computed as `|x_i|^2 - 2 x_i.x_j + |x_j|^2` (one matmul) after centring
    the joints on their mean: distances do not change, but the cancellation
    in that expansion shrinks with `|x|`, so TensorFlow and TFLite (which
    sum in different orders) agree on nearly tied neighbours far more often.
    """
    x = x - ops.mean(x, axis=-2, keepdims=True)
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

    A batched `tf.gather` (TFLite's builtin `GATHER` with `batch_dims`).
    Neither alternative works as well: `take_along_axis` on the broadcast
    `[B, T, J, J, C]` materialises J copies of every frame (several times
    slower), and one `take` from the flattened joints with per-frame
    offsets added to the indices has an int32 addition that TFLite's
    int16x8 calibration cannot handle.
    """
    import tensorflow as tf  # keras.ops has no batched gather

    return tf.gather(x, indices, batch_dims=2)
