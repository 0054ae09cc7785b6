"""Motion capture files with known joint positions, for tests and docs.

Writes BVH and ASF/AMC files from a skeleton and random motion, and
computes where every joint is with its own small forward kinematics (plain
loops and rotation matrices written out, independent of tfpose).

    python tests/data/mocap_files.py /tmp/my_mocap   # a folder for docs/DATA.md
"""

import json
import math
import os
import sys

import numpy as np


def rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def ry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


ROT = {"X": rx, "Y": ry, "Z": rz}

# A small body in centimetres, +Y up, named as in most BVH files. Each joint:
# (name, parent, offset, channels, End Site offset or None). Rotation orders
# differ from joint to joint, and Spine has position channels.
POS = ["Xposition", "Yposition", "Zposition"]


def _rot(order):
    return [f"{a}rotation" for a in order]


BODY = [
    ("Hips", None, (0, 0, 0), POS + _rot("ZXY"), None),
    ("RightUpLeg", "Hips", (-10, -5, 0), _rot("ZXY"), None),
    ("RightLeg", "RightUpLeg", (0, -45, 0), _rot("XYZ"), None),
    ("RightFoot", "RightLeg", (0, -42, 0), _rot("YXZ"), (0, -5, 12)),
    ("LeftUpLeg", "Hips", (10, -5, 0), _rot("ZYX"), None),
    ("LeftLeg", "LeftUpLeg", (0, -45, 0), _rot("XZY"), None),
    ("LeftFoot", "LeftLeg", (0, -42, 0), _rot("YZX"), (0, -5, 12)),
    ("Spine", "Hips", (0, 12, 0), POS + _rot("YXZ"), None),
    ("Neck", "Spine", (0, 40, 0), _rot("ZXY"), None),
    ("Head", "Neck", (0, 10, 2), _rot("XYZ"), (0, 15, 0)),
    ("LeftArm", "Neck", (17, -5, 0), _rot("ZXY"), None),
    ("LeftForeArm", "LeftArm", (28, 0, 0), _rot("ZYX"), None),
    ("LeftHand", "LeftForeArm", (25, 0, 0), _rot("XYZ"), (8, 0, 0)),
    ("RightArm", "Neck", (-17, -5, 0), _rot("ZXY"), None),
    ("RightForeArm", "RightArm", (-28, 0, 0), _rot("YXZ"), None),
    ("RightHand", "RightForeArm", (-25, 0, 0), _rot("XYZ"), (-8, 0, 0)),
]

# The test body's joints one to one (Spine is not rigidly attached: its
# position channels move it).
DIRECT_MAPPING = {
    "up": "y", "scale": 0.01,
    "joints": {
        "Hip": "Hips", "RHip": "RightUpLeg", "RKnee": "RightLeg", "RFoot": "RightFoot",
        "LHip": "LeftUpLeg", "LKnee": "LeftLeg", "LFoot": "LeftFoot", "Spine": "Spine",
        "Thorax": "Neck", "Neck/Nose": "Head", "Head": "Head/end",
        "LShoulder": "LeftArm", "LElbow": "LeftForeArm", "LWrist": "LeftHand",
        "RShoulder": "RightArm", "RElbow": "RightForeArm", "RWrist": "RightHand",
    },
}


def random_motion(body, frames, seed=0, degrees=40.0):
    """Smooth random channel values `[frames, channels]` for `body`."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, frames)[:, None]
    columns = []
    for name, parent, offset, channels, _ in body:
        for c in channels:
            phase, freq = rng.uniform(0, 2 * np.pi), rng.integers(1, 3)
            if c.endswith("position"):
                base = offset["XYZ".index(c[0])]
                if parent is None:  # the root walks forward at hip height
                    base = {"X": 0.0, "Y": 95.0, "Z": 0.0}[c[0]]
                    columns.append(base + 20 * np.sin(freq * t + phase) + (c[0] == "Z") * 50 * t)
                else:
                    columns.append(base + 3 * np.sin(freq * t + phase))
            else:
                columns.append(degrees * np.sin(freq * t + phase))
    return np.concatenate(columns, axis=1)


def bvh_positions(body, motion):
    """Reference kinematics: dict point -> `[T, 3]` in file units and axes."""
    out = {}
    for f in range(len(motion)):
        values = iter(motion[f])
        origin, frame = {}, {}
        for name, parent, offset, channels, end in body:
            t = np.array(offset, np.float64)
            r = np.eye(3)
            for c in channels:
                v = next(values)
                if c.endswith("position"):
                    t["XYZ".index(c[0])] = v
                else:
                    r = r @ ROT[c[0]](math.radians(v))
            if parent is None:
                origin[name], frame[name] = t, r
            else:
                origin[name] = origin[parent] + frame[parent] @ t
                frame[name] = frame[parent] @ r
            out.setdefault(name, []).append(origin[name])
            if end is not None:
                out.setdefault(f"{name}/end", []).append(
                    origin[name] + frame[name] @ np.array(end, np.float64))
    return {k: np.array(v) for k, v in out.items()}


def z_up(body, motion):
    """The same motion in a +Z up file: world `(x, y, z)` = Y-up `(x, -z, y)`."""
    new_body, columns, i = [], [], 0
    for name, parent, offset, channels, end in body:
        x, y, z = offset
        new_channels = []
        for c in channels:
            v = motion[:, i]
            i += 1
            axis, kind = c[0], c[1:]
            if axis == "X":
                new_channels.append(c)
                columns.append(v)
            elif axis == "Y":  # y becomes z
                new_channels.append("Z" + kind)
                columns.append(v)
            else:  # z becomes -y
                new_channels.append("Y" + kind)
                columns.append(-v)
        new_end = None if end is None else (end[0], -end[2], end[1])
        new_body.append((name, parent, (x, -z, y), new_channels, new_end))
    return new_body, np.stack(columns, axis=1)


def bvh_text(body, motion, frame_time=0.02, frames=None, newline="\n", sep=" "):
    """A BVH file's text; `frames` overrides the header's frame count."""
    lines = ["HIERARCHY"]
    depth = {}
    order = []
    for name, parent, offset, channels, end in body:
        order.append(name)
        depth[name] = 0 if parent is None else depth[parent] + 1
    # Emit the tree recursively so children sit inside their parent's braces.
    children = {n: [b for b in body if b[1] == n] for n in order}

    def emit(joint, level):
        name, parent, offset, channels, end = joint
        pad = sep * level if sep == "\t" else "  " * level
        lines.append(f"{pad}{'ROOT' if parent is None else 'JOINT'} {name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET{sep}{offset[0]:.6f}{sep}{offset[1]:.6f}{sep}{offset[2]:.6f}")
        lines.append(f"{pad}  CHANNELS {len(channels)} {' '.join(channels)}")
        for child in children[name]:
            emit(child, level + 1)
        if end is not None:
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET {end[0]:.6f} {end[1]:.6f} {end[2]:.6f}")
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    emit(body[0], 0)
    lines += ["MOTION", f"Frames: {len(motion) if frames is None else frames}",
              f"Frame Time: {frame_time:.6f}"]
    lines += [sep.join(f"{v:.6f}" for v in row) for row in motion]
    return newline.join(lines) + newline


def write_bvh(path, body, motion, **kwargs):
    with open(path, "w", newline="") as f:
        f.write(bvh_text(body, motion, **kwargs))


def rounded(motion):
    """The values as written (6 decimals), for exact references."""
    return np.round(motion, 6)


# --- ASF/AMC ----------------------------------------------------------------

# (bone, parent, direction, length, axis angles in degrees, axis order, dof).
# CMU/HDM05 bone names, so the built-in "asf" mapping applies.
ASF_BONES = [
    ("lhipjoint", "root", (1, -1, 0.2), 3.0, (0, 0, 0), "XYZ", ()),
    ("lfemur", "lhipjoint", (0.3, -1, 0), 16.0, (0, 0, 20), "XYZ", ("rx", "ry", "rz")),
    ("ltibia", "lfemur", (0.3, -1, 0), 15.0, (0, 0, 20), "ZXY", ("rx",)),
    ("rhipjoint", "root", (-1, -1, 0.2), 3.0, (0, 0, 0), "XYZ", ()),
    ("rfemur", "rhipjoint", (-0.3, -1, 0), 16.0, (0, 0, -20), "YZX", ("rz", "rx", "ry")),
    ("rtibia", "rfemur", (-0.3, -1, 0), 15.0, (10, 0, -20), "ZYX", ("rx",)),
    ("lowerback", "root", (0, 1, 0), 8.0, (0, 0, 0), "XYZ", ("rx", "ry", "rz")),
    ("thorax", "lowerback", (0, 1, 0.1), 9.0, (5, 0, 0), "ZXY", ("ry", "rx")),
    ("upperneck", "thorax", (0, 1, 0), 6.0, (0, 0, 0), "XYZ", ("rx", "rz")),
    ("head", "upperneck", (0, 1, 0), 4.0, (0, 0, 0), "XYZ", ("rx",)),
    ("lclavicle", "thorax", (1, 0.2, 0), 6.0, (0, 0, -20), "YXZ", ("ry", "rz")),
    ("lhumerus", "lclavicle", (1, 0, 0), 11.0, (0, 0, -90), "XYZ", ("rx", "ry", "rz")),
    ("lwrist", "lhumerus", (1, 0, 0), 10.0, (0, 0, -90), "XZY", ("ry",)),
    ("rclavicle", "thorax", (-1, 0.2, 0), 6.0, (0, 0, 20), "XYZ", ("ry", "rz")),
    ("rhumerus", "rclavicle", (-1, 0, 0), 11.0, (0, 0, 90), "ZXY", ("rz", "rx", "ry")),
    ("rwrist", "rhumerus", (-1, 0, 0), 10.0, (0, 0, 90), "XYZ", ("ry",)),
]
ROOT_ORDER = ("RX", "RY", "RZ", "TX", "TY", "TZ")
ROOT_AXIS = "ZXY"


def asf_text(length_unit=0.5, angle="deg", bones=ASF_BONES, newline="\n"):
    lines = [":version 1.10", ":name test", ":units", "  mass 1.0",
             f"  length {length_unit}", f"  angle {angle}", ":root",
             f"   order {' '.join(ROOT_ORDER)}", f"   axis {ROOT_AXIS}",
             "   position 0 0 0", "   orientation 0 0 0", ":bonedata"]
    scale = 1.0 if angle == "deg" else math.pi / 180
    for i, (name, _, direction, length, axis, order, dof) in enumerate(bones, 1):
        d = np.array(direction, float) / np.linalg.norm(direction)
        lines += ["  begin", f"     id {i}", f"     name {name}",
                  f"     direction {d[0]:.9f} {d[1]:.9f} {d[2]:.9f}", f"     length {length}",
                  f"     axis {axis[0] * scale:.9f} {axis[1] * scale:.9f} "
                  f"{axis[2] * scale:.9f} {order}"]
        if dof:
            lines.append(f"    dof {' '.join(dof)}")
        lines.append("  end")
    lines += [":hierarchy", "  begin"]
    parents = {}
    for name, parent, *_ in bones:
        parents.setdefault(parent, []).append(name)
    lines += [f"    {p} {' '.join(c)}" for p, c in parents.items()]
    lines += ["  end"]
    return newline.join(lines) + newline


def asf_motion(frames, seed=0, bones=ASF_BONES):
    """dict bone -> `[T, n_dof]` degrees, `"root"` -> `[T, 6]` in ROOT_ORDER."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, frames)[:, None]
    motion = {}
    root = []
    for c in ROOT_ORDER:
        phase = rng.uniform(0, 2 * np.pi)
        if c[0] == "T":
            base = {"TX": 0.0, "TY": 40.0, "TZ": 0.0}[c]
            root.append(base + 5 * np.sin(t + phase))
        else:
            root.append(30 * np.sin(t + phase))
    motion["root"] = np.round(np.concatenate(root, 1), 6)
    for name, _, _, _, _, _, dof in bones:
        if dof:
            motion[name] = np.round(
                np.concatenate([35 * np.sin(rng.integers(1, 3) * t + rng.uniform(0, 7))
                                for _ in dof], 1), 6)
    return motion


def amc_text(motion, angle="deg", newline="\n", bones=ASF_BONES):
    scale = 1.0 if angle == "deg" else math.pi / 180
    lines = ["#!OML:ASF test.asf", ":FULLY-SPECIFIED",
             ":DEGREES" if angle == "deg" else ":RADIANS"]
    root = motion["root"].copy()
    for i, c in enumerate(ROOT_ORDER):
        if c[0] == "R":
            root[:, i] *= scale
    for f in range(len(root)):
        lines.append(str(f + 1))
        lines.append("root " + " ".join(f"{v:.9f}" for v in root[f]))
        for name, _, _, _, _, _, dof in bones:
            if dof:
                lines.append(name + " " + " ".join(f"{v * scale:.9f}" for v in motion[name][f]))
    return newline.join(lines) + newline


def _euler(angles_by_axis, order):
    """Acclaim Euler angles (dict axis -> radians), `order` applied left to right."""
    m = np.eye(3)
    for axis in order:
        m = ROT[axis](angles_by_axis.get(axis, 0.0)) @ m
    return m


def asf_positions(motion, length_unit=0.5, bones=ASF_BONES):
    """Reference ASF kinematics: dict bone -> `[T, 3]` in metres, ASF axes."""
    scale = 0.0254 / length_unit
    out = {}
    for f in range(len(motion["root"])):
        root = dict(zip(ROOT_ORDER, motion["root"][f]))
        end = {"root": np.array([root["TX"], root["TY"], root["TZ"]]) * scale}
        frame = {"root": _euler({a: math.radians(root["R" + a]) for a in "XYZ"}, ROOT_AXIS)}
        for name, parent, direction, length, axis, order, dof in bones:
            c = _euler({a: math.radians(v) for a, v in zip("XYZ", axis)}, order)
            angles = {d[1].upper(): math.radians(v)
                      for d, v in zip(dof, motion[name][f] if dof else [])}
            local = c @ _euler(angles, order) @ c.T
            frame[name] = frame[parent] @ local
            d = np.array(direction, float) / np.linalg.norm(direction)
            d = np.array([float(f"{v:.9f}") for v in d])
            end[name] = end[parent] + frame[name] @ (d * length * scale)
            out.setdefault(name, []).append(end[name])
        out.setdefault("root", []).append(end["root"])
    return {k: np.array(v) for k, v in out.items()}


# --- A folder dataset ---------------------------------------------------------


def write_folder(root, frames=120, takes=(("anna", "walk", 4), ("ben", "walk", 2))):
    """A folder of BVH takes with a splits.json: `anna` trains, `ben` tests.

    Takes `<subject>_<action>_<nn>.bvh` under `train/` or `test/`, 50 fps,
    the test body (centimetres, +Y up), and `my_mapping.json` (the body's
    joints one to one). Returns `root`.
    """
    for k, (subject, action, count) in enumerate(takes):
        split = "train" if k == 0 else "test"
        os.makedirs(os.path.join(root, split), exist_ok=True)
        for i in range(count):
            seed = 100 * k + i
            motion = random_motion(BODY, frames, seed=seed)
            write_bvh(os.path.join(root, split, f"{subject}_{action}_{i + 1:02d}.bvh"),
                      BODY, motion)
    with open(os.path.join(root, "splits.json"), "w") as f:
        json.dump({"train": ["train/*.bvh"], "test": ["test/*.bvh"],
                   "mapping": "my_mapping.json"}, f, indent=2)
    with open(os.path.join(root, "my_mapping.json"), "w") as f:
        json.dump(dict(DIRECT_MAPPING, rest_lengths=True), f, indent=2)
    return root


if __name__ == "__main__":
    print(write_folder(sys.argv[1] if len(sys.argv) > 1 else "my_mocap"))
