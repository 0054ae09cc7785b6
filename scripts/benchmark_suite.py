"""The documented speed comparison: every row of `ROWS` timed one after the
other in one run, each in its own process (`scripts/benchmark.py`), with
ratios against the TCN-243 baseline of the same run.

    python scripts/benchmark_suite.py --output_dir=runs/bench/suite

Writes `<output_dir>/<row>.json` per row, `suite.json` (all rows) and
`suite.md` (the tables of docs/BENCHMARKS.md), and prints the tables.
Rows time random weights (timing does not depend on them); the accuracy
that goes with each protocol is in docs/RESULTS.md.
"""

import os
import re
import subprocess
import sys

from absl import app, flags

from tfpose import benchmark, fileio

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmark.py")
# Training speed is compared at one batch size for all models.
TRAIN = ["--batch_size=64"]
FULL = TRAIN + ["--measure=flops,sequence,windows,latency,training,memory"]
SEQUENCE_ONLY = ["--measure=flops,sequence"]
# (label, flagfile, flags). The first row is the baseline of the ratios.
ROWS = (
    ("TCN-243", "configs/tcn_h36m.cfg", FULL),
    ("TCN-27", "configs/tcn_h36m.cfg",
     FULL + ["--tcn_filter_widths=3,3,3", "--num_frames=27"]),
    ("UGCN, paper protocol", "configs/ugcn_hdm05.cfg",
     FULL + ["--eval_protocol=average", "--eval_step=5"]),
    ("UGCN, fast: tiled 48", "configs/ugcn_hdm05.cfg",
     SEQUENCE_ONLY + ["--eval_protocol=tiled", "--eval_step=48"]),
    ("UGCN, fast: tiled 64", "configs/ugcn_hdm05.cfg",
     SEQUENCE_ONLY + ["--eval_protocol=tiled", "--eval_step=64"]),
    ("UGCN, fast: tiled 96", "configs/ugcn_hdm05.cfg",
     SEQUENCE_ONLY + ["--eval_protocol=tiled", "--eval_step=96"]),
    ("DG-Net, paper protocol", "configs/dgnet_hdm05.cfg", FULL + ["--eval_protocol=center"]),
    ("DG-Net, fast: tiled 4", "configs/dgnet_hdm05.cfg",
     SEQUENCE_ONLY + ["--eval_protocol=tiled", "--eval_step=4"]),
)

_OUTPUT_DIR = flags.DEFINE_string("output_dir", "runs/bench/suite", "Where results go.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed runs per measurement.", lower_bound=1)
_SEQUENCE_FRAMES = flags.DEFINE_integer("sequence_frames", 2000, "Lifted sequence length.",
                                        lower_bound=1)
_ONLY = flags.DEFINE_list("only", [], "Run only these rows, named as their JSON files "
                          "(e.g. tcn_243,dg_net_fast_tiled_4).")
_EXTRA = flags.DEFINE_list("extra_flags", [], "Flags added to every row (e.g. for a quick "
                           "check: --measure=flops,sequence).")


def slug(label):
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def main(argv):
    del argv
    names = [slug(r[0]) for r in ROWS]
    unknown = set(_ONLY.value) - set(names)
    if unknown:
        raise app.UsageError(f"Unknown --only {sorted(unknown)}; the rows are {names}.")
    rows = [r for r in ROWS if not _ONLY.value or slug(r[0]) in _ONLY.value]
    os.makedirs(_OUTPUT_DIR.value, exist_ok=True)
    results = []
    for label, flagfile, row_flags in rows:
        path = os.path.join(_OUTPUT_DIR.value, slug(label) + ".json")
        command = [sys.executable, SCRIPT, f"--flagfile={flagfile}", *row_flags,
                   f"--repeats={_REPEATS.value}", f"--sequence_frames={_SEQUENCE_FRAMES.value}",
                   *_EXTRA.value, f"--output_json={path}"]
        print(f"== {label}: {' '.join(command[1:])}", flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        result = fileio.read_json(path)
        result["label"] = label
        result["command"] = "python scripts/benchmark.py " + " ".join(command[2:-1])
        results.append(result)
    tables = benchmark.tables(results)
    fileio.write_json(os.path.join(_OUTPUT_DIR.value, "suite.json"), results)
    fileio.write_text(os.path.join(_OUTPUT_DIR.value, "suite.md"), tables)
    print(tables)


if __name__ == "__main__":
    app.run(main)
