"""Flags override the models' own defaults and leave them alone when unset."""

import inspect
import pathlib

import pytest

from tfpose import flags as tfpose_flags
from tfpose import losses
from tfpose.inference import protocols
from tfpose.models import MODELS
from tfpose.training import runner

REPO = pathlib.Path(__file__).resolve().parents[1]
# The papers' losses: UGCN's motion loss (Eq. 6, lambda = 1) with the
# squared-error position term, DG-Net's squared error alone, VideoPose3D's MPJPE.
PAPER_LOSSES = {"ugcn": (1.0, "mse"), "dgnet": (0.0, "mse"), "tcn": (0.0, "mpjpe")}


def _parse(flag_values, *args):
    flag_values.unparse_flags()
    flag_values(["train.py", *args])


def _config(model):
    return {k: v for k, v in model.get_config().items() if k != "name"}


def _loss(model):
    loss = model.loss["network"] if isinstance(model.loss, dict) else model.loss
    return loss.weight, loss.position


def test_every_model_has_its_flags():
    assert set(tfpose_flags.MODEL_FLAGS) == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_unset_flags_build_the_plain_constructor(name, flag_values):
    _parse(flag_values, f"--model={name}")
    assert tfpose_flags.model_kwargs(flag_values) == {}
    built = runner.build_model(name, tfpose_flags.model_kwargs(flag_values),
                               tfpose_flags.loss_kwargs(flag_values), 1e-3,
                               flag_values.dgnet_block_weight)
    plain = runner.compile_model(MODELS[name](), None, 1e-3)
    assert _config(built) == _config(plain)
    assert built.count_params() == plain.count_params()
    assert _loss(built) == _loss(plain) == PAPER_LOSSES[name]
    if name == "dgnet":
        assert set(built.get_compile_config()["loss_weights"].values()) == {1.0, 0.1}
    flag_values.unparse_flags()


def test_given_flags_override(flag_values):
    _parse(flag_values, "--model=tcn", "--tcn_filter_widths=3,3", "--tcn_channels=16",
           "--dropout=0.1", "--weight_decay=1e-4", "--motion_weight=0.5")
    model = runner.build_model("tcn", tfpose_flags.model_kwargs(flag_values),
                               tfpose_flags.loss_kwargs(flag_values), 1e-3)
    assert (model.filter_widths, model.channels, model.num_frames) == ((3, 3), 16, 9)
    assert (model.dropout, model.weight_decay) == (0.1, 1e-4)
    assert _loss(model) == (0.5, "mpjpe")  # the weight given, TCN's own position term
    flag_values.unparse_flags()


def test_ugcn_causal_flag_builds_a_model_read_causally(flag_values):
    _parse(flag_values, "--model=ugcn", "--ugcn_causal", "--num_frames=16",
           "--ugcn_down_channels=4,4,4,4,4,4,4,4,4")
    model = MODELS["ugcn"](**tfpose_flags.model_kwargs(flag_values))
    assert model.causal and protocols.own_protocol(model) == "causal"
    flag_values.unparse_flags()


def test_flagfile_reads_back_the_same_model(flag_values, tmp_path):
    _parse(flag_values, "--model=dgnet", "--dgnet_channels=8", "--dgnet_blocks=1",
           "--nodgnet_non_local")
    kwargs, loss = tfpose_flags.model_kwargs(flag_values), tfpose_flags.loss_kwargs(flag_values)
    path = tmp_path / "flags.cfg"
    tfpose_flags.write_flagfile(str(path), flag_values=flag_values)
    lines = path.read_text().splitlines()
    assert "--nodgnet_non_local" in lines
    assert not [line for line in lines if line.startswith(("--dropout", "--num_frames",
                                                           "--motion_weight"))]
    _parse(flag_values, f"--flagfile={path}")
    assert tfpose_flags.model_kwargs(flag_values) == kwargs == dict(
        channels=8, num_blocks=1, non_local=False)
    assert tfpose_flags.loss_kwargs(flag_values) == loss
    flag_values.unparse_flags()


RELEASED_FLAGFILES = sorted((REPO / "exported").glob("*/*/flags.cfg"))


@pytest.mark.parametrize("path", RELEASED_FLAGFILES,
                         ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_released_flagfiles_still_build_their_model(path, flag_values):
    # Older flagfiles hold every flag, newer ones only those given; either
    # way they must rebuild the released network and its paper's loss.
    import keras

    from tfpose.models import loss_arguments

    _parse(flag_values, f"--flagfile={path}")
    name = flag_values.model
    assert name in path.parent.parent.name  # exported/<name>[_variant]/<version>
    assert tfpose_flags.ignored_model_flags(flag_values) == {}
    built = MODELS[name](**tfpose_flags.model_kwargs(flag_values))
    saved = path.parent / "model.keras"
    if saved.exists():
        released = keras.models.load_model(saved, compile=False)
        assert _config(built) == _config(released)
    else:  # an older release without its Keras model: the paper's network
        assert _config(built) == _config(MODELS[name]())
    # MotionLoss's own defaults under what the model and flagfile give
    # (UGCN's paper loss is those defaults, so a newer flagfile names none).
    defaults = {k: p.default for k, p in inspect.signature(losses.MotionLoss).parameters.items()
                if p.default is not inspect.Parameter.empty}
    loss = {**defaults, **loss_arguments(built, tfpose_flags.loss_kwargs(flag_values))}
    paper_weight, paper_position = PAPER_LOSSES[name]
    # A release's last stage may train without the motion term
    # (`exported/ugcn/6`, docs/RESULTS.md); its flagfile then says so.
    expected_weight = (flag_values.motion_weight if flag_values["motion_weight"].present
                       else paper_weight)
    assert (loss["weight"], loss["position"]) == (expected_weight, paper_position)
    if loss["weight"]:
        assert (list(loss["intervals"]), loss["operator"]) == ([8, 12, 16, 24], "cross")
    flag_values.unparse_flags()


def test_other_models_flags_are_named_as_ignored(flag_values, caplog):
    _parse(flag_values, "--model=ugcn", "--dgnet_blocks=3", "--tcn_filter_widths=3,3",
           "--tcn_channels=1024", "--dropout=0.2", "--ugcn_num_pairs=2")
    # Shared flags (dropout) and a value equal to its model's default
    # (TCN's 1024 channels) are not reported.
    assert tfpose_flags.ignored_model_flags(flag_values) == {
        "dgnet_blocks": 3, "tcn_filter_widths": [3, 3]}
    with caplog.at_level("WARNING"):
        kwargs = tfpose_flags.model_kwargs(flag_values)
    assert kwargs == {"num_pairs": 2, "dropout": 0.2}
    assert "--model=ugcn ignores --dgnet_blocks=3, --tcn_filter_widths=3,3:" in caplog.text
    _parse(flag_values, "--model=dgnet", "--dgnet_blocks=3", "--temporal_kernel=5")
    assert tfpose_flags.ignored_model_flags(flag_values) == {}  # 5: UGCN's own
    _parse(flag_values, "--model=dgnet", "--temporal_kernel=3")
    assert tfpose_flags.ignored_model_flags(flag_values) == {"temporal_kernel": 3}
    flag_values.unparse_flags()


def test_stream_weight_trains_the_frame_the_causal_protocol_reads(flag_values):
    _parse(flag_values, "--model=ugcn", "--stream_weight=1.5", "--lookahead=8")
    assert tfpose_flags.loss_kwargs(flag_values) == {"stream_weight": 1.5, "lookahead": 8}
    _parse(flag_values, "--model=ugcn", "--lookahead=8")  # unset: no weighting at all
    assert tfpose_flags.loss_kwargs(flag_values) == {}
    _parse(flag_values, "--model=tcn", "--tcn_filter_widths=3,3", "--tcn_channels=8",
           "--stream_weight=1")
    with pytest.raises(ValueError, match="receptive field"):
        runner.build_model("tcn", tfpose_flags.model_kwargs(flag_values),
                           tfpose_flags.loss_kwargs(flag_values), 1e-3)
    flag_values.unparse_flags()


def test_stream_reads_are_the_models_period_apart(flag_values):
    _parse(flag_values, "--model=ugcn", "--ugcn_causal", "--ugcn_num_pairs=2", "--num_frames=16",
           "--stream_weight=1", "--stream_reads=3", "--lookahead=0")
    assert tfpose_flags.loss_kwargs(flag_values) == {
        "stream_weight": 1.0, "stream_reads": 3, "lookahead": 0}
    model = runner.build_model("ugcn", tfpose_flags.model_kwargs(flag_values),
                               tfpose_flags.loss_kwargs(flag_values), 1e-3)
    assert (model.loss.stream_reads, model.loss.stream_period) == (3, 4)
    # Reads at 15, 11, 7, 3 fit 16 frames; a fifth would not, and the run
    # says so before any data loads.
    _parse(flag_values, "--model=ugcn", "--ugcn_causal", "--ugcn_num_pairs=2", "--num_frames=16",
           "--stream_weight=1", "--stream_reads=5", "--lookahead=0")
    with pytest.raises(ValueError, match="has 16 output frames"):
        runner.build_model("ugcn", tfpose_flags.model_kwargs(flag_values),
                           tfpose_flags.loss_kwargs(flag_values), 1e-3)
    # A period of the caller's own must keep the reads on the model's grid.
    _parse(flag_values, "--model=ugcn", "--ugcn_causal", "--ugcn_num_pairs=2", "--num_frames=16",
           "--stream_weight=1", "--stream_reads=2", "--lookahead=0")
    kwargs = tfpose_flags.loss_kwargs(flag_values)
    model = runner.build_model("ugcn", tfpose_flags.model_kwargs(flag_values),
                               {**kwargs, "stream_period": 8}, 1e-3)
    assert (model.loss.stream_reads, model.loss.stream_period) == (2, 8)
    with pytest.raises(ValueError, match="not a multiple of this UGCN's stream period 4"):
        runner.build_model("ugcn", tfpose_flags.model_kwargs(flag_values),
                           {**kwargs, "stream_period": 6}, 1e-3)
    # Elsewhere the frames before the read one are not live readings.
    for model, why in (("--nougcn_causal", "not in this UGCN"),
                       ("--model=dgnet", "not in this DGNet")):
        _parse(flag_values, "--model=ugcn", "--num_frames=16", "--ugcn_num_pairs=2", model,
               "--stream_weight=1", "--stream_reads=2")
        with pytest.raises(ValueError, match=why):
            runner.build_model(flag_values.model, tfpose_flags.model_kwargs(flag_values),
                               tfpose_flags.loss_kwargs(flag_values), 1e-3)
    flag_values.unparse_flags()


def test_an_explicit_mixed_bfloat16_checks_for_emulation(flag_values, monkeypatch):
    from tfpose.training import distribute

    calls = []
    monkeypatch.setattr(distribute, "warn_if_emulated_bfloat16", lambda: calls.append(1))
    monkeypatch.setattr(distribute, "auto_precision", lambda: "float32")
    for args, policy, checks in ((["--precision=mixed_bfloat16"], "mixed_bfloat16", 1),
                                 (["--precision=auto"], "float32", 0),
                                 ([], "float32", 0)):
        calls.clear()
        _parse(flag_values, *args)
        assert tfpose_flags.precision_policy(flag_values) == policy
        assert len(calls) == checks, args
    flag_values.unparse_flags()
