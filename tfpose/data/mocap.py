"""Your own motion capture: BVH and ASF/AMC takes as H36M-17 `Sequence`s.

`load_bvh` and `load_asf_amc` read one take through a joint mapping
(`tfpose.data.joint_mapping`), and `load_folder` reads a folder of takes as
a dataset split for the scripts (`--dataset=mocap`). Every take becomes a
`Sequence` in metres, world +Z up, at `fps` frames per second:

1. forward kinematics of the source skeleton (file units and axes);
2. the mapping's points, in metres (`scale`);
3. linear resampling from the source rate to `fps`;
4. with `rest_lengths`, every bone rebuilt from the root with its rest
   length (see `impose_bone_lengths`);
5. the up axis turned to +Z: `(x, y, z) -> (x, -z, y)` for +Y up.

A folder dataset declares its split in `<data_dir>/splits.json`:

    {"train": ["train/**/*.bvh"], "test": ["test/*.bvh"],
     "mapping": "bvh", "name_pattern": "...", "source_fps": 120}

(globs relative to the folder; `**` spans folders; only `train` and `test`
are required), or through `train_glob` / `test_glob`, which override it.
A take's subject and action come from its file name through
`name_pattern`, a regular expression with groups `subject` and `action`
matched against the name without extension; the default
`DEFAULT_NAME_PATTERN` reads `<subject>_<action>[_<number>...]`, e.g.
`anna_walk_fast_02.bvh` -> subject `anna`, action `walk_fast`. A name it
does not match takes its folder's name as subject and its own as action.
An `.amc` file's skeleton is the `.asf` file of the folder whose name is the
longest prefix of the take's (CMU: `07.asf` for `07_01.amc`; HDM05:
`HDM_bd.asf` for `HDM_bd_walk_001_120.amc`), or the folder's only `.asf`.
"""

import glob
import os
import re

import numpy as np

from tfpose import skeleton as skeleton_lib
from tfpose.data import asf_amc, bvh
from tfpose.data.joint_mapping import JointMapping
from tfpose.data.sequence import Sequence

SPLIT_FILE = "splits.json"
DEFAULT_NAME_PATTERN = r"^(?P<subject>[^_]+)_(?P<action>.+?)(?:_\d+)*$"
DEFAULT_AMC_FPS = 120.0
FORMATS = (".bvh", ".amc")


def resample(points, source_fps, target_fps):
    """Linear interpolation of `[T, ...]` from `source_fps` to `target_fps`."""
    if target_fps <= 0:
        raise ValueError(f"`fps` must be positive, got {target_fps}.")
    num = len(points)
    duration = (num - 1) / source_fps
    times = np.arange(0.0, duration + 1e-9, 1.0 / target_fps)
    position = times * source_fps
    lo = np.minimum(np.floor(position).astype(int), num - 1)
    hi = np.minimum(lo + 1, num - 1)
    w = (position - lo).reshape((-1,) + (1,) * (points.ndim - 1))
    return (1.0 - w) * points[lo] + w * points[hi]


def bone_lengths(poses, parents=skeleton_lib.H36M.parents):
    """`[J, 3]` -> `[J]` distance of each joint to its parent (0 at the root)."""
    return np.array([np.linalg.norm(poses[j] - poses[p]) if p >= 0 else 0.0
                     for j, p in enumerate(parents)])


def impose_bone_lengths(points, lengths, parents=skeleton_lib.H36M.parents):
    """Rebuilds `[T, J, 3]` from the root: each bone keeps its direction in
    each frame and takes its length from `lengths` `[J]`."""
    out = np.empty_like(points)
    out[:, 0] = points[:, 0]
    for j in range(1, len(parents)):
        p = parents[j]
        d = points[:, j] - points[:, p]
        d /= np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
        out[:, j] = out[:, p] + lengths[j] * d
    return out


def to_world(points, up):
    """Source axes with `up` (`"y"` or `"z"`) -> world axes, +Z up."""
    if up == "z":
        return points
    # A rotation about x (determinant +1): no mirror image.
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def take_names(path, pattern=None):
    """`(subject, action)` of a take from its file name (module docstring)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    match = re.match(pattern or DEFAULT_NAME_PATTERN, stem)
    if match and match.groupdict().get("subject") and match.groupdict().get("action"):
        return match.group("subject"), match.group("action")
    return os.path.basename(os.path.dirname(os.path.abspath(path))) or "subject", stem


def _finish(path, poses, rest, mapping, source_fps, fps):
    """Steps 3-5 of the module docstring, and the `Sequence`."""
    up = mapping.resolve_up(rest, path)
    if fps is None:
        fps = source_fps
    if fps != source_fps:
        poses = resample(poses, source_fps, fps)
    if mapping.rest_lengths:
        poses = impose_bone_lengths(poses, bone_lengths(rest))
    subject, action = take_names(path)
    return Sequence(poses_3d=to_world(poses, up).astype(np.float32), subject=subject,
                    action=action, fps=float(fps))


def _source_fps(frame_time):
    # Frame times are printed rounded (0.0333333): 30.00003 fps is 30 fps.
    fps = 1.0 / frame_time
    return float(round(fps)) if abs(fps - round(fps)) < 1e-3 * fps else fps


def load_bvh(path, mapping, fps=50.0):
    """One BVH take -> `Sequence` on the H36M-17 skeleton (module docstring).

    Args:
        path: the `.bvh` file.
        mapping: a `JointMapping`, its dict, a JSON file, or a built-in name
            (`"bvh"`, `"mixamo"`).
        fps: output frame rate; `None` keeps the file's.
    """
    mapping = JointMapping(mapping)
    path = str(path)
    source = bvh.BVHFile(path)
    names = mapping.source_points()
    _check_names(path, names, source.names)
    rest_points = source.points(names, rest=True)
    scale = mapping.resolve_scale(rest_points, path)
    rest = mapping.apply(rest_points, scale)[0]
    poses = mapping.apply(source.points(names), scale)
    return _finish(path, poses, rest, mapping, _source_fps(source.frame_time), fps)


def load_asf_amc(asf_path, amc_path, mapping="asf", fps=50.0, source_fps=None):
    """One ASF/AMC take -> `Sequence` on the H36M-17 skeleton (module docstring).

    Args:
        asf_path: the actor's `.asf` file (or a parsed `asf_amc.ASFSkeleton`).
        amc_path: the take's `.amc` file.
        mapping: as for `load_bvh`; default the built-in `"asf"` (CMU, HDM05).
        fps: output frame rate; `None` keeps the source's.
        source_fps: the AMC's frame rate (AMC files do not state it);
            default the mapping's `source_fps`, else 120.
    """
    mapping = JointMapping(mapping)
    asf = asf_path if isinstance(asf_path, asf_amc.ASFSkeleton) else asf_amc.ASFSkeleton(asf_path)
    amc_path = str(amc_path)
    names = mapping.source_points()
    _check_names(asf.path, names, asf.names)
    # ASF kinematics are in metres by `:units`; a mapping's scale overrides.
    factor = 1.0 if mapping.scale is None else mapping.scale / asf.scale
    rest = mapping.apply(asf.points(names), factor)[0]
    poses = mapping.apply(asf.points(names, asf_amc.read_amc(amc_path, asf)), factor)
    if source_fps is None:
        source_fps = mapping.source_fps or DEFAULT_AMC_FPS
    return _finish(amc_path, poses, rest, mapping, float(source_fps), fps)


def _check_names(path, wanted, available):
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise ValueError(
            f"{path}: the mapping names {missing}, which the file lacks; the file's joints "
            f"are {list(available)}.")


def read_split_file(data_dir):
    """`<data_dir>/splits.json` as a dict, or `{}` when there is none."""
    from tfpose import fileio

    path = os.path.join(data_dir, SPLIT_FILE)
    if not os.path.exists(path):
        return {}
    try:
        config = fileio.read_json(path)
    except ValueError as e:
        raise ValueError(f"{path}: not valid JSON: {e}") from None
    unknown = sorted(set(config) - {"train", "test", "mapping", "name_pattern", "source_fps"})
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}.")
    return config


def find_takes(data_dir, split, train_glob=None, test_glob=None):
    """Files of a split of a folder dataset, sorted, and the split file's settings."""
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"Motion capture folder not found: {data_dir!r}.")
    config = read_split_file(data_dir)
    globs = {"train": train_glob, "test": test_glob}
    for name in globs:
        if globs[name] is None:
            globs[name] = config.get(name)
        if isinstance(globs[name], str):
            globs[name] = [globs[name]]
    if split not in globs:
        raise ValueError(f"Unknown split {split!r}; expected 'train' or 'test'.")
    if not globs[split]:
        raise ValueError(
            f"No {split} split for {data_dir!r}: write {SPLIT_FILE} there "
            '({"train": ["train/*.bvh"], "test": ["test/*.bvh"]}) or pass '
            f"--{split}_glob.")
    files = {}
    for name, patterns in globs.items():
        files[name] = set()
        for pattern in patterns or ():
            for path in glob.glob(os.path.join(data_dir, pattern), recursive=True):
                if os.path.splitext(path)[1].lower() in FORMATS:
                    files[name].add(os.path.normpath(path))
    if not files[split]:
        raise FileNotFoundError(
            f"No .bvh or .amc files in {data_dir!r} match the {split} globs {globs[split]}.")
    both = sorted(files["train"] & files["test"])
    if both:
        raise ValueError(f"{len(both)} take(s) are in both splits, e.g. {both[0]}.")
    return sorted(files[split]), config


def find_asf(amc_path, data_dir):
    """The `.asf` file of an `.amc` take (module docstring)."""
    stem = os.path.splitext(os.path.basename(amc_path))[0]
    candidates = sorted(glob.glob(os.path.join(data_dir, "**", "*.asf"), recursive=True))
    prefixed = [c for c in candidates
                if stem.startswith(os.path.splitext(os.path.basename(c))[0])]
    if prefixed:
        return max(prefixed, key=lambda c: len(os.path.basename(c)))
    if len(candidates) == 1:
        return candidates[0]
    raise FileNotFoundError(
        f"{amc_path}: no .asf skeleton for it in {data_dir!r}: expected one whose name is a "
        f"prefix of the take's, or a single .asf file (found {len(candidates)}).")


def load_folder(data_dir, split, mapping=None, fps=50.0, train_glob=None, test_glob=None):
    """A split of a folder of BVH and ASF/AMC takes, as `Sequence`s.

    Args:
        data_dir: the folder (see the module docstring for its split file).
        split: `"train"` or `"test"`.
        mapping: a mapping for every take (name, JSON file or dict);
            default: the split file's `mapping`, else the built-in `bvh`
            for BVH files and `asf` for AMC files. A relative file name is
            looked up in `data_dir` first.
        fps: output frame rate (`None` keeps each take's).
        train_glob, test_glob: globs overriding the split file's.
    """
    files, config = find_takes(data_dir, split, train_glob, test_glob)
    mapping = mapping or config.get("mapping")
    if isinstance(mapping, str) and os.path.isfile(os.path.join(data_dir, mapping)):
        mapping = os.path.join(data_dir, mapping)
    mappings = {}
    skeletons = {}
    sequences = []
    for path in files:
        kind = os.path.splitext(path)[1].lower()
        spec = mapping or ("bvh" if kind == ".bvh" else "asf")
        key = spec if isinstance(spec, str) else id(spec)
        if key not in mappings:
            mappings[key] = JointMapping(spec)
        if kind == ".bvh":
            seq = load_bvh(path, mappings[key], fps=fps)
        else:
            asf_path = find_asf(path, data_dir)
            if asf_path not in skeletons:
                skeletons[asf_path] = asf_amc.ASFSkeleton(asf_path)
            seq = load_asf_amc(skeletons[asf_path], path, mappings[key], fps=fps,
                               source_fps=config.get("source_fps"))
        seq.subject, seq.action = take_names(path, config.get("name_pattern"))
        sequences.append(seq)
    return sequences
