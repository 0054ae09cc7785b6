"""Joint mappings: how a motion capture skeleton becomes Human3.6M-17.

A mapping is data, a JSON file or the same dict:

    {"up": "y", "scale": 0.01, "rest_lengths": false,
     "joints": {"Hip": "Hips", "RKnee": "RightLeg",
                "Spine": {"midpoint": ["Hips", "Chest"]},
                "Head": {"extend": ["Neck", "Head", 0.18]}, ...}}

- `joints` maps every name of `tfpose.skeleton.H36M` to a point of the
  source: a string names a source point (a BVH joint's origin,
  `"<joint>/end"` for its End Site; an ASF bone's far end, `"root"` for the
  ASF root); `{"midpoint": [a, b]}` averages two points; `{"extend": [a, b,
  length]}` continues the direction from `a` to `b` by `length` metres past
  `b`, for joints the source lacks. `a` and `b` may themselves be specs.
- `up`: the source's up axis, `"y"` or `"z"`, or `"auto"`: the one along
  which the rest pose's head is furthest above its hip (said in a warning).
- `scale`: metres per file unit. Optional: ASF files state it in `:units`
  (a mapping's `scale` then overrides them); for BVH, without it, the unit
  is inferred from the rest pose's height (said in a warning).
- `rest_lengths`: rebuild the mapped skeleton from the root outwards with
  every bone keeping its direction in each frame and its length in the
  rest pose, so that bone lengths are constant where the source's mapped
  points are not rigidly connected (a spine of several joints).
- `source_fps`: ASF/AMC only, the frame rate of AMC files (which do not
  state it); default 120, the rate of CMU and HDM05.

Built-in mappings (`tfpose/data/mappings/<name>.json`): `asf` (CMU and
HDM05 bone names), `bvh` (`Hips`, `Spine`, `LeftUpLeg`, `LeftLeg`, ...,
as in CMU's BVH conversions, Motion Builder and many others) and `mixamo`
(the same names with the `mixamorig:` prefix).
"""

import json
import os
import warnings

import numpy as np

from tfpose import skeleton as skeleton_lib
from tfpose.data import sequence

MAPPINGS_DIR = os.path.join(os.path.dirname(__file__), "mappings")
UP_AXES = ("y", "z", "auto")
_KEYS = {"up", "scale", "rest_lengths", "joints", "source_fps", "description"}
# Plausible file units, metres each, for inferring a BVH scale.
UNITS = {"metres": 1.0, "decimetres": 0.1, "centimetres": 0.01, "millimetres": 0.001,
         "inches": 0.0254}
ASSUMED_HEIGHT = 1.7  # metres, ankle to head top of an adult, for the unit guess


def builtin_names():
    return sorted(n[:-5] for n in os.listdir(MAPPINGS_DIR) if n.endswith(".json"))


class JointMapping:
    """A validated mapping (see the module docstring).

    Args:
        spec: a built-in name, the path of a JSON file, or the dict itself.
    """

    def __init__(self, spec):
        if isinstance(spec, JointMapping):
            spec = spec.spec
        if isinstance(spec, (str, os.PathLike)):
            path = os.fspath(spec)
            if not path.endswith(".json") and os.sep not in path and path in builtin_names():
                path = os.path.join(MAPPINGS_DIR, f"{path}.json")
            if not os.path.isfile(path):
                raise ValueError(
                    f"Mapping {spec!r} is neither a file nor a built-in mapping "
                    f"({builtin_names()}).")
            try:
                with open(path, encoding="utf-8") as f:
                    spec = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{e.lineno}: not valid JSON: {e.msg}.") from None
            self.source = path
        else:
            self.source = "mapping"
        if not isinstance(spec, dict):
            raise ValueError(f"{self.source}: a mapping is a JSON object, got {type(spec)}.")
        self.spec = spec
        unknown = sorted(set(spec) - _KEYS)
        if unknown:
            raise ValueError(f"{self.source}: unknown keys {unknown}; expected {sorted(_KEYS)}.")
        self.up = spec.get("up", "auto")
        if self.up not in UP_AXES:
            raise ValueError(f"{self.source}: \"up\" is {self.up!r}; expected one of {UP_AXES}.")
        self.scale = spec.get("scale")
        if self.scale is not None and not (isinstance(self.scale, (int, float))
                                           and self.scale > 0):
            raise ValueError(f"{self.source}: \"scale\" must be a positive number of metres "
                             f"per file unit, got {self.scale!r}.")
        self.rest_lengths = bool(spec.get("rest_lengths", False))
        self.source_fps = spec.get("source_fps")
        joints = spec.get("joints")
        if not isinstance(joints, dict):
            raise ValueError(f"{self.source}: \"joints\" must map H36M joint names to points.")
        names = skeleton_lib.H36M.names
        extra = sorted(set(joints) - set(names))
        missing = [n for n in names if n not in joints]
        if extra or missing:
            raise ValueError(
                f"{self.source}: \"joints\" must name each H36M joint once; unknown {extra}, "
                f"missing {missing}; the H36M joints are {list(names)}.")
        self.joints = [joints[n] for n in names]
        for name, point in zip(names, self.joints):
            _check_point(point, f"{self.source}: joint {name!r}")

    def source_points(self):
        """Every source point the mapping reads."""
        found = []
        for point in self.joints:
            _collect(point, found)
        return sorted(set(found))

    def apply(self, points, scale):
        """Mapped poses `[T, 17, 3]` in metres (source axes).

        Args:
            points: dict source point -> `[T, 3]` in file units.
            scale: metres per file unit.
        """
        return np.stack([_evaluate(p, points, scale) for p in self.joints], axis=1)

    def resolve_scale(self, rest_points, path, default=None):
        """Metres per file unit: the mapping's, else `default` (an ASF's
        `:units`), else guessed from the rest pose's height (warned)."""
        if self.scale is not None:
            return float(self.scale)
        if default is not None:
            return float(default)
        rest = self.apply(rest_points, 1.0)[0]
        tall = float(sequence.height(rest))
        if not tall > 0:
            raise ValueError(f"{path}: cannot infer the unit: the rest pose has no height; "
                             "set \"scale\" in the mapping.")
        unit = min(UNITS, key=lambda u: abs(np.log(tall * UNITS[u] / ASSUMED_HEIGHT)))
        warnings.warn(
            f"{path}: the mapping gives no \"scale\"; the rest pose is {tall:.4g} units "
            f"tall, so the unit is taken to be {unit} (scale {UNITS[unit]}, "
            f"{tall * UNITS[unit]:.2f} m). Set \"scale\" in the mapping to say so.",
            stacklevel=3)
        return UNITS[unit]

    def resolve_up(self, rest_poses, path):
        """The up axis: the mapping's, or detected from `[17, 3]` rest poses (warned)."""
        if self.up != "auto":
            return self.up
        index = skeleton_lib.H36M.index
        rise = rest_poses[index("Head")] - rest_poses[index("Hip")]
        up = "y" if rise[1] >= rise[2] else "z"
        if rise["yz".index(up) + 1] <= 0.5 * np.linalg.norm(rise):
            raise ValueError(
                f"{path}: cannot detect the up axis: in the rest pose the head is not above "
                f"the hip along y or z (head - hip = {np.round(rise, 3).tolist()}); set "
                "\"up\" in the mapping.")
        warnings.warn(f"{path}: the mapping says \"up\": \"auto\"; detected +{up} up from the "
                      "rest pose.", stacklevel=3)
        return up


def _check_point(point, where):
    if isinstance(point, str):
        return
    if isinstance(point, dict) and len(point) == 1:
        (kind, args), = point.items()
        if kind == "midpoint" and isinstance(args, list) and len(args) == 2:
            for a in args:
                _check_point(a, where)
            return
        if (kind == "extend" and isinstance(args, list) and len(args) == 3
                and isinstance(args[2], (int, float))):
            for a in args[:2]:
                _check_point(a, where)
            return
    raise ValueError(
        f"{where}: {point!r} is not a point; expected a source joint name, "
        "{\"midpoint\": [a, b]} or {\"extend\": [a, b, metres]}.")


def _collect(point, found):
    if isinstance(point, str):
        found.append(point)
        return
    (kind, args), = point.items()
    for a in args[:2]:
        _collect(a, found)


def _evaluate(point, points, scale):
    if isinstance(point, str):
        return points[point] * scale
    (kind, args), = point.items()
    a = _evaluate(args[0], points, scale)
    b = _evaluate(args[1], points, scale)
    if kind == "midpoint":
        return 0.5 * (a + b)
    d = b - a
    d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
    return b + args[2] * d
