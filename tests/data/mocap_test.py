import json
import sys

import mocap_files as mf
import numpy as np
import pytest

from tfpose.data import hdm05, mocap, sources
from tfpose.skeleton import H36M

MAP = mf.DIRECT_MAPPING["joints"]


def _expected_world(positions, scale=0.01):
    """Reference points of the direct mapping, metres, Y-up -> +Z up."""
    poses = np.stack([positions[MAP[n]] for n in H36M.names], axis=1) * scale
    return np.stack([poses[..., 0], -poses[..., 2], poses[..., 1]], axis=-1)


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    root = tmp_path_factory.mktemp("bvh")
    motion = mf.rounded(mf.random_motion(mf.BODY, 40, seed=5))
    mf.write_bvh(root / "anna_jump_high_03.bvh", mf.BODY, motion)
    body, z_motion = mf.z_up(mf.BODY, motion)
    mf.write_bvh(root / "anna_jump_high_03_zup.bvh", body, mf.rounded(z_motion))
    return root, _expected_world(mf.bvh_positions(mf.BODY, motion))


def test_bvh_loads_to_known_positions(take):
    # Rotation orders ZXY, XYZ, YXZ, ZYX, XZY, YZX; Spine has position channels.
    root, expected = take
    seq = mocap.load_bvh(root / "anna_jump_high_03.bvh", mf.DIRECT_MAPPING, fps=None)
    assert (seq.subject, seq.action, seq.fps) == ("anna", "jump_high", 50.0)
    np.testing.assert_allclose(seq.poses_3d, expected, atol=1e-6)
    z_up = dict(mf.DIRECT_MAPPING, up="z")
    seq = mocap.load_bvh(root / "anna_jump_high_03_zup.bvh", z_up, fps=None)
    np.testing.assert_allclose(seq.poses_3d, expected, atol=1e-6)
    with pytest.warns(UserWarning, match=r"detected \+z up"):
        seq = mocap.load_bvh(root / "anna_jump_high_03_zup.bvh", dict(z_up, up="auto"),
                             fps=None)
    np.testing.assert_allclose(seq.poses_3d, expected, atol=1e-6)


def test_resampling(take):
    root, expected = take
    seq = mocap.load_bvh(root / "anna_jump_high_03.bvh", mf.DIRECT_MAPPING, fps=25.0)
    assert seq.fps == 25.0 and seq.num_frames == 20
    np.testing.assert_allclose(seq.poses_3d, expected[::2], atol=1e-6)


def test_bone_lengths_constant_where_the_source_is_rigid(take):
    root, _ = take
    path = root / "anna_jump_high_03.bvh"
    lengths = H36M.bone_lengths(mocap.load_bvh(path, mf.DIRECT_MAPPING, fps=None).poses_3d)
    spread = lengths.max(0) - lengths.min(0)
    # Every bone but Hip -> Spine is one rigid BVH offset; the Spine joint
    # moves on its own position channels.
    moving = [i for i, (p, c) in enumerate(H36M.edges) if H36M.names[c] == "Spine"]
    assert spread[moving].min() > 1e-3
    assert np.delete(spread, moving).max() < 1e-5
    rigid = dict(mf.DIRECT_MAPPING, rest_lengths=True)
    for fps in (None, 30.0):  # resampling bends rigid bones; rest lengths fix them
        lengths = H36M.bone_lengths(mocap.load_bvh(path, rigid, fps=fps).poses_3d)
        assert (lengths.max(0) - lengths.min(0)).max() < 1e-5


def test_builtin_mapping_infers_units_and_up_and_says_so(take):
    root, expected = take
    with pytest.warns(UserWarning) as record:
        seq = mocap.load_bvh(root / "anna_jump_high_03.bvh", "bvh", fps=None)
    said = " ".join(str(w.message) for w in record)
    assert "unit is taken to be centimetres" in said and "detected +y up" in said
    hip = H36M.index("Hip")
    np.testing.assert_allclose(seq.poses_3d[:, hip], expected[:, hip], atol=1e-6)


def test_mapping_naming_a_missing_joint(take):
    root, _ = take
    mapping = dict(mf.DIRECT_MAPPING, joints=dict(MAP, Thorax="Chest"))
    with pytest.raises(ValueError, match=r"anna_jump_high_03.bvh: the mapping names "
                                         r"\['Chest'\], which the file lacks; the file's "
                                         r"joints are \['Hips', 'RightUpLeg'"):
        mocap.load_bvh(root / "anna_jump_high_03.bvh", mapping)


def test_asf_amc_loads_to_known_positions(tmp_path):
    (tmp_path / "07.asf").write_text(mf.asf_text(length_unit=0.45))
    motion = mf.asf_motion(24)
    (tmp_path / "07_01.amc").write_text(mf.amc_text(motion))
    positions = mf.asf_positions(motion, length_unit=0.45)
    mapping = dict(json.load(open(mocap.JointMapping("asf").source)), rest_lengths=False)
    seq = mocap.load_asf_amc(tmp_path / "07.asf", tmp_path / "07_01.amc", mapping, fps=None)
    assert seq.fps == 120.0 and seq.num_frames == 24
    hip = 0.5 * (positions["lhipjoint"] + positions["rhipjoint"])
    for name, bone in (("Hip", None), ("RWrist", "rwrist"), ("Head", "head")):
        point = hip if bone is None else positions[bone]
        world = np.stack([point[:, 0], -point[:, 2], point[:, 1]], -1)
        np.testing.assert_allclose(seq.poses_3d[:, H36M.index(name)], world, atol=1e-6)
    seq = mocap.load_asf_amc(tmp_path / "07.asf", tmp_path / "07_01.amc", fps=40.0)
    lengths = H36M.bone_lengths(seq.poses_3d)
    assert seq.num_frames == 8 and (lengths.max(0) - lengths.min(0)).max() < 1e-6


@pytest.fixture(scope="module")
def legacy():
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    import hdm05_legacy

    return hdm05_legacy


def test_hdm05_equals_the_old_loader(hdm05_dir, legacy):
    for actor, fps in (("bd", 50.0), ("tr", 30.0)):
        path = sorted(hdm05_dir.rglob(f"HDM_{actor}_*_120.amc"))[0]
        asf = str(hdm05_dir / "asf" / f"HDM_{actor}.asf")
        old = legacy.load_file(str(path), legacy.ASFSkeleton(asf), fps=fps)
        new = hdm05.load_file(str(path), hdm05.ASFSkeleton(asf), fps=fps)
        assert (new.subject, new.action, new.fps) == (old.subject, old.action, old.fps)
        assert np.abs(new.poses_3d - old.poses_3d).max() <= 1e-6


@pytest.fixture
def folder(tmp_path):
    return mf.write_folder(tmp_path / "capture", frames=60)


def test_folder_dataset(folder):
    train = mocap.load_folder(str(folder), "train")
    test = mocap.load_folder(str(folder), "test", fps=25.0)
    assert [(s.subject, s.action) for s in train] == [("anna", "walk")] * 4
    assert [(s.subject, s.num_frames) for s in test] == [("ben", 30)] * 2
    views = sources.load_sequences("mocap", "test", data_dir=str(folder), num_cameras=2)
    assert [len(s.views) for s in views] == [2, 2]
    # Globs override the split file; the split file's mapping stays.
    only = sources.load_sequences("mocap", "train", data_dir=str(folder),
                                  train_glob="train/*_01.bvh", num_cameras=1)
    assert len(only) == 1


def test_folder_errors(folder):
    with pytest.raises(ValueError, match="in both splits"):
        mocap.load_folder(str(folder), "train", test_glob="train/*.bvh")
    with pytest.raises(FileNotFoundError, match=r"match the train globs \['nope/\*.bvh'\]"):
        mocap.load_folder(str(folder), "train", train_glob="nope/*.bvh")
    (folder / "splits.json").unlink()
    with pytest.raises(ValueError, match="No train split .* write splits.json"):
        mocap.load_folder(str(folder), "train")
    with pytest.raises(FileNotFoundError, match="Motion capture folder not found"):
        mocap.load_folder(str(folder / "missing"), "train")


def test_folder_of_amc_takes_finds_their_skeletons(tmp_path):
    for actor in ("07", "08"):
        (tmp_path / f"{actor}.asf").write_text(mf.asf_text(length_unit=0.45))
        (tmp_path / f"{actor}_01.amc").write_text(mf.amc_text(mf.asf_motion(6)))
    assert mocap.find_asf(str(tmp_path / "08_01.amc"), str(tmp_path)).endswith("08.asf")
    seqs = mocap.load_folder(str(tmp_path), "test", fps=None, test_glob="*.amc")
    assert [(s.subject, s.num_frames) for s in seqs] == [("07", 6), ("08", 6)]
