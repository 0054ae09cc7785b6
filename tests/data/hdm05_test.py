import os
import shutil

import numpy as np
import pytest

from tfpose.data import hdm05, sequence
from tfpose.skeleton import H36M


@pytest.fixture(scope="module")
def all_sequences(hdm05_dir):
    return hdm05.load(str(hdm05_dir))


def test_all_actors_real_bodies(all_sequences):
    actors = {s.subject for s in all_sequences}
    assert actors == set(hdm05.ACTORS)
    for actor in hdm05.ACTORS:
        seqs = [s for s in all_sequences if s.subject == actor]
        lengths = np.concatenate([H36M.bone_lengths(s.poses_3d) for s in seqs])
        # Constant bones within 1 mm over every frame of every take.
        assert (lengths.max(0) - lengths.min(0)).max() < 1e-3
        height = sequence.height(seqs[0].poses_3d[0])
        assert 1.5 <= height <= 2.0, (actor, height)
        # Head above the ankles (+Z up) unless lying down; feet near the floor.
        poses = np.concatenate([s.poses_3d for s in seqs])
        upright = np.concatenate([s.poses_3d for s in seqs if s.action != "lieDownFloor"])
        assert (upright[:, H36M.index("Head"), 2] > upright[:, H36M.index("LFoot"), 2]).all()
        assert np.percentile(poses[:, [3, 6], 2].min(1), 5) < 0.2


def test_metadata_and_fps(hdm05_dir, all_sequences):
    s = all_sequences[0]
    assert s.poses_3d.dtype == np.float32 and s.poses_3d.shape[1:] == (17, 3)
    assert s.fps == 50.0
    assert s.action == "depositFloorR"
    assert {s.action for s in all_sequences} >= {"squat1Reps", "throwBasketball"}
    path = sorted((hdm05_dir / "train").rglob("HDM_bd_*_120.amc"))[0]
    asf = hdm05.ASFSkeleton(str(hdm05_dir / "asf" / "HDM_bd.asf"))
    full = hdm05.load_file(str(path), asf, fps=120.0)
    half = hdm05.load_file(str(path), asf, fps=60.0)
    assert half.num_frames == (full.num_frames - 1) // 2 + 1
    # Every other 120 fps frame is a 60 fps frame.
    np.testing.assert_allclose(half.poses_3d, full.poses_3d[::2][: half.num_frames], atol=1e-5)
    # Root translation from the AMC, in metres: ASF units are 1/0.45 inch.
    motion = hdm05.read_amc(str(path), asf)
    assert asf.scale == pytest.approx(0.0254 / 0.45)
    pelvis_height = motion["root"][0, 1] * asf.scale
    assert 0.8 < pelvis_height < 1.2


def test_splits(hdm05_dir):
    test = hdm05.load(str(hdm05_dir), split="test", fps=25.0)
    assert {s.subject for s in test} == {"mm", "tr"}
    assert hdm05.actors_for_split("train") == ("bd", "bk", "dg")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(actors=["xx"]), ValueError, "Unknown HDM05 actor"),
        (dict(split="val"), ValueError, "Unknown HDM05 split"),
        (dict(split="train", actors=["bd"]), ValueError, "not both"),
    ],
)
def test_bad_arguments(hdm05_dir, kwargs, error, match):
    with pytest.raises(error, match=match):
        hdm05.load(str(hdm05_dir), **kwargs)


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="HDM05 data directory not found"):
        hdm05.load(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="No HDM05 takes"):
        hdm05.load(str(tmp_path))


def test_truncated_and_empty_files(hdm05_dir, tmp_path):
    (tmp_path / "asf").mkdir()
    shutil.copy(hdm05_dir / "asf" / "HDM_bd.asf", tmp_path / "asf")
    source = sorted((hdm05_dir / "train").rglob("HDM_bd_*_120.amc"))[0]
    lines = source.read_text(encoding="latin-1").splitlines()
    os.makedirs(tmp_path / "train" / "1")
    target = tmp_path / "train" / "1" / "HDM_bd_cut_001_120.amc"
    # A line cut in the middle of a frame.
    cut = [*lines[:200], lines[200].rsplit(" ", 1)[0]]
    target.write_text("\n".join(cut))
    with pytest.raises(ValueError, match="truncated"):
        hdm05.load(str(tmp_path))
    target.write_text("")
    with pytest.raises(ValueError, match="not an AMC file"):
        hdm05.load(str(tmp_path))
    (tmp_path / "asf" / "HDM_bd.asf").write_text("garbage\n")
    target.write_text("\n".join(lines))
    with pytest.raises(ValueError, match="not a valid ASF file"):
        hdm05.load(str(tmp_path))
