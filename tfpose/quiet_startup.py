"""TensorFlow's C++ startup lines, kept off the scripts' output.

The scripts import this before anything imports TensorFlow:

    import tfpose.quiet_startup  # noqa: F401

Unless the user has set TF_CPP_MIN_LOG_LEVEL (any value, e.g. 0 to see
everything), it sets it to 1 (no C++ INFO lines: the CPU-instruction and
oneDNN notices) and imports TensorFlow and lists its devices with standard
error held aside. The lines no log level reaches are dropped from what was
held: absl's notice that logging is not initialised yet, a GPU build's
"Could not find cuda drivers" on a machine without a GPU (printed before
TensorFlow reads the level) and, on such a machine only, the `cuInit`
error that follows it. Everything else is passed on. The library itself
does not import this: a notebook keeps TensorFlow's defaults.
"""

import contextlib
import os
import sys
import tempfile

_NOTICES = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "Could not find cuda drivers on your machine",
)
# An error only where a GPU was expected: kept unless the driver is absent.
_NO_DRIVER_ERROR = "failed call to cuInit"


def _kept(lines):
    no_driver = any(_NOTICES[1] in line for line in lines)
    return [line for line in lines if not any(n in line for n in _NOTICES)
            and not (no_driver and _NO_DRIVER_ERROR in line)]


@contextlib.contextmanager
def _stderr_held():
    """File descriptor 2 into a temporary file; `_kept` lines passed on after."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no real standard error
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(_kept(lines)))
            sys.stderr.flush()


if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "1"
    with _stderr_held():
        import tensorflow as tf

        # The driver is looked for again when the runtime starts.
        tf.config.list_physical_devices()
