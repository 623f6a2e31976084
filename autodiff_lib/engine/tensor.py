"""The Tensor: a float64 ndarray that remembers how it was computed.

A Tensor is a node of the computational graph. A *variable* (the default) is something we may
differentiate with respect to; a *constant* (``constant(x)``, or any plain ndarray or number)
is not, and the engine computes no derivative along paths that reach only constants.
A Tensor computed by a primitive keeps the primitive, its inputs and the derivative rules that
apply to its non-constant inputs: that is all the reverse sweep needs.
"""

from __future__ import annotations

import itertools
import operator

import numpy as np

creation_order = itertools.count(1)  # numbers every variable: a topological order of the graph

__all__ = ["Tensor", "constant", "variable", "value_of"]


class _NumpyOnly:
    """An ndarray attribute a Tensor lacks (``t.tolist``): looking it up says where it is."""

    def __init__(self, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        name = self.name
        ours = f"autodiff_lib.{name}(t)" if hasattr(_ops, name) else None
        raise AttributeError(
            f"Tensor has no method {name!r} (numpy arrays do): "
            + (f"use {ours}, or " if ours else "write it with autodiff_lib functions, or use ")
            + f"t.value.{name}(...) for the plain values, without derivative"
        )

    def __repr__(self):
        return f"numpy's, not a Tensor's: t.value.{self.name} (no derivative)"


class _NumpyNames:
    """The names of numpy's array methods and attributes that a Tensor does not have (filled in
    below Tensor): each raises an AttributeError that says where to go instead.

    Descriptors rather than a ``__getattr__`` on Tensor: a class with ``__getattr__`` loses
    CPython's fast attribute access (every ``node.value`` of the engine was several times slower).
    """

    __slots__ = ()


class Tensor(_NumpyNames):
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

    def __new__(cls, value=None, requires_grad: bool = True):
        # Tensor(x) or variable(x) of a variable x (say, of f's argument inside f) is x itself,
        # as jnp.asarray of a traced value is in JAX: a fresh leaf would cut the graph and give
        # a zero gradient. To cut it on purpose, use x.detach() or constant(x).
        if requires_grad and type(value) is Tensor and value.requires_grad:
            return value
        return object.__new__(cls)

    def __init__(self, value, requires_grad: bool = True):
        if value is self:
            return  # a variable passed through (see __new__)
        if isinstance(value, Tensor):
            value = value.value
        elif isinstance(value, (list, tuple)) and _holds_variables(value):
            raise TypeError(
                "Tensor: the list holds variables whose derivatives would be lost; "
                "use autodiff_lib.stack or concatenate to join tensors"
            )
        if not requires_grad and type(value) is np.ndarray and value.dtype == np.float64:
            array = value.view()  # a constant wraps the caller's array: no copy (see constant)
        else:
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
        node = object.__new__(cls)
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
        """The same values as a constant (no copy): derivatives stop here."""
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

    # -- conversions to plain numbers and arrays -------------------------------------------------
    # A plain number or array cannot carry a derivative: converting a *variable* would silently
    # drop it (``grad(lambda w: math.tanh(w))`` would be 0). So, as in HIPS autograd and JAX, the
    # conversions refuse variables with an error naming the conversion; constants convert freely.
    # The documented way to the plain values (printing, a stopping rule) is ``x.value`` or
    # ``value_of(x)``.
    def __float__(self) -> float:
        if self.requires_grad:
            _refuse(
                self, "float(x) (or a math.* function, or np.float64(x))", "ad.tanh, ad.exp, ..."
            )
        return float(self.value)

    def __int__(self) -> int:
        if self.requires_grad:
            _refuse(self, "int(x)", "")
        return int(self.value)

    def __index__(self) -> int:
        if self.requires_grad:
            _refuse(self, "using x as an integer index or size", "")
        return operator.index(self.value.item())

    def __bool__(self) -> bool:
        if self.requires_grad:
            _refuse(
                self,
                "bool(x) (an if, while, and, or, not on a Tensor)",
                "",
                "Compare explicitly: x > 0 gives a plain boolean array, or decide on x.value.",
            )
        return bool(self.value)

    def item(self) -> float:
        """The value of a one-element constant as a Python number (``x.value.item()``)."""
        if self.requires_grad:
            _refuse(self, "x.item()", "")
        return self.value.item()

    def __array__(self, dtype=None, copy=None):
        """Plain numpy sees the values of a constant; a variable refuses (see ``__float__``)."""
        if self.requires_grad:
            _refuse(
                self,
                "np.asarray(x) or np.array(x) (also numpy given a list that holds x, "
                "np.r_/np.c_/np.append, or x written into a numpy array)",
                "ad.stack, ad.concatenate",
            )
        return self.value if dtype is None else self.value.astype(dtype)

    def __abs__(self):
        return _ops.abs(self)

    def __dir__(self):
        return [name for name in object.__dir__(self) if name not in _NUMPY_ONLY]

    def __format__(self, spec: str) -> str:
        """``f"{loss:.3f}"`` formats the values (a string drops no derivative)."""
        if not spec:
            return str(self)
        return format(self.value[()] if self.value.ndim == 0 else self.value, spec)

    # -- arithmetic: each operator is a primitive of autodiff_lib.engine.primitives ----------
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


for _name in dir(np.ndarray):
    if not _name.startswith("_") and not hasattr(Tensor, _name):
        setattr(_NumpyNames, _name, _NumpyOnly(_name))
del _name
_NUMPY_ONLY = frozenset(vars(_NumpyNames)) - {"__module__", "__doc__", "__slots__"}


def constant(x) -> Tensor:
    """Mark ``x`` as constant: no derivative is computed along paths that reach only constants.

    A float64 array is wrapped without a copy (a read-only view: the Tensor cannot change it),
    so marking a large data set costs nothing; the caller's own later writes to it show through.
    """
    return Tensor(x, requires_grad=False)


def variable(x) -> Tensor:
    """A fresh leaf to differentiate with respect to (the same as ``Tensor(x)``).

    Of a variable, it is that variable itself: the graph through it is kept.
    """
    return Tensor(x, requires_grad=True)


def _refuse(x, conversion, functions, advice=""):
    """Raise the error of a conversion that would drop the derivative of variable ``x``."""
    what = f"a variable of shape {x.shape}" if x.shape else "a variable"
    keep = "keep to autodiff_lib functions" + (f" ({functions})" if functions else "")
    error = TypeError(
        f"{conversion}: x is {what} being differentiated, and a plain number or array would "
        f"silently drop its derivative. {advice + ' ' if advice else ''}To differentiate, "
        f"{keep}; for the plain values without derivative (printing, a stopping rule), use "
        "x.value or ad.value_of(x)."
    )
    error.autodiff_message = True  # phrased for the user (see registry.flagged)
    raise error


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
# define them fill these names in when they are imported (see engine/__init__.py).
_ops = None  # autodiff_lib.engine.primitives
_interop = None  # autodiff_lib.engine.interop
