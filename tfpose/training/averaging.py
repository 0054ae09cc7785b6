"""Averaging the weights of several trained models of one architecture.

The ends of successive warm-restart cycles (cosine cycles started from
the previous cycle's model) lie in one basin of the loss, and their
average can sit nearer its centre than any of them (stochastic weight
averaging, Izmailov et al., 2018). On the UGCN release's cycles it did
not: each average scored the mean of its members' test MPJPE, behind the
last cycle alone (docs/RESULTS.md, "Averaging the cycles' weights").

Every float variable is averaged, batch-norm moving statistics included
(they describe activations of nearly the same network); integer state
(random-generator seeds, counters) is the last model's.
"""

import keras
import numpy as np


def _describe(model):
    return [(v.path, tuple(v.shape), str(v.dtype)) for v in model.weights]


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
    if weights.shape != (len(models),) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(f"weights must be {len(models)} non-negative numbers with a positive "
                         f"sum, got {weights.tolist()}.")
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
        for (path, shape, _), (path_ref, shape_ref, _) in zip(other, layout):
            if shape != shape_ref:
                raise ValueError(f"model {index}'s variable {path} has shape {shape}, the "
                                 f"last model's {path_ref} {shape_ref}.")
    for position, variable in enumerate(reference.weights):
        if not keras.backend.is_float_dtype(variable.dtype):
            continue
        values = [keras.ops.convert_to_numpy(m.weights[position].value).astype(np.float64)
                  for m in models]
        mean = sum(w * v for w, v in zip(weights, values))
        variable.assign(keras.ops.cast(mean, variable.dtype))
    return reference
