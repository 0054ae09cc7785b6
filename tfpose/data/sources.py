"""Named datasets and their splits: one entry point for scripts."""

import os

from tfpose.data import h36m, hdm05, mocap, synthetic
from tfpose.data.sequence import add_virtual_cameras

DATASETS = ("synthetic", "hdm05", "h36m", "mocap")


def load_sequences(
    dataset,
    split,
    *,
    data_dir=None,
    h36m_2d=None,
    fps=50.0,
    num_cameras=4,
    camera_seed=0,
    synthetic_sequences=40,
    synthetic_frames=400,
    mocap_mapping=None,
    train_glob=None,
    test_glob=None,
):
    """Sequences of a dataset split, each with its camera views.

    Args:
        dataset: `"synthetic"` (made in code), `"hdm05"` (ASF/AMC folder
            `data_dir`, virtual cameras), `"h36m"` (`data_dir` holds
            `data_3d_h36m.npz`; `h36m_2d` optionally names a
            `data_2d_h36m_<detector>.npz`), or `"mocap"` (see below).
        split: `"train"` or `"test"`.
        fps: frame rate for HDM05 and mocap (Human3.6M is 50 fps).
        num_cameras: virtual cameras per sequence (synthetic, HDM05, mocap).
        camera_seed: seed of the virtual cameras. Test splits add 1, so
            train and test never share a camera.
        synthetic_sequences, synthetic_frames: size of the synthetic split;
            the test split is a quarter as many sequences, other bodies.
        mocap_mapping, train_glob, test_glob: `"mocap"` (a folder
            `data_dir` of BVH and ASF/AMC takes, virtual cameras): the joint
            mapping and the split's globs (`tfpose.data.mocap.load_folder`).
    """
    if split not in ("train", "test"):
        raise ValueError(f"Unknown split {split!r}; expected 'train' or 'test'.")
    seed = camera_seed + (1 if split == "test" else 0)
    if dataset == "synthetic":
        count = synthetic_sequences if split == "train" else max(1, synthetic_sequences // 4)
        sequences = synthetic.generate(
            count,
            synthetic_frames,
            fps=fps,
            seed=1000 + (1 if split == "test" else 0),
            prefix=f"synthetic_{split}",
        )
        return add_virtual_cameras(sequences, num_cameras, seed=seed)
    if dataset == "hdm05":
        if data_dir is None:
            raise ValueError("HDM05 needs `data_dir` (the folder with asf/, train/, test/).")
        sequences = hdm05.load(data_dir, split=split, fps=fps)
        return add_virtual_cameras(sequences, num_cameras, seed=seed)
    if dataset == "mocap":
        if data_dir is None:
            raise ValueError("mocap needs `data_dir` (the folder of BVH or ASF/AMC takes).")
        sequences = mocap.load_folder(data_dir, split, mapping=mocap_mapping, fps=fps,
                                      train_glob=train_glob, test_glob=test_glob)
        return add_virtual_cameras(sequences, num_cameras, seed=seed)
    if dataset == "h36m":
        if data_dir is None:
            raise ValueError("Human3.6M needs `data_dir` (the folder with data_3d_h36m.npz).")
        return h36m.load(os.path.join(data_dir, "data_3d_h36m.npz"), h36m_2d, split=split)
    raise ValueError(f"Unknown dataset {dataset!r}; expected one of {DATASETS}.")
