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
        })
    return rows


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
