"""Workload 6: the fused ``matvec(A, x)`` against the generic ``sum(A * x, axis=-1)``.

Each column computes the value and the gradient w.r.t. ``x`` of ``Σ tanh(Ax)`` for a constant
matrix ``A``. The composition builds an (n, n) product on the way forward and again on the way
back; the fused operator's rule is one product with Aᵀ. The floor is ``g = Aᵀ(1 - tanh²(Ax))``.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np

import autodiff_lib as ad

from .timing import check_columns, format_ratio, measure, print_table

SIZES = (64, 256, 1024)


def numpy_value_and_grad(A, x):
    t = np.tanh(A @ x)
    return np.sum(t), A.T @ (1.0 - t * t)


def candidates(n, torch):
    """``{column: value_and_grad}`` as zero-argument callables, and the floor's result."""
    rng = np.random.default_rng(0)
    A, x = rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n)
    fused = ad.value_and_grad(lambda x: ad.sum(ad.tanh(ad.matvec(A, x))))
    composed = ad.value_and_grad(lambda x: ad.sum(ad.tanh(ad.sum(A * x, axis=-1))))
    generic = ad.value_and_grad(lambda x: ad.sum(ad.tanh(ad.matmul(A, x))))
    ag = autograd.value_and_grad(lambda x: anp.sum(anp.tanh(anp.dot(A, x))))
    runs = {
        "ad matvec": lambda: fused(x),
        "ad sum(A*x)": lambda: composed(x),
        "ad matmul": lambda: generic(x),
        "numpy": lambda: numpy_value_and_grad(A, x),
        "autograd": lambda: ag(x),
    }
    if torch is not None:
        t_A, t_x = torch.from_numpy(A), torch.from_numpy(x.copy()).requires_grad_()

        def torch_vg():
            y = torch.tanh(t_A @ t_x).sum()
            return y, torch.autograd.grad(y, t_x)[0]

        runs["torch"] = torch_vg
    return runs, numpy_value_and_grad(A, x)


def run(settings, torch):
    """Print the matvec table and the fused operator's gain; return the gains."""
    columns = ["ad matvec", "ad sum(A*x)", "ad matmul", "numpy", "autograd"]
    columns += ["torch"] if torch is not None else []
    rows, problems, gains = [], [], {}
    for n in SIZES:
        runs, reference = candidates(n, torch)
        problems += check_columns(
            f"matvec n={n}", reference, {name: f() for name, f in runs.items()}
        )
        times = measure(runs, settings)
        gains[n] = times["ad sum(A*x)"] / times["ad matvec"]
        rows.append(((n,), times))
    gain_line = ", ".join(f"n={n} {format_ratio(g)}" for n, g in gains.items())
    print_table(
        "6. Value and gradient of Σ tanh(Ax) w.r.t. x: fused matvec vs the composition "
        "sum(A * x, axis=-1), ratio to numpy",
        ("n",),
        rows,
        columns,
        notes=[f"gain of matvec over sum(A*x, axis=-1): {gain_line}"] + problems,
    )
    return {"matvec_gain": gains}
