"""Helpers shared by the tests (and handy for users' own checks)."""

import numpy as np


def random_rotation(rng):
    """A uniformly random proper rotation matrix `[3, 3]` (det = +1)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def randomize_zero_kernels(model, scale=0.1, seed=0):
    """Gives the zero-initialised output layers random weights, so that an
    untrained model's output depends on its input (tests only)."""
    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        if "kernel" in weight.path and not np.any(weight.numpy()):
            weight.assign(rng.normal(scale=scale, size=weight.shape).astype("float32"))
    return model
