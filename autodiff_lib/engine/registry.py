"""The registry of primitives and their derivative rules.

A primitive is a numpy computation wrapped so that, given a Tensor, it records a graph node.
Its derivative rules are vector-Jacobian products, one per differentiable argument, declared
with ``defvjp`` right after the primitive, in the style of HIPS autograd::

    exp = primitive(np.exp)
    defvjp(exp, lambda g, ans, x: g * ans)

(tanh's rule is ``g * sech²x``; it is not written ``g * (1 - ans * ans)``, which cancels to 0
where tanh x rounds to ±1: see ``primitives._sech_squared_forward``.)

A rule receives the incoming differential ``g`` (shape ``batch + ans.shape``, where the batch
axes carry several differentials at once, see ``differentiation``), the output ``ans`` and the
inputs, and returns the differential for its input. Rules are written with the library's own
functions, so they are differentiable again: that is where higher derivatives come from.
A rule may return a result that is still broadcast; the engine undoes broadcasting in one
place (``primitives.unbroadcast``).
"""

from __future__ import annotations

import functools
import inspect
import re
import sys

import numpy as np

from . import tensor as _tensor_module
from .tensor import Tensor, creation_order

__all__ = ["Primitive", "primitive", "defvjp", "defvjp_argnum", "flagged"]


class Primitive:
    """A named forward computation and its derivative rules (None: not differentiable)."""

    __slots__ = ("name", "forward", "vjps", "vjp_argnum")

    def __init__(self, name, forward):
        self.name = name
        self.forward = forward
        self.vjps = ()
        self.vjp_argnum = None

    def rule(self, argnum):
        """The derivative rule for argument ``argnum``, or None if it has none."""
        if self.vjp_argnum is not None:
            return functools.partial(self.vjp_argnum, argnum)
        return self.vjps[argnum] if argnum < len(self.vjps) else None

    def __repr__(self):
        return f"Primitive({self.name})"


def primitive(forward, name=None, doc=None):
    """Wrap a numpy function so that calls on Tensors build the graph.

    Called with plain arrays only, the wrapper is the numpy function itself (a constant in,
    a constant out); the derivative rules run this way in a sweep nobody differentiates again.
    ``doc`` is the wrapper's own docstring (what it computes, and its rule in math): numpy's
    docstring would describe arguments (``out=``, ``where=``) the wrapper does not take.
    """
    prim = Primitive(name or forward.__name__, forward)

    def wrapper(*args, **kwargs):
        try:
            for arg in args:
                if isinstance(arg, Tensor):
                    return _apply(prim, args, kwargs)
            return forward(*args, **kwargs)
        except (ValueError, TypeError) as error:
            if _holds_tensors(args):
                # numpy reads a list of Tensors as constants (and refuses variables): a list
                # of tensors handed to a primitive means the array stacked from them.
                return wrapper(*_stacked(args), **kwargs)
            if getattr(error, "autodiff_message", False):
                raise
            raise _input_error(prim.name, args, error) from None

    wrapper.primitive = prim
    wrapper.__name__ = wrapper.__qualname__ = prim.name
    wrapper.__doc__ = doc
    wrapper.__module__ = sys._getframe(1).f_globals.get("__name__", __name__)  # the caller's
    wrapper.__signature__ = _signature(forward)
    return wrapper


def _holds_tensors(args):
    """Whether an argument is a list or tuple that holds a Tensor (at any depth)."""
    return any(
        isinstance(a, (list, tuple))
        and any(isinstance(i, Tensor) or _holds_tensors((i,)) for i in a)
        for a in args
    )


def _stacked(args):
    """``args`` with every list or tuple that holds Tensors replaced by their ``stack``."""
    stack = _tensor_module._ops.stack
    return [stack(a) if _holds_tensors((a,)) else a for a in args]


def _signature(forward):
    """The forward computation's signature, without a ufunc's ``out=``, ``where=``, ..."""
    if hasattr(forward, "nin"):  # a ufunc: its own signature lists out=, where=, ...
        names = ["x"] if forward.nin == 1 else ["x", "y"]
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        return inspect.Signature([inspect.Parameter(n, kind) for n in names])
    try:
        return inspect.signature(forward)
    except (TypeError, ValueError):
        return None


def defvjp(fun, *rules):
    """Declare the derivative rules of primitive ``fun``, one per positional argument."""
    fun.primitive.vjps = tuple(rules)


def defvjp_argnum(fun, rule):
    """One rule for every argument of a variadic primitive: ``rule(argnum, g, ans, *args)``."""
    fun.primitive.vjp_argnum = rule


def _apply(prim, args, kwargs):
    """Run the forward computation on raw arrays and record a node if any input is a variable."""
    values = []
    grad_inputs = []
    trace = None
    argnum = 0
    for arg in args:
        if type(arg) is Tensor:
            values.append(arg.value)
            if arg.requires_grad:
                rule = prim.vjps[argnum] if argnum < len(prim.vjps) else prim.rule(argnum)
                if rule is not None:
                    grad_inputs.append((rule, arg))
                    if trace is None or arg.trace < trace:
                        trace = arg.trace
        else:
            values.append(arg)
        argnum += 1
    out = prim.forward(*values, **kwargs)
    if type(out) is not np.ndarray:
        out = np.asarray(out)  # a reduction's numpy scalar (or a number)
    if out.dtype is not _FLOAT64:  # one identity test: dtypes of the built-in types are unique
        out = _real(prim.name, out)
    node = _new_tensor()
    node.value = out
    node.kwargs = kwargs
    if grad_inputs:
        node.requires_grad = True
        node.primitive = prim
        node.inputs = args
        node.input_values = values
        node.grad_inputs = grad_inputs
        node.seq = next(creation_order)
        node.trace = trace
    else:
        node.requires_grad = False
        node.primitive = None
        node.inputs = node.input_values = node.grad_inputs = ()
        node.seq = node.trace = 0
    return node


_new_tensor = functools.partial(object.__new__, Tensor)


_FLOAT64 = np.dtype(np.float64)


def _real(name, out):
    """``out`` (an array) as float64; complex values (a complex constant mixed in) are refused."""
    if out.dtype.kind == "c":
        raise flagged(
            TypeError(
                f"{name}: the result is complex (a complex number was mixed in); autodiff_lib "
                "differentiates real-valued functions only"
            )
        )
    return out.astype(np.float64, copy=False)


def _input_error(name, args, error):
    """A ValueError or TypeError that names the operation and the shapes it was given."""
    shapes = ", ".join(_describe(a) for a in args)
    reason = str(error)
    keyword = re.search(r"unexpected keyword argument '(\w+)'", reason)
    if keyword:  # not the name of a private forward function: the argument the user wrote
        reason = f"takes no argument '{keyword.group(1)}'"
    if "broadcast" in reason:
        reason = "shapes cannot be broadcast together"
    elif "mismatch in its core dimension" in reason or "not aligned" in reason:
        reason = "inner dimensions do not match"
    return flagged(type(error)(f"{name}: {reason} (got {shapes})"))


def _describe(arg):
    """An argument as the user thinks of it: an array by its shape, a shape as a shape."""
    if isinstance(arg, (Tensor, np.ndarray, np.generic)):
        return f"shape {arg.shape}"
    if isinstance(arg, (int, float)):
        return "a scalar"
    if isinstance(arg, tuple) and all(isinstance(n, (int, np.integer)) for n in arg):
        return f"shape {arg}"
    if isinstance(arg, list):
        try:
            return f"shape {np.shape(arg)}"
        except ValueError:  # ragged
            pass
    if isinstance(arg, tuple):
        return f"index {arg}"
    return type(arg).__name__


def flagged(error):
    """Mark an error as already phrased for the user, so that wrappers pass it on unchanged."""
    error.autodiff_message = True
    return error
