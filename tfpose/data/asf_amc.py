"""Acclaim ASF/AMC motion capture (CMU, HDM05): skeleton, motion, kinematics.

The ASF file holds one actor's skeleton: bones with a rest `direction` and
`length` in world axes, an `axis` (the bone's local frame, as Euler angles
with their order, e.g. `axis 0 0 20 XYZ`), the rotational `dof` that the
AMC file animates, and the `:hierarchy`. `:units` gives `length` (file
units per inch: metres = value / length * 0.0254) and `angle` (`deg` or
`rad`). The AMC file lists, per frame, each animated bone's values in its
`dof` order; the root's six in the `:root` `order`.

Kinematics (the Acclaim convention): a bone's local rotation is
`C @ R(dof) @ C^-1` with `C` from `axis`, both composed in the axis order
(`XYZ`: X applied first); its frame is its parent's times that; its far
end is its parent's far end plus the frame applied to `direction * length`.
The point of an ASF bone is its far end, named by the bone; `"root"` is the
root translation.
"""

import re

import numpy as np

from tfpose.data import rotation

INCH = 0.0254


def _error(path, line, message):
    return ValueError(f"{path}:{line}: {message}" if line else f"{path}: {message}")


def euler(angles, order):
    """Acclaim Euler angles `[..., 3]` (x, y, z, radians) in `order` (e.g.
    `"XYZ"`: X applied first) -> `[..., 3, 3]`."""
    a = np.asarray(angles, np.float64)
    axes = order.lower()[::-1]
    return rotation.matrices(np.stack([a[..., "xyz".index(c)] for c in axes], -1), axes)


class ASFSkeleton:
    """An actor's ASF skeleton.

    Attributes:
        path: the file.
        scale: metres per ASF length unit.
        angle_scale: radians per ASF angle unit.
        bones: dict name -> dict(direction, length, axis, order, dof).
        children: dict name -> list of child bone names (`"root"` included).
        root_order: the AMC root channels, e.g. `("TX", ..., "RZ")`.
        root_axis: the root's rotation order, e.g. `"XYZ"`.
        names: point names: `"root"` and every bone.
    """

    def __init__(self, path):
        self.path = str(path)
        try:
            with open(self.path, "r", encoding="latin-1") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            raise FileNotFoundError(f"ASF skeleton file not found: {self.path}") from None
        self.scale = INCH  # `:units length 1` when the file says nothing
        self.angle_scale = np.pi / 180.0
        self.bones = {}
        self.children = {}
        self.root_order = ("TX", "TY", "TZ", "RX", "RY", "RZ")
        self.root_axis = "XYZ"
        self._parse(lines)

    @property
    def names(self):
        return ["root"] + list(self.bones)

    def _error(self, line, message):
        return _error(self.path, line, f"not a valid ASF file: {message}")

    def _parse(self, lines):
        sections = []  # (keyword, line number, [(line number, tokens)])
        for lineno, line in enumerate(lines, 1):
            tokens = line.split()
            if not tokens or tokens[0].startswith("#"):
                continue
            if tokens[0].startswith(":"):
                sections.append((tokens[0][1:].lower(), lineno, []))
                if len(tokens) > 1:  # `:units` may carry values on its line
                    sections[-1][2].append((lineno, tokens[1:]))
            elif sections:
                sections[-1][2].append((lineno, tokens))
        found = {s[0] for s in sections}
        for key in ("bonedata", "hierarchy"):
            if key not in found:
                raise self._error(0, f"section ':{key}' is missing.")
        for key, lineno, body in sections:
            if key == "units":
                self._parse_units(body)
            elif key == "root":
                self._parse_root(body)
            elif key == "bonedata":
                self._parse_bones(body)
            elif key == "hierarchy":
                for n, row in body:
                    if row[0] in ("begin", "end"):
                        continue
                    for name in row:
                        if name != "root" and name not in self.bones:
                            raise _error(self.path, n,
                                         f"hierarchy names bone {name!r}, which :bonedata lacks.")
                    self.children.setdefault(row[0], []).extend(row[1:])

    def _parse_units(self, body):
        for n, row in body:
            if row[0] == "length" and len(row) >= 2:
                try:
                    self.scale = INCH / float(row[1])
                except (ValueError, ZeroDivisionError):
                    raise self._error(n, f"bad length unit {row[1]!r}.") from None
            elif row[0] == "angle" and len(row) >= 2:
                unit = row[1].lower()
                if unit not in ("deg", "rad"):
                    raise self._error(n, f"angle unit {row[1]!r}: expected deg or rad.")
                self.angle_scale = 1.0 if unit == "rad" else np.pi / 180.0

    def _parse_root(self, body):
        for n, row in body:
            key = row[0].lower()
            if key == "order":
                self.root_order = tuple(r.upper() for r in row[1:])
                if sorted(self.root_order) != sorted(("TX", "TY", "TZ", "RX", "RY", "RZ")):
                    raise self._error(n, f"root order {row[1:]}: expected TX TY TZ RX RY RZ "
                                         "in some order.")
            elif key == "axis":
                self.root_axis = _order(self, n, row[1])
            elif key == "orientation":
                if any(float(v) != 0.0 for v in row[1:4]):
                    raise self._error(n, "a non-zero root orientation is not supported.")

    def _parse_bones(self, body):
        bone = None
        for n, row in body:
            key = row[0].lower()
            if key == "begin":
                bone = {"dof": (), "axis": np.zeros(3), "order": "XYZ", "line": n}
            elif key == "end":
                if bone is None or "name" not in bone:
                    raise self._error(n, "a bone without a name.")
                for field in ("direction", "length"):
                    if field not in bone:
                        raise self._error(n, f"bone {bone['name']!r} has no {field}.")
                self.bones[bone["name"]] = bone
                bone = None
            elif bone is None:
                continue
            elif key == "name":
                bone["name"] = row[1]
            elif key == "direction":
                bone["direction"] = _floats(self, n, row[1:4])
            elif key == "length":
                bone["length"] = _floats(self, n, row[1:2])[0]
            elif key == "axis":
                bone["axis"] = _floats(self, n, row[1:4])
                if len(row) > 4:
                    bone["order"] = _order(self, n, row[4])
            elif key == "dof":
                dof = tuple(d.lower() for d in row[1:])
                bad = [d for d in dof if d not in ("rx", "ry", "rz")]
                if bad:
                    raise self._error(n, f"dof {bad} of bone {bone.get('name')!r}: only "
                                         "rotations (rx, ry, rz) are supported.")
                bone["dof"] = dof

    def channels(self):
        """AMC channel layout: list of `(name, count)`, root first."""
        return [("root", 6)] + [(n, len(b["dof"])) for n, b in self.bones.items() if b["dof"]]

    def points(self, names, motion=None):
        """World positions of points in metres, ASF axes.

        Args:
            names: point names (see `names`).
            motion: dict name -> `[T, count]` AMC values (see `read_amc`);
                `None`: the rest pose (all values zero).

        Returns:
            dict name -> `[T, 3]` float64.
        """
        unknown = sorted(set(names) - set(self.names))
        if unknown:
            raise ValueError(
                f"{self.path}: no bone {unknown}; the file's bones are {self.names}.")
        if motion is None:
            motion = {n: np.zeros((1, c)) for n, c in self.channels()}
        root = motion["root"]
        num = len(root)
        order = self.root_order
        trans = np.stack([root[:, order.index(a)] for a in ("TX", "TY", "TZ")], -1)
        rot = np.stack([root[:, order.index(a)] for a in ("RX", "RY", "RZ")], -1)
        positions = {"root": trans * self.scale}
        matrices = {"root": euler(rot * self.angle_scale, self.root_axis)}
        stack = [("root", c) for c in self.children.get("root", [])]
        while stack:
            parent, name = stack.pop()
            bone = self.bones[name]
            c = euler(bone["axis"] * self.angle_scale, bone["order"])
            angles = np.zeros((num, 3))
            values = motion.get(name)
            for i, d in enumerate(bone["dof"]):
                angles[:, "xyz".index(d[1])] = values[:, i]
            local = c @ euler(angles * self.angle_scale, bone["order"]) @ c.T
            matrix = matrices[parent] @ local
            matrices[name] = matrix
            offset = bone["direction"] * bone["length"] * self.scale
            positions[name] = positions[parent] + matrix @ offset
            stack.extend((name, child) for child in self.children.get(name, []))
        missing = sorted(set(names) - set(positions))
        if missing:
            raise ValueError(f"{self.path}: bones {missing} are not in the :hierarchy.")
        return {n: positions[n] for n in names}


def _floats(asf, line, values):
    try:
        return np.array([float(v) for v in values], np.float64)
    except ValueError:
        raise asf._error(line, f"expected numbers, got {values}.") from None


def _order(asf, line, text):
    order = text.upper()
    if sorted(order) != ["X", "Y", "Z"]:
        raise asf._error(line, f"rotation order {text!r}: expected a permutation of XYZ.")
    return order


_FRAME = re.compile(r"^\d+$")


def read_amc(path, asf):
    """Reads an AMC file: dict bone -> `[T, count]` values, `"root"` -> `[T, 6]`.

    Values stay in the file's units (`asf.scale`, `asf.angle_scale`). A
    last frame cut short (bones missing at the end of the file) is dropped
    with a warning; a line with the wrong number of values is an error.
    """
    import warnings

    path = str(path)
    layout = dict(asf.channels())
    columns, width = {}, 0
    for name, count in layout.items():
        columns[name] = slice(width, width + count)
        width += count
    try:
        f = open(path, "r", encoding="latin-1")
    except FileNotFoundError:
        raise FileNotFoundError(f"AMC motion file not found: {path}") from None
    data = np.empty((1024, width))
    frames = 0
    seen = set()
    header = True
    keywords = 0  # ':' header lines seen
    row = None
    with f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if header:
                if parts[0].startswith(":"):
                    if parts[0].upper() == ":RADIANS" and asf.angle_scale != 1.0:
                        raise _error(path, lineno, ":RADIANS, but the ASF's units are "
                                                   "degrees.")
                    keywords += 1
                    continue
                header = False
            if len(parts) == 1 and _FRAME.match(parts[0]):
                if frames and seen != set(layout):
                    raise _error(path, lineno,
                                 f"frame {frames} is incomplete (missing "
                                 f"{sorted(set(layout) - seen)}).")
                if frames == len(data):
                    data = np.concatenate([data, np.empty_like(data)])
                row = data[frames]
                row[:] = np.nan
                frames += 1
                seen = set()
                continue
            name = parts[0]
            if row is None:
                raise _error(path, lineno, f"values before the first frame number: {line!r}.")
            if name not in layout:
                raise _error(path, lineno, f"unknown bone {name!r} (the ASF {asf.path} "
                                           f"animates {sorted(layout)}).")
            if len(parts) - 1 != layout[name]:
                raise _error(path, lineno,
                             f"bone {name!r} has {len(parts) - 1} values, expected "
                             f"{layout[name]} (truncated file?).")
            try:
                row[columns[name]] = [float(v) for v in parts[1:]]
            except ValueError:
                raise _error(path, lineno, f"non-numeric value in {line.strip()!r}.") from None
            if not np.isfinite(row[columns[name]]).all():
                raise _error(path, lineno, f"bone {name!r} has NaN or infinite values "
                                           "(missing data?); fill the gap before loading.")
            seen.add(name)
    if header and not keywords:
        raise ValueError(f"{path}: not an AMC file (empty, or no ':' header lines).")
    if frames == 0:
        raise ValueError(f"{path}: the AMC file holds no frames (a zero-length take).")
    if seen != set(layout):
        # A cut-off last frame: drop it rather than the whole take.
        warnings.warn(f"{path}: the last frame ({frames}) is incomplete (missing "
                      f"{sorted(set(layout) - seen)}); dropped it.", stacklevel=2)
        frames -= 1
        if frames == 0:
            raise ValueError(f"{path}: the only frame is incomplete.")
    return {name: data[:frames, columns[name]] for name in layout}
