"""HDM05 motion capture (ASF/AMC) on the Human3.6M 17-joint skeleton.

HDM05 (Mueller et al., "Documentation Mocap Database HDM05", Universitaet
Bonn, 2007; CC BY-SA 3.0) records five actors at 120 fps. The expected layout
is that of `../shared/data/hdm05`:

    <root>/asf/HDM_<actor>.asf
    <root>/{train,test}/<class>/HDM_<actor>_<action>_<nnn>_120.amc

Units. ASF files of HDM05 say `:units length 0.45`: lengths and root
translations are in units of 1/0.45 inch, so metres = value / 0.45 * 0.0254.
Angles are in degrees.

Joint mapping (ASF bone -> H36M joint; "end" is the far end of the bone):

    Hip        midpoint of the ends of lhipjoint and rhipjoint
    RHip/LHip  rhipjoint / lhipjoint end
    RKnee/LKnee  rfemur / lfemur end
    RFoot/LFoot  rtibia / ltibia end (the ankle)
    Spine      lowerback end
    Thorax     thorax end (where the clavicles start)
    Neck/Nose  upperneck end (the head's pivot, at nose height)
    Head       head end (top of the head)
    RShoulder/LShoulder  rclavicle / lclavicle end
    RElbow/LElbow        rhumerus / lhumerus end
    RWrist/LWrist        rwrist / lwrist end (the ASF "wrist" bone is the
                         distal forearm carrying its twist; its end is the
                         wrist joint, and elbow -> wrist is rigid)

Limb bones are single rigid ASF bones, so their lengths are constant. The
spine and neck of HDM05 have more joints than H36M's (lowerback, upperback,
thorax, lowerneck, upperneck, head), so the distance between two mapped
points there varies slightly with spine flexion. To give every H36M bone a
constant length, as Human3.6M's own data has, the mapped skeleton is rebuilt
from the root outwards: each bone keeps the direction measured in that frame
and the length it has in the actor's ASF rest pose.

The ASF frame is +Y up; it becomes the H36M world frame (+Z up) by
`(x, y, z) -> (x, -z, y)`. 120 fps is resampled to `fps` by linear
interpolation of the mapped joints before the bone lengths are imposed.

This is `tfpose.data.mocap.load_asf_amc` with the built-in `asf` mapping
(`tfpose/data/mappings/asf.json`), plus HDM05's file naming and split.
"""

import os
import re

from tfpose.data import mocap
from tfpose.data.asf_amc import ASFSkeleton, read_amc  # noqa: F401 (public here)
from tfpose.data.mocap import resample  # noqa: F401 (public here)

TRAIN_ACTORS = ("bd", "bk", "dg")
TEST_ACTORS = ("mm", "tr")
ACTORS = TRAIN_ACTORS + TEST_ACTORS
SPLITS = {"train": TRAIN_ACTORS, "test": TEST_ACTORS}
SOURCE_FPS = 120.0
MAPPING = "asf"

_AMC_NAME = re.compile(r"^HDM_([a-z]+)_(.+)_(\d+)_120\.amc$")


def actors_for_split(split):
    """`"train"` -> `("bd", "bk", "dg")`, `"test"` -> `("mm", "tr")`."""
    if split not in SPLITS:
        raise ValueError(f"Unknown HDM05 split {split!r}; expected one of {sorted(SPLITS)}.")
    return SPLITS[split]


def load_file(amc_path, asf, fps=50.0):
    """One AMC take -> `Sequence` (see the module docstring).

    Args:
        amc_path: `.../HDM_<actor>_<action>_<nnn>_120.amc`.
        asf: the actor's `ASFSkeleton`.
        fps: output frame rate.
    """
    name = os.path.basename(amc_path)
    match = _AMC_NAME.match(name)
    if not match:
        raise ValueError(
            f"{amc_path}: expected a name like HDM_<actor>_<action>_<nnn>_120.amc."
        )
    actor, action, _ = match.groups()
    sequence = mocap.load_asf_amc(asf, amc_path, MAPPING, fps=fps, source_fps=SOURCE_FPS)
    sequence.subject, sequence.action = actor, action
    return sequence


def find_files(root, actors):
    """AMC files of `actors` under `root`, sorted by actor, action, take."""
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"HDM05 data directory not found: {root!r}. Pass the folder that "
            "holds asf/, train/ and test/."
        )
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            match = _AMC_NAME.match(name)
            if match and match.group(1) in actors:
                found.append(os.path.join(dirpath, name))
    return sorted(found, key=lambda p: os.path.basename(p))


def load(root, actors=None, fps=50.0, split=None):
    """Loads HDM05 takes as H36M-17 `Sequence`s in metres, world +Z up.

    Args:
        root: the HDM05 folder (`asf/`, `train/`, `test/`).
        actors: actor ids to load, e.g. `("bd", "bk")`; `None` for all five
            (or those of `split`).
        fps: output frame rate (HDM05 records 120 fps).
        split: `"train"` (bd, bk, dg) or `"test"` (mm, tr); exclusive with
            `actors`.

    Returns:
        list of `Sequence`, sorted by actor, action and take.
    """
    if split is not None:
        if actors is not None:
            raise ValueError("Pass `actors` or `split`, not both.")
        actors = actors_for_split(split)
    if actors is None:
        actors = ACTORS
    if isinstance(actors, str):
        actors = (actors,)
    unknown = sorted(set(actors) - set(ACTORS))
    if unknown:
        raise ValueError(f"Unknown HDM05 actor(s) {unknown}; expected some of {list(ACTORS)}.")
    files = find_files(root, actors)
    sequences = []
    skeletons = {}
    for path in files:
        actor = _AMC_NAME.match(os.path.basename(path)).group(1)
        if actor not in skeletons:
            skeletons[actor] = ASFSkeleton(os.path.join(root, "asf", f"HDM_{actor}.asf"))
        sequences.append(load_file(path, skeletons[actor], fps=fps))
    missing = sorted(set(actors) - {s.subject for s in sequences})
    if missing:
        raise FileNotFoundError(
            f"No HDM05 takes of actor(s) {missing} under {root!r} "
            "(expected files like train/1/HDM_bd_depositFloorR_001_120.amc)."
        )
    return sequences
