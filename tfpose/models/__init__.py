"""tfpose models. `MODELS` maps a `--model` flag value to its class."""

from tfpose.models.ugcn import UGCN

MODELS = {"ugcn": UGCN}

__all__ = ["MODELS", "UGCN"]
