"""Averages the weights of training runs of one model into a new run.

    python scripts/average_weights.py --run_dirs=runs/c3,runs/c4,runs/c5 --model_dir=runs/c345
    python scripts/evaluate.py --flagfile=runs/c345/flags.cfg      # writes evaluation.json
    python scripts/export.py --run_dir=runs/c345 --export_dir=runs/serving/ugcn/1

Meant for the ends of successive cosine cycles, each started from the one
before with `--init_from` (the library: `tfpose.training.averaging`).
Measure before you ship one: on the UGCN release's cycles the average
scored the mean of its members, behind the last cycle (docs/RESULTS.md).
Writes `<model_dir>/model.keras`
(the average; every input run's `model.keras`, or --checkpoint_name) and
`<model_dir>/flags.cfg` (the last run's, naming the new directory, with a
comment naming the averaged runs), so `evaluate.py` and `export.py` take
the new directory as a run. Each file is written whole or not at all; an
existing model is not overwritten, nor is any input run.
"""

import os
import re

import tfpose.quiet_startup  # noqa: F401  (first: before TensorFlow loads)

# isort: split

from absl import app, flags

import tfpose.models  # noqa: F401  (registers the layers the .keras files name)
from tfpose import fileio
from tfpose.training import averaging

_RUN_DIRS = flags.DEFINE_list("run_dirs", None, "The training runs to average (two or more).")
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Where the averaged run goes (new).")
_WEIGHTS = flags.DEFINE_list("weights", None, "One weight per run (default: equal).")
_CHECKPOINT_NAME = flags.DEFINE_string("checkpoint_name", "model.keras",
                                       "The model file inside each run directory.")
flags.mark_flags_as_required(["run_dirs", "model_dir"])
FLAGS = flags.FLAGS


def main(argv):
    del argv
    runs = _RUN_DIRS.value
    if len(runs) < 2:
        raise app.UsageError(f"--run_dirs names {len(runs)} run; averaging needs two or more.")
    paths = [os.path.join(run, _CHECKPOINT_NAME.value) for run in runs]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise app.UsageError(f"no model file at {', '.join(missing)}.")
    flagfile = os.path.join(runs[-1], "flags.cfg")
    if not os.path.isfile(flagfile):
        raise app.UsageError(f"{flagfile} is missing: the averaged run takes the last run's flags.")
    if any(os.path.abspath(run) == os.path.abspath(_MODEL_DIR.value) for run in runs):
        raise app.UsageError("--model_dir is one of --run_dirs; choose a new directory.")
    output = os.path.join(_MODEL_DIR.value, "model.keras")
    if os.path.exists(output):
        raise app.UsageError(f"{output} exists; choose a new --model_dir.")
    weights = None
    if _WEIGHTS.value:
        try:
            weights = [float(w) for w in _WEIGHTS.value]
        except ValueError:
            raise app.UsageError(f"--weights must be numbers, got {_WEIGHTS.value}.") from None
        if len(weights) != len(runs):
            raise app.UsageError(f"--weights has {len(weights)} values for {len(runs)} runs.")
    try:
        model = averaging.average_models(paths, weights)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    with open(flagfile, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"^--model_dir=.*\n?", "", text, flags=re.M).rstrip("\n")
    text += f"\n--model_dir={_MODEL_DIR.value}\n"
    shares = weights or [1.0] * len(runs)
    header = ("# scripts/average_weights.py: the weights of "
              + ", ".join(f"{run} (x{w:g})" for run, w in zip(runs, shares))
              + "; the flags below are the last run's\n")
    # flags.cfg first: a crash before the model leaves no model.keras, so
    # the same command runs again.
    fileio.write_text(os.path.join(_MODEL_DIR.value, "flags.cfg"), header + text.lstrip("\n"))
    with fileio.atomic_path(output) as temporary:
        model.save(temporary)
    print(f"Averaged {len(runs)} runs into {output}; evaluate it with "
          f"python scripts/evaluate.py --flagfile={_MODEL_DIR.value}/flags.cfg")


if __name__ == "__main__":
    app.run(main)
