"""Workloads 1 and 2: loss and gradient of an MLP 8→h→1 (tanh, mean squared error).

The loss is ``mean((tanh(x W1 + b1) W2 + b2 - y) ** 2)``, differentiated w.r.t. all four
weights; every library evaluates the same expression. The floor is the forward and backward
pass written by hand in numpy.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np

import autodiff_lib as ad

from .timing import check_columns, format_time, measure, print_table

HIDDEN = (16, 64, 256, 1024)
BATCH = (32, 256, 2048)
HEADLINE = (64, 256)  # the configuration of the point-14 targets
INPUTS = 8


def make_problem(hidden, batch, seed=0):
    """Weights ``(W1, b1, W2, b2)``, inputs ``x`` of shape (batch, 8) and targets (batch, 1)."""
    rng = np.random.default_rng(seed)
    params = (
        rng.standard_normal((INPUTS, hidden)) / np.sqrt(INPUTS),
        0.1 * rng.standard_normal(hidden),
        rng.standard_normal((hidden, 1)) / np.sqrt(hidden),
        0.1 * rng.standard_normal(1),
    )
    x = rng.standard_normal((batch, INPUTS))
    y = np.sin(x.sum(axis=1, keepdims=True))
    return params, x, y


# -- the floor: forward and backward by hand ------------------------------------------------------
def numpy_loss(params, x, y):
    W1, b1, W2, b2 = params
    residual = np.tanh(x @ W1 + b1) @ W2 + b2 - y
    return np.mean(residual**2)


def numpy_loss_and_grad(params, x, y):
    W1, b1, W2, b2 = params
    hidden = np.tanh(x @ W1 + b1)
    residual = hidden @ W2 + b2 - y
    loss = np.mean(residual**2)
    d_out = residual * (2.0 / residual.size)  # d loss / d prediction
    d_pre = (d_out @ W2.T) * (1.0 - hidden * hidden)  # through tanh
    return loss, (x.T @ d_pre, d_pre.sum(axis=0), hidden.T @ d_out, d_out.sum(axis=0))


# -- the libraries, each writing the same loss ----------------------------------------------------
def ad_loss(params, x, y):
    W1, b1, W2, b2 = params
    residual = ad.matmul(ad.tanh(ad.matmul(x, W1) + b1), W2) + b2 - y
    return ad.mean(residual**2)


def autograd_loss(params, x, y):
    W1, b1, W2, b2 = params
    residual = anp.tanh(anp.dot(x, W1) + b1) @ W2 + b2 - y
    return anp.mean(residual**2)


def torch_loss(torch, params, x, y):
    W1, b1, W2, b2 = params
    residual = torch.tanh(x @ W1 + b1) @ W2 + b2 - y
    return (residual**2).mean()


def candidates(hidden, batch, torch):
    """``{column: (loss_and_grad, forward)}``, zero-argument callables, and the floor's result."""
    params, x, y = make_problem(hidden, batch)
    ad_value_and_grad = ad.value_and_grad(ad_loss)
    ag_value_and_grad = autograd.value_and_grad(autograd_loss)
    ad_variables = tuple(ad.Tensor(p) for p in params)
    runs = {
        "autodiff_lib": (
            lambda: ad_value_and_grad(params, x, y),
            lambda: ad_loss(params, x, y),
        ),
        "numpy": (lambda: numpy_loss_and_grad(params, x, y), lambda: numpy_loss(params, x, y)),
        "autograd": (
            lambda: ag_value_and_grad(params, x, y),
            lambda: autograd_loss(params, x, y),
        ),
    }
    if torch is not None:
        t_params = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
        t_x, t_y = torch.from_numpy(x), torch.from_numpy(y)

        def torch_loss_and_grad():
            loss = torch_loss(torch, t_params, t_x, t_y)
            return loss, torch.autograd.grad(loss, t_params)

        def torch_forward():
            with torch.no_grad():
                return torch_loss(torch, t_params, t_x, t_y)

        runs["torch"] = (torch_loss_and_grad, torch_forward)
    recording_forward = lambda: ad_loss(ad_variables, x, y)  # builds the graph
    return runs, recording_forward, numpy_loss_and_grad(params, x, y)


def run(settings, torch):
    """Print the sweep and the gradient/forward table; return the figures the targets need."""
    columns = ["autodiff_lib", "numpy", "autograd"] + (["torch"] if torch is not None else [])
    rows, problems, headline = [], [], {}
    for hidden in HIDDEN:
        for batch in BATCH:
            runs, recording_forward, reference = candidates(hidden, batch, torch)
            problems += check_columns(
                f"MLP {hidden}/{batch}", reference, {n: f() for n, (f, _) in runs.items()}
            )
            times = measure({name: f for name, (f, _) in runs.items()}, settings)
            mark = "*" if (hidden, batch) == HEADLINE else ""
            rows.append(((f"{hidden}{mark}", batch), times))
            if (hidden, batch) == HEADLINE:
                headline = {"runs": runs, "recording_forward": recording_forward}
    print_table(
        f"1. MLP {INPUTS}→h→1 loss + gradient w.r.t. W1, b1, W2, b2 (tanh, MSE): median per "
        "call, ratio to the numpy floor",
        ("hidden", "batch"),
        rows,
        columns,
        notes=["* the configuration of the targets (8→64→1, batch 256)"] + problems,
    )
    return {
        "sweep": {labels: times for labels, times in rows},
        "headline": dict(rows)[(f"{HEADLINE[0]}*", HEADLINE[1])],
        **_gradient_over_forward(settings, headline, columns),
    }


def _gradient_over_forward(settings, headline, columns):
    """Workload 2: loss+gradient time over forward time, per library, on MLP 64/256.

    Both are measured again here in one interleaved group, so that each ratio compares
    timings taken side by side.
    """
    runs = headline["runs"]
    fns = {}
    for name in columns:
        fns[name, "forward"], fns[name, "both"] = runs[name][1], runs[name][0]
    fns["autodiff_lib", "recording"] = headline["recording_forward"]
    t = measure(fns, settings)
    ratios = {name: t[name, "both"] / t[name, "forward"] for name in columns}
    ratios["autodiff_lib, recording"] = t["autodiff_lib", "both"] / t["autodiff_lib", "recording"]
    lines = [(name, t[name, "forward"], t[name, "both"]) for name in columns]
    lines.insert(
        1,
        (
            "autodiff_lib, forward building the graph",
            t["autodiff_lib", "recording"],
            t["autodiff_lib", "both"],
        ),
    )
    width = max(len(line[0]) for line in lines)
    print(f"\n2. Loss+gradient time / forward time on MLP {HEADLINE[0]}/{HEADLINE[1]}")
    print(f"  {'':{width}}  {'forward':>10}  {'loss+grad':>10}  {'ratio':>6}")
    for name, forward, both in lines:
        print(
            f"  {name:>{width}}  {format_time(forward):>10}  {format_time(both):>10}  "
            f"{both / forward:>5.2f}×"
        )
    print("  forward: the loss alone on plain arrays (torch: under no_grad); measured side by side")
    return {"grad_over_forward": ratios}
