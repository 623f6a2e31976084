"""Checking derivatives against central differences, as every autodiff course should.

For random directions v and cotangents u, reverse mode gives uᵀJv through one vector-Jacobian
product; central differences give uᵀ(f(x + εv) − f(x − εv)) / 2ε with an error of order ε².
Higher orders apply the same check to the Jacobian itself.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .differentiation import AutodiffWarning, grad, jacobian
from .primitives import sum
from .tensor import value_of

__all__ = ["check_grad", "GradCheckReport", "GradientCheckError"]


class GradientCheckError(AssertionError):
    """Reverse-mode and finite-difference derivatives disagree beyond the tolerance."""


@dataclass
class GradCheckReport:
    """The largest errors seen over all directions and orders checked."""

    max_abs_error: float
    max_rel_error: float
    order: int


def check_grad(f, x, order=1, directions=3, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Check derivatives of ``f`` at ``x`` up to ``order``; raise GradientCheckError if off.

    Returns a GradCheckReport with the largest absolute and relative error.
    """
    rng = np.random.default_rng(seed)
    x = np.array(value_of(x), dtype=np.float64)
    worst_abs = worst_rel = 0.0
    fun = f
    for k in range(1, order + 1):
        y_shape = np.shape(value_of(fun(x)))
        for _ in range(directions):
            v = rng.standard_normal(x.shape)
            u = rng.standard_normal(y_shape)

            def along_u(z, fun=fun, u=u):
                return sum(fun(z) * u)

            with warnings.catch_warnings():  # a zero derivative (f linear) is checked like any
                warnings.simplefilter("ignore", AutodiffWarning)
                reverse = float(np.sum(value_of(grad(along_u)(x)) * v))
            plus = np.asarray(value_of(fun(x + eps * v)))
            minus = np.asarray(value_of(fun(x - eps * v)))
            numeric = float(np.sum(u * (plus - minus)) / (2 * eps))
            error = abs(reverse - numeric)
            scale = max(abs(reverse), abs(numeric), 1e-300)
            worst_abs, worst_rel = max(worst_abs, error), max(worst_rel, error / scale)
            if error > atol + rtol * abs(numeric):
                raise GradientCheckError(
                    f"check_grad: order-{k} derivative of {getattr(f, '__name__', 'f')} is off: "
                    f"reverse mode gives {reverse:.10g}, central differences {numeric:.10g} "
                    f"(absolute error {error:.3g}, relative {error / scale:.3g}; "
                    f"tolerance {atol:g} + {rtol:g}·|value|)"
                )
        fun = jacobian(fun)
    return GradCheckReport(worst_abs, worst_rel, order)
