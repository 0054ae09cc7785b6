import os
import pathlib

import keras
import pytest
from absl import flags

from tfpose import flags as tfpose_flags

# Tests read real data from ../shared beside the repository (CI has it).
REPO = pathlib.Path(__file__).resolve().parents[1]
HDM05_DIR = pathlib.Path(os.environ.get("TFPOSE_HDM05_DIR",
                                        REPO.parent / "shared" / "data" / "hdm05"))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def hdm05_dir():
    if not (HDM05_DIR / "asf").is_dir():
        if os.environ.get("CI", "").lower() == "true":
            # CI always has ../shared: a missing copy must not pass as skips.
            pytest.fail(f"CI=true but HDM05 data not found at {HDM05_DIR}.")
        pytest.skip(
            f"HDM05 data not found at {HDM05_DIR} (expected ../shared/data/hdm05 "
            "beside the repository, or set TFPOSE_HDM05_DIR)."
        )
    return HDM05_DIR


@pytest.fixture(scope="session")
def flag_values():
    """absl's global flags with tfpose's defined (once per process: absl
    refuses to define a flag twice)."""
    try:
        tfpose_flags.define_data_flags()
        tfpose_flags.define_model_flags()
        tfpose_flags.define_training_flags()
    except flags.DuplicateFlagError:
        pass  # defined by a test module of its own
    return flags.FLAGS
