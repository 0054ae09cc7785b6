"""Live lifting over JSON lines: one 2D frame per line in, one line per pose out.

An input line is one frame as `tfpose.data.keypoint_files.parse_frame`
reads it: 17 `[x, y]` or `[x, y, confidence]` pairs, a flat list of 34 or
51 numbers, `{"keypoints": ..., "scores": ...}`, or `null` for a frame
without a detection. `lift_lines` pushes each frame through a
`tfpose.inference.streaming.StreamingLifter` and writes each pose as a
JSON object (`pose_line`) as soon as the lifter returns it, `L` frames
(its lookahead) after its input.
"""

import json

import numpy as np

from tfpose import skeleton as skeleton_lib
from tfpose.data import keypoint_files
from tfpose.inference.lift_files import rounded

ON_ERROR = ("skip", "stop")


def parse_line(line, layout):
    """One input line -> `(keypoints [17, 2] float32, confidence [17] or
    None)` in H36M order, NaN where missing.

    Args:
        line: the JSON text of one frame.
        layout: its joint order, `"coco"` or `"h36m"`.

    Raises:
        ValueError: the line is not JSON, or not a frame of 17 joints.
    """
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error})") from None
    values = keypoint_files.parse_frame(entry)
    if values is None:  # no detection in this frame
        return np.full((17, 2), np.nan, np.float32), None
    keypoints = values[:, :2]
    confidence = values[:, 2] if values.shape[1] == 3 else None
    if layout == "coco":
        keypoints = skeleton_lib.coco_to_h36m(keypoints)
        if confidence is not None:
            confidence = skeleton_lib.coco_to_h36m_confidence(
                np.nan_to_num(confidence, nan=-1.0))
    return np.asarray(keypoints, np.float32), confidence


def pose_line(pose, line):
    """The output line (no newline) of a `StreamedPose` whose frame came
    from input line `line`: `frame`, `line`, `poses_3d`, `poses_3d_camera`,
    `root_position` (metres, camera frame) and `filled` (held joints)."""
    return json.dumps({
        "frame": pose.frame, "line": line,
        "poses_3d": rounded(pose.poses_3d),
        "poses_3d_camera": rounded(pose.poses_3d_camera),
        "root_position": rounded(pose.root_position),
        "filled": np.asarray(pose.filled).tolist()})


def lift_lines(source, lifter, layout, out, *, on_error="stop", report=None):
    """Lifts the JSON lines of `source` to `out` as they arrive.

    Blank lines are ignored; frames count from 0 over the others. At the
    end of `source` (or at a bad line with `on_error="stop"`) the lifter is
    flushed: every frame read is written.

    Args:
        source: a text file (e.g. standard input), read a line at a time.
        lifter: a `StreamingLifter` (its `push` and `flush`).
        layout: the joint order of the lines, `"coco"` or `"h36m"`.
        out: a text file; each pose line is flushed when written.
        on_error: at a bad line, `"skip"` it or `"stop"` reading.
        report: optional callable `(line number, ValueError)` told of each
            bad line (numbered from 1).

    Returns:
        Whether it stopped at a bad line.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"`on_error` must be one of {ON_ERROR}, got {on_error!r}.")
    lines = {}  # input line of each frame not yet written: at most L + 1

    def write(pose):
        out.write(pose_line(pose, lines.pop(pose.frame)) + "\n")
        out.flush()

    frames, stopped = 0, False
    for number, line in enumerate(iter(source.readline, ""), start=1):
        if not line.strip():
            continue
        try:
            keypoints, confidence = parse_line(line, layout)
        except ValueError as error:
            if report is not None:
                report(number, error)
            if on_error == "stop":
                stopped = True
                break
            continue
        lines[frames] = number
        frames += 1
        pose = lifter.push(keypoints, confidence)
        if pose is not None:
            write(pose)
    for pose in lifter.flush():
        write(pose)
    return stopped
