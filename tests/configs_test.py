"""Every shipped flagfile parses and builds its model."""

import pathlib

import pytest
from absl import flags

from tfpose import flags as tfpose_flags
from tfpose.inference import protocols
from tfpose.training import runner

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.cfg")) + sorted((REPO / "tests/configs").glob("*.cfg"))


@pytest.fixture(scope="module")
def flag_values():
    try:
        tfpose_flags.define_data_flags()
        tfpose_flags.define_model_flags()
        tfpose_flags.define_training_flags()
    except flags.DuplicateFlagError:
        pass  # defined by an earlier test module
    return flags.FLAGS


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_parses_and_builds(config, flag_values):
    flag_values.unparse_flags()
    flag_values(["train.py", f"--flagfile={config}", "--model_dir=unused"])
    kwargs = tfpose_flags.model_kwargs(flag_values)
    model = runner.build_model(flag_values.model, kwargs, tfpose_flags.loss_kwargs(flag_values),
                               flag_values.learning_rate)
    assert model.count_params() > 0
    assert protocols.needs_intrinsics(model) == runner.takes_intrinsics(kwargs)
    flag_values.unparse_flags()


def test_paper_configs_say_what_the_papers_say(flag_values):
    flag_values.unparse_flags()
    flag_values(["train.py", f"--flagfile={REPO / 'configs/dgnet_h36m.cfg'}"])
    assert (flag_values.num_frames, flag_values.batch_size, flag_values.epochs) == (4, 64, 200)
    assert flag_values.dgnet_balanced and flag_values.lr_schedule == "exponential"
    assert (flag_values.dgnet_k_spatial, flag_values.dgnet_k_temporal) == (3, 4)
    flag_values.unparse_flags()
