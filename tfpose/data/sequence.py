"""One in-memory representation for every data source.

A `Sequence` is a 3D motion in the world frame; a `View` is that motion
seen by one camera: the 2D/3D pair a lifting model trains on.
"""

import dataclasses

import numpy as np

from tfpose import skeleton as skeleton_lib


def check_poses(array, channels, name="poses", num_joints=17):
    """Validates a pose array `[T, J, C]` and returns it as float32.

    Raises:
        ValueError: naming the problem: rank, joint count, channel count,
            empty sequence, NaN or inf.
    """
    a = np.asarray(array)
    if a.ndim != 3:
        raise ValueError(
            f"`{name}` must have rank 3 [T, J, {channels}], got shape {a.shape}."
        )
    if a.shape[1] != num_joints:
        raise ValueError(
            f"`{name}` must have {num_joints} joints (axis 1), got {a.shape[1]} "
            f"(shape {a.shape})."
        )
    if a.shape[2] != channels:
        raise ValueError(
            f"`{name}` must have {channels} coordinates per joint, got "
            f"{a.shape[2]} (shape {a.shape})."
        )
    if a.shape[0] == 0:
        raise ValueError(f"`{name}` has no frames.")
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"`{name}` must be numeric, got dtype {a.dtype}.")
    a = a.astype(np.float32)
    bad = ~np.isfinite(a)
    if bad.any():
        frames = np.unique(np.nonzero(bad)[0])
        found = [k for k, f in (("NaN", np.isnan), ("inf", np.isinf)) if f(a[bad]).any()]
        kind = " and ".join(found)
        raise ValueError(
            f"`{name}` contains {kind} values in {len(frames)} frame(s), "
            f"first at frame {frames[0]}."
        )
    return a


@dataclasses.dataclass
class View:
    """A sequence seen by one camera.

    Attributes:
        camera: the `tfpose.camera.Camera`.
        poses_3d: `[T, J, 3]` camera-frame 3D, metres (not root-relative).
        keypoints_2d_pixels: `[T, J, 2]` 2D keypoints in pixels, either the
            projection of `poses_3d` or a detector's output.
        keypoints_2d: `[T, J, 2]` the same in normalised screen coordinates.
    """

    camera: object
    poses_3d: np.ndarray
    keypoints_2d_pixels: np.ndarray
    keypoints_2d: np.ndarray

    @classmethod
    def from_camera(cls, camera, poses_world, keypoints_2d_pixels=None):
        """Projects world poses through `camera`, or pairs them with given 2D."""
        poses_3d = camera.world_to_camera(poses_world).astype(np.float32)
        if keypoints_2d_pixels is None:
            if (poses_3d[..., 2] <= 0).any():
                raise ValueError(
                    f"Camera {camera.name!r} sees joints behind it (z <= 0); "
                    "move it away from the subject."
                )
            keypoints_2d_pixels = camera.project(poses_3d)
        else:
            keypoints_2d_pixels = check_poses(
                keypoints_2d_pixels, 2, "keypoints_2d_pixels", poses_3d.shape[1]
            )
            if len(keypoints_2d_pixels) != len(poses_3d):
                raise ValueError(
                    f"2D has {len(keypoints_2d_pixels)} frames, 3D has "
                    f"{len(poses_3d)}."
                )
        keypoints_2d_pixels = np.asarray(keypoints_2d_pixels, np.float32)
        return cls(
            camera=camera,
            poses_3d=poses_3d,
            keypoints_2d_pixels=keypoints_2d_pixels,
            keypoints_2d=camera.normalize(keypoints_2d_pixels).astype(np.float32),
        )


@dataclasses.dataclass
class Sequence:
    """A 3D motion.

    Attributes:
        poses_3d: `[T, 17, 3]` float32 world coordinates in metres, +Z up,
            H36M joint order (`tfpose.skeleton.H36M`).
        subject: actor or subject id, e.g. `"bd"` or `"S1"`.
        action: action name, e.g. `"walking"`.
        fps: frames per second.
        views: the 2D/3D pairs of this motion, one per camera.
    """

    poses_3d: np.ndarray
    subject: str
    action: str
    fps: float
    views: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        self.poses_3d = check_poses(self.poses_3d, 3, "poses_3d")

    @property
    def num_frames(self):
        return len(self.poses_3d)

    def add_views(self, cameras):
        """Projects the motion through `cameras` and appends the views."""
        for camera in cameras:
            self.views.append(View.from_camera(camera, self.poses_3d))
        return self


def height(poses_3d, skeleton=skeleton_lib.H36M):
    """A subject's height in metres from its bones, `[..., J, 3] -> [...]`.

    Ankle to head along the bones: the longer of shin + thigh, plus the
    chain Hip -> Spine -> Thorax -> Neck/Nose -> Head. That is the height of
    a straight standing pose measured from the ankle joints (the floor is a
    few centimetres lower). The sideways Hip -> RHip / LHip bones are left
    out.
    """
    lengths = skeleton.bone_lengths(poses_3d)
    bone = {child: i for i, (_, child) in enumerate(skeleton.edges)}

    def chain(joint, stop):
        total = 0.0
        while joint != stop:
            total = total + lengths[..., bone[joint]]
            joint = skeleton.parents[joint]
        return total

    index = skeleton.index
    legs = np.maximum(
        chain(index("RFoot"), index("RHip")), chain(index("LFoot"), index("LHip"))
    )
    return legs + chain(index("Head"), skeleton.root)


def add_virtual_cameras(sequences, num_cameras, seed=0, **ranges):
    """Gives each sequence `num_cameras` random virtual camera views.

    The cameras of sequence `i` depend only on `(seed, i)`, so a split gets
    the same cameras every time it is loaded. Each camera looks at the
    sequence's mean hip position (at its mean height); `ranges` go to
    `tfpose.camera.random_cameras` (`distance`, `height`, `azimuth`,
    `focal_length`, `image_size`).
    """
    from tfpose import camera as camera_lib  # TensorFlow is only needed here

    if num_cameras < 1:
        raise ValueError(f"`num_cameras` must be >= 1, got {num_cameras}.")
    for i, sequence in enumerate(sequences):
        rng = np.random.default_rng([seed, i])
        target = sequence.poses_3d[:, 0].mean(axis=0)
        sequence.add_views(camera_lib.random_cameras(target, num_cameras, rng, **ranges))
    return sequences
