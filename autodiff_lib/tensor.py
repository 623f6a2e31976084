"""The Tensor: a float64 ndarray that remembers how it was computed.

A Tensor is a node of the computational graph. A *variable* (the default) is something we may
differentiate with respect to; a *constant* (``constant(x)``, or any plain ndarray or number)
is not, and the engine computes no derivative along paths that reach only constants.
A Tensor computed by a primitive keeps the primitive, its inputs and the derivative rules that
apply to its non-constant inputs: that is all the reverse sweep needs.
"""

from __future__ import annotations

import itertools

import numpy as np

creation_order = itertools.count(1)  # numbers every variable: a topological order of the graph

__all__ = ["Tensor", "constant", "variable", "value_of"]


class Tensor:
    """A node of the graph: ``value`` (a float64 ndarray) plus how it was computed.

    ``requires_grad`` is False for constants. ``primitive`` is None for leaves (variables
    and constants made by the user); otherwise ``inputs`` are the arguments the primitive
    was called with, ``input_values`` their raw arrays, and ``grad_inputs`` pairs each
    non-constant input with the derivative rule for it. ``seq`` numbers variables in order of
    creation (inputs always come before outputs: a topological order for free); ``trace`` is
    the oldest differentiation the value depends on (0: variables made by the user).
    """

    __slots__ = (
        "value",
        "requires_grad",
        "primitive",
        "inputs",
        "input_values",
        "kwargs",
        "grad_inputs",
        "seq",
        "trace",
        "__weakref__",
    )

    def __init__(self, value, requires_grad: bool = True):
        if isinstance(value, Tensor):
            value = value.value
        elif isinstance(value, (list, tuple)) and _holds_variables(value):
            raise TypeError(
                "Tensor: the list holds variables whose derivatives would be lost; "
                "use autodiff_lib.stack or concatenate to join tensors"
            )
        array = np.array(value)  # a copy: later changes to the caller's array don't leak in
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"Tensor: expected real numbers, got dtype {array.dtype}"
                + (" (complex numbers are not supported)" if array.dtype.kind == "c" else "")
            )
        array = array.astype(np.float64, copy=False)
        array.flags.writeable = False
        self.value = array
        self.requires_grad = bool(requires_grad)
        self.primitive = None
        self.inputs = ()
        self.input_values = ()
        self.kwargs = {}
        self.grad_inputs = ()
        self.seq = next(creation_order)
        self.trace = 0

    @classmethod
    def leaf(cls, array, trace):
        """A variable over ``array`` without a copy: the fresh leaves made by ``grad``."""
        node = cls.__new__(cls)
        node.value = array if array.dtype == np.float64 else array.astype(np.float64)
        node.requires_grad = True
        node.primitive = None
        node.inputs = node.input_values = node.grad_inputs = ()
        node.kwargs = {}
        node.seq = next(creation_order)
        node.trace = trace
        return node

    # -- what it is -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def T(self) -> Tensor:
        return _ops.transpose(self)

    def reshape(self, *shape) -> Tensor:
        """autodiff_lib.reshape(t, shape); the shape may be given as separate ints."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def sum(self, axis=None, keepdims=False) -> Tensor:
        """autodiff_lib.sum(t, axis, keepdims): Σ over ``axis``."""
        return _ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False) -> Tensor:
        """autodiff_lib.mean(t, axis, keepdims)."""
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False) -> Tensor:
        """autodiff_lib.max(t, axis, keepdims) (ties share the derivative)."""
        return _ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False) -> Tensor:
        """autodiff_lib.min(t, axis, keepdims) (ties share the derivative)."""
        return _ops.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False) -> Tensor:
        """autodiff_lib.prod(t, axis, keepdims)."""
        return _ops.prod(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False) -> Tensor:
        """autodiff_lib.var(t, axis, ddof, keepdims)."""
        return _ops.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False) -> Tensor:
        """autodiff_lib.std(t, axis, ddof, keepdims)."""
        return _ops.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def ravel(self) -> Tensor:
        """autodiff_lib.ravel(t): the values as a vector."""
        return _ops.ravel(self)

    flatten = ravel  # numpy's flatten copies; a Tensor's values never change, so the same

    def squeeze(self, axis=None) -> Tensor:
        """autodiff_lib.squeeze(t, axis): without axes of length 1."""
        return _ops.squeeze(self, axis)

    def detach(self) -> Tensor:
        """The same values as a constant: derivatives stop here."""
        return constant(self.value)

    def __repr__(self) -> str:
        body = np.array2string(self.value, separator=", ", prefix="Tensor(")
        if self.primitive is not None:
            return f"Tensor({body}, op={self.primitive.name})"
        if not self.requires_grad:
            return f"Tensor({body}, constant)"
        return f"Tensor({body})"

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __float__(self) -> float:
        return float(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __array__(self, dtype=None, copy=None):
        """Plain numpy (plotting, printing) sees the values; the graph is not followed."""
        return self.value if dtype is None else self.value.astype(dtype)

    # -- arithmetic: each operator is a primitive of autodiff_lib.primitives -----------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.subtract(self, other)

    def __rsub__(self, other):
        return _ops.subtract(other, self)

    def __mul__(self, other):
        return _ops.multiply(self, other)

    def __rmul__(self, other):
        return _ops.multiply(other, self)

    def __truediv__(self, other):
        return _ops.divide(self, other)

    def __rtruediv__(self, other):
        return _ops.divide(other, self)

    def __pow__(self, other):
        return _ops.power(self, other)

    def __rpow__(self, other):
        return _ops.power(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.negative(self)

    def __pos__(self):
        return self

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, new_value):
        raise TypeError(
            "Tensor does not support in-place assignment (t[...] = ...): a derivative rule may "
            "still need the old values. Build a new tensor instead, for example with "
            "autodiff_lib.where(mask, new, old), stack or concatenate."
        )

    # Comparisons give plain boolean arrays: they have no derivative.
    def __lt__(self, other):
        return self.value < value_of(other)

    def __le__(self, other):
        return self.value <= value_of(other)

    def __gt__(self, other):
        return self.value > value_of(other)

    def __ge__(self, other):
        return self.value >= value_of(other)

    def __eq__(self, other):
        return self.value == value_of(other)

    def __ne__(self, other):
        return self.value != value_of(other)

    __hash__ = object.__hash__

    # -- numpy interoperability --------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _interop.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _interop.array_function(func, args, kwargs)


def constant(x) -> Tensor:
    """Mark ``x`` as constant: no derivative is computed along paths that reach only constants."""
    return Tensor(x, requires_grad=False)


def variable(x) -> Tensor:
    """A fresh leaf to differentiate with respect to (the same as ``Tensor(x)``)."""
    return Tensor(x, requires_grad=True)


def _holds_variables(items) -> bool:
    return any(
        (isinstance(i, Tensor) and i.requires_grad)
        or (isinstance(i, (list, tuple)) and _holds_variables(i))
        for i in items
    )


def value_of(x):
    """The raw array of a Tensor; anything else unchanged."""
    return x.value if isinstance(x, Tensor) else x


# The operators above call the primitives, which are built on Tensor: the two modules that
# define them fill these names in when they are imported (see autodiff_lib/__init__.py).
_ops = None  # autodiff_lib.primitives
_interop = None  # autodiff_lib.interop
