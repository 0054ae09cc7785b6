"""Joint topologies as data: Human3.6M-17 and COCO-17, graph partitions.

Shorthands: `J` is the number of joints, `T` the number of frames.

The Human3.6M 17-joint layout is the one of VideoPose3D (the 32 motion
capture joints with the 15 static or duplicated ones removed, shoulders
re-attached to the thorax). Every tfpose model reads and writes poses in this
order:

    0 Hip (root)   4 LHip    7 Spine      11 LShoulder  14 RShoulder
    1 RHip         5 LKnee   8 Thorax     12 LElbow     15 RElbow
    2 RKnee        6 LFoot   9 Neck/Nose  13 LWrist     16 RWrist
    3 RFoot                 10 Head

("Foot" is the ankle, as in Human3.6M.)
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Skeleton:
    """A joint tree.

    Args:
        names: joint names, `J` strings.
        parents: parent index of each joint, `-1` for the root.
        joints_left: joints on the subject's left side.
        joints_right: their mirror images on the right side, in the same
            order, so that `joints_left[i]` and `joints_right[i]` swap under
            a horizontal flip.
    """

    names: tuple
    parents: tuple
    joints_left: tuple
    joints_right: tuple

    def __post_init__(self):
        num = len(self.names)
        if len(self.parents) != num:
            raise ValueError(
                f"`parents` has {len(self.parents)} entries for {num} joints."
            )
        roots = [j for j, p in enumerate(self.parents) if p == -1]
        if len(roots) != 1:
            raise ValueError(f"A skeleton needs one root, got {roots}.")
        if len(self.joints_left) != len(self.joints_right):
            raise ValueError("`joints_left` and `joints_right` differ in length.")

    @property
    def num_joints(self):
        return len(self.names)

    @property
    def root(self):
        return self.parents.index(-1)

    @property
    def edges(self):
        """Bones as `(parent, child)` pairs, in joint order."""
        return tuple((p, j) for j, p in enumerate(self.parents) if p >= 0)

    def index(self, name):
        return self.names.index(name)

    def flip_permutation(self):
        """Joint permutation that swaps left and right (an involution)."""
        perm = list(range(self.num_joints))
        for left, right in zip(self.joints_left, self.joints_right):
            perm[left], perm[right] = right, left
        return np.asarray(perm, dtype=np.int32)

    def adjacency(self, self_loops=False):
        """Symmetric 0/1 adjacency `[J, J]` of the bones (Eq. 1 of DG-Net)."""
        a = np.zeros((self.num_joints, self.num_joints), np.float32)
        for p, c in self.edges:
            a[p, c] = a[c, p] = 1.0
        if self_loops:
            a += np.eye(self.num_joints, dtype=np.float32)
        return a

    def hop_distance(self):
        """Number of bones between each joint and the root, `[J]` int."""
        hops = np.full(self.num_joints, -1, np.int32)
        hops[self.root] = 0
        # Parents may come after children in some layouts: iterate to a fixpoint.
        changed = True
        while changed:
            changed = False
            for j, p in enumerate(self.parents):
                if p >= 0 and hops[p] >= 0 and hops[j] < 0:
                    hops[j] = hops[p] + 1
                    changed = True
        if (hops < 0).any():
            raise ValueError("Some joints are not connected to the root.")
        return hops

    def bone_lengths(self, poses):
        """Length of each bone in `edges` order, `[..., J, 3] -> [..., J-1]`."""
        poses = np.asarray(poses)
        parents, children = np.asarray(self.edges).T
        return np.linalg.norm(poses[..., children, :] - poses[..., parents, :], axis=-1)


H36M = Skeleton(
    names=(
        "Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine",
        "Thorax", "Neck/Nose", "Head", "LShoulder", "LElbow", "LWrist",
        "RShoulder", "RElbow", "RWrist",
    ),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    joints_left=(4, 5, 6, 11, 12, 13),
    joints_right=(1, 2, 3, 14, 15, 16),
)

# Columns of Human3.6M's 32-joint motion capture kept in H36M (VideoPose3D's
# `remove_joints([4, 5, 9, 10, 11, 16, 20, 21, 22, 23, 24, 28, 29, 30, 31])`).
H36M_32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)

# COCO-17 keypoints, as output by most 2D detectors (Detectron, MMPose, ...).
# The tree is rooted at the nose only so that flips and graphs can read it;
# COCO defines no root.
COCO17 = Skeleton(
    names=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
        "right_knee", "left_ankle", "right_ankle",
    ),
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    joints_left=(1, 3, 5, 7, 9, 11, 13, 15),
    joints_right=(2, 4, 6, 8, 10, 12, 14, 16),
)


def root_relative(poses, root=0):
    """Poses `[..., J, 3]` (numpy or tensors) minus their root joint: the
    form every tfpose target, metric and output takes."""
    return poses - poses[..., root : root + 1, :]


def coco_to_h36m(keypoints):
    """Converts COCO-17 keypoints to the H36M-17 layout, `[..., 17, C]`.

    Limb joints map one to one. The joints COCO lacks are synthesised
    from the others:

    - Hip: midpoint of the two hips.
    - Thorax: midpoint of the two shoulders.
    - Spine: midpoint of Hip and Thorax.
    - Neck/Nose: the nose.
    - Head: the midpoint of the eyes, moved away from the nose by the
      nose-to-eyes offset, which lands near the top of the forehead.

    Works on any trailing channel count `C` (pixels or normalised
    coordinates); convert per-joint confidences with
    `coco_to_h36m_confidence`.

    Args:
        keypoints: array `[..., 17, C]` in COCO-17 order.

    Returns:
        float32 array `[..., 17, C]` in H36M order.
    """
    k = np.asarray(keypoints, dtype=np.float32)
    if k.ndim < 2 or k.shape[-2] != 17:
        raise ValueError(
            f"COCO-17 keypoints must have shape [..., 17, C], got {k.shape}."
        )
    c = COCO17.index
    hip = 0.5 * (k[..., c("left_hip"), :] + k[..., c("right_hip"), :])
    thorax = 0.5 * (k[..., c("left_shoulder"), :] + k[..., c("right_shoulder"), :])
    eyes = 0.5 * (k[..., c("left_eye"), :] + k[..., c("right_eye"), :])
    nose = k[..., c("nose"), :]
    head = eyes + (eyes - nose)
    joints = [
        hip,
        k[..., c("right_hip"), :], k[..., c("right_knee"), :],
        k[..., c("right_ankle"), :],
        k[..., c("left_hip"), :], k[..., c("left_knee"), :],
        k[..., c("left_ankle"), :],
        0.5 * (hip + thorax), thorax, nose, head,
        k[..., c("left_shoulder"), :], k[..., c("left_elbow"), :],
        k[..., c("left_wrist"), :],
        k[..., c("right_shoulder"), :], k[..., c("right_elbow"), :],
        k[..., c("right_wrist"), :],
    ]
    return np.stack(joints, axis=-2)


# For each H36M joint, the COCO joints it is made from (see `coco_to_h36m`).
_COCO_SOURCES = (
    ("left_hip", "right_hip"), ("right_hip",), ("right_knee",),
    ("right_ankle",), ("left_hip",), ("left_knee",), ("left_ankle",),
    ("left_hip", "right_hip", "left_shoulder", "right_shoulder"),
    ("left_shoulder", "right_shoulder"), ("nose",),
    ("nose", "left_eye", "right_eye"), ("left_shoulder",), ("left_elbow",),
    ("left_wrist",), ("right_shoulder",), ("right_elbow",), ("right_wrist",),
)


def coco_to_h36m_confidence(confidence):
    """Per-joint confidences `[..., 17]` from COCO to H36M order.

    A synthesised joint is only as reliable as its least reliable source.
    """
    s = np.asarray(confidence, dtype=np.float32)
    if s.ndim < 1 or s.shape[-1] != 17:
        raise ValueError(
            f"COCO-17 confidences must have shape [..., 17], got {s.shape}."
        )
    cols = [
        np.min(np.stack([s[..., COCO17.index(n)] for n in names], -1), -1)
        for names in _COCO_SOURCES
    ]
    return np.stack(cols, axis=-1)


def spatial_partition(skeleton=H36M):
    """ST-GCN spatial partition of UGCN (Eq. 9-10), `[3, J, J]` float32.

    Entry `[k, j, i]` weighs neighbour `i` of centre joint `j` in subset
    `k`; the neighbourhood of `j` is `j` itself and the joints one bone
    away. Subsets by hop distance `h` to the root (the hip):

    - 0: `h_i == h_j` (the centre itself; bones never join equal hops).
    - 1: `h_i < h_j`, the neighbour closer to the root (centripetal).
    - 2: `h_i > h_j`, the neighbour farther from the root (centrifugal).

    Eq. 10 of the paper prints labels 1 and 2 the other way round; since each
    subset has its own weight matrix the two labellings are the same model
    up to a permutation of weights. Each row of each subset is divided by
    the number of joints in it (the cardinality `Z` of Eq. 9), so every
    subset averages its members. Rows with an empty subset stay zero.
    """
    hops = skeleton.hop_distance()
    neighbours = skeleton.adjacency(self_loops=True)
    num = skeleton.num_joints
    a = np.zeros((3, num, num), np.float32)
    for j in range(num):
        for i in np.flatnonzero(neighbours[j]):
            if hops[i] == hops[j]:
                a[0, j, i] = 1.0
            elif hops[i] < hops[j]:
                a[1, j, i] = 1.0
            else:
                a[2, j, i] = 1.0
    counts = a.sum(axis=-1, keepdims=True)
    return np.divide(a, counts, out=np.zeros_like(a), where=counts > 0)


def normalized_adjacency(skeleton=H36M):
    """Symmetrically normalised `D^-1/2 (A + I) D^-1/2`, `[J, J]` float32.

    The fixed skeleton graph of DG-Net's FSG (Eq. 1-2), normalised as in
    Kipf & Welling so that feature scales do not grow with joint degree.
    """
    a = skeleton.adjacency(self_loops=True)
    d = 1.0 / np.sqrt(a.sum(axis=1))
    return (a * d[:, None] * d[None, :]).astype(np.float32)
