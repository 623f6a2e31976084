"""Workload 3: the Hessian of ``f(x) = ½ xᵀAx + bᵀx + Σ log cosh x``, and one Newton step.

In closed form (A symmetric) the gradient is ``Ax + b + tanh x`` and the Hessian
``A + diag(1 - tanh² x)``: that is the floor. A Newton step is ``x - H⁻¹ ∇f`` (a solve).
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np

import autodiff_lib as ad

from .timing import check_columns, measure, print_table

SIZES = (10, 100, 400)


def make_problem(n, seed=0):
    """A symmetric positive definite ``A``, a vector ``b`` and a point ``x``."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    return M @ M.T / n + np.eye(n), rng.standard_normal(n), rng.standard_normal(n)


def numpy_gradient(A, b, x):
    return A @ x + b + np.tanh(x)


def numpy_hessian(A, b, x):
    return A + np.diag(1.0 - np.tanh(x) ** 2)


def ad_objective(A, b):
    return lambda x: 0.5 * ad.dot(x, ad.matmul(A, x)) + ad.dot(b, x) + ad.sum(ad.log(ad.cosh(x)))


def autograd_objective(A, b):
    return lambda x: 0.5 * anp.dot(x, anp.dot(A, x)) + anp.dot(b, x) + anp.sum(anp.log(anp.cosh(x)))


def torch_objective(torch, A, b):
    A, b = torch.from_numpy(A), torch.from_numpy(b)
    return lambda x: 0.5 * (x @ (A @ x)) + b @ x + torch.log(torch.cosh(x)).sum()


def candidates(n, torch):
    """``{column: (hessian, newton_step)}`` as zero-argument callables, and the floor's results."""
    A, b, x = make_problem(n)

    def numpy_newton():
        return x - np.linalg.solve(numpy_hessian(A, b, x), numpy_gradient(A, b, x))

    f = ad_objective(A, b)
    ad_hessian, ad_grad = ad.hessian(f), ad.grad(f)
    g = autograd_objective(A, b)
    ag_hessian, ag_grad = autograd.hessian(g), autograd.grad(g)
    runs = {
        "autodiff_lib": (
            lambda: ad_hessian(x),
            lambda: x - np.linalg.solve(ad_hessian(x), ad_grad(x)),
        ),
        "numpy": (lambda: numpy_hessian(A, b, x), numpy_newton),
        "autograd": (
            lambda: ag_hessian(x),
            lambda: x - np.linalg.solve(ag_hessian(x), ag_grad(x)),
        ),
    }
    if torch is not None:
        import torch.func

        h = torch_objective(torch, A, b)
        t_hessian, t_grad = torch.func.hessian(h), torch.func.grad(h)
        t_x = torch.from_numpy(x.copy())
        runs["torch"] = (
            lambda: t_hessian(t_x),
            lambda: t_x - torch.linalg.solve(t_hessian(t_x), t_grad(t_x)),
        )
    return runs, (numpy_hessian(A, b, x), numpy_newton())


def run(settings, torch):
    """Print the Hessian and Newton-step tables; return the figures the targets need."""
    columns = ["autodiff_lib", "numpy", "autograd"] + (["torch"] if torch is not None else [])
    hessian_rows, newton_rows, problems = [], [], []
    for n in SIZES:
        runs, (reference_h, reference_step) = candidates(n, torch)
        problems += check_columns(
            f"Hessian n={n}", reference_h, {k: h() for k, (h, _) in runs.items()}
        )
        problems += check_columns(
            f"Newton step n={n}", reference_step, {k: s() for k, (_, s) in runs.items()}
        )
        hessian_rows.append(((n,), measure({k: h for k, (h, _) in runs.items()}, settings)))
        newton_rows.append(((n,), measure({k: s for k, (_, s) in runs.items()}, settings)))
    torch_note = ["torch: torch.func.hessian (jacfwd of jacrev)"] if torch is not None else []
    print_table(
        "3a. Hessian of ½ xᵀAx + bᵀx + Σ log cosh x: median per call, ratio to the closed form",
        ("n",),
        hessian_rows,
        columns,
        notes=torch_note + problems,
    )
    print_table(
        "3b. One Newton step x - solve(H, ∇f): median per call, ratio to the closed form",
        ("n",),
        newton_rows,
        columns,
    )
    return {"hessian": dict(hessian_rows), "newton": dict(newton_rows)}
