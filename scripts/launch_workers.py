"""Runs a multi-worker training job as N processes on this machine.

    python scripts/launch_workers.py --num_workers=2 -- \
        --flagfile=configs/ugcn_demo.cfg --model_dir=runs/ugcn_demo_2w

Everything after `--` goes to scripts/train.py, which each worker runs with
--strategy=multi_worker and its own TF_CONFIG (127.0.0.1, free ports).
Worker 0 is the chief and writes --model_dir. Every worker runs under
`timeout -k`; when one fails the others are killed. Killed or timed out,
the same command resumes the run from its last backup. On a real cluster,
start scripts/train.py on each host yourself (docs/DISTRIBUTED.md).
"""

import os
import sys

from absl import app, flags

from tfpose.training import cluster

_NUM_WORKERS = flags.DEFINE_integer("num_workers", 2, "Worker processes.", lower_bound=1)
_TIMEOUT = flags.DEFINE_integer("timeout_s", 0,
                                "Kill every worker after this many seconds; 0 = no limit.",
                                lower_bound=0)
_CPU_THREADS = flags.DEFINE_integer(
    "threads_per_worker", 0,
    "TensorFlow threads of each worker (TF_NUM_INTRAOP_THREADS), so that N workers on "
    "one machine do not fight over its cores; 0 = cores / workers.", lower_bound=0)

TRAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.py")


def main(argv):
    args = argv[1:]
    if any(a.startswith("--strategy") for a in args):
        raise app.UsageError("Leave out --strategy: every worker runs --strategy=multi_worker.")
    threads = _CPU_THREADS.value or max(1, (os.cpu_count() or 1) // _NUM_WORKERS.value)
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads))
    codes = cluster.launch([sys.executable, TRAIN, "--strategy=multi_worker", *args],
                           _NUM_WORKERS.value, timeout_s=_TIMEOUT.value, env=env)
    for index, code in enumerate(codes):
        if code:
            reason = "timed out" if code in (124, 137) else f"exit status {code}"
            print(f"worker {index}: {reason}", file=sys.stderr)
    return max(codes, key=abs)


if __name__ == "__main__":
    app.run(main)
