"""Numerically stable formulas: the same mathematics, computed without overflow or cancellation.

A formula that is right on paper can be wrong in floating point, and so can its derivative:

* ``log(sum(exp(x)))`` overflows for ``x > 709`` and underflows to ``log(0)`` for very negative
  ``x``. ``logsumexp`` shifts by the largest entry first, ``m + log(sum(exp(x - m)))``: every
  exponent is at most 0, so nothing overflows and the largest term is exactly 1. Its
  derivative is the softmax, ``exp(x - logsumexp(x))``, stable for the same reason.
* ``log(1 + u)`` and ``exp(u) - 1`` cancel for small ``u``: the primitives ``log1p`` and
  ``expm1`` (in ``primitives``) keep every digit; lecture 00 shows the softplus rule that
  needs ``expm1``.
* ``log(cosh(x))`` overflows for ``|x| > 710`` (cosh is infinite, the gradient
  ``sinh/cosh`` is ``inf/inf = nan``) and, near 0, ``cosh(x)`` rounds to 1 so that the value
  is 0 and its relative error is total below ``|x| ≈ 1e-8``. ``logcosh`` is a primitive:
  ``log1p(2 sinh(x/2)**2)`` for moderate ``|x|`` (no cancellation: ``cosh x - 1 = 2
  sinh²(x/2)``), ``|x| - log 2 + log1p(exp(-2|x|))`` for large ``|x|``, and its rule is the
  closed form ``g * tanh(x)``, never the quotient of two overflowing numbers.

Every rule is written with the library's own functions, so it differentiates again.
"""

from __future__ import annotations

import numpy as np

from . import primitives as ops
from .primitives import _kept_shape, _spread
from .registry import defvjp, primitive

__all__ = ["logcosh", "logsumexp", "log_softmax", "softmax"]


def _logsumexp_forward(x, axis=None, keepdims=False):
    x = np.asarray(x, dtype=np.float64)
    if isinstance(axis, list):
        axis = tuple(axis)
    m = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros(_kept_shape(x.shape, axis))
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf (log 0) or an inf: no shift
    with np.errstate(divide="ignore"):  # every entry -inf: the sum is 0, its log -inf
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.reshape(out, np.sum(x, axis=axis).shape)


logsumexp = primitive(
    _logsumexp_forward,
    "logsumexp",
    "log Σᵢ exp(xᵢ) over ``axis`` (all by default), shifted by the largest entry: no overflow."
    "\n\nRule: ∂/∂xᵢ = exp(xᵢ − ans), the softmax.",
)
defvjp(
    logsumexp,  # d/dx log sum exp(x) = softmax(x) = exp(x - ans), ans kept over the reduced axes
    lambda g, ans, x, axis=None, keepdims=False: _spread(g, ans, x, axis)
    * ops.exp(x - ops.reshape(ans, _kept_shape(np.shape(x), axis))),
)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``, computed as ``exp(x - logsumexp(x))``."""
    return ops.exp(log_softmax(x, axis))


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` without forming the softmax: ``x - logsumexp(x)``."""
    return x - logsumexp(x, axis=axis, keepdims=True)


_LARGE = 20.0  # beyond it exp(-2|x|) < 5e-18: log1p of it is exact to the last digit


def _logcosh_forward(x):
    x = np.abs(np.asarray(x, dtype=np.float64))
    small = np.minimum(x, _LARGE)
    large = np.maximum(x, _LARGE)
    return np.where(
        x < _LARGE,
        np.log1p(2 * np.sinh(small / 2) ** 2),
        large - np.log(2.0) + np.log1p(np.exp(-2 * large)),
    )


logcosh = primitive(
    _logcosh_forward,
    "logcosh",
    "log cosh x, without overflow for large |x| nor rounding to 0 for tiny |x|."
    "\n\nRule: d/dx log cosh x = tanh x.",
)
defvjp(logcosh, lambda g, ans, x: g * ops.tanh(x))
