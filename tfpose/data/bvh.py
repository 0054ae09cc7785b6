"""BVH (Biovision Hierarchy) files: the skeleton, streamed motion, kinematics.

A BVH file is a joint tree (`HIERARCHY`) followed by one line of channel
values per frame (`MOTION`). Every joint declares its own channels
(`CHANNELS n <name> ...`), in any order: rotations in the order listed are
composed outermost first (`Zrotation Xrotation Yrotation` is
`Rz @ Rx @ Ry`), and position channels, on the root or on any other joint,
give the joint's translation from its parent on the axes they name,
replacing the `OFFSET` there (the offset stays on axes without a position
channel). A joint's origin is `origin(parent) + M(parent) @ translation`
and its frame `M(joint) = M(parent) @ R(joint)`; an `End Site` is a point
at `OFFSET` in its joint's frame, named `"<joint>/end"`.

BVH carries no length unit and no up axis; `tfpose.data.joint_mapping`
declares both (or infers them and says so).

Large files stream: the motion is parsed in blocks of lines straight into
one preallocated float32 array `[frames, channels]` (0.4 bytes per byte of
a typical file), and kinematics run over blocks of frames.
"""

import warnings

import numpy as np

from tfpose.data import rotation

_BLOCK_LINES = 2048
_AXES = {"x": 0, "y": 1, "z": 2}


def _error(path, line, message):
    where = f"{path}:{line}" if line else f"{path}"
    return ValueError(f"{where}: {message}")


class _Joint:
    def __init__(self, name, parent, line):
        self.name = name
        self.parent = parent  # index, -1 for the root
        self.line = line
        self.offset = np.zeros(3)
        self.rotation_columns = []  # channel columns of the rotations, in order
        self.rotation_axes = ""  # their axes, e.g. "zxy"
        self.position_columns = {}  # axis index -> channel column
        self.end_offset = None  # End Site offset in the joint's frame


class BVHFile:
    """A BVH file's skeleton and motion.

    Args:
        path: the `.bvh` file.
        read_motion: `False` reads the header only.

    Attributes:
        joints: list of joints, parents before children.
        names: point names: every joint, and `"<joint>/end"` per End Site.
        num_channels: values per frame.
        frame_time: seconds per frame (the header's `Frame Time`).
        declared_frames: the header's `Frames`.
        motion: `[T, num_channels]` float32 channel values, or `None`.

    Raises:
        ValueError: naming the file and line: a malformed header, a frame
            with the wrong number of values (a truncated file), a value
            that is not a number, NaN or infinite values, no frames.
    """

    def __init__(self, path, read_motion=True):
        self.path = str(path)
        self.joints = []
        self.num_channels = 0
        self.frame_time = None
        self.declared_frames = None
        self.motion = None
        # latin-1 never fails to decode; universal newlines accept \r\n and
        # \r; str.split() accepts tabs.
        with open(self.path, "r", encoding="latin-1") as f:
            lines = enumerate(f, 1)
            self._read_header(lines)
            if read_motion:
                self.motion = self._read_motion(lines)

    @property
    def names(self):
        names = [j.name for j in self.joints]
        names += [f"{j.name}/end" for j in self.joints if j.end_offset is not None]
        return names

    # --- Header -------------------------------------------------------------

    def _tokens(self, lines):
        for lineno, line in lines:
            for token in line.split():
                yield token, lineno
            if self.frame_time is not None:
                return  # the motion starts on the next line

    def _read_header(self, lines):
        tokens = self._tokens(lines)
        self._last_line = 0

        def take(what):
            try:
                token, self._last_line = next(tokens)
            except StopIteration:
                raise _error(self.path, self._last_line,
                             f"the file ends where {what} was expected (truncated?).") from None
            return token

        def number(what, kind=float):
            token = take(what)
            try:
                return kind(token)
            except ValueError:
                raise _error(self.path, self._last_line,
                             f"expected {what}, got {token!r}.") from None

        first = take("HIERARCHY")
        if first.upper() != "HIERARCHY":
            raise _error(self.path, self._last_line,
                         f"not a BVH file: it starts with {first!r}, not HIERARCHY.")
        token = take("ROOT")
        if token.upper() != "ROOT":
            raise _error(self.path, self._last_line, f"expected ROOT, got {token!r}.")
        self._read_joint(take("the root's name"), -1, take, number)
        token = take("MOTION")
        if token.upper() == "ROOT":
            raise _error(self.path, self._last_line,
                         "several ROOT joints; only one skeleton per file is supported.")
        if token.upper() != "MOTION":
            raise _error(self.path, self._last_line, f"expected MOTION, got {token!r}.")
        if take("Frames:").lower() != "frames:":
            raise _error(self.path, self._last_line, "expected 'Frames:' after MOTION.")
        self.declared_frames = number("the frame count", int)
        if self.declared_frames < 0:
            raise _error(self.path, self._last_line, "negative frame count.")
        if take("Frame Time:").lower() != "frame" or take("Frame Time:").lower() != "time:":
            raise _error(self.path, self._last_line, "expected 'Frame Time:'.")
        frame_time = number("the frame time")
        if not frame_time > 0:
            raise _error(self.path, self._last_line,
                         f"the frame time must be positive, got {frame_time}.")
        self.frame_time = frame_time  # also ends the token stream at this line
        self._motion_line = self._last_line + 1

    def _read_joint(self, name, parent, take, number):
        joint = _Joint(name, parent, self._last_line)
        index = len(self.joints)
        if name in {j.name for j in self.joints}:
            raise _error(self.path, self._last_line, f"joint {name!r} is defined twice.")
        self.joints.append(joint)
        if take("{") != "{":
            raise _error(self.path, self._last_line, f"expected '{{' after joint {name!r}.")
        while True:
            token = take(f"the end of joint {name!r}")
            key = token.upper()
            if key == "}":
                return
            if key == "OFFSET":
                joint.offset = np.array([number("an OFFSET value") for _ in range(3)])
            elif key == "CHANNELS":
                count = number("the channel count", int)
                for _ in range(count):
                    self._add_channel(joint, take("a channel name"))
            elif key == "JOINT":
                self._read_joint(take("a joint name"), index, take, number)
            elif key == "END":
                if take("Site").upper() != "SITE" or take("{") != "{":
                    raise _error(self.path, self._last_line, "expected 'End Site {'.")
                if take("OFFSET").upper() != "OFFSET":
                    raise _error(self.path, self._last_line, "expected OFFSET in End Site.")
                joint.end_offset = np.array([number("an OFFSET value") for _ in range(3)])
                if take("}") != "}":
                    raise _error(self.path, self._last_line, "expected '}' closing End Site.")
            else:
                raise _error(self.path, self._last_line,
                             f"unexpected {token!r} in joint {name!r}.")

    def _add_channel(self, joint, channel):
        kind = channel.lower()
        if len(kind) != 9 or kind[0] not in _AXES or kind[1:] not in ("rotation", "position"):
            raise _error(self.path, self._last_line,
                         f"unknown channel {channel!r} of joint {joint.name!r} (expected "
                         "Xrotation ... Zposition).")
        if kind.endswith("rotation"):
            joint.rotation_columns.append(self.num_channels)
            joint.rotation_axes += kind[0]
        else:
            joint.position_columns[_AXES[kind[0]]] = self.num_channels
        self.num_channels += 1

    # --- Motion -------------------------------------------------------------

    def _read_motion(self, lines):
        channels = self.num_channels
        capacity = max(self.declared_frames, 1)
        motion = np.empty((capacity, channels), np.float32)
        frames = 0
        block = []

        def flush(motion, capacity, frames):
            rows = self._parse_block(block, channels).reshape(len(block), channels)
            if frames + len(rows) > capacity:  # more frames than declared
                capacity = max(2 * capacity, frames + len(rows))
                grown = np.empty((capacity, channels), np.float32)
                grown[:frames] = motion[:frames]
                motion = grown
            motion[frames:frames + len(rows)] = rows
            block.clear()
            return motion, capacity, frames + len(rows)

        for lineno, line in lines:
            if line.strip():
                block.append((lineno, line))
                if len(block) == _BLOCK_LINES:
                    motion, capacity, frames = flush(motion, capacity, frames)
        if block:
            motion, capacity, frames = flush(motion, capacity, frames)
        if frames == 0:
            raise _error(self.path, self._motion_line,
                         f"no frames (the header says {self.declared_frames}).")
        if frames != self.declared_frames:
            warnings.warn(
                f"{self.path}: the header says {self.declared_frames} frames, the file holds "
                f"{frames}; loaded {frames}.", stacklevel=3)
        return motion[:frames] if frames < capacity else motion

    def _parse_block(self, block, channels):
        text = " ".join(ln for _, ln in block)
        try:
            values = np.fromstring(text, dtype=np.float32, sep=" ")
        except ValueError:
            values = None
        if values is None or values.size != len(block) * channels:
            self._locate_bad_line(block, channels)
        if not np.isfinite(values).all():
            row, column = np.argwhere(~np.isfinite(values.reshape(len(block), channels)))[0]
            raise _error(self.path, block[row][0],
                         f"channel {self._channel_name(column)} is "
                         f"{values.reshape(len(block), channels)[row, column]} (missing "
                         "data?); fill or cut the gap before loading.")
        return values

    def _locate_bad_line(self, block, channels):
        for lineno, line in block:
            parts = line.split()
            if len(parts) != channels:
                raise _error(self.path, lineno,
                             f"a frame has {len(parts)} values, the header declares "
                             f"{channels} channels (truncated file?).")
            for i, part in enumerate(parts):
                try:
                    float(part)
                except ValueError:
                    raise _error(self.path, lineno,
                                 f"value {part!r} of channel {self._channel_name(i)} is not "
                                 "a number.") from None
        raise _error(self.path, block[0][0], "unreadable motion block.")

    def _channel_name(self, column):
        for joint in self.joints:
            for c, axis in zip(joint.rotation_columns, joint.rotation_axes):
                if c == column:
                    return f"{joint.name} {axis.upper()}rotation"
            for axis, c in joint.position_columns.items():
                if c == column:
                    return f"{joint.name} {'XYZ'[axis]}position"
        return str(column)

    # --- Kinematics ---------------------------------------------------------

    def points(self, names, motion=None, rest=False, chunk=4096):
        """World positions of points, in file units and axes.

        Args:
            names: point names (see `names`).
            motion: `[T, num_channels]` channel values; default: the file's.
            rest: the rest pose instead (one frame: all rotations zero,
                every translation its `OFFSET`).
            chunk: frames per kinematics pass, to bound memory.

        Returns:
            dict name -> `[T, 3]` float64.
        """
        unknown = sorted(set(names) - set(self.names))
        if unknown:
            raise ValueError(
                f"{self.path}: no joint {unknown}; the file's joints are {self.names}.")
        if rest:
            motion = np.zeros((1, self.num_channels), np.float32)
        elif motion is None:
            motion = self.motion
        needed = set()
        index = {j.name: i for i, j in enumerate(self.joints)}
        for name in names:
            j = index[name.split("/end")[0] if name.endswith("/end") else name]
            while j >= 0 and j not in needed:
                needed.add(j)
                j = self.joints[j].parent
        out = {name: np.empty((len(motion), 3)) for name in names}
        for start in range(0, len(motion), chunk):
            block = np.asarray(motion[start:start + chunk], np.float64)
            origins, frames = {}, {}
            for j, joint in enumerate(self.joints):
                if j not in needed:
                    continue
                t = np.broadcast_to(joint.offset, (len(block), 3)).copy()
                if not rest:
                    for axis, column in joint.position_columns.items():
                        t[:, axis] = block[:, column]
                r = rotation.matrices(
                    np.deg2rad(block[:, joint.rotation_columns] if not rest else
                               np.zeros((len(block), len(joint.rotation_axes)))),
                    joint.rotation_axes)
                if joint.parent < 0:
                    origins[j], frames[j] = t, r
                else:
                    p = joint.parent
                    origins[j] = origins[p] + np.einsum("tij,tj->ti", frames[p], t)
                    frames[j] = frames[p] @ r
            for name in names:
                if name.endswith("/end") and name not in index:
                    j = index[name[:-4]]
                    end = self.joints[j].end_offset
                    value = origins[j] + np.einsum("tij,j->ti", frames[j], end)
                else:
                    value = origins[index[name]]
                out[name][start:start + chunk] = value
        return out
