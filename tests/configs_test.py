"""Every shipped flagfile parses and builds its model."""

import pathlib

import pytest

from tfpose import flags as tfpose_flags
from tfpose.inference import protocols
from tfpose.models import MODELS
from tfpose.training import runner

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.cfg")) + sorted((REPO / "tests/configs").glob("*.cfg"))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_parses_and_builds(config, flag_values):
    flag_values.unparse_flags()
    flag_values(["train.py", f"--flagfile={config}", "--model_dir=unused"])
    model = runner.build_model(flag_values.model, tfpose_flags.model_kwargs(flag_values),
                               tfpose_flags.loss_kwargs(flag_values), flag_values.learning_rate)
    assert model.count_params() > 0
    flag_values.unparse_flags()


def test_paper_configs_say_what_the_papers_say(flag_values):
    flag_values.unparse_flags()
    flag_values(["train.py", f"--flagfile={REPO / 'configs/dgnet_h36m.cfg'}"])
    model = MODELS["dgnet"](**tfpose_flags.model_kwargs(flag_values))
    assert (model.num_frames, flag_values.batch_size, flag_values.epochs) == (4, 64, 200)
    assert (model.channels, model.num_blocks, model.k_spatial, model.k_temporal) == (128, 5, 3, 4)
    assert (model.dropout, model.weight_decay) == (0.0, 0.0)
    assert protocols.needs_intrinsics(model) and flag_values.lr_schedule == "exponential"
    assert tfpose_flags.loss_kwargs(flag_values)["weight"] == 0.0
    flag_values.unparse_flags()
