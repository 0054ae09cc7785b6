"""Dataset summaries and the mean-pose baseline (what ignoring the input gives)."""

import collections

import numpy as np

from tfpose import metrics
from tfpose.data.sequence import height
from tfpose.skeleton import H36M


def describe(sequences):
    """Per-subject counts and body measurements, as printable rows."""
    by_subject = collections.defaultdict(list)
    for s in sequences:
        by_subject[s.subject].append(s)
    rows = []
    for subject, seqs in sorted(by_subject.items()):
        lengths = np.concatenate([H36M.bone_lengths(s.poses_3d) for s in seqs])
        rows.append({
            "subject": subject,
            "sequences": len(seqs),
            "frames": int(sum(s.num_frames for s in seqs)),
            "seconds": float(sum(s.num_frames / s.fps for s in seqs)),
            "actions": len({s.action for s in seqs}),
            "views": int(sum(len(s.views) for s in seqs)),
            "height_m": float(height(seqs[0].poses_3d[0])),
            "bone_length_spread_mm": float((lengths.max(0) - lengths.min(0)).max() * 1000),
            "bone_lengths_mm": dict(zip(_BONE_NAMES, (lengths.mean(0) * 1000).tolist())),
        })
    return rows


# A bone is named by the joint it ends at (its child in `H36M.edges`).
_BONE_NAMES = tuple(H36M.names[child] for _, child in H36M.edges)


def proportion_spread(rows):
    """How far the subjects of `describe`'s rows differ in size and shape.

    Returns `(size, shape)`: `size` is the largest relative difference of a
    subject's summed bone length from the subjects' mean; `shape` maps each
    bone to the largest relative difference of its length from the mean,
    once each subject's size is divided out. These are the ranges that
    `--body_scale` and `--bone_scale` would need to cover so that a model
    sees every subject's body among its training bodies.
    """
    lengths = np.array([[r["bone_lengths_mm"][name] for name in _BONE_NAMES] for r in rows])
    sizes = lengths.sum(1, keepdims=True)
    shapes = lengths / sizes
    size = float(np.abs(sizes / sizes.mean() - 1).max())
    shape = np.abs(shapes / shapes.mean(0) - 1).max(0)
    return size, dict(zip(_BONE_NAMES, shape.tolist()))


def mean_pose_baseline(train_sequences, test_sequences):
    """Metrics of predicting the mean training pose for every test frame.

    Poses are camera-frame and root-relative, as models predict them. A
    lifter that uses its input must do far better than this.
    """
    train = np.concatenate(
        [v.poses_3d - v.poses_3d[:, :1] for s in train_sequences for v in s.views]
    )
    mean_pose = train.mean(axis=0)
    results = []
    for s in test_sequences:
        for v in s.views:
            target = v.poses_3d - v.poses_3d[:, :1]
            predicted = np.broadcast_to(mean_pose, target.shape)
            results.append((s.action, len(target), metrics.evaluate(predicted, target)))
    return metrics.aggregate(results)
