"""tfpose models. `MODELS` maps a `--model` flag value to its class."""

from tfpose.models.dgnet import DGNet
from tfpose.models.ugcn import UGCN

MODELS = {"ugcn": UGCN, "dgnet": DGNet}

__all__ = ["MODELS", "DGNet", "UGCN", "inference_model"]


def inference_model(model):
    """The single-output model to deploy and evaluate (DG-Net drops its
    block-level heads; other models are returned as they are)."""
    return model.inference_model() if hasattr(model, "inference_model") else model
