"""Central differences, the reference every derivative in the test suite is measured against.

A helper module, not a test file: ``from numeric import central_jacobian`` (pytest puts
``tests/`` on the import path). For f: R^n -> R^m,

    ∂f_i/∂x_j ≈ (f_i(x + ε e_j) − f_i(x − ε e_j)) / 2ε,   error O(ε²) plus rounding O(|f|/ε).
"""

from __future__ import annotations

import numpy as np

from autodiff_lib import value_of


def central_jacobian(f, args, argnum=0, eps=1e-6):
    """The Jacobian of ``f(*args)`` w.r.t. ``args[argnum]``, shape ``f.shape + x.shape``.

    ``f`` is evaluated on plain float64 arrays only, so no derivative code is involved.
    """
    args = [np.array(value_of(a), dtype=np.float64) for a in args]
    x = args[argnum]

    def at(point):
        shifted = list(args)
        shifted[argnum] = point
        return np.asarray(value_of(f(*shifted)), dtype=np.float64)

    out_shape = at(x).shape
    jac = np.zeros(out_shape + x.shape)
    for j in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[j] = eps
        jac[(Ellipsis,) + j] = (at(x + step) - at(x - step)) / (2 * eps)
    return jac
