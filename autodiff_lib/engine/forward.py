"""Forward mode: Jacobian-vector products, and Hessian-vector products forward-over-reverse.

Reverse mode pulls a cotangent ``u`` back from the output and gets ``uᵀJ``, a row of the
Jacobian per sweep. Forward mode pushes a *tangent* ``v`` from the input to the output and gets
``Jv``, a column per sweep: each node's tangent is the sum, over its inputs, of a
*Jacobian-vector product* (JVP) rule applied to that input's tangent,

    ṫ(node) = Σₖ ∂node/∂inputₖ · ṫ(inputₖ).

A node's tangent needs only its inputs' tangents, which are complete as soon as the inputs
exist: the sweep runs in the order the values were computed, and could run alongside them
(that is why forward mode needs no tape; here it walks the recorded graph, in creation order,
so that it serves the Hessian-vector product below as well).

``JVPS`` is the table of tangent rules, one tuple per primitive, one rule per argument, the
mirror image of the VJPs beside the primitives: ``rule(t, ans, *args, **kwargs)`` returns the
output's tangent contributed by argument k's tangent ``t`` (numpy broadcasting applies). A
primitive without an entry still works: its JVP is derived from its VJP rule, which is
linear in ``g``, so ``J t = ∂/∂g ⟨Jᵀg, t⟩`` is one small reverse sweep over the rule itself
(``derived_jvp``); ``lacking_jvp_rules()`` lists the primitives that go this slower way.

``hvp(f, x, v)`` is forward-over-reverse: record the gradient of ``f`` as a graph
(``diff``), then push ``v`` forward through that graph: ``H v`` for the cost of a few
gradients, without forming the n × n Hessian (``hessian`` needs n cotangents).
"""

from __future__ import annotations

import numpy as np

from . import fused, stable
from . import primitives as ops
from .differentiation import diff, topological_order
from .primitives import _kept_shape
from .registry import Primitive
from .tensor import Tensor, value_of

__all__ = ["JVPS", "derived_jvp", "hvp", "jvp", "lacking_jvp_rules", "all_primitives"]


def _where_positive(x):
    return ops.where(x > 0, x, 1.0)


def _reduced(rule):
    """A reduction's tangent rule: the reduction applied to the tangent, same arguments."""
    return (lambda t, ans, x, *args, **kwargs: rule(t, *args, **kwargs),)


JVPS = {
    ops.add.primitive: (lambda t, ans, x, y: t, lambda t, ans, x, y: t),
    ops.subtract.primitive: (lambda t, ans, x, y: t, lambda t, ans, x, y: -t),
    ops.multiply.primitive: (lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t),
    ops.divide.primitive: (lambda t, ans, x, y: t / y, lambda t, ans, x, y: -t * ans / y),
    ops.negative.primitive: (lambda t, ans, x: -t,),
    ops.power.primitive: (
        lambda t, ans, x, y: t * y * x ** (y - 1),
        lambda t, ans, x, y: t * ans * ops.log(_where_positive(x)),
    ),
    ops.exp.primitive: (lambda t, ans, x: t * ans,),
    ops.expm1.primitive: (lambda t, ans, x: t * (ans + 1),),
    ops.log.primitive: (lambda t, ans, x: t / x,),
    ops.log1p.primitive: (lambda t, ans, x: t / (1 + x),),
    ops.sqrt.primitive: (lambda t, ans, x: t * 0.5 / ans,),
    ops.square.primitive: (lambda t, ans, x: 2 * x * t,),
    ops.tanh.primitive: (lambda t, ans, x: t * ops._sech_squared(x, ans),),  # no cancellation
    ops.sin.primitive: (lambda t, ans, x: t * ops.cos(x),),
    ops.cos.primitive: (lambda t, ans, x: -t * ops.sin(x),),
    ops.sinh.primitive: (lambda t, ans, x: t * ops.cosh(x),),
    ops.cosh.primitive: (lambda t, ans, x: t * ops.sinh(x),),
    ops.abs.primitive: (lambda t, ans, x: t * ops.sign(x),),
    ops.where.primitive: (
        None,
        lambda t, ans, c, x, y: ops.where(c, t, 0.0),
        lambda t, ans, c, x, y: ops.where(c, 0.0, t),
    ),
    ops.sum.primitive: _reduced(ops.sum),
    ops.mean.primitive: _reduced(ops.mean),
    ops.reshape.primitive: (lambda t, ans, x, shape: ops.reshape(t, np.shape(ans)),),
    ops.transpose.primitive: (lambda t, ans, x, axes=None: ops.transpose(t, axes),),
    ops.broadcast_to.primitive: (lambda t, ans, x, shape: ops.broadcast_to(t, shape),),
    ops._getitem.primitive: (lambda t, ans, x, index: ops._getitem(t, index),),
    ops._matmul.primitive: (
        lambda t, ans, a, b: ops._matmul(t, b),
        lambda t, ans, a, b: ops._matmul(a, t),
    ),
    stable.logsumexp.primitive: (
        lambda t, ans, x, axis=None, keepdims=False: ops.sum(
            t * ops.exp(x - ops.reshape(ans, _kept_shape(np.shape(x), axis))),
            axis=axis,
            keepdims=keepdims,
        ),
    ),
    stable.logcosh.primitive: (lambda t, ans, x: t * ops.tanh(x),),
}


def all_primitives():
    """Every primitive the library defines, by name (the modules that define them)."""
    found = {}
    for module in (ops, stable, fused):
        for value in vars(module).values():
            prim = getattr(value, "primitive", None)
            if isinstance(prim, Primitive) and prim.name not in found:
                found[prim.name] = prim
    return found


def lacking_jvp_rules():
    """Names of the differentiable primitives with no entry in ``JVPS`` (their JVP is derived)."""
    return sorted(
        name
        for name, prim in all_primitives().items()
        if prim not in JVPS and (prim.vjps or prim.vjp_argnum is not None)
    )


def derived_jvp(prim, argnum):
    """The tangent rule of ``prim``'s argument ``argnum``, from its VJP: ``J t`` is the
    derivative of ``⟨Jᵀg, t⟩`` with respect to ``g``, since the VJP is linear in ``g``."""
    rule = prim.rule(argnum)
    if rule is None:
        return None

    def tangent(t, ans, *args, **kwargs):
        g = Tensor(np.zeros(np.shape(ans)))
        contribution = rule(g, ans, *args, **kwargs)
        shape = np.shape(args[argnum])
        if contribution.shape != shape:
            contribution = ops.unbroadcast(contribution, shape)
        paired = ops.sum(contribution * t)
        if not (isinstance(paired, Tensor) and paired.requires_grad):
            return np.zeros(np.shape(ans))
        return value_of(diff(paired, g))

    return tangent


def _rule(prim, argnum):
    rules = JVPS.get(prim)
    if rules is not None:
        return rules[argnum] if argnum < len(rules) else None
    return derived_jvp(prim, argnum)


def _forward_sweep(y, seeds):
    """The tangent of ``y``, given the tangents of some of its variables (``seq`` -> tangent)."""
    tangents = dict(seeds)
    for node in topological_order(y):
        if node.seq in tangents or node.primitive is None:
            continue
        total = None
        for argnum, arg in enumerate(node.inputs):
            if isinstance(arg, Tensor) and arg.requires_grad and arg.seq in tangents:
                rule = _rule(node.primitive, argnum)
                if rule is None:
                    continue
                t = rule(tangents[arg.seq], node.value, *node.input_values, **node.kwargs)
                total = t if total is None else total + t
        if total is not None:
            tangents[node.seq] = np.broadcast_to(value_of(total), node.value.shape)
    return tangents.get(y.seq, np.zeros(np.shape(value_of(y))))


def jvp(f, x, v):
    """``(f(x), J v)``: the value of ``f`` at ``x`` and its directional derivative along ``v``.

    One forward sweep, whatever the sizes: a column of the Jacobian, or for a function of
    one input and many outputs all of it. ``x`` and ``v`` are arrays of the same shape.
    """
    x = Tensor(np.array(value_of(x), dtype=np.float64))
    v = np.asarray(value_of(v), dtype=np.float64)
    if v.shape != x.shape:
        raise ValueError(f"jvp: the tangent has shape {v.shape}, x has shape {x.shape}")
    y = f(x)
    if not (isinstance(y, Tensor) and y.requires_grad):  # f does not depend on x
        return value_of(y), np.zeros(np.shape(value_of(y)))
    return y.value, _forward_sweep(y, {x.seq: v})


def hvp(f, x, v):
    """``H v``, the Hessian of scalar ``f`` at ``x`` times ``v``, forward-over-reverse: the
    gradient is recorded as a graph, and ``v`` is pushed forward through it."""
    x = Tensor(np.array(value_of(x), dtype=np.float64))
    v = np.asarray(value_of(v), dtype=np.float64)
    if v.shape != x.shape:
        raise ValueError(f"hvp: the tangent has shape {v.shape}, x has shape {x.shape}")
    y = f(x)
    if np.shape(value_of(y)) != ():
        raise TypeError(f"hvp: f must return a scalar, got shape {np.shape(value_of(y))}")
    gradient = diff(y, x)  # recorded: differentiable again
    if not gradient.requires_grad:  # f is at most linear in x
        return np.zeros(x.shape)
    return _forward_sweep(gradient, {x.seq: v})
