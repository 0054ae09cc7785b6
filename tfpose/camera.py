"""Pinhole cameras: world -> camera transforms, projection, normalisation.

Shorthands: `A1, ..., An` are any broadcast-compatible batch dimensions.

Conventions (those of Human3.6M and VideoPose3D):
- World frame: metres, +Z up.
- Camera frame: metres, +X right, +Y down, +Z forward (along the optical
  axis). `x_cam = R (x_world - C)` with `R` the world -> camera rotation and
  `C` the camera centre in world coordinates.
- Pixels: origin at the top-left image corner, +x right, +y down.
- Normalised screen coordinates: `x / w * 2 - [1, h / w]`, so x spans
  [-1, 1] and y keeps the aspect ratio. A horizontal flip negates x.

The tensor functions accept numpy arrays or tensors and return tensors;
projection uses TensorFlow Graphics' perspective camera.
"""

import dataclasses

import numpy as np
import tensorflow as tf
from tensorflow_graphics.geometry.transformation import rotation_matrix_3d
from tensorflow_graphics.rendering.camera import perspective


def world_to_camera(points, rotation, position):
    """`[A1, ..., An, 3]` world points -> camera frame, `R (x - C)`.

    Args:
        points: `[A1, ..., An, 3]` in world coordinates.
        rotation: `[A1, ..., An, 3, 3]` world -> camera rotation `R`.
        position: `[A1, ..., An, 3]` camera centre `C` in world coordinates.
    """
    points = tf.convert_to_tensor(points, tf.float32)
    rotation = tf.convert_to_tensor(rotation, tf.float32)
    position = tf.convert_to_tensor(position, tf.float32)
    return tf.linalg.matvec(rotation, points - position)


def camera_to_world(points, rotation, position):
    """Inverse of `world_to_camera`: `R^T x + C`."""
    points = tf.convert_to_tensor(points, tf.float32)
    rotation = tf.convert_to_tensor(rotation, tf.float32)
    position = tf.convert_to_tensor(position, tf.float32)
    return tf.linalg.matvec(rotation, points, transpose_a=True) + position


def distort(points, radial, tangential):
    """Human3.6M's lens distortion on image-plane points `x / z`.

    The model of Human3.6M's own `ProjectPointRadial` code:

        r2 = u^2 + v^2
        radial = 1 + k1 r2 + k2 r2^2 + k3 r2^3
        tan = p1 u + p2 v
        u' = u (radial + tan) + p2 r2
        v' = v (radial + tan) + p1 r2

    (VideoPose3D adds `p1 r2` to `u` and `p2 r2` to `v` instead; the
    difference is far below a pixel for Human3.6M's coefficients.)

    Args:
        points: `[A1, ..., An, 2]` image-plane coordinates `(x/z, y/z)`.
        radial: `[A1, ..., An, 3]` coefficients `k1, k2, k3`.
        tangential: `[A1, ..., An, 2]` coefficients `p1, p2`.
    """
    points = tf.convert_to_tensor(points, tf.float32)
    k = tf.convert_to_tensor(radial, tf.float32)
    p = tf.convert_to_tensor(tangential, tf.float32)
    r2 = tf.reduce_sum(tf.square(points), axis=-1, keepdims=True)
    radial_term = 1.0 + (
        k[..., 0:1] * r2 + k[..., 1:2] * r2**2 + k[..., 2:3] * r2**3
    )
    tan_term = tf.reduce_sum(p * points, axis=-1, keepdims=True)
    return points * (radial_term + tan_term) + tf.reverse(p, [-1]) * r2


def project(points, focal, center, radial=None, tangential=None):
    """Camera-frame points `[A1, ..., An, 3]` -> pixels `[A1, ..., An, 2]`.

    Args:
        points: camera-frame coordinates, `z > 0` in front of the camera.
        focal: `[A1, ..., An, 2]` focal lengths `(fx, fy)` in pixels.
        center: `[A1, ..., An, 2]` principal point `(cx, cy)` in pixels.
        radial, tangential: optional Human3.6M distortion (see `distort`);
            give both or neither.
    """
    points = tf.convert_to_tensor(points, tf.float32)
    focal = tf.convert_to_tensor(focal, tf.float32)
    center = tf.convert_to_tensor(center, tf.float32)
    if (radial is None) != (tangential is None):
        raise ValueError("Give both `radial` and `tangential`, or neither.")
    if radial is None:
        return perspective.project(points, focal, center)
    plane = perspective.project(points, tf.ones_like(focal), tf.zeros_like(center))
    return focal * distort(plane, radial, tangential) + center


def normalize_screen_coordinates(pixels, width, height):
    """Pixels -> VideoPose3D's normalised coordinates, `x / w * 2 - [1, h/w]`.

    Works on numpy arrays and tensors `[..., 2]`; `width`, `height` scalars.
    """
    width, height = float(width), float(height)
    return pixels / width * 2.0 - np.array([1.0, height / width], np.float32)


def image_coordinates(normalized, width, height):
    """Inverse of `normalize_screen_coordinates`."""
    width, height = float(width), float(height)
    return (normalized + np.array([1.0, height / width], np.float32)) * (
        width / 2.0
    )


def normalized_intrinsics(focal, center, width, height):
    """`[4]` float32 `(f_x, f_y, c_x, c_y)` in normalised screen coordinates.

    With `u = f X / Z + c` in pixels, normalising both sides gives
    `u_n = (2 f / w) X / Z + (2 c / w - [1, h / w])`: the pinhole model in
    the coordinates the lifters see (DG-Net's balanced output uses it).
    """
    focal = np.asarray(focal, np.float32).reshape(2)
    center = np.asarray(center, np.float32).reshape(2)
    width, height = float(width), float(height)
    return np.concatenate([2.0 * focal / width,
                           normalize_screen_coordinates(center, width, height)]).astype(np.float32)


# The field of view assumed when a user knows neither the focal length nor
# the field of view: a typical webcam or phone camera in landscape.
DEFAULT_FOV_DEG = 60.0


def intrinsics_for(width=None, height=None, focal_px=None, fov_deg=None, center=None):
    """Normalised intrinsics `[4]` from what a user knows of the camera.

    `focal_px` (square pixels; needs `width` and `height`) or the
    horizontal field of view `fov_deg` (then the image size only places
    the principal point), else `DEFAULT_FOV_DEG`; the principal point is
    `center` in pixels, or the image centre (normalised `(0, 0)`).
    """
    if focal_px is not None and fov_deg is not None:
        raise ValueError("Give the focal length or the field of view, not both.")
    if (focal_px is not None or center is not None) and not (width and height):
        raise ValueError("A focal length or principal point in pixels needs the image size.")
    if focal_px is not None:
        if focal_px <= 0:
            raise ValueError(f"The focal length must be positive, got {focal_px}.")
        focal = 2.0 * float(focal_px) / float(width)
    else:
        fov_deg = DEFAULT_FOV_DEG if fov_deg is None else float(fov_deg)
        if not 0.0 < fov_deg < 180.0:
            raise ValueError(f"The field of view must be in (0, 180) degrees, got {fov_deg}.")
        focal = 1.0 / np.tan(np.deg2rad(fov_deg) / 2.0)
    principal = (np.zeros(2) if center is None else
                 normalize_screen_coordinates(np.asarray(center, np.float64), width, height))
    return np.array([focal, focal, principal[0], principal[1]], np.float32)


def look_at(eye, target, up=(0.0, 0.0, 1.0)):
    """World -> camera rotation `[3, 3]` of a camera at `eye` facing `target`.

    The image's up direction follows the world's `up` (no roll).
    """
    eye = np.asarray(eye, np.float64)
    forward = np.asarray(target, np.float64) - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(up, np.float64))
    norm = np.linalg.norm(right)
    if norm < 1e-8:
        raise ValueError("`look_at`: the view direction is parallel to `up`.")
    right /= norm
    down = np.cross(forward, right)
    return np.stack([right, down, forward]).astype(np.float32)


@dataclasses.dataclass
class Camera:
    """A calibrated camera.

    Attributes:
        rotation: `[3, 3]` world -> camera rotation.
        position: `[3]` camera centre in world coordinates, metres.
        focal: `[2]` focal lengths in pixels.
        center: `[2]` principal point in pixels.
        width, height: image size in pixels.
        radial, tangential: optional Human3.6M distortion coefficients.
        name: an identifier, e.g. Human3.6M's `"54138969"` or `"virtual_3"`.
    """

    rotation: np.ndarray
    position: np.ndarray
    focal: np.ndarray
    center: np.ndarray
    width: int
    height: int
    radial: np.ndarray = None
    tangential: np.ndarray = None
    name: str = ""

    def __post_init__(self):
        self.rotation = np.asarray(self.rotation, np.float32).reshape(3, 3)
        self.position = np.asarray(self.position, np.float32).reshape(3)
        self.focal = np.asarray(self.focal, np.float32).reshape(2)
        self.center = np.asarray(self.center, np.float32).reshape(2)
        if self.radial is not None:
            self.radial = np.asarray(self.radial, np.float32).reshape(3)
            self.tangential = np.asarray(self.tangential, np.float32).reshape(2)

    @classmethod
    def from_quaternion(cls, orientation, **kwargs):
        """From a `(w, x, y, z)` camera -> world quaternion (Human3.6M)."""
        q = np.asarray(orientation, np.float64)
        w, x, y, z = q / np.linalg.norm(q)
        camera_to_world_rotation = rotation_matrix_3d.from_quaternion(
            np.array([x, y, z, w], np.float32)
        )
        return cls(rotation=np.transpose(camera_to_world_rotation.numpy()), **kwargs)

    def world_to_camera(self, points):
        """World points `[..., 3]` -> camera frame, numpy float32."""
        return world_to_camera(points, self.rotation, self.position).numpy()

    def camera_to_world(self, points):
        return camera_to_world(points, self.rotation, self.position).numpy()

    def project(self, points_camera):
        """Camera-frame points `[..., 3]` -> pixels `[..., 2]`, numpy."""
        return project(
            points_camera, self.focal, self.center, self.radial, self.tangential
        ).numpy()

    def normalize(self, pixels):
        return normalize_screen_coordinates(pixels, self.width, self.height)

    def normalized_intrinsics(self):
        return normalized_intrinsics(self.focal, self.center, self.width, self.height)

    def unnormalize(self, normalized):
        return image_coordinates(normalized, self.width, self.height)


def random_cameras(
    target,
    num_cameras,
    rng,
    distance=(4.0, 6.0),
    height=(0.8, 2.2),
    azimuth=(0.0, 360.0),
    focal_length=(1000.0, 1250.0),
    image_size=(1000, 1000),
):
    """Virtual cameras around a subject, each looking at `target`.

    The defaults resemble Human3.6M's studio: cameras 4-6 m from the
    subject at 0.8-2.2 m height, focal lengths near its 1145 px at 1000 px
    image width, no lens distortion.

    Args:
        target: `[3]` world point the cameras look at (e.g. the subject's
            mean hip position); +Z is up.
        num_cameras: how many cameras.
        rng: a `numpy.random.Generator`.
        distance: `(min, max)` horizontal distance to `target`, metres.
        height: `(min, max)` camera height above the ground (z = 0), metres.
        azimuth: `(min, max)` angle around the vertical axis, degrees.
        focal_length: `(min, max)` focal length in pixels (square pixels).
        image_size: `(width, height)` in pixels; the principal point is the
            image centre.

    Returns:
        a list of `Camera`.
    """
    for name, (lo, hi) in (
        ("distance", distance), ("height", height),
        ("azimuth", azimuth), ("focal_length", focal_length),
    ):
        if not lo <= hi:
            raise ValueError(f"`{name}` range must be (min, max), got {(lo, hi)}.")
    if distance[0] <= 0 or focal_length[0] <= 0:
        raise ValueError("`distance` and `focal_length` must be positive.")
    target = np.asarray(target, np.float32).reshape(3)
    width, image_height = image_size
    cameras = []
    for i in range(num_cameras):
        d = rng.uniform(*distance)
        a = np.deg2rad(rng.uniform(*azimuth))
        eye = np.array(
            [target[0] + d * np.cos(a), target[1] + d * np.sin(a), rng.uniform(*height)],
            np.float32,
        )
        f = rng.uniform(*focal_length)
        cameras.append(
            Camera(
                rotation=look_at(eye, target),
                position=eye,
                focal=(f, f),
                center=(width / 2.0, image_height / 2.0),
                width=width,
                height=image_height,
                name=f"virtual_{i}",
            )
        )
    return cameras


@dataclasses.dataclass(frozen=True)
class VirtualCameras:
    """The distribution of the virtual cameras drawn for training windows.

    The defaults are those of `random_cameras` (the fixed views of the
    synthetic and HDM05 splits), with no principal-point jitter and no roll.
    A camera stands `distance` metres from the window's mean hip position
    (horizontally) at `height` metres above the ground, at `azimuth`
    degrees around it, and looks at that point, rolled by up to `roll`
    degrees about its optical axis; its principal point is the image
    centre moved by up to `principal_jitter` pixels in x and y. With
    `target_jitter`, the point looked at moves from the mean hip position by
    a horizontal offset uniform over a disk of that radius (metres), so the
    subject is not always in the middle of the picture, as in footage from
    a fixed camera of someone moving through the scene. A camera
    that would not see the whole window inside `margin` pixels of the
    image border is moved back along its line of sight until it does, so
    every drawn camera sees every joint in front of it and in the image.

    Attributes:
        distance, height, azimuth, focal_length: `(min, max)` ranges, as
            for `random_cameras` (metres, metres, degrees, pixels).
        image_size: `(width, height)` in pixels.
        principal_jitter: maximum principal-point offset in pixels.
        roll: maximum absolute roll in degrees.
        margin: pixels kept free at the image border.
        target_jitter: radius in metres of the look-at point's horizontal
            offset from the window's mean hip position.
    """

    distance: tuple = (4.0, 6.0)
    height: tuple = (0.8, 2.2)
    azimuth: tuple = (0.0, 360.0)
    focal_length: tuple = (1000.0, 1250.0)
    image_size: tuple = (1000, 1000)
    principal_jitter: float = 0.0
    roll: float = 0.0
    margin: float = 10.0
    target_jitter: float = 0.0

    # Uniform numbers one camera draw consumes (`draw`'s `uniform` [N, 7]),
    # and one aim (`aim`'s `uniform` [N, 2]).
    NUM_DRAWS = 7
    NUM_AIM_DRAWS = 2

    def __post_init__(self):
        for name in ("distance", "height", "azimuth", "focal_length", "image_size"):
            value = tuple(float(v) for v in getattr(self, name))
            ordered = name == "image_size" or value[0] <= value[1]
            if len(value) != 2 or not ordered:
                raise ValueError(f"`{name}` must be (min, max), got {getattr(self, name)}.")
            object.__setattr__(self, name, value)
        if self.distance[0] <= 0 or self.focal_length[0] <= 0 or min(self.image_size) <= 0:
            raise ValueError("`distance`, `focal_length` and `image_size` must be positive.")
        if min(self.principal_jitter, self.roll, self.margin, self.target_jitter) < 0:
            raise ValueError(
                "`principal_jitter`, `roll`, `margin` and `target_jitter` must be >= 0.")
        if 2 * (self.principal_jitter + self.margin) >= min(self.image_size):
            raise ValueError(
                f"`principal_jitter` ({self.principal_jitter}) plus `margin` ({self.margin}) "
                f"leave no image inside {self.image_size}.")

    def aim(self, target, uniform):
        """The points to look at: `target` `[N, 3]` moved horizontally by an
        offset uniform over a disk of radius `target_jitter`, from `uniform`
        `[N, NUM_AIM_DRAWS]` numbers in [0, 1)."""
        target = tf.convert_to_tensor(target, tf.float32)
        uniform = tf.convert_to_tensor(uniform, tf.float32)
        radius = self.target_jitter * tf.sqrt(uniform[:, 0])
        angle = 2.0 * np.pi * uniform[:, 1]
        return target + tf.stack([radius * tf.cos(angle), radius * tf.sin(angle),
                                  tf.zeros_like(radius)], -1)

    def draw(self, uniform, target, radius):
        """Cameras from uniform numbers, in the graph.

        Args:
            uniform: `[N, NUM_DRAWS]` numbers in [0, 1).
            target: `[N, 3]` world points to look at.
            radius: `[N]` radius around `target` that must stay in view
                (the farthest joint of the window).

        Returns:
            `(rotation [N, 3, 3], position [N, 3], focal [N, 2], center [N, 2])`:
            world -> camera rotations, camera centres, focal lengths and
            principal points in pixels.
        """
        uniform = tf.convert_to_tensor(uniform, tf.float32)
        target = tf.convert_to_tensor(target, tf.float32)
        radius = tf.convert_to_tensor(radius, tf.float32)

        def between(bounds, u):
            return bounds[0] + (bounds[1] - bounds[0]) * u

        azimuth = between(np.deg2rad(self.azimuth), uniform[:, 0])
        distance = between(self.distance, uniform[:, 1])
        height = between(self.height, uniform[:, 2])
        focal = between(self.focal_length, uniform[:, 3])
        jitter = self.principal_jitter * (2.0 * uniform[:, 4:6] - 1.0)
        roll = np.deg2rad(self.roll) * (2.0 * uniform[:, 6] - 1.0)
        offset = tf.stack([distance * tf.cos(azimuth), distance * tf.sin(azimuth),
                           height - target[:, 2]], axis=-1)
        # Far enough that a sphere of `radius` projects inside the image:
        # its angular radius asin(r / D) must stay below atan(half / f).
        width, image_height = self.image_size
        half = tf.reduce_min(
            tf.stack([width / 2.0 - tf.abs(jitter[:, 0]),
                      image_height / 2.0 - tf.abs(jitter[:, 1])], -1), -1) - self.margin
        needed = radius * tf.sqrt(1.0 + tf.square(focal / half))
        length = tf.norm(offset, axis=-1)
        offset = offset * (tf.maximum(length, needed) / length)[:, None]
        position = target + offset
        forward = -offset / tf.norm(offset, axis=-1, keepdims=True)
        up = tf.constant([0.0, 0.0, 1.0])
        right = tf.linalg.cross(forward, tf.broadcast_to(up, tf.shape(forward)))
        right = right / tf.norm(right, axis=-1, keepdims=True)
        down = tf.linalg.cross(forward, right)
        cos, sin = tf.cos(roll)[:, None], tf.sin(roll)[:, None]
        rotation = tf.stack([cos * right + sin * down, cos * down - sin * right, forward],
                            axis=-2)
        center = tf.constant([width / 2.0, image_height / 2.0]) + jitter
        return rotation, position, tf.stack([focal, focal], -1), center

    def normalized_intrinsics(self, focal, center):
        """`[N, 4]` `(f_x, f_y, c_x, c_y)` in normalised screen coordinates."""
        width, image_height = self.image_size
        return tf.concat([2.0 * focal / width,
                          normalize_screen_coordinates(center, width, image_height)], -1)

    def view(self, poses_world, rotation, position, focal, center):
        """`(keypoints_2d, poses_3d)` of world poses `[N, T, J, 3]` seen by
        drawn cameras: normalised 2D and camera-frame 3D (not root-relative).

        Written elementwise (no matrix product) so that a window's result
        does not depend on how many windows share its batch: the shards of
        a distributed run then compute exactly what one device computes.
        """
        def expand(a):  # one camera per window, the same for its frames and joints
            return a[:, None, None]

        offset = tf.convert_to_tensor(poses_world, tf.float32) - expand(position)
        rotation = expand(rotation)
        poses = tf.stack([rotation[..., row, 0] * offset[..., 0]
                          + rotation[..., row, 1] * offset[..., 1]
                          + rotation[..., row, 2] * offset[..., 2] for row in range(3)], -1)
        pixels = perspective.project(poses, expand(focal), expand(center))
        width, image_height = self.image_size
        return normalize_screen_coordinates(pixels, width, image_height), poses
