"""The primitives: each numpy computation, with its derivative rule declared right below it.

This is the whole calculus of the library. A rule is ``lambda g, ans, *inputs: ...``: the
vector-Jacobian product that turns the differential ``g`` of the output into the differential
of one input. ``g`` may carry extra leading *batch* axes (several differentials at once, used by
``jacobian``, ``hessian`` and ``diff``), so rules index axes from the right. Broadcasting is
undone by the engine, not here. Raw numpy appears only in forward computations.

Each function's docstring ends with its rule in math (``help(ad.tanh)``): a derivative, or
for the linear and shape functions the map ḡ ↦ x̄ from the differential ḡ of the output to
the differential x̄ of the input. Some functions are compositions of others (``std`` is
``sqrt(var)``, ``trace`` sums a ``diagonal``): their rules follow from those they call.
"""

from __future__ import annotations

import builtins
import math
import sys

import numpy as np

from . import tensor as _tensor_module
from .registry import defvjp, defvjp_argnum, flagged, primitive
from .tensor import Tensor, value_of

__all__ = [
    "add", "subtract", "multiply", "divide", "power", "negative",
    "exp", "log", "tanh", "sin", "cos", "cosh", "sinh", "sqrt", "abs", "sign",
    "maximum", "where", "sum", "mean", "matmul", "dot", "reshape", "transpose",
    "broadcast_to", "getitem", "stack", "concatenate", "unbroadcast",
    "square", "reciprocal", "log1p", "expm1", "tan", "logaddexp", "minimum", "clip",
    "max", "min", "prod", "var", "std", "ravel", "squeeze", "expand_dims",
    "outer", "diagonal", "trace", "diag",
]  # fmt: skip


def _shape(x):
    """The shape of a Tensor, array or number (without numpy's dispatch on Tensors)."""
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


def _batch_ndim(g, ans):
    """How many leading axes of ``g`` are batch axes (``g.shape == batch + ans.shape``)."""
    return g.ndim - ans.ndim


# -- arithmetic ---------------------------------------------------------------------------------
add = primitive(np.add, "add", "x + y, elementwise with broadcasting. Rule: ∂/∂x = 1, ∂/∂y = 1.")
defvjp(add, lambda g, ans, x, y: g, lambda g, ans, x, y: g)

subtract = primitive(np.subtract, "subtract", "x − y, elementwise. Rule: ∂/∂x = 1, ∂/∂y = −1.")
defvjp(subtract, lambda g, ans, x, y: g, lambda g, ans, x, y: -g)

multiply = primitive(np.multiply, "multiply", "x · y, elementwise. Rule: ∂/∂x = y, ∂/∂y = x.")
defvjp(multiply, lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x)

divide = primitive(np.divide, "divide", "x / y, elementwise. Rule: ∂/∂x = 1/y, ∂/∂y = −x/y².")
defvjp(divide, lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y)

negative = primitive(np.negative, "negative", "−x, elementwise. Rule: ∂/∂x = −1.")
defvjp(negative, lambda g, ans, x: -g)


def _log_base(x):
    """x where x > 0, else 1 at x = 0 (0^y has slope 0 in y) and nan at x < 0 (no real slope)."""
    return where(x > 0, x, np.where(np.equal(value_of(x), 0), 1.0, np.nan))


def _lowered(y):
    """y − 1, but 1 where y = 0: there y·x^(y−1) is 0, and x^(−1) would give 0·inf at x = 0."""
    if isinstance(y, (int, float)):
        return y - 1 if y != 0 else 1.0
    return where(y != 0, y - 1, 1.0)


power = primitive(
    np.power,
    "power",
    "x ** y, elementwise. Rule: ∂/∂x = y·x^(y−1), ∂/∂y = x^y·log x (0 where x ≤ 0).",
)
defvjp(
    power,
    lambda g, ans, x, y: g * y * x ** _lowered(y),
    lambda g, ans, x, y: g * ans * log(_log_base(x)),
)


# -- elementwise functions ----------------------------------------------------------------------
def _positive_domain(name, forward, lowest=0):
    """``forward`` refusing inputs below ``lowest`` with a clear error (numpy would give nan)."""

    def checked(x):
        if np.size(x) and np.min(x) < lowest:
            what = "non-negative" if lowest == 0 else f"at least {lowest}"
            raise flagged(ValueError(f"{name}: input must be {what}, got a minimum of {np.min(x)}"))
        return forward(x)

    checked.__name__ = name
    return checked


exp = primitive(np.exp, "exp", "eˣ, elementwise. Rule: d/dx eˣ = eˣ.")
defvjp(exp, lambda g, ans, x: g * ans)

log = primitive(
    _positive_domain("log", np.log),
    "log",
    "The natural logarithm, for x ≥ 0. Rule: d/dx log x = 1/x.",
)
defvjp(log, lambda g, ans, x: g / x)

sqrt = primitive(
    _positive_domain("sqrt", np.sqrt), "sqrt", "√x, for x ≥ 0. Rule: d/dx √x = 1/(2√x)."
)
defvjp(sqrt, lambda g, ans, x: g * 0.5 / ans)

# 1 − tanh²(x) cancels where tanh(x) rounds to ±1 (|x| ≳ 19 it is exactly 0, the true value
# 1.7e-17 at x = 20). Up to |x| = 5 it keeps all but 6e-13 of its relative precision, and costs
# what the rule always cost; beyond, sech²(x) is computed from x instead, as 4e/(1 + e)² with
# e = exp(−2|x|), which neither cancels nor overflows (for the few entries beyond alone, or for
# the whole array when they are many).
_SATURATED = 1.0 / (np.cosh(5.0) * np.cosh(5.0))


def _sech_squared_forward(x, t):
    """sech²(x) = 1 − t², given t = tanh(x): from t up to |x| = 5, from x beyond."""
    # This runs at every tanh of a backward sweep, so the common case (no |x| beyond 5) is made
    # cheap: over a short vector, Python's min (through a memoryview: no numpy scalars) starts
    # faster than numpy; a long array is computed in place (less memory traffic).
    if t.size <= 32:
        s = 1.0 - t * t
        if s.ndim == 1 and s.size and builtins.min(memoryview(s)) >= _SATURATED:
            return s
    else:
        s = t * t
        np.subtract(1.0, s, s)
    beyond = s < _SATURATED  # (a nan is not beyond, and stays nan)
    count = np.count_nonzero(beyond)
    if not count:
        return s
    if 8 * count >= s.size:  # many (or a scalar): all from x
        return _sech_squared_from_x(x)
    flat = s.ravel()  # a view of s (or a copy, put back in shape below)
    far = np.where(beyond.ravel())[0]
    if count <= 8:  # a saturated unit or two: in Python, cheaper than numpy calls
        for i, xi in zip(far, x.ravel()[far]):
            e = math.exp(-2.0 * builtins.abs(float(xi)))
            flat[i] = 4.0 * e / ((1.0 + e) * (1.0 + e))
    else:  # a few: those alone
        flat[far] = _sech_squared_from_x(x.ravel()[far])
    return flat.reshape(s.shape)


def _sech_squared_from_x(x):
    """sech²(x) = 4e/(1 + e)² with e = exp(−2|x|): no cancellation, no overflow."""
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / np.square(1.0 + e)


_sech_squared_node = primitive(  # t only helps: no rule for it
    _sech_squared_forward,
    "sech_squared",
    "sech²x = 1/cosh²x, given t = tanh x. Rule: d/dx sech²x = −2 sech²x tanh x.",
)
defvjp(_sech_squared_node, lambda g, ans, x, t: g * ans * t * -2.0)  # (sech²)' = −2 sech² tanh


def _sech_squared(x, t):
    """sech²x, given t = tanh x: a node of the graph when x is a variable (a derivative that is
    differentiated again), else computed at once (a plain sweep: no wrapper to go through)."""
    if type(x) is np.ndarray:
        return _sech_squared_forward(x, t)
    return _sech_squared_node(x, t)


tanh = primitive(np.tanh, "tanh", "tanh x, elementwise. Rule: d/dx tanh x = 1 − tanh²x = 1/cosh²x.")
defvjp(tanh, lambda g, ans, x: g * _sech_squared(x, ans))

sin = primitive(np.sin, "sin", "sin x, elementwise. Rule: d/dx sin x = cos x.")
defvjp(sin, lambda g, ans, x: g * cos(x))

cos = primitive(np.cos, "cos", "cos x, elementwise. Rule: d/dx cos x = −sin x.")
defvjp(cos, lambda g, ans, x: -g * sin(x))

sinh = primitive(np.sinh, "sinh", "sinh x, elementwise. Rule: d/dx sinh x = cosh x.")
defvjp(sinh, lambda g, ans, x: g * cosh(x))

cosh = primitive(np.cosh, "cosh", "cosh x, elementwise. Rule: d/dx cosh x = sinh x.")
defvjp(cosh, lambda g, ans, x: g * sinh(x))

# piecewise constant: no rule, its derivative is zero
sign = primitive(np.sign, "sign", "−1, 0 or 1: the sign of x. Rule: d/dx sign x = 0 (no rule).")

abs = primitive(np.abs, "abs", "|x|, elementwise. Rule: d/dx |x| = sign x (0 at x = 0).")
defvjp(abs, lambda g, ans, x: g * sign(x))

square = primitive(np.square, "square", "x², elementwise. Rule: d/dx x² = 2x.")
defvjp(square, lambda g, ans, x: g * 2.0 * x)


def _reciprocal_forward(x):
    return np.divide(1.0, x)  # np.reciprocal of an integer is an integer (1/2 → 0)


reciprocal = primitive(
    _reciprocal_forward, "reciprocal", "1/x, elementwise. Rule: d/dx 1/x = −1/x²."
)
defvjp(reciprocal, lambda g, ans, x: -g * ans * ans)

log1p = primitive(
    _positive_domain("log1p", np.log1p, lowest=-1),
    "log1p",
    "log(1 + x), accurate for small x, for x ≥ −1. Rule: d/dx log(1 + x) = 1/(1 + x).",
)
defvjp(log1p, lambda g, ans, x: g / (1.0 + x))

expm1 = primitive(np.expm1, "expm1", "eˣ − 1, accurate for small x. Rule: d/dx (eˣ − 1) = eˣ.")
defvjp(expm1, lambda g, ans, x: g * (ans + 1.0))

tan = primitive(np.tan, "tan", "tan x, elementwise. Rule: d/dx tan x = 1 + tan²x = 1/cos²x.")
defvjp(tan, lambda g, ans, x: g * (1.0 + ans * ans))

logaddexp = primitive(
    np.logaddexp,
    "logaddexp",
    "log(eˣ + eʸ) without overflow. Rule: ∂/∂x = e^(x − ans), ∂/∂y = e^(y − ans).",
)
defvjp(
    logaddexp,
    lambda g, ans, x, y: g * exp(x - ans),
    lambda g, ans, x, y: g * exp(y - ans),
)


def _share_ties(x, y):
    """1 where x wins, 0.5 on ties, 0 where y wins: the derivative of maximum w.r.t. x."""
    x, y = value_of(x), value_of(y)  # a constant: the derivative of a comparison is zero
    return (x > y) + 0.5 * (x == y)


maximum = primitive(
    np.maximum,
    "maximum",
    "The larger of x and y, elementwise. Rule: ∂/∂x = 1 if x > y, ½ if x = y, else 0.",
)
defvjp(
    maximum,
    lambda g, ans, x, y: g * _share_ties(x, y),
    lambda g, ans, x, y: g * _share_ties(y, x),
)

minimum = primitive(
    np.minimum,
    "minimum",
    "The smaller of x and y, elementwise. Rule: ∂/∂x = 1 if x < y, ½ if x = y, else 0.",
)
defvjp(
    minimum,
    lambda g, ans, x, y: g * _share_ties(y, x),
    lambda g, ans, x, y: g * _share_ties(x, y),
)


def clip(x, lower=None, upper=None):
    """x limited to [lower, upper] (None: no bound), as minimum(maximum(x, lower), upper).

    Rule: ∂/∂x = 1 strictly inside, 0 outside, ½ on a bound (ties shared, as in maximum).
    """
    if lower is not None:
        x = maximum(x, lower)
    if upper is not None:
        x = minimum(x, upper)
    return x


where = primitive(
    np.where,
    "where",
    "x where the condition holds, else y. Rule: ∂/∂x = 1 where it holds, ∂/∂y = 1 where not.",
)
defvjp(
    where,
    None,
    lambda g, ans, c, x, y: where(c, g, 0.0),
    lambda g, ans, c, x, y: where(c, 0.0, g),
)


# -- reductions ---------------------------------------------------------------------------------
def _normalize_axis(axis, ndim):
    """``axis`` (None, an int or a sequence) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axes))


def _kept_shape(shape, axis):
    """The shape of a reduction over ``axis`` with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    axes = _normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _sum_forward(x, axis=None, keepdims=False):
    if isinstance(axis, list):
        axis = tuple(axis)
    return np.add.reduce(x, axis=axis, keepdims=keepdims)


def _spread(g, ans, x, axis):
    """The differential of a reduction's output, copied back over the axes it reduced."""
    n = _batch_ndim(g, ans)
    kept_shape = g.shape[:n] + _kept_shape(x.shape, axis)
    kept = g.reshape(kept_shape) if type(g) is np.ndarray else reshape(g, kept_shape)
    return broadcast_to(kept, g.shape[:n] + x.shape)


def _fraction(part, whole):
    """size(part) / size(whole): the weight of each element in a mean."""
    return np.size(value_of(part)) / builtins.max(np.size(value_of(whole)), 1)


def _mean_forward(x, axis=None, keepdims=False):
    if not (x.size if type(x) is np.ndarray else np.size(x)):  # nan, numpy's RuntimeWarning
        return np.mean(x, axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=keepdims)
    total = _sum_forward(x, axis=axis, keepdims=keepdims)
    return total * _fraction(total, x)


sum = primitive(_sum_forward, "sum", "Σ x over ``axis`` (all axes by default). Rule: ∂/∂xᵢ = 1.")
defvjp(sum, lambda g, ans, x, axis=None, keepdims=False: _spread(g, ans, x, axis))

mean = primitive(
    _mean_forward, "mean", "The mean of x over ``axis`` (all axes by default). Rule: ∂/∂xᵢ = 1/n."
)
defvjp(
    mean,
    lambda g, ans, x, axis=None, keepdims=False: _spread(g * _fraction(ans, x), ans, x, axis),
)


def _as_axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _extreme_forward(reduce):
    def forward(x, axis=None, *, keepdims=False):
        return reduce(x, axis=_as_axis(axis), keepdims=keepdims)

    return forward


def _share_extreme(x, ans, axis):
    """1/k on each of the k entries of x that attain the max (or min) ``ans``, 0 elsewhere."""
    x = value_of(x)
    hits = x == value_of(ans).reshape(_kept_shape(x.shape, axis))
    return hits / hits.sum(axis=_normalize_axis(axis, x.ndim), keepdims=True)


def _extreme_vjp(g, ans, x, axis=None, *, keepdims=False):
    return _spread(g, ans, x, axis) * _share_extreme(x, ans, axis)


max = primitive(
    _extreme_forward(np.max),
    "max",
    "The largest entry of x over ``axis`` (all by default). Rule: ∂/∂xᵢ = 1/k on the k "
    "entries that attain it (ties share, as in maximum), 0 elsewhere.",
)
defvjp(max, _extreme_vjp)

min = primitive(
    _extreme_forward(np.min),
    "min",
    "The smallest entry of x over ``axis`` (all by default). Rule: ∂/∂xᵢ = 1/k on the k "
    "entries that attain it (ties share, as in minimum), 0 elsewhere.",
)
defvjp(min, _extreme_vjp)


def _prod_forward(x, axis=None, *, keepdims=False):
    return np.prod(x, axis=_as_axis(axis), keepdims=keepdims)


def _product_of_others(x, axis):
    """For each xᵢ, the product of the other entries it is reduced with: ∂ prod / ∂xᵢ, computed
    without dividing by xᵢ (which may be 0), as prod over a matrix with 1 on its diagonal."""
    shape = _shape(x)
    axes = _normalize_axis(axis, len(shape))
    order = tuple(a for a in range(len(shape)) if a not in axes) + axes
    moved = transpose(x, order)
    n = int(np.prod([shape[a] for a in axes]))
    rows = reshape(moved, moved.shape[: len(shape) - len(axes)] + (1, n))
    others = prod(where(np.eye(n, dtype=bool), 1.0, rows), axis=-1)
    return transpose(reshape(others, moved.shape), tuple(np.argsort(order)))


def _prod_vjp(g, ans, x, axis=None, *, keepdims=False):
    if np.all(value_of(x) != 0):
        return _spread(g * ans, ans, x, axis) / x
    return _spread(g, ans, x, axis) * _product_of_others(x, axis)


prod = primitive(
    _prod_forward,
    "prod",
    "The product of x over ``axis`` (all by default). Rule: ∂/∂xᵢ = ∏_{j≠i} xⱼ "
    "(= prod/xᵢ where no factor is 0).",
)
defvjp(prod, _prod_vjp)


def _var_forward(x, axis=None, *, ddof=0, keepdims=False):
    return np.var(x, axis=_as_axis(axis), ddof=ddof, keepdims=keepdims)


def _var_vjp(g, ans, x, axis=None, *, ddof=0, keepdims=False):
    n = np.size(value_of(x)) / builtins.max(np.size(value_of(ans)), 1)
    centred = x - mean(x, axis=axis, keepdims=True)
    return _spread(g, ans, x, axis) * centred * (2.0 / (n - ddof))


var = primitive(
    _var_forward,
    "var",
    "The variance of x over ``axis``, Σ(xᵢ − x̄)²/(n − ddof). Rule: ∂/∂xᵢ = 2(xᵢ − x̄)/(n − ddof).",
)
defvjp(var, _var_vjp)


def std(x, axis=None, *, ddof=0, keepdims=False):
    """The standard deviation of x over ``axis``: √var. Rule: ∂/∂xᵢ = (xᵢ − x̄)/((n − ddof)·std)."""
    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims))


# -- shapes -------------------------------------------------------------------------------------
reshape = primitive(
    np.reshape,
    "reshape",
    "x with a new shape, the same values. Rule: x̄ = ḡ reshaped back to x's shape.",
)
defvjp(reshape, lambda g, ans, x, shape: reshape(g, g.shape[: _batch_ndim(g, ans)] + x.shape))


def _transpose_vjp(g, ans, x, axes=None):
    n = _batch_ndim(g, ans)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(a % x.ndim for a in axes)
    inverse = tuple(np.argsort(axes))
    return transpose(g, tuple(range(n)) + tuple(n + a for a in inverse))


transpose = primitive(
    np.transpose,
    "transpose",
    "x with its axes permuted (reversed by default). Rule: x̄ = ḡ with the inverse permutation.",
)
defvjp(transpose, _transpose_vjp)

broadcast_to = primitive(
    np.broadcast_to,
    "broadcast_to",
    "x broadcast to ``shape``. Rule: x̄ = ḡ summed over the broadcast axes.",
)
defvjp(broadcast_to, lambda g, ans, x, shape: g)  # the engine sums the broadcast axes away


def _checked_axes(name, axis, ndim):
    """``axis`` (an int or a sequence) as a sorted tuple, refusing what numpy refuses: an axis
    outside [−ndim, ndim) or one given twice (``_normalize_axis`` would wrap it silently)."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise flagged(ValueError(f"{name}: axis {a} is out of bounds for {ndim} axes"))
    normalized = _normalize_axis(axes, ndim)
    if len(set(normalized)) != len(normalized):
        raise flagged(ValueError(f"{name}: axis {axis} names an axis twice"))
    return normalized


def _joined(x):
    """A list or tuple (which may hold variables) as one tensor, stacked like ``np.array``."""
    return stack(x) if isinstance(x, (list, tuple)) else x


def ravel(x):
    """x as a vector (a reshape to (-1,)). Rule: x̄ = ḡ reshaped back to x's shape."""
    return reshape(_joined(x), (-1,))


def squeeze(x, axis=None):
    """x without its axes of length 1 (or only those in ``axis``): a reshape. Rule: x̄ = ḡ
    reshaped back to x's shape."""
    x = _joined(x)
    shape = _shape(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    else:
        axes = _checked_axes("squeeze", axis, len(shape))
        if builtins.any(shape[a] != 1 for a in axes):
            raise flagged(ValueError(f"squeeze: axis {axis} of shape {shape} is not of length 1"))
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))


def expand_dims(x, axis):
    """x with new axes of length 1 at ``axis`` (int or tuple): a reshape. Rule: x̄ = ḡ reshaped
    back to x's shape."""
    x = _joined(x)
    shape = _shape(x)
    count = 1 if isinstance(axis, (int, np.integer)) else len(axis)
    new = _checked_axes("expand_dims", axis, len(shape) + count)
    rest = iter(shape)
    return reshape(x, tuple(1 if i in new else next(rest) for i in range(len(shape) + count)))


# -- undoing broadcasting: the one place it is done -------------------------------------------
def unbroadcast(g, shape, batch_ndim=0):
    """Sum ``g`` down to ``batch + shape``, undoing numpy broadcasting.

    ``g`` has shape ``batch + broadcast_shape``: its first ``batch_ndim`` axes carry several
    differentials at once (see ``differentiation``) and are kept. Axes that broadcasting added
    in front of ``shape``, and axes where ``shape`` has length 1, are summed.
    """
    g_shape = g.shape
    extra = len(g_shape) - batch_ndim - len(shape)
    summed = list(range(batch_ndim, batch_ndim + extra))
    start = batch_ndim + extra
    summed += [start + i for i, n in enumerate(shape) if n == 1 and g_shape[start + i] != 1]
    plain = type(g) is np.ndarray  # a sweep nobody differentiates: numpy itself, no wrapper
    if summed:
        g = np.add.reduce(g, axis=tuple(summed)) if plain else sum(g, axis=tuple(summed))
    target = g_shape[:batch_ndim] + tuple(shape)
    if g.shape != target:
        g = g.reshape(target) if plain else reshape(g, target)
    return g


# -- indexing -----------------------------------------------------------------------------------
def _as_index(index):
    """A tuple index with lists turned into integer arrays."""
    index = index if isinstance(index, tuple) else (index,)
    return tuple(np.asarray(i) if isinstance(i, list) else i for i in index)


def _is_advanced(i):
    return isinstance(i, np.ndarray)


def _is_integer(i):
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def _with_batch_axes(index, batch_ndim):
    """Prefix ``index`` with full slices for the batch axes of a differential."""
    if batch_ndim and builtins.any(_is_advanced(i) for i in index):
        # Beside an array, a plain integer is an advanced index too (numpy's rule): if they
        # are separated, numpy moves their axes in front of the batch axes.
        positions = [k for k, i in enumerate(index) if _is_advanced(i) or _is_integer(i)]
        if positions[-1] - positions[0] + 1 != len(positions):
            raise flagged(
                NotImplementedError(
                    "getitem: differentiating an index with integer arrays and integers "
                    "separated by slices is only supported for scalar outputs (use grad, not "
                    "jacobian/diff)"
                )
            )
    return (slice(None),) * batch_ndim + index


def _scatter_add_forward(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate)."""
    out = np.zeros(shape)
    if any(_is_advanced(i) for i in index):
        np.add.at(out, index, g)
    else:
        out[index] = g
    return out


scatter_add = primitive(
    _scatter_add_forward,
    "scatter_add",
    "Zeros of ``shape`` with g added at ``index`` (getitem's rule). Rule: ḡ ↦ ḡ[index].",
)
defvjp(
    scatter_add,
    lambda g, ans, dx, index, shape: getitem(g, _with_batch_axes(index, _batch_ndim(g, ans))),
)


def _getitem_forward(x, index):
    return x[index]


_getitem = primitive(_getitem_forward, "getitem")
defvjp(
    _getitem,
    lambda g, ans, x, index: scatter_add(
        g,
        _with_batch_axes(index, _batch_ndim(g, ans)),
        g.shape[: _batch_ndim(g, ans)] + x.shape,
    ),
)


def getitem(x, index):
    """``x[index]`` for slices, integers, integer arrays and boolean masks.

    Rule: x̄ = zeros of x's shape with ḡ added at ``index`` (repeated indices add up)."""
    if isinstance(index, Tensor) or (
        isinstance(index, tuple) and builtins.any(isinstance(i, Tensor) for i in index)
    ):
        raise flagged(TypeError("getitem: index with integers, slices or arrays, not Tensors"))
    try:
        return _getitem(x, _as_index(index))
    except IndexError as error:
        raise flagged(
            IndexError(f"getitem: {error} (indexing a tensor of shape {_shape(x)} with {index!r})")
        ) from None


def _stack_forward(*xs, axis=0):
    return np.stack(xs, axis=axis)


def _stack_vjp(argnum, g, ans, *xs, axis=0):
    # ``axis`` counted from the right of the output, so that batch axes in front don't move it
    from_right = axis - ans.ndim if axis >= 0 else axis
    return getitem(g, (Ellipsis, argnum) + (slice(None),) * (-from_right - 1))


_stack = primitive(_stack_forward, "stack")
defvjp_argnum(_stack, _stack_vjp)


def stack(tensors, axis=0):
    """Join tensors (or numbers) of one shape along a new axis; nested lists are stacked first,
    like ``np.array([[a, b], [c, d]])``. Rule: each input's x̄ is its slice of ḡ."""
    items = [stack(t) if isinstance(t, (list, tuple)) else t for t in tensors]
    return _stack(*items, axis=axis)


def _concatenate_forward(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


def _concatenate_vjp(argnum, g, ans, *xs, axis=0):
    from_right = axis - ans.ndim if axis >= 0 else axis
    start = builtins.sum(_shape(x)[axis] for x in xs[:argnum])
    part = slice(start, start + _shape(xs[argnum])[axis])
    return getitem(g, (Ellipsis, part) + (slice(None),) * (-from_right - 1))


_concatenate = primitive(_concatenate_forward, "concatenate")
defvjp_argnum(_concatenate, _concatenate_vjp)


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis. Rule: each input's x̄ is its slice of ḡ."""
    return _concatenate(*tensors, axis=axis)


# -- linear algebra -----------------------------------------------------------------------------
def _swap_last(x):
    """``x`` with its last two axes swapped (the matrix transpose of a stack of matrices)."""
    if x.ndim == 2:
        return x.T if type(x) is np.ndarray else transpose(x)  # a constant: no node to record
    axes = list(range(x.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return transpose(x, tuple(axes))


_matmul = primitive(np.matmul, "matmul")
defvjp(
    _matmul,
    lambda g, ans, a, b: _matmul(g, _swap_last(b)),
    lambda g, ans, a, b: _matmul(_swap_last(a), g),
)


def matmul(a, b):
    """``a @ b`` with numpy's rules; vectors are promoted to matrices and back.

    Rule: ā = ḡ bᵀ, b̄ = aᵀ ḡ (on the last two axes)."""
    a_shape, b_shape = _shape(a), _shape(b)
    if not a_shape or not b_shape:
        raise flagged(
            ValueError(
                f"matmul: operands must have at least one axis, got shapes {a_shape} and "
                f"{b_shape}; use * to multiply by a scalar"
            )
        )
    inner_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if a_shape[-1] != inner_b:
        raise flagged(
            ValueError(
                f"matmul: inner dimensions do not match: {a_shape} @ {b_shape} "
                f"({a_shape[-1]} != {inner_b})"
            )
        )
    if len(a_shape) > 1 and len(b_shape) > 1:
        return _matmul(a, b)
    a2 = reshape(a, (1,) + a_shape) if len(a_shape) == 1 else a
    b2 = reshape(b, b_shape + (1,)) if len(b_shape) == 1 else b
    out = _matmul(a2, b2)
    *stack_shape, rows, cols = out.shape
    kept = ((rows,) if len(a_shape) > 1 else ()) + ((cols,) if len(b_shape) > 1 else ())
    return reshape(out, tuple(stack_shape) + kept)


def dot(a, b):
    """The dot product of vectors and matrices (numpy's ``dot`` for up to two axes).

    Rule: as matmul (ā = ḡ bᵀ, b̄ = aᵀ ḡ), or as multiply for a scalar."""
    a_shape, b_shape = _shape(a), _shape(b)
    if len(a_shape) > 2 or len(b_shape) > 2:
        raise flagged(
            ValueError(
                f"dot: supported for up to two axes, got shapes {a_shape} and {b_shape}; "
                "use matmul for stacks of matrices"
            )
        )
    if not a_shape or not b_shape:
        return multiply(a, b)
    return matmul(a, b)


def outer(a, b):
    """The outer product aᵢbⱼ of a and b (each flattened). Rule: ∂/∂aᵢ = bⱼ, ∂/∂bⱼ = aᵢ."""
    return multiply(reshape(_joined(a), (-1, 1)), reshape(_joined(b), (-1,)))


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal x[..., i, i + offset] of axes ``axis1``, ``axis2``, as the last axis (as
    numpy's). Rule: x̄ = zeros with ḡ on that diagonal (an index, see getitem)."""
    return _diagonal("diagonal", x, offset, axis1, axis2)


def _diagonal(name, x, offset, axis1, axis2):
    """``diagonal``, its errors named for the function the user called."""
    x = _joined(x)
    shape = _shape(x)
    if len(shape) < 2:
        raise flagged(ValueError(f"{name}: needs at least two axes, got shape {shape}"))
    _checked_axes(name, (axis1, axis2), len(shape))  # in bounds, and not the same axis
    first, second = axis1 % len(shape), axis2 % len(shape)
    order = tuple(a for a in range(len(shape)) if a not in (first, second)) + (first, second)
    if order != tuple(range(len(shape))):
        x = transpose(x, order)
    rows, cols = _diagonal_index(shape[first], shape[second], offset)
    return getitem(x, (Ellipsis, rows, cols))


def _diagonal_index(n_rows, n_cols, offset):
    """The row and column indices of diagonal ``offset`` of an (n_rows, n_cols) matrix."""
    start_row, start_col = builtins.max(-offset, 0), builtins.max(offset, 0)
    length = builtins.max(builtins.min(n_rows - start_row, n_cols - start_col), 0)
    return np.arange(length) + start_row, np.arange(length) + start_col


def trace(x, offset=0, axis1=0, axis2=1):
    """Σᵢ x[i, i + offset] (over axes ``axis1``, ``axis2``). Rule: x̄ = ḡ on that diagonal, 0
    elsewhere (ḡ·I for a square matrix)."""
    return sum(_diagonal("trace", x, offset, axis1, axis2), axis=-1)


def diag(v, k=0):
    """As numpy's: a vector's entries on diagonal ``k`` of a square matrix, or a matrix's
    diagonal ``k`` as a vector. Rule: the other form of ḡ (its diagonal, or ḡ on a diagonal)."""
    v = _joined(v)
    shape = _shape(v)
    if len(shape) == 2:
        return _diagonal("diag", v, k, 0, 1)
    if len(shape) != 1:
        raise flagged(ValueError(f"diag: input must be 1-d or 2-d, got shape {shape}"))
    n = shape[0] + builtins.abs(k)
    return scatter_add(v, _diagonal_index(n, n, k), (n, n))


_tensor_module._ops = sys.modules[__name__]  # Tensor's operators call the primitives above
