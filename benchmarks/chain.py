"""Workload 4: a deep chain ``x ← tanh(x)·x + x`` of k steps, gradient of ``sum`` w.r.t. x.

Three operations per step on a vector of size 4: the cost is the per-node overhead of each
library, and it should grow linearly in k. The start is negative so that values stay finite
(for x > 0 the map nearly doubles x at each step). The floor stores ``x`` and ``tanh x`` on the
way forward and multiplies by the local derivative ``(1 - tanh² x)·x + tanh x + 1`` on the way
back.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np

import autodiff_lib as ad

from .timing import check_columns, format_ratio, measure, print_table

STEPS = (10, 100, 1000)
START = -np.array([0.25, 0.5, 1.0, 2.0])


def numpy_gradient(x, k):
    saved = []
    for _ in range(k):
        t = np.tanh(x)
        saved.append((x, t))
        x = t * x + x
    g = np.ones_like(x)
    for x, t in reversed(saved):
        g = g * ((1.0 - t * t) * x + t + 1.0)
    return g


def chain(tanh, total):
    def f(x, k):
        for _ in range(k):
            x = tanh(x) * x + x
        return total(x)

    return f


def candidates(k, torch):
    """``{column: gradient}`` as zero-argument callables."""
    x = START.copy()
    ad_grad = ad.grad(chain(ad.tanh, ad.sum))
    ag_grad = autograd.grad(chain(anp.tanh, anp.sum))
    runs = {
        "autodiff_lib": lambda: ad_grad(x, k),
        "numpy": lambda: numpy_gradient(x, k),
        "autograd": lambda: ag_grad(x, k),
    }
    if torch is not None:
        f = chain(torch.tanh, torch.sum)
        t_x = torch.from_numpy(x.copy()).requires_grad_()
        runs["torch"] = lambda: torch.autograd.grad(f(t_x, k), t_x)[0]
    return runs


def run(settings, torch):
    """Print the chain table and the growth t(1000)/t(100); return the figures for the targets."""
    columns = ["autodiff_lib", "numpy", "autograd"] + (["torch"] if torch is not None else [])
    problems, runs = [], {}
    for k in STEPS:
        runs_k = candidates(k, torch)
        problems += check_columns(
            f"chain k={k}",
            numpy_gradient(START.copy(), k),
            {name: f() for name, f in runs_k.items()},
        )
        runs.update({(k, name): f for name, f in runs_k.items()})
    measured = measure(runs, settings)  # all k in one interleaved group: the growth is a ratio
    times = {(k,): {name: measured[k, name] for name in columns} for k in STEPS}
    rows = list(times.items())
    growth = {c: times[(STEPS[-1],)][c] / times[(STEPS[-2],)][c] for c in columns}
    line = "  ".join(f"{c} {format_ratio(growth[c])}" for c in columns)
    print_table(
        "4. Chain x ← tanh(x)·x + x, k steps, x of size 4: gradient of sum(x_k), ratio to numpy",
        ("k",),
        rows,
        columns,
        notes=[f"t({STEPS[-1]})/t({STEPS[-2]}): {line}"] + problems,
    )
    return {"chain": times, "growth": growth}
