import mocap_files as mf
import numpy as np
import pytest

from tfpose.data import bvh


def _two_joints(channels, values):
    return (
        "HIERARCHY\nROOT A\n{\n OFFSET 0 0 0\n"
        f" CHANNELS {len(channels)} {' '.join(channels)}\n"
        " JOINT B\n {\n  OFFSET 10 0 0\n  CHANNELS 0\n"
        "  End Site\n  {\n   OFFSET 0 10 0\n  }\n }\n}\n"
        f"MOTION\nFrames: 1\nFrame Time: 0.01\n{' '.join(map(str, values))}\n")


@pytest.mark.parametrize("order, angles, b, end", [
    # Outermost first: Rz(90) Rx(90) turns the end offset about x, then z.
    ("ZX", (90, 90), (0, 10, 0), (0, 10, 10)),
    ("XZ", (90, 90), (0, 0, 10), (-10, 0, 10)),
    ("Z", (90,), (0, 10, 0), (-10, 10, 0)),
])
def test_known_answers(tmp_path, order, angles, b, end):
    path = tmp_path / "two.bvh"
    path.write_text(_two_joints([f"{a}rotation" for a in order], angles))
    points = bvh.BVHFile(path).points(["A", "B", "B/end"])
    np.testing.assert_allclose(points["B"][0], b, atol=1e-5)
    np.testing.assert_allclose(points["B/end"][0], end, atol=1e-5)


def test_matches_reference_kinematics(tmp_path):
    motion = mf.rounded(mf.random_motion(mf.BODY, 25, seed=3))
    path = tmp_path / "body.bvh"
    mf.write_bvh(path, mf.BODY, motion)
    f = bvh.BVHFile(path)
    assert f.frame_time == pytest.approx(0.02) and f.motion.dtype == np.float32
    expected = mf.bvh_positions(mf.BODY, motion)
    assert set(f.names) == set(expected)
    got = f.points(list(expected), chunk=7)  # several kinematics passes
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], atol=1e-4, err_msg=name)
    rest = f.points(["LeftHand/end"], rest=True)["LeftHand/end"][0]
    np.testing.assert_allclose(rest, [17 + 28 + 25 + 8, 12 + 40 - 5, 0])


def test_windows_line_endings_and_tabs(tmp_path):
    motion = mf.random_motion(mf.BODY, 5)
    mf.write_bvh(tmp_path / "unix.bvh", mf.BODY, motion)
    mf.write_bvh(tmp_path / "dos.bvh", mf.BODY, motion, newline="\r\n", sep="\t")
    assert b"\r\n" in (tmp_path / "dos.bvh").read_bytes()
    np.testing.assert_array_equal(bvh.BVHFile(tmp_path / "dos.bvh").motion,
                                  bvh.BVHFile(tmp_path / "unix.bvh").motion)


def _body_text(count=4, **kwargs):
    return mf.bvh_text(mf.BODY, mf.random_motion(mf.BODY, count), **kwargs)


def _line_of(text, needle):
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_truncated_files(tmp_path):
    path = tmp_path / "cut.bvh"
    text = _body_text()
    path.write_text(text[: len(text) - 20])  # the last frame cut mid-line
    last = len(text.splitlines())
    with pytest.raises(ValueError, match=rf"cut.bvh:{last}: a frame has \d+ values, the header "
                                         r"declares 54 channels \(truncated file\?\)"):
        bvh.BVHFile(path)
    path.write_text(text[: text.index("JOINT LeftLeg")])
    with pytest.raises(ValueError, match=r"cut.bvh:\d+: the file ends where .* \(truncated\?\)"):
        bvh.BVHFile(path)


def test_nan_channel(tmp_path):
    text = _body_text().splitlines()
    row = text[-2].split()
    row[5] = "nan"
    text[-2] = " ".join(row)
    (tmp_path / "nan.bvh").write_text("\n".join(text))
    with pytest.raises(ValueError, match=rf"nan.bvh:{len(text) - 1}: channel Hips Yrotation "
                                         r"is nan \(missing data\?\)"):
        bvh.BVHFile(tmp_path / "nan.bvh")
    text[-2] = text[-2].replace("nan", "1.O")  # a letter O
    (tmp_path / "nan.bvh").write_text("\n".join(text))
    with pytest.raises(ValueError, match=r"value '1.O' of channel Hips Yrotation is not a "):
        bvh.BVHFile(tmp_path / "nan.bvh")


@pytest.mark.parametrize("declared", [2, 6])
def test_frame_count_disagrees_with_header(tmp_path, declared):
    (tmp_path / "n.bvh").write_text(_body_text(count=4, frames=declared))
    with pytest.warns(UserWarning, match=f"the header says {declared} frames, the file "
                                         "holds 4; loaded 4"):
        f = bvh.BVHFile(tmp_path / "n.bvh")
    assert f.motion.shape == (4, 54)


def test_zero_frames_and_bad_headers(tmp_path):
    path = tmp_path / "bad.bvh"
    text = mf.bvh_text(mf.BODY, np.zeros((0, 54)))
    path.write_text(text)
    with pytest.raises(ValueError, match=r"bad.bvh:\d+: no frames \(the header says 0\)"):
        bvh.BVHFile(path)
    text = _body_text()
    path.write_text(text.replace("Zrotation", "Zrot", 1))
    line = _line_of(text, "CHANNELS")
    with pytest.raises(ValueError, match=rf"bad.bvh:{line}: unknown channel 'Zrot' of joint "
                                         "'Hips'"):
        bvh.BVHFile(path)
    path.write_text("garbage\n")
    with pytest.raises(ValueError, match="bad.bvh:1: not a BVH file"):
        bvh.BVHFile(path)


def test_unknown_points_list_the_files_joints(tmp_path):
    path = tmp_path / "body.bvh"
    path.write_text(_body_text())
    with pytest.raises(ValueError, match=r"no joint \['Chest'\]; the file's joints are "
                                         r"\['Hips', 'RightUpLeg'"):
        bvh.BVHFile(path).points(["Chest"])
