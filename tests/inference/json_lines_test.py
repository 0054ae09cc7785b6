"""Live lifting over JSON lines: lines parsed, poses written as they are due."""

import io
import json

import numpy as np
import pytest

from tfpose import skeleton
from tfpose.inference import json_lines
from tfpose.inference.streaming import StreamedPose

PIXELS = np.arange(34, dtype=np.float64).reshape(17, 2) * 10
SCORES = np.linspace(0.1, 0.9, 17)


class _Lifter:
    """`StreamingLifter`'s contract with a lookahead of one frame, in numpy:
    frame t's pose comes with frame t + 1's push, the last with `flush`."""

    def __init__(self):
        self.pushed = []

    def _pose(self, t):
        keypoints = self.pushed[t]
        pose = np.concatenate([keypoints, np.full((17, 1), float(t))], -1)
        return StreamedPose(t, pose, pose + 1.0, np.array([0.0, 0.0, t + 1.0]),
                            ~np.isfinite(keypoints).all(-1))

    def push(self, keypoints, confidence=None):
        self.pushed.append(keypoints)
        return self._pose(len(self.pushed) - 2) if len(self.pushed) > 1 else None

    def flush(self):
        out = [self._pose(len(self.pushed) - 1)] if self.pushed else []
        self.pushed = []
        return out


def test_parse_line_every_frame_form():
    keypoints, confidence = json_lines.parse_line(
        json.dumps(np.concatenate([PIXELS, SCORES[:, None]], -1).tolist()), "coco")
    np.testing.assert_allclose(keypoints, skeleton.coco_to_h36m(PIXELS), atol=1e-4)
    np.testing.assert_allclose(confidence, skeleton.coco_to_h36m_confidence(SCORES), atol=1e-6)
    flat = json.dumps({"keypoints": PIXELS.ravel().tolist()})
    keypoints, confidence = json_lines.parse_line(flat, "h36m")
    assert keypoints.dtype == np.float32 and confidence is None
    np.testing.assert_array_equal(keypoints, PIXELS)
    keypoints, confidence = json_lines.parse_line("null", "coco")
    assert keypoints.shape == (17, 2) and np.isnan(keypoints).all() and confidence is None


@pytest.mark.parametrize("line, match", [
    ("{not json", "not valid JSON"),
    ("[[1, 2]]", r"keypoints of shape \(1, 2\); expected 17 joints"),
])
def test_parse_line_says_what_is_wrong(line, match):
    with pytest.raises(ValueError, match=match):
        json_lines.parse_line(line, "coco")


class _Source(io.StringIO):
    """Input that records how many pose lines were written before each read."""

    def __init__(self, text, out):
        super().__init__(text)
        self.out, self.written = out, []

    def readline(self, *args):
        self.written.append(len(self.out.getvalue().splitlines()))
        return super().readline(*args)


FRAME = json.dumps(PIXELS.tolist())


@pytest.mark.parametrize("on_error, frames, lines, stopped", [
    ("skip", [0, 1, 2], [1, 4, 5], False),
    ("stop", [0], [1], True),
])
def test_lift_lines_writes_each_pose_when_due(on_error, frames, lines, stopped):
    out = io.StringIO()
    source = _Source("\n".join([FRAME, "  ", "[1, 2", FRAME, FRAME]) + "\n", out)
    bad = []
    got = json_lines.lift_lines(source, _Lifter(), "h36m", out, on_error=on_error,
                                report=lambda number, error: bad.append((number, str(error))))
    assert got is stopped
    assert [n for n, _ in bad] == [3] and "not valid JSON" in bad[0][1]
    written = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [w["frame"] for w in written] == frames and [w["line"] for w in written] == lines
    first = written[0]
    np.testing.assert_allclose(first["poses_3d"], np.concatenate(
        [PIXELS, np.zeros((17, 1))], -1), atol=1e-5)
    np.testing.assert_allclose(first["poses_3d_camera"], np.asarray(first["poses_3d"]) + 1.0)
    assert first["root_position"] == [0.0, 0.0, 1.0] and first["filled"] == [False] * 17
    if on_error == "skip":
        # Frame 0's pose is out before line 5 is read (frame 1 came on line 4).
        assert source.written[:5] == [0, 0, 0, 0, 1]


def test_lift_lines_rejects_an_unknown_error_policy():
    with pytest.raises(ValueError, match="on_error"):
        json_lines.lift_lines(io.StringIO(""), _Lifter(), "coco", io.StringIO(),
                              on_error="ignore")
