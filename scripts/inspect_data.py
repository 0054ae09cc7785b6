"""Loads a dataset, checks it, and feeds it through the tf.data pipeline.

    python scripts/inspect_data.py                       # embedded synthetic data
    python scripts/inspect_data.py --dataset=hdm05 --data_dir=../shared/data/hdm05
    python scripts/inspect_data.py --dataset=h36m --data_dir=data/h36m \
        --h36m_2d=data/h36m/data_2d_h36m_cpn_ft_h36m_dbb.npz

Prints per-subject frames and body measurements, one training batch's
shapes (windows of --num_frames frames, unset: --model's own), and the
mean-pose baseline on the test split in the field's metrics
(MPJPE, P-MPJPE, N-MPJPE, MPJVE in mm; PCK@150mm and AUC in %), per action.
"""

import json

import numpy as np

import tfpose.quiet_startup  # noqa: F401  (first: before TensorFlow loads)

# isort: split

from absl import app, flags

from tfpose import flags as tfpose_flags
from tfpose import metrics
from tfpose.data import pipeline, sources, summary
from tfpose.models import MODELS

_JSON = flags.DEFINE_string("json", None, "Also write the summary as JSON here.")
FLAGS = flags.FLAGS


def _print_metrics(name, values):
    print(f"  {name:<28s}" + "  ".join(
        f"{k} {v * metrics.display_scale(k):7.1f}" for k, v in values.items()))


def main(argv):
    del argv
    kwargs = tfpose_flags.data_kwargs()
    train = sources.load_sequences(FLAGS.dataset, "train", **kwargs)
    test = sources.load_sequences(FLAGS.dataset, "test", **kwargs)
    report = {"dataset": FLAGS.dataset}
    for split, seqs in (("train", train), ("test", test)):
        rows = summary.describe(seqs)
        report[split] = rows
        print(f"{split}:")
        for r in rows:
            print(f"  {r['subject']:<14s} {r['sequences']:4d} seqs {r['frames']:7d} frames "
                  f"({r['seconds'] / 60:5.1f} min) {r['actions']:3d} actions {r['views']:5d} views "
                  f"height {r['height_m']:.2f} m  bone spread {r['bone_length_spread_mm']:.3f} mm")
        if not rows:
            continue
        print("  bone lengths in mm (each bone named by the joint it ends at):")
        names = list(rows[0]["bone_lengths_mm"])
        print("  " + " " * 14 + " ".join(f"{n[:6]:>6s}" for n in names))
        for r in rows:
            print(f"  {r['subject']:<14s}" + " ".join(
                f"{r['bone_lengths_mm'][n]:6.0f}" for n in names))
    if len(report["train"]) > 1:
        size, shape = summary.proportion_spread(report["train"])
        widest = max(shape, key=shape.get)
        print(f"training subjects: sizes within {100 * size:.0f}% of their mean, and with "
              f"size divided out each bone within {100 * shape[widest]:.0f}% ({widest}; median "
              f"bone {100 * np.median(list(shape.values())):.0f}%): the ranges --body_scale "
              "and --bone_scale would cover")
    views = [v for s in train for v in s.views]
    # Unset, the window is the model's own: build it to read it.
    num_frames = FLAGS.num_frames or MODELS[FLAGS.model](**tfpose_flags.model_kwargs()).num_frames
    ds = pipeline.make_dataset(views, num_frames=num_frames, batch_size=FLAGS.batch_size,
                               training=True, stride=FLAGS.stride, seed=FLAGS.seed,
                               flip=FLAGS.flip, noise_std=FLAGS.noise_std)
    inputs, targets = next(iter(ds))
    steps = pipeline.steps_per_pass(views, num_frames=num_frames,
                                    batch_size=FLAGS.batch_size, stride=FLAGS.stride)
    print(f"training batch: keypoints_2d {tuple(inputs.shape)} "
          f"poses_3d {tuple(targets.shape)}; {steps} batches per epoch")
    baseline = summary.mean_pose_baseline(train, test)
    report["mean_pose_baseline"] = baseline
    print("mean-pose baseline on the test split (errors in mm, PCK/AUC in %):")
    for action, values in baseline["per_action"].items():
        _print_metrics(action, values)
    _print_metrics("average over actions", baseline["average"])
    if _JSON.value:
        with open(_JSON.value, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    tfpose_flags.define_data_flags()
    tfpose_flags.define_model_flags()  # --model picks the window
    app.run(main)
