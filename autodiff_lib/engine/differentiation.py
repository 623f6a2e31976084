"""Reverse-mode differentiation: the backward sweep and the operators built on it.

The chain rule for dy/dx sums, over every path from x to y, the product of the local
derivatives along the path. Computed path by path (the textbook recursion), a graph with
shared subexpressions has exponentially many paths. Backpropagation visits the graph once in
reverse topological order and keeps, for every node, its differential dy/dnode: the
*differential cache*. Each rule then runs once per edge.

Differentials may carry leading *batch* axes. ``diff(y, x)`` seeds the sweep with the identity
of shape ``y.shape + y.shape``, so that all rows of the Jacobian flow through one sweep
(rules are linear in the differential); ``jacobian`` and ``hessian`` build on it.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
import weakref
from dataclasses import dataclass, field
from heapq import heappop, heappush

import numpy as np

from .primitives import unbroadcast
from .registry import flagged
from .tensor import Tensor, value_of

__all__ = [
    "diff", "grad", "value_and_grad", "jacobian", "hessian", "ValueAndGrad", "AutodiffWarning",
    "differential_cache", "count_operations", "OperationCounts", "topological_order",
]  # fmt: skip


class AutodiffWarning(UserWarning):
    """A result that is right but probably not what was meant (a zero gradient, a recorded one)."""


# -- counting what the engine does ----------------------------------------------------------------
@dataclass
class OperationCounts:
    """Work done by backward sweeps: rules evaluated and graph nodes visited.

    It counts while a ``with`` block over it runs. Entered again later, it goes on adding to the
    same counts; entered inside its own block, the work is still counted once.
    """

    rule_evaluations: int = 0
    nodes_visited: int = 0
    _depth: int = field(default=0, repr=False, compare=False)

    def __enter__(self):
        if self._depth == 0:
            _active_counters.append(self)
        self._depth += 1
        return self

    def __exit__(self, *exc_info):
        self._depth -= 1
        if self._depth == 0:  # by identity: another counter may hold equal counts
            del _active_counters[next(i for i, c in enumerate(_active_counters) if c is self)]


_active_counters: list[OperationCounts] = []


def count_operations() -> OperationCounts:
    """Count the work of every backward sweep inside the ``with`` block.

    >>> with count_operations() as ops:
    ...     g = grad(f)(x)
    >>> ops.rule_evaluations
    """
    return OperationCounts()


def _record_counts(rules, nodes):
    for counts in _active_counters:
        counts.rule_evaluations += rules
        counts.nodes_visited += nodes


# -- the switch between backpropagation and the textbook chain rule -------------------------------
_use_cache = [True]


class differential_cache:
    """Turn the differential cache on (backpropagation) or off (the textbook recursion).

    ``with differential_cache(False): ...`` switches it for the block and restores the setting
    at its end, also on an error; a bare call ``differential_cache(False)`` switches it until the
    next call. ``enabled`` must be True or False (a string such as "False" is refused).
    """

    def __init__(self, enabled: bool):
        if not isinstance(enabled, (bool, np.bool_)):
            raise flagged(
                TypeError(f"differential_cache: enabled must be True or False, got {enabled!r}")
            )
        self.previous = _use_cache[0]
        _use_cache[0] = bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        _use_cache[0] = self.previous


# -- the sweep ------------------------------------------------------------------------------------
def topological_order(y: Tensor) -> list[Tensor]:
    """The variables ``y`` depends on, each after all of its inputs.

    Every variable is numbered when it is created (``seq``), and an input always exists before
    the node computed from it, so sorting by that number is a topological order.
    """
    found = {y.seq: y}
    stack = [y]
    while stack:
        for _, parent in stack.pop().grad_inputs:
            if parent.seq not in found:
                found[parent.seq] = parent
                stack.append(parent)
    return [found[seq] for seq in sorted(found)]


def _local_differential(rule, g, ans, args, kwargs, batch_ndim, parent):
    """One rule evaluation: the differential of ``parent`` contributed through one node."""
    contribution = rule(g, ans, *args, **kwargs)
    shape = parent.value.shape
    if contribution.shape != (g.shape[:batch_ndim] + shape if batch_ndim else shape):
        contribution = unbroadcast(contribution, shape, batch_ndim)
    return contribution


def _rule_inputs(node, record):
    """What the rules of ``node`` see: Tensors when the sweep is recorded, else plain arrays."""
    return (node, node.inputs) if record else (node.value, node.input_values)


def _backpropagate(y, targets, seed, record):
    """Differentials of ``y`` w.r.t. every target, with the differential cache.

    Nodes are taken latest-created first (a max-heap on ``seq``), so a node is reached only
    after every node that consumes it: its cached differential is complete, and each rule runs
    once per edge. Iterative, so a chain of any length works.
    """
    wanted = {t.seq for t in targets}
    found = {}
    pending = {y.seq: [y, seed]}  # seq -> [node, its differential so far]: the cache
    heap = [-y.seq]
    rules = visited = 0
    batched = seed.ndim > 0  # else every differential has its node's shape (no batch axes)
    while heap:
        seq = -heappop(heap)
        node, g = pending.pop(seq)
        visited += 1
        if seq in wanted:
            found[seq] = g
        grad_inputs = node.grad_inputs
        if not grad_inputs:
            continue
        if record:
            ans, args = node, node.inputs
        else:
            ans, args = node.value, node.input_values
        kwargs = node.kwargs
        batch_shape = g.shape[: g.ndim - node.value.ndim] if batched else ()
        for rule, parent in grad_inputs:
            # the rule, then broadcasting undone (as in _local_differential, inlined: hot loop)
            contribution = rule(g, ans, *args, **kwargs) if kwargs else rule(g, ans, *args)
            shape = parent.value.shape
            if contribution.shape != (batch_shape + shape if batch_shape else shape):
                contribution = unbroadcast(contribution, shape, len(batch_shape))
            rules += 1
            entry = pending.get(parent.seq)
            if entry is None:
                pending[parent.seq] = [parent, contribution]
                heappush(heap, -parent.seq)
            else:
                entry[1] = entry[1] + contribution
    _record_counts(rules, visited)
    return found


def _textbook_chain_rule(y, targets, seed, record):
    """Differentials of ``y`` w.r.t. every target, path by path, without the cache.

    dy/dx = sum over the inputs c of y of dy/dc * dc/dx, recursively: a node reached by k paths
    is differentiated k times. An explicit stack replaces recursion, so deep graphs still work.
    """
    wanted = {t.seq for t in targets}
    found = {}
    stack = [(y, seed)]
    rules = visited = 0
    while stack:
        node, g = stack.pop()
        visited += 1
        if node.seq in wanted:
            found[node.seq] = g if node.seq not in found else found[node.seq] + g
        ans, args = _rule_inputs(node, record)
        batch_ndim = g.ndim - node.value.ndim
        for rule, parent in node.grad_inputs:
            contribution = _local_differential(
                rule, g, ans, args, node.kwargs, batch_ndim, parent
            )
            stack.append((parent, contribution))
            rules += 1
    _record_counts(rules, visited)
    return found


def _sweep(y, targets, batch_shape, record):
    """The differentials of ``y`` w.r.t. ``targets``, each of shape ``batch + target.shape``,
    and whether the sweep reached any target at all."""
    if batch_shape:
        seed = np.eye(math.prod(batch_shape)).reshape(batch_shape + batch_shape)
    else:
        seed = np.ones(())
    if isinstance(y, Tensor) and y.requires_grad:
        sweep = _backpropagate if _use_cache[0] else _textbook_chain_rule
        found = sweep(y, targets, seed, record)
    else:
        found = {}
    differentials = [
        found[t.seq] if t.seq in found else np.zeros(batch_shape + t.shape) for t in targets
    ]
    return differentials, bool(found)


# -- the differential operators -------------------------------------------------------------------
def diff(y, x):
    """dy/dx as a Tensor of shape ``y.shape + x.shape``, itself differentiable.

    ``x`` may be a Tensor or a list/tuple of Tensors (then a list of derivatives comes back).
    ``diff(diff(y, x), x)`` is the Hessian: the sweep is recorded in the graph.
    """
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    for t in xs:
        if not isinstance(t, Tensor):
            raise flagged(TypeError(f"diff: x must be a Tensor, got {type(t).__name__}"))
        if not t.requires_grad:
            raise flagged(
                TypeError(
                    "diff: x is a constant (made with ad.constant or detach, or computed from "
                    "constants only), so nothing is differentiated w.r.t. it; make it a variable "
                    "with ad.Tensor(...) or ad.variable(...) before computing y from it"
                )
            )
    _check_output(y, "diff", scalar=False)
    shape = np.shape(value_of(y))
    results = [_as_tensor(d) for d in _sweep(y, xs, shape, record=True)[0]]
    return results if isinstance(x, (list, tuple)) else results[0]


def _as_tensor(d):
    return d if isinstance(d, Tensor) else Tensor(d, requires_grad=False)


def value_and_grad(f, argnum=0):
    """A function returning ``(f(*args), gradient of f w.r.t. args[argnum])`` for scalar ``f``.

    The result is a ``ValueAndGrad`` pair: unpack it, ``loss, g = value_and_grad(f)(x)``.
    ``argnum`` is an int or a tuple of distinct ints (a tuple of gradients comes back);
    differentiated arguments are passed positionally. An argument may be a list, tuple or dict
    of arrays (the gradient has the same structure); a list of plain numbers is one array.
    Plain arrays in, plain arrays out; Tensors in, differentiable Tensors out. If ``f`` reads
    variables made outside it (``Tensor(data)``), the gradient is recorded so that it can be
    differentiated w.r.t. them later: mark data ``constant(data)`` (or pass plain arrays) in a
    training loop, or each step's graph hangs on to the previous one; an ``AutodiffWarning``
    says so once, when a step is computed from such a gradient. (We warn rather than detach:
    detaching would silently break differentiating a gradient w.r.t. those variables, which
    HIPS autograd and JAX allow.)
    An output that does not depend on the argument gets a zero gradient and an
    ``AutodiffWarning``, as in HIPS autograd.
    """
    _check_argnum(argnum, "value_and_grad")

    def value_and_grad_f(*args, **kwargs):
        return _pair(_differentiate(f, argnum, args, kwargs, "grad", scalar=True))

    value_and_grad_f.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return value_and_grad_f


def grad(f, argnum=0):
    """The gradient of scalar ``f`` w.r.t. ``args[argnum]``, as a function (see value_and_grad)."""

    _check_argnum(argnum, "grad")

    def grad_f(*args, **kwargs):
        return _differentiate(f, argnum, args, kwargs, "grad", scalar=True)[1]

    grad_f.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return grad_f


def jacobian(f, argnum=0):
    """The Jacobian of ``f`` w.r.t. ``args[argnum]``: shape ``f(x).shape + x.shape``."""

    _check_argnum(argnum, "jacobian")

    def jacobian_f(*args, **kwargs):
        return _differentiate(f, argnum, args, kwargs, "jacobian", scalar=False)[1]

    jacobian_f.__name__ = f"jacobian({getattr(f, '__name__', 'f')})"
    return jacobian_f


def hessian(f, argnum=0):
    """The Hessian of scalar ``f``: the Jacobian of its gradient, shape ``x.shape + x.shape``.

    With a tuple ``argnum``, the blocks ``H[i][j]`` (d²f / dx_i dx_j) as a tuple of tuples.
    """
    _check_argnum(argnum, "hessian")
    if not isinstance(argnum, tuple):
        return jacobian(jacobian(f, argnum), argnum)
    blocks = [[jacobian(jacobian(f, i), j) for j in argnum] for i in argnum]

    def hessian_f(*args, **kwargs):
        return tuple(tuple(block(*args, **kwargs) for block in row) for row in blocks)

    hessian_f.__name__ = f"hessian({getattr(f, '__name__', 'f')})"
    return hessian_f


class ValueAndGrad(tuple):
    """The pair ``(value, grad)`` that ``value_and_grad`` returns: unpack it.

    Used as a number (``w - 0.1 * value_and_grad(f)(w)``), it raises an error that says what it
    is, instead of Python's "can't multiply sequence".
    """

    __slots__ = ()
    __array_ufunc__ = None  # ndarray ∘ pair: numpy steps back, and the refusal below answers

    def __new__(cls, value, grad):
        return tuple.__new__(cls, (value, grad))

    def __getnewargs__(self):
        return tuple(self)

    @property
    def value(self):
        return self[0]

    @property
    def grad(self):
        return self[1]

    def __repr__(self):
        return f"ValueAndGrad(value={self[0]!r}, grad={self[1]!r})"

    def _refuse(self, *other):
        raise flagged(
            TypeError(
                "value_and_grad returns a pair (value, gradient), not a number or an array: "
                "unpack it first, loss, g = value_and_grad(f)(...), or use grad(f) for the "
                "gradient alone"
            )
        )

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = _refuse
    __neg__ = __abs__ = __float__ = __array__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = _refuse


_pair = functools.partial(tuple.__new__, ValueAndGrad)  # ValueAndGrad((value, grad)), in C


def _is_int(n):
    return isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))


def _check_argnum(argnum, name):
    """``argnum`` must be an int or a non-empty tuple of distinct ints."""
    if _is_int(argnum):
        return
    if (
        isinstance(argnum, tuple)
        and argnum
        and all(_is_int(n) for n in argnum)
        and len(set(argnum)) == len(argnum)
    ):
        return
    raise flagged(
        TypeError(
            f"{name}: argnum must be an int or a tuple of distinct ints (the positions of the "
            f"arguments to differentiate), got {argnum!r}"
        )
    )


def _positions(argnum, args, kwargs, name):
    """The argument positions ``argnum`` names, checked against the arguments f was called with."""
    positions = []
    for n in argnum if isinstance(argnum, tuple) else (argnum,):
        position = n + len(args) if n < 0 else n
        if not 0 <= position < len(args):
            given = f"{len(args)} positional argument{'s' if len(args) != 1 else ''}"
            hint = ""
            if kwargs:
                given += f" and the keyword argument(s) {', '.join(kwargs)}"
                hint = (
                    f"; pass the arguments to differentiate positionally, {name}(f)(x), "
                    f"not {name}(f)(x=x)"
                )
            raise flagged(TypeError(f"{name}: argnum {n}, but f was called with {given}{hint}"))
        positions.append(position)
    if len(set(positions)) != len(positions):
        raise flagged(TypeError(f"{name}: argnum {argnum} names one argument twice"))
    return positions


def _check_output(y, name, scalar):
    """Refuse what f may return by mistake: None, a list or tuple of parts, complex numbers."""
    if isinstance(y, Tensor):
        return
    what = None
    if y is None:
        what = "None: did it forget its return statement?"
    elif isinstance(y, (list, tuple, dict)):
        join = "the number to differentiate"
        if not scalar:
            join = "join the parts with ad.stack or ad.concatenate"
        what = f"a {type(y).__name__}; return one array ({join})"
    else:
        kind = getattr(np.asarray(y), "dtype", np.dtype(object)).kind
        if kind == "c":
            what = "complex numbers; autodiff_lib differentiates real-valued functions only"
        elif kind not in "biuf":
            what = f"a {type(y).__name__}, not a number or an array"
    if what is not None:
        raise flagged(TypeError(f"{name}: f returned {what}"))


def _differentiate(f, argnum, args, kwargs, name, scalar):
    """Call ``f`` on fresh variables for the differentiated arguments and sweep back."""
    given = args
    args = list(args)
    if type(argnum) is int and 0 <= argnum < len(args):
        positions = (argnum,)  # the common case, checked without a loop
    else:
        positions = _positions(argnum, args, kwargs, name)
    trace = next(_traces)
    leaves_per_arg, variables = [], []
    for n in positions:
        leaves, rebuild = _flatten(args[n])
        fresh = [_as_variable(leaf, name, trace) for leaf in leaves]
        args[n] = rebuild(fresh)
        leaves_per_arg.append((leaves, rebuild))
        variables += fresh
    outer_variables = any(v.trace != trace for v in variables)  # passed in already variables
    if outer_variables and _recorded_gradients and not _warned_growth:
        _warn_if_growing(variables, name)
    try:
        y = f(*args, **kwargs)
    except TypeError as error:
        containers = [  # the differentiated arguments that were containers of arrays
            (n, type(given[n]).__name__)
            for n in positions
            if isinstance(given[n], _CONTAINERS) and not _is_numbers(given[n])
        ]
        if containers and not getattr(error, "autodiff_message", False):
            n, kind = containers[0]
            raise flagged(
                TypeError(
                    f"{name}: argument {n} is a {kind}, which {name} takes as a container of "
                    f"arrays (one variable per item, and a {kind} of derivatives back), but f "
                    f"used it as one array ({error}). To pass one array, give np.array(...) or "
                    "a list of plain numbers"
                )
            ) from error
        raise
    _check_output(y, name, scalar)
    y_shape = np.shape(value_of(y))
    if scalar and y_shape != ():
        raise flagged(
            TypeError(
                f"grad: f must return a scalar, got an output of shape {y_shape}; "
                "use jacobian for non-scalar outputs"
            )
        )
    # The derivative is itself recorded when someone outside may differentiate it again: an
    # argument was already a variable, or f read variables older than this call's own.
    record = outer_variables or (isinstance(y, Tensor) and y.requires_grad and y.trace < trace)
    differentials, reached = _sweep(y, variables, y_shape, record)
    if scalar and not reached:
        warnings.warn(
            f"{name}: the output of f does not depend on the argument(s) differentiated "
            f"(argnum={argnum}), so the gradient is zero. Is an argument unused, or was it "
            "replaced by a constant inside f?",
            AutodiffWarning,
            stacklevel=3,
        )
    derivatives = iter(differentials)
    results = []
    for leaves, rebuild in leaves_per_arg:
        results.append(rebuild([_like(leaf, next(derivatives)) for leaf in leaves]))
    if record and not outer_variables and y.trace == 0:
        # recorded only because f read the user's own variables (data made with ad.Tensor?)
        for d in differentials:
            if isinstance(d, Tensor):
                _recorded_gradients[id(d)] = weakref.ref(d, _forget(id(d)))
    value = y if record else _plain(y)
    return value, (tuple(results) if isinstance(argnum, tuple) else results[0])


# A gradient comes back recorded (a Tensor on a graph) when f reads variables made by the user,
# so that it can be differentiated w.r.t. them later: right, but in a training loop over data
# made with ad.Tensor(X), weights updated with it become Tensors that drag every earlier step's
# graph along (200 steps: 50 s instead of 0.05 s). Such gradients are remembered here (weakly),
# and an argument computed from one is said, once, to be that mistake. (Detaching the result
# instead would silently break differentiating a gradient w.r.t. those variables, which HIPS
# autograd and JAX allow.)
_recorded_gradients = {}  # id -> weak reference (by identity: Tensor's == is elementwise)
_warned_growth = []


def _forget(key):
    return lambda _: _recorded_gradients.pop(key, None)


def _warn_if_growing(variables, name, limit=64):
    """Warn once if an argument was computed from a gradient recorded on the user's variables."""
    for v in variables:
        if v.trace != 0 or v.primitive is None:
            continue
        seen, stack = {id(v)}, [v]
        while stack and len(seen) < limit:
            node = stack.pop()
            recorded = _recorded_gradients.get(id(node))
            if recorded is not None and recorded() is node:
                _warned_growth.append(True)
                warnings.warn(
                    f"{name}: an argument was computed from an earlier gradient that came back "
                    "as a Tensor recorded on a graph (f reads variables made outside it with "
                    "ad.Tensor, such as data): each step now drags the graphs of all earlier "
                    "steps along, and gets slower. Mark data ad.constant(X) or pass plain "
                    "arrays (gradients then come back as arrays), or update with the values: "
                    "w - step_size * ad.value_of(g).",
                    AutodiffWarning,
                    stacklevel=4,
                )
                return
            for parent in node.inputs:
                if isinstance(parent, Tensor) and id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)


def _as_variable(leaf, name, trace):
    """A variable for ``leaf``: the leaf itself if it already is one, else a fresh one."""
    if isinstance(leaf, Tensor) and leaf.requires_grad:
        return leaf  # already a variable of an outer computation: differentiate through it
    value = np.asarray(value_of(leaf))
    if value.dtype.kind not in "biuf":
        what = "complex numbers" if value.dtype.kind == "c" else f"dtype {value.dtype}"
        raise flagged(TypeError(f"{name}: can only differentiate w.r.t. real numbers, got "
                                f"{what}"))  # fmt: skip
    return Tensor.leaf(value, trace)


_traces = itertools.count(1)  # numbers calls of grad/jacobian: leaves of the user's are trace 0


def _like(leaf, derivative):
    """The derivative in the type of the argument: Tensor for Tensors, ndarray otherwise.

    A derivative that depends on variables outside ``f`` (read by ``f`` through a closure)
    stays a Tensor whatever the argument was: an outer differentiation still needs its graph.
    """
    if isinstance(leaf, Tensor) or (isinstance(derivative, Tensor) and derivative.requires_grad):
        return _as_tensor(derivative)
    return value_of(derivative)


def _plain(y):
    """The value of ``y`` as plain numpy (a 0-d result as a numpy scalar)."""
    y = value_of(y)
    if isinstance(y, np.ndarray) and y.ndim == 0:
        return y[()]
    return y


_CONTAINERS = (list, tuple, dict)
_NUMBERS = (int, float, np.number)


def _is_numbers(tree):
    """A non-empty plain list or tuple of plain numbers: one array to a numpy user."""
    return (
        type(tree) in (list, tuple)
        and bool(tree)
        and isinstance(tree[0], _NUMBERS)  # an array first (the common case) answers at once
        and all(isinstance(i, _NUMBERS) for i in tree)
    )


def _flatten(tree):
    """The array leaves of nested lists, tuples and dicts, and a function to rebuild the tree.

    A list or tuple of plain numbers is one array (``grad(f)([1.0, 2.0])`` differentiates
    w.r.t. a vector), not a container of scalars.
    """
    if type(tree) is np.ndarray:  # the common case first
        return [tree], _first
    if isinstance(tree, (list, tuple)):
        if _is_numbers(tree):
            return [np.array(tree, dtype=float)], _first  # numbers: one array
        make = type(tree)._make if hasattr(tree, "_fields") else type(tree)  # namedtuples too
        if not any(isinstance(item, _CONTAINERS) for item in tree):  # flat: the common case
            return list(tree), make
        parts = [_flatten(item) for item in tree]
        counts = [len(leaves) for leaves, _ in parts]

        def rebuild(leaves):
            items, start = [], 0
            for (_, rebuild_item), n in zip(parts, counts, strict=True):
                items.append(rebuild_item(leaves[start : start + n]))
                start += n
            return make(items)

        return [leaf for leaves, _ in parts for leaf in leaves], rebuild
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, rebuild_values = _flatten([tree[k] for k in keys])
        return leaves, lambda new: dict(zip(keys, rebuild_values(new), strict=True))
    return [tree], _first


def _first(leaves):
    return leaves[0]
