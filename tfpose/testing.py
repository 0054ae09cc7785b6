"""Helpers shared by the tests (and handy for users' own checks)."""

import numpy as np


def random_rotation(rng):
    """A uniformly random proper rotation matrix `[3, 3]` (det = +1)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q
