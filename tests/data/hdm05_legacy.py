"""Frozen copy of the HDM05 loader before tfpose.data.mocap (test reference only).

Kept verbatim so that tests can show the mocap path reproduces it to 1e-6 m.
Do not import from library code.

HDM05 (Mueller et al., "Documentation Mocap Database HDM05", Universitaet
Bonn, 2007; CC BY-SA 3.0) records five actors at 120 fps. The expected layout
is that of `../shared/data/hdm05`:

    <root>/asf/HDM_<actor>.asf
    <root>/{train,test}/<class>/HDM_<actor>_<action>_<nnn>_120.amc

Units. ASF files of HDM05 say `:units length 0.45`: lengths and root
translations are in units of 1/0.45 inch, so metres = value / 0.45 * 0.0254.
Angles are in degrees.

Joint mapping (ASF bone -> H36M joint; "end" is the far end of the bone):

    Hip        midpoint of the ends of lhipjoint and rhipjoint
    RHip/LHip  rhipjoint / lhipjoint end
    RKnee/LKnee  rfemur / lfemur end
    RFoot/LFoot  rtibia / ltibia end (the ankle)
    Spine      lowerback end
    Thorax     thorax end (where the clavicles start)
    Neck/Nose  upperneck end (the head's pivot, at nose height)
    Head       head end (top of the head)
    RShoulder/LShoulder  rclavicle / lclavicle end
    RElbow/LElbow        rhumerus / lhumerus end
    RWrist/LWrist        rwrist / lwrist end (the ASF "wrist" bone is the
                         distal forearm carrying its twist; its end is the
                         wrist joint, and elbow -> wrist is rigid)

Limb bones are single rigid ASF bones, so their lengths are constant. The
spine and neck of HDM05 have more joints than H36M's (lowerback, upperback,
thorax, lowerneck, upperneck, head), so the distance between two mapped
points there varies slightly with spine flexion. To give every H36M bone a
constant length, as Human3.6M's own data has, the mapped skeleton is rebuilt
from the root outwards: each bone keeps the direction measured in that frame
and the length it has in the actor's ASF rest pose.

The ASF frame is +Y up; it becomes the H36M world frame (+Z up) by
`(x, y, z) -> (x, -z, y)`. 120 fps is resampled to `fps` by linear
interpolation of the mapped joints before the bone lengths are imposed.
"""

import os
import re

import numpy as np

from tfpose import skeleton as skeleton_lib
from tfpose.data.sequence import Sequence

TRAIN_ACTORS = ("bd", "bk", "dg")
TEST_ACTORS = ("mm", "tr")
ACTORS = TRAIN_ACTORS + TEST_ACTORS
SPLITS = {"train": TRAIN_ACTORS, "test": TEST_ACTORS}
SOURCE_FPS = 120.0

_INCH = 0.0254

# H36M joint -> ASF bone whose far end it is (Hip is handled apart).
_MAPPING = {
    "RHip": "rhipjoint", "RKnee": "rfemur", "RFoot": "rtibia",
    "LHip": "lhipjoint", "LKnee": "lfemur", "LFoot": "ltibia",
    "Spine": "lowerback", "Thorax": "thorax", "Neck/Nose": "upperneck",
    "Head": "head", "LShoulder": "lclavicle", "LElbow": "lhumerus",
    "LWrist": "lwrist", "RShoulder": "rclavicle", "RElbow": "rhumerus",
    "RWrist": "rwrist",
}

_AMC_NAME = re.compile(r"^HDM_([a-z]+)_(.+)_(\d+)_120\.amc$")


def actors_for_split(split):
    """`"train"` -> `("bd", "bk", "dg")`, `"test"` -> `("mm", "tr")`."""
    if split not in SPLITS:
        raise ValueError(f"Unknown HDM05 split {split!r}; expected one of {sorted(SPLITS)}.")
    return SPLITS[split]


def _euler_xyz(degrees):
    """Rotation matrices `Rz Ry Rx` for angles `[..., 3]` (x, y, z) in degrees."""
    a = np.deg2rad(np.asarray(degrees, np.float64))
    cx, cy, cz = np.cos(a[..., 0]), np.cos(a[..., 1]), np.cos(a[..., 2])
    sx, sy, sz = np.sin(a[..., 0]), np.sin(a[..., 1]), np.sin(a[..., 2])
    m = np.empty(a.shape[:-1] + (3, 3))
    m[..., 0, 0] = cy * cz
    m[..., 0, 1] = cz * sy * sx - sz * cx
    m[..., 0, 2] = cz * sy * cx + sz * sx
    m[..., 1, 0] = cy * sz
    m[..., 1, 1] = sz * sy * sx + cz * cx
    m[..., 1, 2] = sz * sy * cx - cz * sx
    m[..., 2, 0] = -sy
    m[..., 2, 1] = cy * sx
    m[..., 2, 2] = cy * cx
    return m


class ASFSkeleton:
    """An actor's ASF skeleton: bones, rest directions, lengths, hierarchy."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path, "r", encoding="latin-1") as f:
                text = f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"HDM05 skeleton file not found: {path}") from None
        self.scale = None  # metres per ASF length unit
        self.bones = {}  # name -> dict(direction, length, axis, dof)
        self.children = {}  # name -> list of child names
        self.root_order = ("TX", "TY", "TZ", "RX", "RY", "RZ")
        self._parse(text)

    def _error(self, message):
        return ValueError(f"{self.path}: not a valid ASF file: {message}")

    def _parse(self, text):
        sections = re.split(r"^\s*:", text, flags=re.M)
        found = set()
        for section in sections[1:]:
            lines = section.strip().splitlines()
            if not lines:
                continue
            head = lines[0].split()
            key = head[0]
            found.add(key)
            body = [ln.split() for ln in lines[1:] if ln.strip()]
            if key == "units":
                units = {row[0]: row[1] for row in body if len(row) >= 2}
                if "length" not in units:
                    raise self._error("':units' has no 'length'.")
                self.scale = _INCH / float(units["length"])
                if units.get("angle", "deg") != "deg":
                    raise self._error("only angles in degrees are supported.")
            elif key == "root":
                for row in body:
                    if row[0] == "order":
                        self.root_order = tuple(r.upper() for r in row[1:])
            elif key == "bonedata":
                self._parse_bones(body)
            elif key == "hierarchy":
                for row in body:
                    if row[0] in ("begin", "end"):
                        continue
                    self.children.setdefault(row[0], []).extend(row[1:])
        for key in ("units", "bonedata", "hierarchy"):
            if key not in found:
                raise self._error(f"section ':{key}' is missing.")
        missing = sorted(
            (set(_MAPPING.values()) | {"lhipjoint", "rhipjoint"}) - set(self.bones)
        )
        if missing:
            raise self._error(f"bones {missing} are missing.")

    def _parse_bones(self, rows):
        bone = None
        for row in rows:
            key = row[0]
            if key == "begin":
                bone = {"dof": ()}
            elif key == "end":
                if bone is None or "name" not in bone:
                    raise self._error("a bone without a name.")
                self.bones[bone["name"]] = bone
                bone = None
            elif bone is None:
                continue
            elif key == "name":
                bone["name"] = row[1]
            elif key == "direction":
                bone["direction"] = np.array(row[1:4], np.float64)
            elif key == "length":
                bone["length"] = float(row[1])
            elif key == "axis":
                bone["axis"] = np.array(row[1:4], np.float64)
                if len(row) > 4 and row[4].upper() != "XYZ":
                    raise self._error(f"axis order {row[4]} is not supported.")
            elif key == "dof":
                bone["dof"] = tuple(d.lower() for d in row[1:])

    def forward_kinematics(self, motion):
        """World positions of every bone's far end, in metres.

        Args:
            motion: dict bone name -> `[T, n_dof]` angles in degrees, and
                `"root"` -> `[T, 6]` in the ASF root order.

        Returns:
            dict bone name -> `[T, 3]` positions, plus `"root"`; ASF axes.
        """
        root = motion["root"]
        num = len(root)
        order = self.root_order
        trans = np.stack([root[:, order.index(a)] for a in ("TX", "TY", "TZ")], -1)
        rot = np.stack([root[:, order.index(a)] for a in ("RX", "RY", "RZ")], -1)
        positions = {"root": trans * self.scale}
        matrices = {"root": _euler_xyz(rot)}
        stack = [("root", c) for c in self.children.get("root", [])]
        while stack:
            parent, name = stack.pop()
            bone = self.bones[name]
            c = _euler_xyz(bone["axis"])
            angles = np.zeros((num, 3))
            values = motion.get(name)
            for i, d in enumerate(bone["dof"]):
                angles[:, "xyz".index(d[1])] = values[:, i]
            local = c @ _euler_xyz(angles) @ c.T
            matrix = matrices[parent] @ local
            matrices[name] = matrix
            offset = bone["direction"] * bone["length"] * self.scale
            positions[name] = positions[parent] + matrix @ offset
            stack.extend((name, child) for child in self.children.get(name, []))
        return positions


def read_amc(path, asf):
    """Reads an AMC file: dict bone -> `[T, n_dof]` degrees, `"root"` -> `[T, 6]`."""
    try:
        with open(path, "r", encoding="latin-1") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"HDM05 motion file not found: {path}") from None
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip().upper() == ":DEGREES")
    except StopIteration:
        raise ValueError(f"{path}: not an AMC file (no ':DEGREES' header).") from None
    expected = {name: len(b["dof"]) for name, b in asf.bones.items() if b["dof"]}
    expected["root"] = 6
    values = {name: [] for name in expected}
    frames = 0
    seen = set()
    for lineno, line in enumerate(lines[start + 1:], start + 2):
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 1 and parts[0].isdigit():
            if frames and seen != set(expected):
                raise ValueError(
                    f"{path}: frame {frames} is incomplete "
                    f"(missing {sorted(set(expected) - seen)})."
                )
            frames += 1
            seen = set()
            continue
        name = parts[0]
        if name not in expected:
            raise ValueError(f"{path}:{lineno}: unknown bone {name!r}.")
        if len(parts) - 1 != expected[name]:
            raise ValueError(
                f"{path}:{lineno}: bone {name!r} has {len(parts) - 1} values, "
                f"expected {expected[name]} (truncated file?)."
            )
        try:
            values[name].append([float(v) for v in parts[1:]])
        except ValueError:
            raise ValueError(f"{path}:{lineno}: non-numeric value in {line!r}.") from None
        seen.add(name)
    if frames == 0:
        raise ValueError(f"{path}: the AMC file holds no frames.")
    if seen != set(expected):
        # A cut-off last frame: drop it rather than the whole take.
        frames -= 1
        if frames == 0:
            raise ValueError(f"{path}: the only frame is incomplete.")
    motion = {name: np.asarray(v[:frames], np.float64) for name, v in values.items()}
    return motion


def _impose_bone_lengths(points, lengths, parents):
    """Rebuilds `[T, J, 3]` from the root with fixed bone lengths `[J]`."""
    out = np.empty_like(points)
    out[:, 0] = points[:, 0]
    for j in range(1, len(parents)):
        p = parents[j]
        d = points[:, j] - points[:, p]
        d /= np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
        out[:, j] = out[:, p] + lengths[j] * d
    return out


def _map_to_h36m(positions):
    """ASF bone-end positions -> `[T, 17, 3]` H36M joints, ASF axes."""
    names = skeleton_lib.H36M.names
    joints = [0.5 * (positions["lhipjoint"] + positions["rhipjoint"])]
    joints += [positions[_MAPPING[n]] for n in names[1:]]
    return np.stack(joints, axis=1)


def resample(points, source_fps, target_fps):
    """Linear interpolation of `[T, ...]` from `source_fps` to `target_fps`."""
    if target_fps <= 0:
        raise ValueError(f"`fps` must be positive, got {target_fps}.")
    num = len(points)
    duration = (num - 1) / source_fps
    times = np.arange(0.0, duration + 1e-9, 1.0 / target_fps)
    position = times * source_fps
    lo = np.minimum(np.floor(position).astype(int), num - 1)
    hi = np.minimum(lo + 1, num - 1)
    w = (position - lo).reshape((-1,) + (1,) * (points.ndim - 1))
    return (1.0 - w) * points[lo] + w * points[hi]


def _to_world(points):
    """ASF axes (+Y up) -> H36M world axes (+Z up): `(x, y, z) -> (x, -z, y)`."""
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def load_file(amc_path, asf, fps=50.0):
    """One AMC take -> `Sequence` (see the module docstring)."""
    name = os.path.basename(amc_path)
    match = _AMC_NAME.match(name)
    if not match:
        raise ValueError(
            f"{amc_path}: expected a name like HDM_<actor>_<action>_<nnn>_120.amc."
        )
    actor, action, _ = match.groups()
    motion = read_amc(amc_path, asf)
    raw = _map_to_h36m(asf.forward_kinematics(motion))
    rest = {name: np.zeros((1, len(b["dof"]))) for name, b in asf.bones.items()}
    rest["root"] = np.zeros((1, 6))
    rest_points = _map_to_h36m(asf.forward_kinematics(rest))[0]
    parents = skeleton_lib.H36M.parents
    lengths = np.zeros(len(parents))
    for j, p in enumerate(parents):
        if p >= 0:
            lengths[j] = np.linalg.norm(rest_points[j] - rest_points[p])
    if fps != SOURCE_FPS:
        raw = resample(raw, SOURCE_FPS, fps)
    points = _impose_bone_lengths(raw, lengths, parents)
    return Sequence(
        poses_3d=_to_world(points).astype(np.float32),
        subject=actor,
        action=action,
        fps=float(fps),
    )


def find_files(root, actors):
    """AMC files of `actors` under `root`, sorted by actor, action, take."""
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"HDM05 data directory not found: {root!r}. Pass the folder that "
            "holds asf/, train/ and test/."
        )
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            match = _AMC_NAME.match(name)
            if match and match.group(1) in actors:
                found.append(os.path.join(dirpath, name))
    return sorted(found, key=lambda p: os.path.basename(p))


def load(root, actors=None, fps=50.0, split=None):
    """Loads HDM05 takes as H36M-17 `Sequence`s in metres, world +Z up.

    Args:
        root: the HDM05 folder (`asf/`, `train/`, `test/`).
        actors: actor ids to load, e.g. `("bd", "bk")`; `None` for all five
            (or those of `split`).
        fps: output frame rate (HDM05 records 120 fps).
        split: `"train"` (bd, bk, dg) or `"test"` (mm, tr); exclusive with
            `actors`.

    Returns:
        list of `Sequence`, sorted by actor, action and take.
    """
    if split is not None:
        if actors is not None:
            raise ValueError("Pass `actors` or `split`, not both.")
        actors = actors_for_split(split)
    if actors is None:
        actors = ACTORS
    if isinstance(actors, str):
        actors = (actors,)
    unknown = sorted(set(actors) - set(ACTORS))
    if unknown:
        raise ValueError(f"Unknown HDM05 actor(s) {unknown}; expected some of {list(ACTORS)}.")
    files = find_files(root, actors)
    sequences = []
    skeletons = {}
    for path in files:
        actor = _AMC_NAME.match(os.path.basename(path)).group(1)
        if actor not in skeletons:
            skeletons[actor] = ASFSkeleton(os.path.join(root, "asf", f"HDM_{actor}.asf"))
        sequences.append(load_file(path, skeletons[actor], fps=fps))
    missing = sorted(set(actors) - {s.subject for s in sequences})
    if missing:
        raise FileNotFoundError(
            f"No HDM05 takes of actor(s) {missing} under {root!r} "
            "(expected files like train/1/HDM_bd_depositFloorR_001_120.amc)."
        )
    return sequences
