"""Fused operators: one primitive, one closed-form rule, instead of a chain of generic ones.

``matvec(A, x)`` computes ``A @ x`` for a constant matrix ``A`` and a vector (or a batch of
vectors in the last axis) ``x``. Its derivative w.r.t. ``x`` is known in closed form,
d(Ax)/dx = A, so the rule is one product with Aᵀ; the generic ``sum(A * x, axis=-1)`` instead
builds an (m, n) intermediate forward and backward.
"""

from __future__ import annotations

import numpy as np

from .primitives import _shape, transpose
from .registry import defvjp, flagged, primitive
from .tensor import Tensor

__all__ = ["matvec"]


def _matvec_forward(A, x):
    return np.matmul(x, np.transpose(A))


_matvec = primitive(_matvec_forward, "matvec")
defvjp(_matvec, None, lambda g, ans, A, x: _matvec(transpose(A), g))


def matvec(A, x):
    """``A @ x`` for a constant matrix ``A`` of shape (m, n) and ``x`` of shape (..., n).

    Rule: x̄ = Aᵀ ḡ (one more matrix-vector product; no derivative w.r.t. the constant A)."""
    if isinstance(A, Tensor) and A.requires_grad:
        raise flagged(
            TypeError(
                "matvec: the matrix A must be a constant (autodiff_lib.constant(A) or a plain "
                "array); use matmul to differentiate w.r.t. the matrix"
            )
        )
    a_shape, x_shape = _shape(A), _shape(x)
    if len(a_shape) != 2 or not x_shape or x_shape[-1] != a_shape[1]:
        raise flagged(
            ValueError(
                f"matvec: expected A of shape (m, n) and x of shape (..., n), got {a_shape} and "
                f"{x_shape}"
            )
        )
    return _matvec(A, x)
