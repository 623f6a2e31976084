"""How far predictions are from targets: mean squared error, mean absolute error, and RMAE.

``mse`` and ``mae`` are written with the library's functions, so a loss built from them can be
differentiated; on plain arrays they return plain numbers.

The relative mean absolute error compares a model with the truth on the same samples:

    RMAE = MAE(model) / MAE(truth) − 1.

RMAE = 0: the model is as close to the samples as the true function (whose error is the noise);
RMAE = 1: twice as far. It can be negative: a model that follows the noise of these particular
samples beats the truth on them (and only on them).
"""

from __future__ import annotations

import numpy as np

from .engine.primitives import abs, mean
from .engine.tensor import value_of

__all__ = ["mae", "mse", "rmae"]


def _check_shapes(name, prediction, target):
    """Refuse to broadcast: (n, 1) against (n,) would silently compare every pair."""
    if np.shape(prediction) != np.shape(target):
        raise ValueError(
            f"{name}: prediction of shape {np.shape(prediction)} and target of shape "
            f"{np.shape(target)} must have the same shape"
        )


def mse(prediction, target):
    """Mean squared error ``mean((prediction − target)²)``; both of the same shape."""
    _check_shapes("mse", prediction, target)
    return mean((prediction - target) ** 2)


def mae(prediction, target):
    """Mean absolute error ``mean(|prediction − target|)``; both of the same shape."""
    _check_shapes("mae", prediction, target)
    return mean(abs(prediction - target))


def rmae(prediction, true_prediction, target):
    """``MAE(prediction, target) / MAE(true_prediction, target) − 1``, a float.

    ``true_prediction`` is what the true function (the teacher's weights) predicts for the same
    samples; it must not fit them exactly (noise-free data has no scale to compare with).
    """
    prediction, true_prediction, target = (
        np.asarray(value_of(a), dtype=float) for a in (prediction, true_prediction, target)
    )
    _check_shapes("rmae", prediction, target)
    _check_shapes("rmae", true_prediction, target)
    truth = float(mae(true_prediction, target))
    if truth == 0.0:
        raise ValueError("rmae: the true prediction fits the targets exactly (no noise): "
                         "RMAE is undefined")  # fmt: skip
    return float(mae(prediction, target)) / truth - 1.0
