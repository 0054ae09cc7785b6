import mocap_files as mf
import numpy as np
import pytest

from tfpose.data import asf_amc


def _write(tmp_path, length_unit=0.5, angle="deg", frames=12, newline="\n"):
    asf = tmp_path / "actor.asf"
    amc = tmp_path / "actor_take_01.amc"
    motion = mf.asf_motion(frames)
    asf.write_text(mf.asf_text(length_unit, angle, newline=newline), newline="")
    amc.write_text(mf.amc_text(motion, angle, newline=newline), newline="")
    return asf, amc, motion


@pytest.mark.parametrize("length_unit, angle", [(0.5, "deg"), (1.0, "rad")])
def test_matches_reference_kinematics(tmp_path, length_unit, angle):
    asf_path, amc_path, motion = _write(tmp_path, length_unit, angle)
    asf = asf_amc.ASFSkeleton(asf_path)
    assert asf.scale == pytest.approx(0.0254 / length_unit)
    assert asf.root_order == mf.ROOT_ORDER and asf.root_axis == mf.ROOT_AXIS
    expected = mf.asf_positions(motion, length_unit)
    got = asf.points(list(expected), asf_amc.read_amc(amc_path, asf))
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], atol=1e-7, err_msg=name)


def test_known_answer_axis_is_the_bones_frame(tmp_path):
    # axis 0 0 90: the bone's x axis is the world's y, so rx turns about y.
    bones = [("lfemur", "root", (1, 0, 0), 10.0, (0, 0, 90), "XYZ", ("rx",))]
    (tmp_path / "a.asf").write_text(mf.asf_text(length_unit=1.0, bones=bones))
    motion = {"root": np.zeros((1, 6)), "lfemur": np.array([[90.0]])}
    (tmp_path / "a.amc").write_text(mf.amc_text(motion, bones=bones))
    asf = asf_amc.ASFSkeleton(tmp_path / "a.asf")
    end = asf.points(["lfemur"], asf_amc.read_amc(tmp_path / "a.amc", asf))["lfemur"][0]
    np.testing.assert_allclose(end, [0, 0, -10 * 0.0254], atol=1e-12)


def test_windows_line_endings_and_tabs(tmp_path):
    asf_path, amc_path, motion = _write(tmp_path, newline="\r\n")
    for path in (asf_path, amc_path):
        path.write_bytes(path.read_bytes().replace(b" ", b"\t"))
    asf = asf_amc.ASFSkeleton(asf_path)
    read = asf_amc.read_amc(amc_path, asf)
    np.testing.assert_allclose(read["lfemur"], motion["lfemur"])


def test_robustness(tmp_path):
    asf_path, amc_path, motion = _write(tmp_path, frames=3)
    asf = asf_amc.ASFSkeleton(asf_path)
    lines = amc_path.read_text().splitlines()
    femur = next(i for i, ln in enumerate(lines) if ln.startswith("lfemur"))
    cases = [
        (lambda ls: ls[:femur] + [ls[femur].rsplit(" ", 1)[0]],
         rf"actor_take_01.amc:{femur + 1}: bone 'lfemur' has 2 values, expected 3 "
         r"\(truncated file\?\)"),
        (lambda ls: ls[:femur] + [ls[femur].replace(ls[femur].split()[2], "nan")] +
         ls[femur + 1:], rf"amc:{femur + 1}: bone 'lfemur' has NaN or infinite values"),
        (lambda ls: ls[:femur] + ["lfemurX 1 2 3"] + ls[femur + 1:],
         rf"amc:{femur + 1}: unknown bone 'lfemurX'"),
        (lambda ls: ls[:3], "holds no frames"),
        (lambda ls: [], "not an AMC file"),
    ]
    for edit, match in cases:
        amc_path.write_text("\n".join(edit(lines)) + "\n")
        with pytest.raises(ValueError, match=match):
            asf_amc.read_amc(amc_path, asf)
    # A last frame cut short at a line boundary is dropped, and said.
    amc_path.write_text("\n".join(lines[:-3]) + "\n")
    with pytest.warns(UserWarning, match=r"the last frame \(3\) is incomplete"):
        assert len(asf_amc.read_amc(amc_path, asf)["root"]) == 2


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace("angle deg", "angle grad"), r"asf:\d+: .*angle unit 'grad'"),
    (lambda t: t.replace(" ZXY\n", " ZXQ\n", 1), r"asf:\d+: .*rotation order 'ZXQ'"),
    (lambda t: t.replace("dof rx ry rz", "dof rx ry tz", 1), r"only rotations"),
    (lambda t: t.replace("orientation 0 0 0", "orientation 0 10 0"), r"non-zero root orient"),
    (lambda t: t.split(":hierarchy")[0], r"section ':hierarchy' is missing"),
])
def test_bad_asf(tmp_path, edit, match):
    (tmp_path / "bad.asf").write_text(edit(mf.asf_text()))
    with pytest.raises(ValueError, match=match):
        asf_amc.ASFSkeleton(tmp_path / "bad.asf")
