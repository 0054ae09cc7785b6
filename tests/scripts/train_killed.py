"""scripts/train.py that SIGKILLs itself at a known optimiser step, for the
resumption tests (tests/scripts/train_distributed_test.py).

    python tests/scripts/train_killed.py STEP[:TASK] <scripts/train.py flags>

Runs scripts/train.py unchanged, with one more callback: once the optimiser
has taken STEP steps (mid-epoch wherever STEP falls, under model.fit and the
custom loop alike) the process SIGKILLs itself; with TASK, only the worker
of that task index does. The step is a positional argument, not a flag, so
that the run's flags.cfg stays a plain scripts/train.py flagfile.
"""

import os
import pathlib
import runpy
import signal
import sys

import keras

from tfpose.training import distribute, runner

TRAIN = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "train.py"


class KillAtStep(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = int(step)

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def _with_kill(train, step, task):
    def train_then_die(model, *args, strategy, callbacks=(), **kwargs):
        if task is None or task == distribute.task(strategy)[1]:
            callbacks = [KillAtStep(step), *callbacks]
        return train(model, *args, strategy=strategy, callbacks=callbacks, **kwargs)

    return train_then_die


def main():
    step, _, task = sys.argv.pop(1).partition(":")
    # scripts/train.py reaches the loop through `runner.train` at call time.
    runner.train = _with_kill(runner.train, int(step), int(task) if task else None)
    # As if started as scripts/train.py: write_flagfile reads argv[0].
    sys.argv[0] = str(TRAIN)
    runpy.run_path(str(TRAIN), run_name="__main__")


if __name__ == "__main__":
    main()
