"""The primitives: each numpy computation, with its derivative rule declared right below it.

This is the whole calculus of the library. A rule is ``lambda g, ans, *inputs: ...``: the
vector-Jacobian product that turns the differential ``g`` of the output into the differential
of one input. ``g`` may carry extra leading *batch* axes (several differentials at once, used by
``jacobian``, ``hessian`` and ``diff``), so rules index axes from the right. Broadcasting is
undone by the engine, not here. Raw numpy appears only in forward computations.
"""

from __future__ import annotations

import builtins
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
]  # fmt: skip


def _shape(x):
    """The shape of a Tensor, array or number (without numpy's dispatch on Tensors)."""
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


def _batch_ndim(g, ans):
    """How many leading axes of ``g`` are batch axes (``g.shape == batch + ans.shape``)."""
    return g.ndim - ans.ndim


# -- arithmetic ---------------------------------------------------------------------------------
add = primitive(np.add, "add")
defvjp(add, lambda g, ans, x, y: g, lambda g, ans, x, y: g)

subtract = primitive(np.subtract, "subtract")
defvjp(subtract, lambda g, ans, x, y: g, lambda g, ans, x, y: -g)

multiply = primitive(np.multiply, "multiply")
defvjp(multiply, lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x)

divide = primitive(np.divide, "divide")
defvjp(divide, lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y)

negative = primitive(np.negative, "negative")
defvjp(negative, lambda g, ans, x: -g)


def _log_base(x):
    """x where x > 0, else 1 at x = 0 (0^y has slope 0 in y) and nan at x < 0 (no real slope)."""
    return where(x > 0, x, np.where(np.equal(value_of(x), 0), 1.0, np.nan))


def _lowered(y):
    """y − 1, but 1 where y = 0: there y·x^(y−1) is 0, and x^(−1) would give 0·inf at x = 0."""
    if isinstance(y, (int, float)):
        return y - 1 if y != 0 else 1.0
    return where(y != 0, y - 1, 1.0)


power = primitive(np.power, "power")
defvjp(
    power,
    lambda g, ans, x, y: g * y * x ** _lowered(y),
    lambda g, ans, x, y: g * ans * log(_log_base(x)),
)


# -- elementwise functions ----------------------------------------------------------------------
def _positive_domain(name, forward):
    def checked(x):
        if np.size(x) and np.min(x) < 0:
            raise flagged(
                ValueError(f"{name}: input must be non-negative, got a minimum of {np.min(x)}")
            )
        return forward(x)

    checked.__name__ = name
    return checked


exp = primitive(np.exp, "exp")
defvjp(exp, lambda g, ans, x: g * ans)

log = primitive(_positive_domain("log", np.log), "log")
defvjp(log, lambda g, ans, x: g / x)

sqrt = primitive(_positive_domain("sqrt", np.sqrt), "sqrt")
defvjp(sqrt, lambda g, ans, x: g * 0.5 / ans)

# 1 − tanh²(x) cancels where tanh(x) rounds to ±1 (|x| ≳ 19 it is exactly 0, the true value
# 1.7e-17 at x = 20). Beyond |x| = 3, where 1 − t² starts losing digits, sech²(x) is computed
# from x instead, as 4e/(1 + e)² with e = exp(−2|x|), which neither cancels nor overflows.
_SATURATED = 1.0 / (np.cosh(3.0) * np.cosh(3.0))


def _sech_squared_forward(x, t):
    """sech²(x) = 1 − t², given t = tanh(x): from t near 0, from x where 1 − t² would cancel."""
    s = np.multiply(t, t)
    if type(s) is not np.ndarray:  # a 0-d input: numpy answers with a scalar
        e = np.exp(-2.0 * np.abs(x))
        return np.float64(1.0 - s) if s < 1.0 - _SATURATED else 4.0 * e / ((1.0 + e) * (1.0 + e))
    np.subtract(1.0, s, out=s)
    far = np.flatnonzero(s < _SATURATED)
    if far.size:
        e = np.exp(-2.0 * np.abs(np.asarray(x).flat[far]))
        s.flat[far] = 4.0 * e / ((1.0 + e) * (1.0 + e))
    return s


_sech_squared = primitive(_sech_squared_forward, "sech_squared")  # t only helps: no rule for it
defvjp(_sech_squared, lambda g, ans, x, t: g * ans * t * -2.0)  # (sech²)' = −2 sech² tanh

tanh = primitive(np.tanh, "tanh")
defvjp(tanh, lambda g, ans, x: g * _sech_squared(x, ans))

sin = primitive(np.sin, "sin")
defvjp(sin, lambda g, ans, x: g * cos(x))

cos = primitive(np.cos, "cos")
defvjp(cos, lambda g, ans, x: -g * sin(x))

sinh = primitive(np.sinh, "sinh")
defvjp(sinh, lambda g, ans, x: g * cosh(x))

cosh = primitive(np.cosh, "cosh")
defvjp(cosh, lambda g, ans, x: g * sinh(x))

sign = primitive(np.sign, "sign")  # piecewise constant: no rule, its derivative is zero

abs = primitive(np.abs, "abs")
defvjp(abs, lambda g, ans, x: g * sign(x))


def _share_ties(x, y):
    """1 where x wins, 0.5 on ties, 0 where y wins: the derivative of maximum w.r.t. x."""
    return (x > y) + 0.5 * (x == y)


maximum = primitive(np.maximum, "maximum")
defvjp(
    maximum,
    lambda g, ans, x, y: g * _share_ties(x, y),
    lambda g, ans, x, y: g * _share_ties(y, x),
)

where = primitive(np.where, "where")
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
    kept = reshape(g, g.shape[:n] + _kept_shape(x.shape, axis))
    return broadcast_to(kept, g.shape[:n] + x.shape)


def _fraction(part, whole):
    """size(part) / size(whole): the weight of each element in a mean."""
    return np.size(value_of(part)) / builtins.max(np.size(value_of(whole)), 1)


def _mean_forward(x, axis=None, keepdims=False):
    if np.size(x) == 0:  # the mean of nothing: nan, with numpy's RuntimeWarning
        return np.mean(x, axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=keepdims)
    total = _sum_forward(x, axis=axis, keepdims=keepdims)
    return total * _fraction(total, x)


sum = primitive(_sum_forward, "sum")
defvjp(sum, lambda g, ans, x, axis=None, keepdims=False: _spread(g, ans, x, axis))

mean = primitive(_mean_forward, "mean")
defvjp(
    mean,
    lambda g, ans, x, axis=None, keepdims=False: _spread(g * _fraction(ans, x), ans, x, axis),
)


# -- shapes -------------------------------------------------------------------------------------
reshape = primitive(np.reshape, "reshape")
defvjp(reshape, lambda g, ans, x, shape: reshape(g, g.shape[: _batch_ndim(g, ans)] + x.shape))


def _transpose_vjp(g, ans, x, axes=None):
    n = _batch_ndim(g, ans)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(a % x.ndim for a in axes)
    inverse = tuple(np.argsort(axes))
    return transpose(g, tuple(range(n)) + tuple(n + a for a in inverse))


transpose = primitive(np.transpose, "transpose")
defvjp(transpose, _transpose_vjp)

broadcast_to = primitive(np.broadcast_to, "broadcast_to")
defvjp(broadcast_to, lambda g, ans, x, shape: g)  # the engine sums the broadcast axes away


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
    if summed:
        g = sum(g, axis=tuple(summed))
    target = g_shape[:batch_ndim] + tuple(shape)
    if g.shape != target:
        g = reshape(g, target)
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


scatter_add = primitive(_scatter_add_forward, "scatter_add")
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
    """``x[index]`` for slices, integers, integer arrays and boolean masks."""
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
    """Join tensors of one shape along a new axis."""
    return _stack(*tensors, axis=axis)


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
    """Join tensors along an existing axis."""
    return _concatenate(*tensors, axis=axis)


# -- linear algebra -----------------------------------------------------------------------------
def _swap_last(x):
    """``x`` with its last two axes swapped (the matrix transpose of a stack of matrices)."""
    if x.ndim == 2:
        return transpose(x)
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
    """``a @ b`` with numpy's rules; vectors are promoted to matrices and back."""
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
    """The dot product of vectors and matrices (numpy's ``dot`` for up to two axes)."""
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


_tensor_module._ops = sys.modules[__name__]  # Tensor's operators call the primitives above
