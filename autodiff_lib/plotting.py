"""Plots the notebooks share: optimizer paths over a contour map, and loss per step.

matplotlib is imported inside each function: the library itself needs only numpy.
Both functions take ``results``, a dict from a label to an ``OptimizationResult``, and draw on
``ax`` (a new figure when it is None), which they return.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_losses", "plot_trajectories"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4.5))
    return ax


def plot_trajectories(f, results, ax=None, levels=20, margin=0.15, grid=80):
    """Contours of ``f`` (a function of a 2-vector) and the points each optimizer visited.

    The window covers every trajectory with a ``margin`` (a fraction of its size) around it;
    contour levels are spaced evenly on a log scale of f − min f, so the valley floor shows.
    """
    ax = _axes(ax)
    points = np.concatenate([np.asarray(r.trajectory).reshape(-1, 2) for r in results.values()])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-3)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], grid)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], grid)
    Z = np.array([[float(f(np.array([x, y]))) for x in xs] for y in ys])
    gap = Z - Z.min()
    top = max(gap.max(), np.finfo(float).tiny)
    ax.contour(xs, ys, gap, levels=np.geomspace(1e-4 * top, top, levels), cmap="viridis",
               linewidths=0.8)  # fmt: skip
    for label, result in results.items():
        path = np.asarray(result.trajectory).reshape(-1, 2)
        ax.plot(path[:, 0], path[:, 1], ".-", markersize=4, linewidth=1,
                label=f"{label} ({result.steps} step{'s' * (result.steps != 1)})")  # fmt: skip
    start = np.asarray(next(iter(results.values())).trajectory).reshape(-1, 2)[0]
    ax.plot(*start, "ko", markersize=6, label="start")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_losses(results, f_min=0.0, ax=None):
    """The gap ``f(x_k) − f_min`` against the step ``k``, on a log scale.

    A gap of zero (a method that hit the minimum exactly) cannot be drawn on a log scale: it
    is shown a decade below the smallest positive gap of any method, so it stays on the plot.
    """
    ax = _axes(ax)
    gaps = {label: np.asarray(r.losses, dtype=float) - f_min for label, r in results.items()}
    positive = np.concatenate([gap[gap > 0] for gap in gaps.values()] + [[1.0]])
    floor = 0.1 * positive.min()
    for label, gap in gaps.items():
        ax.semilogy(np.arange(len(gap)), np.maximum(gap, floor), ".-", markersize=4,
                    label=label)  # fmt: skip
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"$f(x_k) - f^\star$")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax
