"""What happens when plain numpy meets a Tensor.

``np.tanh(t)`` and ``ndarray * t`` work: numpy hands the call to the library's primitive, so
the graph is kept. A numpy function the library has no primitive for raises a clear error
instead of silently dropping the derivative; on constants it simply computes the values.
"""

from __future__ import annotations

import inspect
import sys

import numpy as np

from . import primitives as ops
from . import tensor as _tensor_module
from .registry import flagged
from .tensor import Tensor


def clip(a, a_min=None, a_max=None, *, min=None, max=None):
    """``np.clip`` on a Tensor: numpy's bounds (``a_min``, ``a_max`` or ``min``, ``max``)."""
    return ops.clip(a, a_min if min is None else min, a_max if max is None else max)


UFUNCS = {
    np.add: ops.add, np.subtract: ops.subtract, np.multiply: ops.multiply,
    np.divide: ops.divide, np.power: ops.power, np.negative: ops.negative,
    np.exp: ops.exp, np.log: ops.log, np.tanh: ops.tanh, np.sin: ops.sin, np.cos: ops.cos,
    np.cosh: ops.cosh, np.sinh: ops.sinh, np.sqrt: ops.sqrt, np.absolute: ops.abs,
    np.sign: ops.sign, np.maximum: ops.maximum, np.matmul: ops.matmul,
    np.minimum: ops.minimum, np.square: ops.square, np.reciprocal: ops.reciprocal,
    np.log1p: ops.log1p, np.expm1: ops.expm1, np.tan: ops.tan, np.logaddexp: ops.logaddexp,
}  # fmt: skip

FUNCTIONS = {
    np.sum: ops.sum, np.mean: ops.mean, np.reshape: ops.reshape, np.transpose: ops.transpose,
    np.stack: ops.stack, np.concatenate: ops.concatenate, np.where: ops.where,
    np.dot: ops.dot, np.matmul: ops.matmul, np.broadcast_to: ops.broadcast_to,
    np.max: ops.max, np.amax: ops.max, np.min: ops.min, np.amin: ops.min, np.prod: ops.prod,
    np.var: ops.var, np.std: ops.std, np.ravel: ops.ravel, np.squeeze: ops.squeeze,
    np.expand_dims: ops.expand_dims, np.outer: ops.outer, np.diagonal: ops.diagonal,
    np.trace: ops.trace, np.diag: ops.diag, np.clip: clip,
}  # fmt: skip

# Functions that only inspect values or shapes: no derivative is lost by answering them.
INSPECTORS = {
    np.shape, np.ndim, np.size, np.allclose, np.isclose, np.array_equal, np.argmax,
    np.argmin, np.all, np.any, np.result_type, np.iscomplexobj, np.isrealobj,
    np.array2string, np.array_repr, np.array_str, np.copyto,
}  # fmt: skip


def _unknown_keywords(function, kwargs):
    """The keywords in ``kwargs`` that ``function`` does not take (none if it cannot tell)."""
    if not kwargs:
        return []
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    return [k for k in kwargs if k not in parameters]


def _public(function):
    """The name under which autodiff_lib exports ``function`` (a primitive by its own name)."""
    primitive = getattr(function, "primitive", None)
    return primitive.name if primitive is not None else function.__name__


def _values(obj):
    if isinstance(obj, Tensor):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return type(obj)(_values(o) for o in obj)
    return obj


def _tracks(obj):
    """Whether ``obj`` holds a variable (a Tensor whose derivative would be dropped)."""
    if isinstance(obj, Tensor):
        return obj.requires_grad
    if isinstance(obj, (list, tuple)):
        return any(_tracks(o) for o in obj)
    return False


def array_ufunc(ufunc, method, inputs, kwargs):
    """``np.<ufunc>(..., t, ...)``: the library's primitive, numpy on constants, else an error."""
    name = ufunc.__name__
    out = kwargs.get("out")
    if out is not None:
        outs = out if isinstance(out, tuple) else (out,)
        if any(isinstance(o, Tensor) for o in outs):
            raise flagged(
                TypeError(
                    f"numpy.{name}(..., out=...) would write into a Tensor in place; "
                    "Tensors are immutable, assign the result to a new name instead"
                )
            )
        if _tracks(inputs):
            raise flagged(
                TypeError(
                    f"numpy.{name}(..., out=array) (or an in-place operator such as acc += x) "
                    "would write a variable's values into a plain numpy array, which cannot "
                    "hold its derivative; write acc = acc + x instead (a new Tensor). (If x is a "
                    "gradient that came back as a Tensor because f read data made with ad.Tensor, "
                    "mark the data ad.constant(X) or pass plain arrays.)"
                )
            )
    if method == "__call__" and ufunc in UFUNCS and not kwargs:
        return UFUNCS[ufunc](*inputs)
    all_bool = all(t.endswith("?") for t in ufunc.types)
    if all_bool or not _tracks(inputs):
        return getattr(ufunc, method)(*_values(inputs), **kwargs)
    if ufunc in UFUNCS and method == "__call__":
        keywords = ", ".join(f"{k}=..." for k in kwargs)
        raise flagged(
            TypeError(
                f"numpy.{name}(x, {keywords}): autodiff_lib.{_public(UFUNCS[ufunc])} takes no "
                f"keyword argument {', '.join(map(repr, kwargs))} (it computes in float64 on "
                f"every element); call numpy.{name}(x) without it"
            )
        )
    hint = f"autodiff_lib.{name}" if hasattr(ops, name) else "a function of autodiff_lib"
    raise flagged(
        TypeError(
            f"numpy.{name} cannot differentiate through an autodiff_lib Tensor; use {hint} "
            f"instead, or pass t.value to compute on the plain values (no derivative)"
        )
    )


def array_function(func, args, kwargs):
    """``np.<function>(t, ...)``: the library's function, numpy on constants, else an error."""
    if func in FUNCTIONS:
        ours = FUNCTIONS[func]
        unknown = _unknown_keywords(ours, kwargs)
        if unknown:
            name = getattr(func, "__name__", str(func))
            raise flagged(
                TypeError(
                    f"numpy.{name}(..., {', '.join(k + '=...' for k in unknown)}) on a Tensor: "
                    f"autodiff_lib.{_public(ours)} takes no argument "
                    f"{', '.join(map(repr, unknown))}; call it without"
                )
            )
        return ours(*args, **kwargs)
    if func in INSPECTORS or not (_tracks(args) or _tracks(tuple(kwargs.values()))):
        return func(*_values(args), **{k: _values(v) for k, v in kwargs.items()})
    name = getattr(func, "__name__", str(func))
    raise flagged(
        TypeError(
            f"numpy.{name} is not differentiable in autodiff_lib; write it with autodiff_lib "
            "functions, or pass t.value to compute on the plain values (no derivative)"
        )
    )


_tensor_module._interop = sys.modules[__name__]  # Tensor's numpy hooks call the two above
