"""Plots the notebooks share: optimizer paths over a contour map, loss per step, and how a
measured cost grows with a size or a depth.

matplotlib is imported inside each function: the library itself needs only numpy.
``plot_trajectories`` and ``plot_losses`` take ``results``, a dict from a label to an
``OptimizationResult``; ``plot_growth`` takes a dict from a label to measured values. Each draws
on ``ax`` (a new figure when it is None) and returns it. For a function of one variable,
``plot_quadratic_model`` shows the model a Newton step minimizes; for training a network,
``plot_loss_curve`` draws the loss per epoch (or step) and ``plot_fit`` the samples and learned
curves. ``plot_graph`` draws the computational graph of a Tensor. ``slider`` redraws a plot for
each value of a slider, in a notebook. ``log_ticks`` labels a log axis that spans only a decade
or two at 1, 2 and 5 times each power of ten.
"""

from __future__ import annotations

import functools

import numpy as np

from .engine.differentiation import grad, hessian

__all__ = [
    "log_ticks", "plot_fit", "plot_graph", "plot_growth", "plot_loss_curve", "plot_losses",
    "plot_quadratic_model", "plot_trajectories", "slider",
]  # fmt: skip


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4.5))
    return ax


def log_ticks(ax, axis="y"):
    """Label the log-scaled ``axis`` ("x" or "y") of ``ax`` at 1, 2 and 5 times each power of
    ten, written plainly (0.02, not 2×10⁻²): an axis spanning a decade or two then shows
    several labels instead of one. Over more than three decades, only the powers of ten are
    labelled (matplotlib would otherwise drop every label). Returns ``ax``."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    class OneTwoFive(LogLocator):
        def tick_values(self, vmin, vmax):
            low, high = sorted((vmin, vmax))
            wide = low <= 0 or high / low > 1e3
            self.set_params(subs=(1.0,) if wide else (1.0, 2.0, 5.0))
            return super().tick_values(vmin, vmax)

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(OneTwoFive(base=10))
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_minor_formatter(NullFormatter())
    return ax


def plot_trajectories(f, results, ax=None, levels=20, margin=0.15, grid=80, bounds=None):
    """Contours of ``f`` (a function of a 2-vector) and the points each optimizer visited.

    The window covers every trajectory with a ``margin`` (a fraction of its size) around it,
    unless ``bounds = ((x1_low, x1_high), (x2_low, x2_high))`` fixes it (a path that leaves
    it, say a diverging one, is cut at its edge); contour levels are spaced evenly on a log
    scale of f − min f, so the valley floor shows.
    """
    ax = _axes(ax)
    if bounds is None:
        points = np.concatenate(
            [np.asarray(r.trajectory).reshape(-1, 2) for r in results.values()]
        )
        low, high = points.min(axis=0), points.max(axis=0)
        pad = margin * np.maximum(high - low, 1e-3)
        low, high = low - pad, high + pad
    else:
        (low0, high0), (low1, high1) = bounds
        low, high = np.array([low0, low1], dtype=float), np.array([high0, high1], dtype=float)
    xs = np.linspace(low[0], high[0], grid)
    ys = np.linspace(low[1], high[1], grid)
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
    if bounds is None:
        ax.set_aspect("equal", adjustable="datalim")
    else:
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_aspect("equal", adjustable="box")
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


def plot_growth(sizes, series, xlabel, ylabel, ax=None, logx=False):
    """Measured costs (counts, floats, seconds) against a size or depth, on a log scale.

    ``series`` maps a label to one value per entry of ``sizes``. The y axis is logarithmic, so
    exponential growth is a straight line and a constant ratio between two series is a
    constant gap; ``logx=True`` makes the x axis logarithmic too, so a power law is straight.
    """
    ax = _axes(ax)
    for label, values in series.items():
        ax.plot(sizes, values, "o-", markersize=4, linewidth=1, label=label)
    ax.set_yscale("log")
    if logx:  # ticks at the measured sizes, labelled plainly (not 2×10¹, 3×10¹, ...)
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{size:g}" for size in sizes])
        ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_quadratic_model(f, x0, ax=None, margin=0.5, points=400):
    """A function of one variable, its second-order Taylor model at ``x0``, and the model's
    minimizer ``x0 − f'(x0) / f''(x0)``: where a full Newton step from ``x0`` lands.

    The window covers ``x0`` and the landing point with a ``margin`` (a fraction of the
    distance between them) on each side. Where the model is a poor guide to ``f``, the landing
    point shows it: ``f`` is higher there than at ``x0``.
    """
    ax = _axes(ax)
    x0 = float(x0)
    value = float(f(np.array(x0)))
    slope = float(grad(f)(np.array(x0)))
    curvature = float(hessian(f)(np.array(x0)))
    if not curvature > 0:
        raise ValueError(
            f"plot_quadratic_model: f''({x0:g}) = {curvature:g} is not positive, so the model "
            "has no minimum"
        )
    landing = x0 - slope / curvature
    width = max(abs(landing - x0), 1e-3)
    xs = np.linspace(min(x0, landing) - margin * width, max(x0, landing) + margin * width, points)
    fs = np.array([float(f(np.array(x))) for x in xs])
    model = value + slope * (xs - x0) + 0.5 * curvature * (xs - x0) ** 2
    ax.plot(xs, fs, "k-", linewidth=1.5, label="$f$")
    ax.plot(xs, model, "--", linewidth=1.2, label=f"quadratic model at {x0:g}")
    ax.plot([x0], [value], "ko", markersize=6, label=f"$x_0 = {x0:g}$")
    ax.plot([landing], [float(f(np.array(landing)))], "rv", markersize=7,
            label=f"Newton step lands at {landing:.3g}")  # fmt: skip
    low, high = fs.min(), fs.max()
    ax.set_ylim(min(low, model.min()) - 0.1 * (high - low), high + 0.1 * (high - low))
    ax.set_xlabel("$x$")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_loss_curve(losses, floor=None, ax=None, label="training loss",
                    floor_label="loss of the true weights", steps=None, xlabel="epoch",
                    **style):  # fmt: skip
    """A training loss per epoch on a log scale, with an optional horizontal ``floor`` (for
    example the loss of the true weights, which training cannot be expected to beat).

    ``steps`` places the losses at other x values (say the step numbers at which they were
    recorded; by default 1, 2, 3, ...), labelled ``xlabel``; ``style`` goes to matplotlib.
    """
    ax = _axes(ax)
    losses = np.asarray(losses, dtype=float)
    steps = np.arange(1, len(losses) + 1) if steps is None else np.asarray(steps)
    style = {"linewidth": 1.2, **style}
    ax.semilogy(steps, losses, "-", label=label, **style)
    if floor is not None:
        ax.axhline(floor, color="k", linestyle="--", linewidth=1, label=floor_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_fit(x, y, curves, ax=None, points=300, span=None):
    """Samples ``(x, y)`` of a function of one variable (``x`` and ``y`` of shape (n, 1)) and
    ``curves``, a dict from a label to a function of inputs of shape (m, 1), drawn over the
    range of ``x``, or over ``span = (low, high)`` (say, where the function will be used,
    beyond the samples)."""
    ax = _axes(ax)
    x, y = np.asarray(x, dtype=float).reshape(-1), np.asarray(y, dtype=float).reshape(-1)
    low, high = (x.min(), x.max()) if span is None else span
    grid = np.linspace(low, high, points).reshape(-1, 1)
    ax.plot(x, y, ".", color="0.6", markersize=4, label="samples")
    for (label, curve), style in zip(curves.items(), ["k-", "r--", "b:", "g-."]):
        ax.plot(grid[:, 0], np.asarray(curve(grid), dtype=float).reshape(-1), style,
                linewidth=1.5, label=label)  # fmt: skip
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_graph(y, names=None, ax=None, show_constants=True):
    """The computational graph of ``y``: a box per node, an arrow from each input to its use.

    Nodes come from ``topological_order(y)``: the variables ``y`` depends on. A node stands in
    the column of its depth (the longest path from a leaf to it), so every arrow points right,
    the way the forward computation runs; the backward sweep runs right to left along the same
    arrows. Leaves and constants are labelled by ``names`` (a dict from a label to the Tensor
    or array it names, such as ``{"x": x}``), else by their shape or value; other nodes by
    their primitive (and shape, unless a scalar). With ``show_constants``, the constant inputs
    of each node (numbers, arrays, constants) are drawn in grey below it, with dotted arrows:
    no derivative rule runs along them. Without ``ax``, the figure is sized to the graph.
    """
    from .engine.differentiation import topological_order
    from .engine.tensor import Tensor

    names = {id(t): label for label, t in (names or {}).items()}
    order = topological_order(y)
    in_graph = {node.seq for node in order}

    def is_edge(arg):  # an input the sweep sends a differential to
        return isinstance(arg, Tensor) and arg.requires_grad and arg.seq in in_graph

    def constants_of(node):
        if not show_constants:
            return []
        return [a for a in node.inputs
                if isinstance(a, (Tensor, np.ndarray, int, float)) and not is_edge(a)]  # fmt: skip

    depth, columns = {}, {}
    for node in order:  # inputs come first: each node's depth is known when it is reached
        depth[node.seq] = 1 + max((depth[p.seq] for _, p in node.grad_inputs), default=-1)
        columns.setdefault(depth[node.seq], []).append(node)
    n_columns, n_rows = len(columns), max(len(nodes) for nodes in columns.values())
    below = 0.5 if any(constants_of(node) for node in order) else 0.0
    if ax is None:  # room for every box: a column is about 1.4 inches wide
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(1.4 * n_columns + 0.6, 0.9 * (n_rows + below) + 0.6))

    def shape_text(shape):
        return "" if shape == () else f"\n{shape}"

    def box(xy, text, fill, **style):
        return ax.text(*xy, text, ha="center", va="center", fontsize=9, zorder=2,
                       bbox=dict(boxstyle="round,pad=0.4", fc=fill, ec="0.3"), **style)  # fmt: skip

    def arrow(start, end, rad=0.0, dotted=False):
        ax.annotate("", end.get_position(), xytext=start.get_position(), zorder=3, arrowprops=dict(
            arrowstyle="-|>", color="0.5" if dotted else "0.2", linestyle=":" if dotted else "-",
            patchA=start.get_bbox_patch(), patchB=end.get_bbox_patch(), shrinkA=2, shrinkB=2,
            connectionstyle=f"arc3,rad={rad}"))  # fmt: skip

    boxes = {}
    for col, nodes in columns.items():
        for row, node in enumerate(nodes):
            xy = (col, (len(nodes) - 1) / 2 - row)
            if node.primitive is None:
                text, fill = names.get(id(node), "variable" + shape_text(node.shape)), "#cfe2f3"
            else:
                text = node.primitive.name + shape_text(node.shape)
                fill = "#f9cb9c" if node is y else "white"
            boxes[node.seq] = box(xy, text, fill)
    for node in order:
        seen = []
        for arg in node.inputs:
            if is_edge(arg):
                # an arrow that skips a column, or repeats one, bends so that it stays visible
                skips = depth[node.seq] - depth[arg.seq] > 1
                rad = 0.3 * (skips + sum(a is arg for a in seen))
                arrow(boxes[arg.seq], boxes[node.seq], rad=rad)
                seen.append(arg)
        col, row = boxes[node.seq].get_position()
        for k, arg in enumerate(constants_of(node)):
            value = np.asarray(arg.value if isinstance(arg, Tensor) else arg)
            default = f"{float(value):g}" if value.ndim == 0 else "constant"
            text = names.get(id(arg), default + shape_text(value.shape))
            constant = box((col - 0.45 + 0.3 * k, row - 0.6), text, "#eeeeee", color="0.35")
            arrow(constant, boxes[node.seq], dotted=True)
    ax.set_xlim(-0.7, n_columns - 0.3)
    ax.set_ylim(-n_rows / 2 - below, n_rows / 2)
    ax.set_axis_off()
    return ax


def slider(draw, options, description, value=None, width="520px"):
    """A slider over ``options`` and, below it, what ``draw(value)`` shows for its value.

    ``options`` is a list of values, or of ``(label, value)`` pairs; ``draw`` prints, or plots
    for one value in figures it opens itself (``plt.subplots``, ``plt.figure``), and is called
    once at once. The plot is redrawn when the handle is let go, not while it is dragged:
    ``draw`` should only draw what was computed ahead of time, so that each redraw takes a
    fraction of a second. Returns the widget to show (the last expression of a notebook cell).

    What ``draw`` prints and the figures it opens are rendered here and handed to the widget
    as its outputs in one piece (nothing is captured from the kernel's output stream), so the
    slider works the same in JupyterLab and when a notebook is run headless. Each value is
    drawn once: going back to it shows the stored picture.

    Where no widget can be drawn (nbconvert's HTML, such as nbgrader's feedback, GitHub, a
    notebook opened without its kernel), the output shows a static copy instead: the first
    figure ``draw`` made for the value shown when the cell ran, and what it printed.
    """
    import ipywidgets as widgets

    control = widgets.SelectionSlider(
        options=options, description=description, continuous_update=False,
        style={"description_width": "initial"}, layout=widgets.Layout(width=width),
    )  # fmt: skip
    if value is not None:
        control.value = value
    shown = widgets.Output()
    drawn = {}  # option index -> the outputs drawn for it: each value is drawn once

    def redraw(change=None):
        if control.index not in drawn:
            drawn[control.index] = _render(draw, control.value, f"{description} = {control.label}")
        shown.outputs = drawn[control.index]

    control.observe(redraw, names="value")
    redraw()
    return _slider_box()([control, shown])


@functools.cache
def _slider_box():
    """``ipywidgets.VBox`` whose output also carries a static copy of what it shows."""
    import ipywidgets as widgets

    class SliderBox(widgets.VBox):
        """A slider (first child) above the ``Output`` it drives (second child). Its output
        bundle holds, beside the widget, a picture and a text for viewers without widgets:
        nbconvert, for one, shows the picture when the notebook stores no widget state."""

        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            return {**bundle, **_static_copy(self.children[1].outputs)}

    return SliderBox


def _static_copy(outputs) -> dict:
    """A MIME bundle standing for notebook ``outputs`` where they cannot be shown one by one:
    the first picture among them (``image/png``), and their printed text (``text/plain``; else
    the text of the picture)."""
    printed = "".join(o["text"] for o in outputs if o["output_type"] == "stream")
    pictures = [o["data"] for o in outputs if "image/png" in o.get("data", {})]
    bundle = {"image/png": pictures[0]["image/png"]} if pictures else {}
    text = printed or (pictures[0].get("text/plain", "") if pictures else "")
    if text:
        bundle["text/plain"] = text
    return bundle


def _render(draw, value, name):
    """``draw(value)``'s printed text and new figures, as notebook outputs (figures closed)."""
    import base64
    import contextlib
    import io

    import matplotlib.pyplot as plt

    already_open = set(plt.get_fignums())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        draw(value)
    outputs = []
    if printed.getvalue():
        outputs.append({"output_type": "stream", "name": "stdout", "text": printed.getvalue()})
    for number in sorted(set(plt.get_fignums()) - already_open):
        figure = plt.figure(number)
        png = io.BytesIO()
        figure.savefig(png, format="png")  # (a tight bounding box would cost a second draw)
        plt.close(figure)
        outputs.append({
            "output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(png.getvalue()).decode("ascii"),
                     "text/plain": f"<Figure for {name}>"},
        })  # fmt: skip
    return tuple(outputs)
