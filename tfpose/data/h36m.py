"""Human3.6M in VideoPose3D's preprocessed file layout.

Files (made by VideoPose3D's `prepare_data_h36m.py` and its 2D detections):

- `data_3d_h36m.npz`: key `positions_3d`, a pickled dict
  `{subject: {action: float [T, 32, 3]}}`, world coordinates in metres,
  +Z up, 50 fps.
- `data_2d_h36m_<detector>.npz`: key `positions_2d`, a pickled dict
  `{subject: {action: [4 arrays [T', 17, 2]]}}` in pixels, one per camera in
  the order of `CAMERA_IDS`, and key `metadata`, a pickled dict with
  `layout_name`, `num_joints` and `keypoints_symmetry`.

Both files store Python dicts, so they can only be read by unpickling. The
loaders here say so in their names and use a restricted unpickler that
rebuilds nothing but dicts, lists, strings, numbers and numpy arrays: a file
that tries to construct anything else is refused. Files a user passes as
plain 2D input elsewhere in tfpose are read with `allow_pickle=False`.
"""

import io
import pickle
import zipfile

import numpy as np

from tfpose import camera as camera_lib
from tfpose import skeleton as skeleton_lib
from tfpose.data.sequence import Sequence, View

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")
SUBJECTS = TRAIN_SUBJECTS + TEST_SUBJECTS
SPLITS = {"train": TRAIN_SUBJECTS, "test": TEST_SUBJECTS}
FPS = 50.0
CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")

# Human3.6M's public calibration, as distributed with the dataset (and
# reproduced in VideoPose3D): per camera the principal point and focal
# length in pixels, radial (k1, k2, k3) and tangential (p1, p2) distortion
# and the image size; per subject and camera the camera -> world rotation as
# a (w, x, y, z) quaternion and the camera centre in millimetres.
_INTRINSICS = {
    "54138969": dict(
        center=(512.54150390625, 515.4514770507812),
        focal=(1145.0494384765625, 1143.7811279296875),
        radial=(-0.20709891617298126, 0.24777518212795258, -0.0030751503072679043),
        tangential=(-0.0009756988729350269, -0.00142447161488235),
        width=1000, height=1002),
    "55011271": dict(
        center=(508.8486328125, 508.0649108886719),
        focal=(1149.6756591796875, 1147.5916748046875),
        radial=(-0.1942136287689209, 0.2404085397720337, 0.006819975562393665),
        tangential=(-0.0016190266469493508, -0.0027408944442868233),
        width=1000, height=1000),
    "58860488": dict(
        center=(519.8158569335938, 501.40264892578125),
        focal=(1149.1407470703125, 1148.7989501953125),
        radial=(-0.2083381861448288, 0.25548800826072693, -0.0024604974314570427),
        tangential=(0.0014843869721516967, -0.0007599993259645998),
        width=1000, height=1000),
    "60457274": dict(
        center=(514.9682006835938, 501.88201904296875),
        focal=(1145.5113525390625, 1144.77392578125),
        radial=(-0.198384091258049, 0.21832367777824402, -0.008947807364165783),
        tangential=(-0.0005872055771760643, -0.0018133620033040643),
        width=1000, height=1002),
}

_EXTRINSICS = {
    "S1": (
        ((0.1407056450843811, -0.1500701755285263, -0.755240797996521, 0.6223280429840088),
         (1841.1070556640625, 4955.28466796875, 1563.4454345703125)),
        ((0.6157187819480896, -0.764836311340332, -0.14833825826644897, 0.11794740706682205),
         (1761.278564453125, -5078.0068359375, 1606.2650146484375)),
        ((0.14651472866535187, -0.14647851884365082, 0.7653023600578308, -0.6094175577163696),
         (-1846.7777099609375, 5215.04638671875, 1491.972412109375)),
        ((0.5834008455276489, -0.7853162288665771, 0.14548823237419128, -0.14749594032764435),
         (-1794.7896728515625, -3722.698974609375, 1574.8927001953125)),
    ),
    "S5": (
        ((0.1467377245426178, -0.162370964884758, -0.7551892995834351, 0.6178938746452332),
         (2097.3916015625, 4880.94482421875, 1605.732421875)),
        ((0.6159758567810059, -0.7626792192459106, -0.15728192031383514, 0.1189815029501915),
         (2031.7008056640625, -5167.93310546875, 1612.923095703125)),
        ((0.14291371405124664, -0.12907841801643372, 0.7678384780883789, -0.6110143065452576),
         (-1620.5948486328125, 5171.65869140625, 1496.43701171875)),
        ((0.5920479893684387, -0.7814217805862427, 0.1274748593568802, -0.15036417543888092),
         (-1637.1737060546875, -3867.3173828125, 1547.033203125)),
    ),
    "S6": (
        ((0.1337897777557373, -0.15692396461963654, -0.7571090459823608, 0.6198879480361938),
         (1935.4517822265625, 4950.24560546875, 1618.0838623046875)),
        ((0.6147197484970093, -0.7628812789916992, -0.16174767911434174, 0.11819244921207428),
         (1969.803955078125, -5128.73876953125, 1632.77880859375)),
        ((0.1529948115348816, -0.13529130816459656, 0.7646096348762512, -0.6112781167030334),
         (-1769.596435546875, 5185.361328125, 1476.993408203125)),
        ((0.5916101336479187, -0.7804774045944214, 0.12832270562648773, -0.1561593860387802),
         (-1721.668701171875, -3884.13134765625, 1540.4879150390625)),
    ),
    "S7": (
        ((0.1435241848230362, -0.1631336808204651, -0.7548328638076782, 0.6188824772834778),
         (1974.512939453125, 4926.3544921875, 1597.8326416015625)),
        ((0.6141672730445862, -0.7638262510299683, -0.1596645563840866, 0.1177929937839508),
         (1937.0584716796875, -5119.7900390625, 1631.5665283203125)),
        ((0.14550060033798218, -0.12874816358089447, 0.7660516500473022, -0.6127139329910278),
         (-1741.8111572265625, 5208.24951171875, 1464.8245849609375)),
        ((0.5912848114967346, -0.7821764349937439, 0.12445473670959473, -0.15196487307548523),
         (-1734.7105712890625, -3832.42138671875, 1548.5830078125)),
    ),
    "S8": (
        ((0.14110587537288666, -0.15589867532253265, -0.7561917304992676, 0.619644045829773),
         (2150.65185546875, 4896.1611328125, 1611.9046630859375)),
        ((0.6169601678848267, -0.7647668123245239, -0.14846350252628326, 0.11158157885074615),
         (2219.965576171875, -5148.453125, 1613.0440673828125)),
        ((0.1471444070339203, -0.13377119600772858, 0.7670128345489502, -0.6100369691848755),
         (-1571.2215576171875, 5137.0185546875, 1498.1761474609375)),
        ((0.5927824378013611, -0.7825870513916016, 0.12147816270589828, -0.14631995558738708),
         (-1476.913330078125, -3896.7412109375, 1547.97216796875)),
    ),
    "S9": (
        ((0.15540587902069092, -0.15548215806484222, -0.7532095313072205, 0.6199594736099243),
         (2044.45849609375, 4935.1171875, 1481.2275390625)),
        ((0.618784487247467, -0.7634735107421875, -0.14132238924503326, 0.11933968216180801),
         (1990.959716796875, -5123.810546875, 1568.8048095703125)),
        ((0.13357827067375183, -0.1367100477218628, 0.7689454555511475, -0.6100738644599915),
         (-1670.9921875, 5211.98583984375, 1528.387939453125)),
        ((0.5879399180412292, -0.7823407053947449, 0.1427614390850067, -0.14794869720935822),
         (-1696.04345703125, -3827.099853515625, 1591.4127197265625)),
    ),
    "S11": (
        ((0.15232472121715546, -0.15442320704460144, -0.7547563314437866, 0.6191070079803467),
         (2098.440185546875, 4926.5546875, 1500.278564453125)),
        ((0.6189449429512024, -0.7600917220115662, -0.15300633013248444, 0.1255258321762085),
         (2083.182373046875, -4912.1728515625, 1561.07861328125)),
        ((0.14943228662014008, -0.15650227665901184, 0.7681233882904053, -0.6026304364204407),
         (-1609.8153076171875, 5177.3359375, 1537.896728515625)),
        ((0.5894251465797424, -0.7818877100944519, 0.13991211354732513, -0.14715361595153809),
         (-1590.738037109375, -3854.1689453125, 1578.017578125)),
    ),
}


def cameras(subject):
    """The four calibrated cameras of a Human3.6M subject, `CAMERA_IDS` order."""
    if subject not in _EXTRINSICS:
        raise ValueError(
            f"No Human3.6M calibration for subject {subject!r}; known: "
            f"{sorted(_EXTRINSICS)}."
        )
    result = []
    for camera_id, (quaternion, position_mm) in zip(CAMERA_IDS, _EXTRINSICS[subject]):
        result.append(
            camera_lib.Camera.from_quaternion(
                quaternion,
                position=np.asarray(position_mm) / 1000.0,
                name=camera_id,
                **_INTRINSICS[camera_id],
            )
        )
    return result


def subjects_for_split(split):
    """`"train"` -> S1, S5, S6, S7, S8; `"test"` -> S9, S11."""
    if split not in SPLITS:
        raise ValueError(f"Unknown Human3.6M split {split!r}; expected one of {sorted(SPLITS)}.")
    return SPLITS[split]


class _RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and plain containers, nothing else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("collections", "OrderedDict"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to unpickle {module}.{name}: only numpy arrays and "
            "plain containers are allowed"
        )


def load_pickled_npz(path):
    """Reads an `.npz` whose entries may be pickled Python objects.

    VideoPose3D stores dicts in its `.npz` files, which needs unpickling.
    This reads them with a restricted unpickler (numpy arrays, dicts, lists,
    tuples, strings and numbers only) instead of `np.load(...,
    allow_pickle=True)`, which would run whatever code the file names.

    Returns:
        dict key -> unpickled object (0-d object arrays are unwrapped).
    """
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"File not found: {path}") from None
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path}: not an .npz file ({e}).") from None
    result = {}
    with archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            try:
                raw = io.BytesIO(archive.read(member))
                version = np.lib.format.read_magic(raw)
                if version == (1, 0):
                    _, _, dtype = np.lib.format.read_array_header_1_0(raw)
                else:
                    _, _, dtype = np.lib.format.read_array_header_2_0(raw)
                if dtype.hasobject:
                    value = _RestrictedUnpickler(raw).load()
                else:
                    raw.seek(0)
                    value = np.lib.format.read_array(raw, allow_pickle=False)
            except pickle.UnpicklingError as e:
                raise ValueError(f"{path}: entry {member!r}: {e}.") from None
            except (ValueError, EOFError, zipfile.BadZipFile, OSError) as e:
                raise ValueError(
                    f"{path}: entry {member!r} is corrupt or truncated ({e})."
                ) from None
            if isinstance(value, np.ndarray) and value.dtype.hasobject and value.shape == ():
                value = value.item()
            result[member[: -len(".npy")]] = value
    return result


def _check_subjects(subjects, available, path):
    unknown = sorted(set(subjects) - set(SUBJECTS))
    if unknown:
        raise ValueError(
            f"Unknown Human3.6M subject(s) {unknown}; expected some of {list(SUBJECTS)}."
        )
    missing = sorted(set(subjects) - set(available))
    if missing:
        raise ValueError(f"{path} holds no data for subject(s) {missing}.")


def load_pickled_3d(path):
    """`data_3d_h36m.npz` -> `{subject: {action: [T, 32, 3]}}` (pickled dicts).

    See `load_pickled_npz` for how the pickle is read safely.
    """
    data = load_pickled_npz(path)
    if "positions_3d" not in data or not isinstance(data["positions_3d"], dict):
        raise ValueError(
            f"{path}: expected key 'positions_3d' holding a dict (VideoPose3D's "
            f"data_3d_h36m.npz); found keys {sorted(data)}."
        )
    return data["positions_3d"]


def load_pickled_2d(path):
    """`data_2d_h36m_<detector>.npz` -> (`positions_2d` dict, `metadata` dict)."""
    data = load_pickled_npz(path)
    if not isinstance(data.get("positions_2d"), dict):
        raise ValueError(
            f"{path}: expected key 'positions_2d' holding a dict (VideoPose3D's "
            f"data_2d_h36m_<detector>.npz); found keys {sorted(data)}."
        )
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: 'metadata' must be a dict.")
    num_joints = metadata.get("num_joints", 17)
    if num_joints != 17:
        raise ValueError(
            f"{path}: 2D keypoints have {num_joints} joints; tfpose needs the "
            "17-joint Human3.6M layout."
        )
    symmetry = metadata.get("keypoints_symmetry")
    expected = [list(skeleton_lib.H36M.joints_left), list(skeleton_lib.H36M.joints_right)]
    if symmetry is not None and [list(map(int, s)) for s in symmetry] != expected:
        raise ValueError(
            f"{path}: keypoints_symmetry {symmetry} is not the H36M layout {expected}."
        )
    return data["positions_2d"], metadata


def load(path_3d, path_2d=None, subjects=None, split=None):
    """Human3.6M sequences with their four camera views.

    Args:
        path_3d: `data_3d_h36m.npz`.
        path_2d: optional `data_2d_h36m_<detector>.npz`; without it the 2D
            input is the ground truth projected through the calibrated
            cameras (with lens distortion).
        subjects: e.g. `("S1", "S5")`; `None` for all subjects in the file
            (or those of `split`).
        split: `"train"` or `"test"`; exclusive with `subjects`.

    Returns:
        list of `Sequence` (17 joints, world metres, 50 fps) with 4 `views`.
    """
    if split is not None:
        if subjects is not None:
            raise ValueError("Pass `subjects` or `split`, not both.")
        subjects = subjects_for_split(split)
    positions_3d = load_pickled_3d(path_3d)
    if subjects is None:
        subjects = [s for s in SUBJECTS if s in positions_3d]
    subjects = (subjects,) if isinstance(subjects, str) else tuple(subjects)
    _check_subjects(subjects, positions_3d, path_3d)
    positions_2d = None
    if path_2d is not None:
        positions_2d, _ = load_pickled_2d(path_2d)
        _check_subjects(subjects, positions_2d, path_2d)
    sequences = []
    for subject in subjects:
        subject_cameras = cameras(subject)
        for action in sorted(positions_3d[subject]):
            poses = np.asarray(positions_3d[subject][action], np.float32)
            if poses.ndim != 3 or poses.shape[1:] not in ((32, 3), (17, 3)):
                raise ValueError(
                    f"{path_3d}: {subject}/{action} has shape {poses.shape}; "
                    "expected [T, 32, 3] (or [T, 17, 3])."
                )
            if poses.shape[1] == 32:
                poses = poses[:, skeleton_lib.H36M_32_TO_17]
            sequence = Sequence(poses, subject=subject, action=action, fps=FPS)
            if positions_2d is None:
                sequence.add_views(subject_cameras)
            else:
                if action not in positions_2d[subject]:
                    raise ValueError(f"{path_2d}: no 2D keypoints for {subject}/{action}.")
                per_camera = positions_2d[subject][action]
                if len(per_camera) != len(subject_cameras):
                    raise ValueError(
                        f"{path_2d}: {subject}/{action} has {len(per_camera)} camera "
                        f"views, expected {len(subject_cameras)}."
                    )
                for cam, keypoints in zip(subject_cameras, per_camera):
                    keypoints = np.asarray(keypoints)
                    if len(keypoints) < len(poses):
                        raise ValueError(
                            f"{path_2d}: {subject}/{action} camera {cam.name} has "
                            f"{len(keypoints)} frames, fewer than the 3D's {len(poses)}."
                        )
                    # Detections may run a few frames past the mocap (VideoPose3D
                    # trims them the same way).
                    sequence.views.append(
                        View.from_camera(cam, poses, keypoints[: len(poses), :, :2])
                    )
            sequences.append(sequence)
    return sequences


def action_class(action):
    """`"Walking 1"` -> `"Walking"`: Human3.6M reports per action class."""
    return action.split(" ")[0]
