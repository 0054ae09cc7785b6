"""Averaging the weights of several trained models of one architecture.

The ends of successive warm-restart cycles (cosine cycles started from
the previous cycle's model) lie in one basin of the loss, and their
average can sit nearer its centre than any of them (stochastic weight
averaging, Izmailov et al., 2018). On the UGCN release's cycles it did
not: each average scored the mean of its members' test MPJPE, behind the
last cycle alone (docs/RESULTS.md, "Averaging the cycles' weights").

Every float variable is averaged, batch-norm moving statistics included
(averaged, not recomputed on training data as Izmailov et al. do); a
variable of any other dtype keeps the last model's value.
"""

import re

import keras
import numpy as np


def _describe(model):
    # Paths without the numbers Keras appends to repeated layer names, which
    # differ between models built in one process.
    return [(re.sub(r"_\d+(?=/|$)", "", v.path), tuple(v.shape)) for v in model.weights]


def average_models(models, weights=None):
    """The last of `models` (Keras models or `.keras` paths) with every
    float variable replaced by the `weights`-weighted mean (default equal)
    of that variable over all of them. Raises ValueError naming the first
    difference when the models do not share one architecture."""
    if not models:
        raise ValueError("average_models needs at least one model.")
    models = [keras.models.load_model(m, compile=False) if isinstance(m, (str, bytes))
              or hasattr(m, "__fspath__") else m for m in models]
    if weights is None:
        weights = np.ones(len(models))
    weights = np.asarray(weights, dtype=np.float64)
    if (weights.shape != (len(models),) or not np.all(np.isfinite(weights))
            or np.any(weights < 0) or weights.sum() <= 0):
        raise ValueError(f"weights must be {len(models)} finite non-negative numbers with a "
                         f"positive sum, got {weights.tolist()}.")
    weights = weights / weights.sum()
    reference = models[-1]
    layout = _describe(reference)
    for index, model in enumerate(models[:-1]):
        if type(model) is not type(reference):
            raise ValueError(f"model {index} is a {type(model).__name__}, the last a "
                             f"{type(reference).__name__}: only one architecture averages.")
        other = _describe(model)
        if len(other) != len(layout):
            raise ValueError(f"model {index} has {len(other)} variables, the last "
                             f"{len(layout)}: not the same architecture.")
        for (path, shape), (path_ref, shape_ref) in zip(other, layout):
            if path != path_ref:
                raise ValueError(f"model {index}'s variable {path} stands where the last model "
                                 f"has {path_ref}: not the same architecture.")
            if shape != shape_ref:
                raise ValueError(f"model {index}'s variable {path} has shape {shape}, the "
                                 f"last model's {shape_ref}.")
    for position, variable in enumerate(reference.weights):
        if not keras.backend.is_float_dtype(variable.dtype):
            continue
        values = [keras.ops.convert_to_numpy(m.weights[position].value).astype(np.float64)
                  for m in models]
        mean = sum(w * v for w, v in zip(weights, values))
        variable.assign(keras.ops.cast(mean, variable.dtype))
    return reference
