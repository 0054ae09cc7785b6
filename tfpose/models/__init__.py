"""tfpose models. `MODELS` maps a `--model` flag value to its class."""

# Registers the losses and metrics that .keras files name in their compile
# config, so `import tfpose.models` is all `keras.models.load_model` needs.
from tfpose import losses as _losses  # noqa: F401
from tfpose import metrics as _metrics  # noqa: F401
from tfpose.models.dgnet import DGNet
from tfpose.models.tcn import TCN
from tfpose.models.ugcn import UGCN

MODELS = {"ugcn": UGCN, "dgnet": DGNet, "tcn": TCN}

__all__ = ["MODELS", "DGNet", "TCN", "UGCN", "inference_model", "loss_arguments"]


def inference_model(model):
    """The single-output model to deploy and evaluate (DG-Net drops its
    block-level heads; other models are returned as they are)."""
    return model.inference_model() if hasattr(model, "inference_model") else model


def loss_arguments(model, given=None):
    """The `tfpose.losses.MotionLoss` arguments to train `model` (a model or
    its class) with: its paper's (the class's `LOSS`), then `given`."""
    return {**model.LOSS, **(given or {})}
