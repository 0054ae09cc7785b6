"""Training a lifter: the pieces `scripts/train.py` puts together.

- `runner`: model, loss and dataset setup, and `train`, the entry point;
- `loop`: the `strategy.run` training loop (multi-worker, mid-epoch backups),
  where a training step happens outside `model.fit`;
- `schedules`: learning-rate schedules;
- `checkpoints`: the run's callbacks (checkpoints, CSV and TensorBoard logs);
- `backup`: the resumable training state;
- `distribute`: strategies, `TF_CONFIG`, which worker writes;
- `cluster`: local multi-worker launches.
"""
