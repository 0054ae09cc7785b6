"""Euler angles to rotation matrices, in any axis order.

Motion capture formats store a joint's rotation as angles about the
coordinate axes, applied in an order the file declares. `matrices(angles,
"ZXY")` is `Rz(a0) @ Rx(a1) @ Ry(a2)`: the first axis listed is the
outermost rotation, so a point in the joint's frame is turned about the
last axis first. That is the BVH reading of `CHANNELS ... Zrotation
Xrotation Yrotation`; an ASF order `XYZ` (X applied first) is `"ZYX"` with
the angles reversed.
"""

import numpy as np


def axis_matrices(angles, axis):
    """Rotations about one axis `"x"`, `"y"` or `"z"`: `[...]` radians -> `[..., 3, 3]`."""
    a = np.asarray(angles, np.float64)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    i = "xyz".index(axis.lower())
    j, k = (i + 1) % 3, (i + 2) % 3
    m[..., i, i] = 1.0
    m[..., j, j] = c
    m[..., k, k] = c
    m[..., j, k] = -s
    m[..., k, j] = s
    return m


def matrices(angles, axes):
    """`[..., n]` radians about `axes` (n letters) -> `[..., 3, 3]`, outermost first."""
    a = np.asarray(angles, np.float64)
    if a.shape[-1] != len(axes):
        raise ValueError(f"{len(axes)} axes {axes!r} for {a.shape[-1]} angles.")
    if not axes:
        return np.broadcast_to(np.eye(3), a.shape[:-1] + (3, 3)).copy()
    m = axis_matrices(a[..., 0], axes[0])
    for i in range(1, len(axes)):
        m = m @ axis_matrices(a[..., i], axes[i])
    return m
