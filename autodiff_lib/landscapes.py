"""Functions to minimize: the landscapes the course runs its optimizers on.

Each is written with the library's own functions, so ``grad`` and ``hessian`` apply to it.
"""

from __future__ import annotations

import numpy as np

from .engine.primitives import matmul, sum

__all__ = ["quadratic", "random_quadratic", "random_spd"]


def quadratic(A, x_star):
    """f(x) = ½ (x − x*)ᵀ A (x − x*): gradient A (x − x*), Hessian A, minimum f(x*) = 0.

    For a symmetric positive definite ``A`` the level sets are ellipses whose axes are the
    eigenvectors of ``A``; the condition number λ_max/λ_min says how stretched they are.
    """
    A, x_star = np.array(A, dtype=float), np.array(x_star, dtype=float)

    def f(x):
        d = x - x_star
        return 0.5 * sum(d * matmul(A, d))

    return f


def random_spd(n, condition, seed):
    """A random symmetric positive definite n×n matrix with eigenvalues from 1 to ``condition``

    (spaced evenly on a log scale) along random orthogonal directions.
    """
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(np.geomspace(1.0, condition, n)) @ Q.T
    return (A + A.T) / 2  # exactly symmetric


def random_quadratic(n, condition, seed):
    """``(f, A, x_star)``: a ``quadratic`` with ``random_spd(n, condition, seed)`` and a random
    minimizer ``x_star`` (standard normal entries)."""
    A = random_spd(n, condition, seed)
    x_star = np.random.default_rng(seed + 1).normal(size=n)
    return quadratic(A, x_star), A, x_star
