import json

import mocap_files as mf
import numpy as np
import pytest

from tfpose.data import joint_mapping
from tfpose.skeleton import H36M


def test_builtins_load_and_name_every_h36m_joint():
    assert joint_mapping.builtin_names() == ["asf", "bvh", "mixamo"]
    for name in joint_mapping.builtin_names():
        mapping = joint_mapping.JointMapping(name)
        assert len(mapping.joints) == H36M.num_joints
    assert "mixamorig:LeftUpLeg" in joint_mapping.JointMapping("mixamo").source_points()


def test_file_dict_and_points(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(mf.DIRECT_MAPPING))
    from_file = joint_mapping.JointMapping(str(path))
    assert from_file.joints == joint_mapping.JointMapping(mf.DIRECT_MAPPING).joints
    spec = dict(mf.DIRECT_MAPPING, joints=dict(
        mf.DIRECT_MAPPING["joints"], Spine={"midpoint": ["Hips", "Neck"]},
        Head={"extend": ["Neck", "Head", 0.5]}))
    mapping = joint_mapping.JointMapping(spec)
    points = {n: np.zeros((2, 3)) for n in mapping.source_points()}
    points["Neck"] = np.array([[0, 100, 0], [0, 0, 100.0]])
    points["Head"] = np.array([[0, 110, 0], [0, 0, 110.0]])
    poses = mapping.apply(points, 0.01)
    np.testing.assert_allclose(poses[:, H36M.index("Spine")], [[0, 0.5, 0], [0, 0, 0.5]])
    np.testing.assert_allclose(poses[:, H36M.index("Head")], [[0, 1.6, 0], [0, 0, 1.6]])


@pytest.mark.parametrize("change, match", [
    (dict(up="x"), r'"up" is \'x\''),
    (dict(scale=-1), "positive number of metres"),
    (dict(units="cm"), r"unknown keys \['units'\]"),
    (dict(joints={"Hip": "Hips"}), r"missing \['RHip'"),
    (dict(joints=dict(mf.DIRECT_MAPPING["joints"], Nose="Head")), r"unknown \['Nose'\]"),
    (dict(joints=dict(mf.DIRECT_MAPPING["joints"], Head={"extend": ["Neck", "Head"]})),
     "joint 'Head'.* is not a point"),
])
def test_bad_mappings(change, match):
    with pytest.raises(ValueError, match=match):
        joint_mapping.JointMapping(dict(mf.DIRECT_MAPPING, **change))


def test_bad_names(tmp_path):
    with pytest.raises(ValueError, match=r"neither a file nor a built-in mapping \(\['asf'"):
        joint_mapping.JointMapping("cmu")
    (tmp_path / "m.json").write_text('{"up": "y",\n "joints": }')
    with pytest.raises(ValueError, match=r"m.json:2: not valid JSON"):
        joint_mapping.JointMapping(str(tmp_path / "m.json"))
