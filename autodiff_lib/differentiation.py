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

import contextlib
import itertools
import math
from dataclasses import dataclass
from heapq import heappop, heappush

import numpy as np

from .primitives import unbroadcast
from .registry import flagged
from .tensor import Tensor, value_of

__all__ = [
    "diff", "grad", "value_and_grad", "jacobian", "hessian",
    "differential_cache", "count_operations", "OperationCounts", "topological_order",
]  # fmt: skip


# -- counting what the engine does ----------------------------------------------------------------
@dataclass
class OperationCounts:
    """Work done by backward sweeps: rules evaluated and graph nodes visited."""

    rule_evaluations: int = 0
    nodes_visited: int = 0


_active_counters: list[OperationCounts] = []


@contextlib.contextmanager
def count_operations():
    """Count the work of every backward sweep inside the ``with`` block.

    >>> with count_operations() as ops:
    ...     g = grad(f)(x)
    >>> ops.rule_evaluations
    """
    counts = OperationCounts()
    _active_counters.append(counts)
    try:
        yield counts
    finally:
        _active_counters.remove(counts)


def _record_counts(rules, nodes):
    for counts in _active_counters:
        counts.rule_evaluations += rules
        counts.nodes_visited += nodes


# -- the switch between backpropagation and the textbook chain rule -------------------------------
_use_cache = [True]


@contextlib.contextmanager
def differential_cache(enabled: bool):
    """Turn the differential cache on (backpropagation) or off (the textbook recursion)."""
    previous = _use_cache[0]
    _use_cache[0] = bool(enabled)
    try:
        yield
    finally:
        _use_cache[0] = previous


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
        batch_shape = g.shape[: g.ndim - node.value.ndim]
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
    """The differentials of ``y`` w.r.t. ``targets``, each of shape ``batch + target.shape``."""
    if batch_shape:
        seed = np.eye(math.prod(batch_shape)).reshape(batch_shape + batch_shape)
    else:
        seed = np.ones(())
    if isinstance(y, Tensor) and y.requires_grad:
        sweep = _backpropagate if _use_cache[0] else _textbook_chain_rule
        found = sweep(y, targets, seed, record)
    else:
        found = {}
    return [found[t.seq] if t.seq in found else np.zeros(batch_shape + t.shape) for t in targets]


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
    shape = np.shape(value_of(y))
    results = [_as_tensor(d) for d in _sweep(y, xs, shape, record=True)]
    return results if isinstance(x, (list, tuple)) else results[0]


def _as_tensor(d):
    return d if isinstance(d, Tensor) else Tensor(d, requires_grad=False)


def value_and_grad(f, argnum=0):
    """A function returning ``(f(*args), gradient of f w.r.t. args[argnum])`` for scalar ``f``.

    ``argnum`` may be a tuple (a tuple of gradients comes back); an argument may be a list,
    tuple or dict of arrays (the gradient has the same structure). Plain arrays in, plain
    arrays out; Tensors in, differentiable Tensors out. If ``f`` reads variables made outside
    it (``Tensor(data)``), the gradient is recorded so that it can be differentiated w.r.t.
    them later: mark data ``constant(data)`` (or pass plain arrays) in a training loop, or each
    step's graph hangs on to the previous one.
    """

    def value_and_grad_f(*args, **kwargs):
        return _differentiate(f, argnum, args, kwargs, "grad", scalar=True)

    value_and_grad_f.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return value_and_grad_f


def grad(f, argnum=0):
    """The gradient of scalar ``f`` w.r.t. ``args[argnum]``, as a function (see value_and_grad)."""

    def grad_f(*args, **kwargs):
        return _differentiate(f, argnum, args, kwargs, "grad", scalar=True)[1]

    grad_f.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return grad_f


def jacobian(f, argnum=0):
    """The Jacobian of ``f`` w.r.t. ``args[argnum]``: shape ``f(x).shape + x.shape``."""

    def jacobian_f(*args, **kwargs):
        return _differentiate(f, argnum, args, kwargs, "jacobian", scalar=False)[1]

    jacobian_f.__name__ = f"jacobian({getattr(f, '__name__', 'f')})"
    return jacobian_f


def hessian(f, argnum=0):
    """The Hessian of scalar ``f``: the Jacobian of its gradient, shape ``x.shape + x.shape``."""
    return jacobian(jacobian(f, argnum), argnum)


def _differentiate(f, argnum, args, kwargs, name, scalar):
    """Call ``f`` on fresh variables for the differentiated arguments and sweep back."""
    argnums = argnum if isinstance(argnum, tuple) else (argnum,)
    args = list(args)
    trace = next(_traces)
    leaves_per_arg, variables = [], []
    for n in argnums:
        if n >= len(args):
            raise flagged(TypeError(f"{name}: argnum {n} but only {len(args)} arguments given"))
        leaves, rebuild = _flatten(args[n])
        fresh = [_as_variable(leaf, name, trace) for leaf in leaves]
        args[n] = rebuild(fresh)
        leaves_per_arg.append((leaves, rebuild))
        variables += fresh
    outer_variables = any(v.trace != trace for v in variables)  # passed in already variables
    y = f(*args, **kwargs)
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
    derivatives = iter(_sweep(y, variables, y_shape, record))
    results = []
    for leaves, rebuild in leaves_per_arg:
        results.append(rebuild([_like(leaf, next(derivatives)) for leaf in leaves]))
    value = y if record else _plain(y)
    return value, (tuple(results) if isinstance(argnum, tuple) else results[0])


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


def _flatten(tree):
    """The array leaves of nested lists, tuples and dicts, and a function to rebuild the tree."""
    if isinstance(tree, (list, tuple)):
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
    return [tree], lambda leaves: leaves[0]
