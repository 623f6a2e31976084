"""Workload 5: the gradient cost per operation on a chain of 1000 operations on size-1 arrays.

The chain alternates ``x ← sin(x)`` and ``x ← x * 1.1`` (500 of each), then sums, and every
column computes the value and the gradient w.r.t. ``x``. On arrays of one element the
arithmetic is nothing: what is left is each library's cost of recording a node and running
its rule. Reported: the time of one value-and-gradient call divided by 1000.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np

import autodiff_lib as ad

from .timing import check_columns, measure, print_table

OPERATIONS = 1000
SCALE = 1.1
START = np.array([0.3])


def numpy_value_and_grad(x):
    inputs = []
    for _ in range(OPERATIONS // 2):
        inputs.append(x)
        x = np.sin(x) * SCALE
    g = np.ones_like(x)
    for x_in in reversed(inputs):
        g = g * SCALE * np.cos(x_in)
    return np.sum(x), g


def chain(sin, total):
    def f(x):
        for _ in range(OPERATIONS // 2):
            x = sin(x) * SCALE
        return total(x)

    return f


def candidates(torch):
    """``{column: value_and_grad}`` as zero-argument callables."""
    x = START.copy()
    ad_vg = ad.value_and_grad(chain(ad.sin, ad.sum))
    ag_vg = autograd.value_and_grad(chain(anp.sin, anp.sum))
    runs = {
        "autodiff_lib": lambda: ad_vg(x),
        "numpy": lambda: numpy_value_and_grad(x),
        "autograd": lambda: ag_vg(x),
    }
    if torch is not None:
        f = chain(torch.sin, torch.sum)
        t_x = torch.from_numpy(x.copy()).requires_grad_()

        def torch_vg():
            y = f(t_x)
            return y, torch.autograd.grad(y, t_x)[0]

        runs["torch"] = torch_vg
    return runs


def run(settings, torch):
    """Print the per-operation table; return the per-operation times for the targets."""
    columns = ["autodiff_lib", "numpy", "autograd"] + (["torch"] if torch is not None else [])
    runs = candidates(torch)
    problems = check_columns(
        "per-op chain", numpy_value_and_grad(START.copy()), {name: f() for name, f in runs.items()}
    )
    per_op = {name: t / OPERATIONS for name, t in measure(runs, settings).items()}
    print_table(
        f"5. Gradient cost per operation: value_and_grad of {OPERATIONS} alternating sin(x), "
        "x*1.1 on size-1 arrays, time / 1000",
        ("ops",),
        [((OPERATIONS,), per_op)],
        columns,
        notes=problems,
    )
    return {"per_op": per_op}
