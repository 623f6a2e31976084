"""Workload 7: what marking data ``ad.constant(X)`` costs (issue 14, point 18).

A constant wraps the caller's float64 array without a copy, so the hint the course teaches
(data as constants) costs nothing. Rows: ``ad.constant(X)`` itself on a large array, against
``np.asarray(X)`` (the floor: no copy) and ``X.copy()`` (what a copy would cost); then one loss
and gradient of the MLP 8→64→1 at batch 256 with the data written ``ad.constant(x)`` inside the
loss, against the plain arrays (the floor).
"""

from __future__ import annotations

import numpy as np

import autodiff_lib as ad

from .mlp import ad_loss, make_problem
from .timing import measure, print_table

SIZE = (1000, 1000)


def candidates():
    X = np.random.default_rng(0).standard_normal(SIZE)
    wrap = {
        "autodiff_lib": lambda: ad.constant(X),
        "numpy": lambda: np.asarray(X),
        "copy": lambda: X.copy(),
    }
    params, x, y = make_problem(64, 256)
    plain = ad.value_and_grad(ad_loss)
    marked = ad.value_and_grad(lambda p, x, y: ad_loss(p, ad.constant(x), ad.constant(y)))
    step = {"autodiff_lib": lambda: marked(params, x, y), "numpy": lambda: plain(params, x, y)}
    return wrap, step


def run(settings, torch):
    """Print the table; nothing here is a target of point 14."""
    wrap, step = candidates()
    rows = [
        ((f"constant(X), X {SIZE[0]}×{SIZE[1]}",), measure(wrap, settings)),
        (("MLP 64/256 step, data as constant",), measure(step, settings)),
    ]
    print_table(
        "7. The cost of ad.constant: the wrapper on a large array (floor: np.asarray, no copy), "
        "and a training step with the data marked constant (floor: the same step on plain arrays)",
        ("what",),
        rows,
        ["autodiff_lib", "numpy", "copy"],
    )
    return {}
