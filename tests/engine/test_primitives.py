"""Every exported primitive against numpy (values) and central differences (derivatives).

Each case is a small function built from one primitive, with inputs chosen so that the shapes
exercise broadcasting, axis handling and vector/matrix promotion: the places where a wrong
reduction in a rule hides from tests on same-shape inputs. For every differentiable argument
we compare the full Jacobian with central differences, and run ``check_grad`` to second order
so that the rules themselves are checked to be differentiable (higher derivatives come from
differentiating the rules).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import pydoc
import re
from typing import NamedTuple

import numpy as np
import pytest
from numeric import central_jacobian

import autodiff_lib as ad

rng = np.random.default_rng(20240611)


def anywhere(*shape):
    """Values in [-1.5, 1.5], away from the kinks of abs and maximum (|x| >= 0.1)."""
    x = rng.uniform(0.1, 1.5, size=shape)
    return x * rng.choice([-1.0, 1.0], size=shape)


def positive(*shape):
    """Values in [0.5, 2]: inside the domains of log, sqrt, power and division."""
    return rng.uniform(0.5, 2.0, size=shape)


def with_zeros(x, places):
    """``x`` with zeros at ``places``: where prod's rule may not divide by x."""
    x = x.copy()
    for place in places:
        x[place] = 0.0
    return x


class Case(NamedTuple):
    name: str
    fun: object  # takes the arguments, written with autodiff_lib functions
    args: tuple  # plain float64 arrays
    reference: object  # the same computation in plain numpy
    wrt: tuple = None  # argument numbers to differentiate (default: all)


MASK = np.array([True, False, True, True])
ROWS = np.array([[True, False, True], [False, True, True]])
CONDITION = np.array(
    [[True, False, False, True], [False, True, True, True], [True, True, False, False]]
)

CASES = [
    # arithmetic, with broadcasting on either side
    Case("add (3,1)+(4,)", ad.add, (anywhere(3, 1), anywhere(4)), np.add),
    Case("add scalar+matrix", ad.add, (anywhere(), anywhere(2, 3)), np.add),
    Case("subtract (2,3,4)-(3,1)", ad.subtract, (anywhere(2, 3, 4), anywhere(3, 1)), np.subtract),
    Case("multiply scalar*matrix", ad.multiply, (anywhere(), anywhere(3, 4)), np.multiply),
    Case("multiply (3,1)*(1,4)", ad.multiply, (anywhere(3, 1), anywhere(1, 4)), np.multiply),
    Case("divide (3,4)/(4,)", ad.divide, (anywhere(3, 4), positive(4)), np.divide),
    Case("divide (4,)/(3,4)", ad.divide, (anywhere(4), positive(3, 4)), np.divide),
    Case("power (3,4)**(4,)", ad.power, (positive(3, 4), anywhere(4)), np.power),
    Case("power x**3", lambda x: x**3, (anywhere(2, 3),), lambda x: x**3),
    Case("power 2**x", lambda x: 2.0**x, (anywhere(2, 3),), lambda x: 2.0**x),
    Case("negative", ad.negative, (anywhere(2, 3),), np.negative),
    Case(
        "operators",
        lambda x, y: (x - y) * x / (y * y + 1) - -x,
        (anywhere(3, 1), anywhere(4)),
        lambda x, y: (x - y) * x / (y * y + 1) + x,
    ),
    # elementwise functions
    Case("exp", ad.exp, (anywhere(2, 3),), np.exp),
    Case("log", ad.log, (positive(2, 3),), np.log),
    Case("tanh", ad.tanh, (anywhere(2, 3),), np.tanh),
    Case("sin", ad.sin, (anywhere(2, 3),), np.sin),
    Case("cos", ad.cos, (anywhere(2, 3),), np.cos),
    Case("cosh", ad.cosh, (anywhere(2, 3),), np.cosh),
    Case("sinh", ad.sinh, (anywhere(2, 3),), np.sinh),
    Case("sqrt", ad.sqrt, (positive(2, 3),), np.sqrt),
    Case("abs", ad.abs, (anywhere(2, 3),), np.abs),
    Case("maximum (3,1) vs (4,)", ad.maximum, (anywhere(3, 1), anywhere(4)), np.maximum),
    Case("minimum (3,1) vs (4,)", ad.minimum, (anywhere(3, 1), anywhere(4)), np.minimum),
    Case("square", ad.square, (anywhere(2, 3),), np.square),
    Case("reciprocal", ad.reciprocal, (anywhere(2, 3),), np.reciprocal),
    Case("log1p", ad.log1p, (positive(2, 3) - 1.4,), np.log1p),
    Case("expm1", ad.expm1, (anywhere(2, 3),), np.expm1),
    Case("tan", ad.tan, (0.8 * anywhere(2, 3),), np.tan),
    Case("logaddexp (3,1) vs (4,)", ad.logaddexp, (anywhere(3, 1), anywhere(4)), np.logaddexp),
    Case(
        "clip to constant bounds",
        lambda x: ad.clip(x, -0.7, 0.9),
        (anywhere(3, 4),),
        lambda x: np.clip(x, -0.7, 0.9),
    ),
    Case(
        "clip (3,4) to bounds (4,) and (3,1)",
        ad.clip,
        (anywhere(3, 4), anywhere(4) - 0.5, anywhere(3, 1) + 0.5),
        np.clip,
    ),
    Case(
        "clip lower only",
        lambda x: ad.clip(x, 0.2),
        (anywhere(5),),
        lambda x: np.clip(x, 0.2, None),
    ),
    Case(
        "where (3,4) cond, (3,1), (4,)",
        lambda x, y: ad.where(CONDITION, x, y),
        (anywhere(3, 1), anywhere(4)),
        lambda x, y: np.where(CONDITION, x, y),
    ),
    # reductions
    Case("sum", ad.sum, (anywhere(2, 3, 4),), np.sum),
    Case(
        "sum axis=1", lambda x: ad.sum(x, axis=1), (anywhere(2, 3, 4),), lambda x: np.sum(x, axis=1)
    ),
    Case(
        "sum axis=-1 keepdims",
        lambda x: ad.sum(x, axis=-1, keepdims=True),
        (anywhere(2, 3, 4),),
        lambda x: np.sum(x, axis=-1, keepdims=True),
    ),
    Case(
        "sum axis=(0,2)",
        lambda x: ad.sum(x, axis=(0, 2)),
        (anywhere(2, 3, 4),),
        lambda x: np.sum(x, axis=(0, 2)),
    ),
    Case(
        "sum axis=(2,0) keepdims",
        lambda x: ad.sum(x, axis=(2, 0), keepdims=True),
        (anywhere(2, 3, 4),),
        lambda x: np.sum(x, axis=(2, 0), keepdims=True),
    ),
    Case("mean", ad.mean, (anywhere(2, 3, 4),), np.mean),
    Case(
        "mean axis=(0,-1)",
        lambda x: ad.mean(x, axis=(0, -1)),
        (anywhere(2, 3, 4),),
        lambda x: np.mean(x, axis=(0, -1)),
    ),
    Case(
        "mean axis=1 keepdims",
        lambda x: ad.mean(x, axis=1, keepdims=True),
        (anywhere(2, 3, 4),),
        lambda x: np.mean(x, axis=1, keepdims=True),
    ),
    Case("max", ad.max, (anywhere(2, 3, 4),), np.max),
    Case(
        "max axis=1 keepdims",
        lambda x: ad.max(x, axis=1, keepdims=True),
        (anywhere(2, 3, 4),),
        lambda x: np.max(x, axis=1, keepdims=True),
    ),
    Case(
        "min axis=(0,2)",
        lambda x: ad.min(x, (0, 2)),
        (anywhere(2, 3, 4),),
        lambda x: np.min(x, (0, 2)),
    ),
    Case("prod", ad.prod, (anywhere(2, 3),), np.prod),
    Case(
        "prod axis=0 keepdims",
        lambda x: ad.prod(x, axis=0, keepdims=True),
        (anywhere(3, 4),),
        lambda x: np.prod(x, axis=0, keepdims=True),
    ),
    Case(
        "prod axis=(0,2), with zeros",
        lambda x: ad.prod(x, axis=(0, 2)),
        (with_zeros(anywhere(2, 3, 2), [(1, 1, 0), (0, 2, 1), (1, 2, 0)]),),
        lambda x: np.prod(x, axis=(0, 2)),
    ),
    Case("prod of a vector with a zero", ad.prod, (np.array([0.7, 0.0, -1.3, 0.4]),), np.prod),
    Case("var", ad.var, (anywhere(2, 3, 4),), np.var),
    Case(
        "var axis=-1 ddof=1 keepdims",
        lambda x: ad.var(x, axis=-1, ddof=1, keepdims=True),
        (anywhere(2, 3, 4),),
        lambda x: np.var(x, axis=-1, ddof=1, keepdims=True),
    ),
    Case("std", ad.std, (anywhere(3, 4),), np.std),
    Case(
        "std axis=0 ddof=1",
        lambda x: ad.std(x, axis=0, ddof=1),
        (anywhere(3, 4),),
        lambda x: np.std(x, axis=0, ddof=1),
    ),
    Case(
        "Tensor.max / min / prod / var / std",
        lambda x: (
            x.max(axis=0)
            + x.min(axis=1, keepdims=True)
            + x.prod(axis=1, keepdims=True)
            + x.var(axis=0) * x.std(ddof=1)
        ),
        (anywhere(3, 4),),
        lambda x: (
            x.max(axis=0)
            + x.min(axis=1, keepdims=True)
            + x.prod(axis=1, keepdims=True)
            + x.var(axis=0) * x.std(ddof=1)
        ),
    ),
    Case(
        "Tensor.sum / Tensor.mean",
        lambda x: x.sum(axis=0) * x.mean(axis=1, keepdims=True),
        (anywhere(3, 4),),
        lambda x: x.sum(axis=0) * x.mean(axis=1, keepdims=True),
    ),
    # shapes
    Case(
        "reshape (2,3,4)->(4,6)",
        lambda x: ad.reshape(x, (4, 6)),
        (anywhere(2, 3, 4),),
        lambda x: np.reshape(x, (4, 6)),
    ),
    Case("Tensor.reshape(-1)", lambda x: x.reshape(-1), (anywhere(2, 3),), lambda x: x.reshape(-1)),
    Case("transpose", ad.transpose, (anywhere(2, 3, 4),), np.transpose),
    Case(
        "transpose axes=(1,-1,0)",
        lambda x: ad.transpose(x, (1, -1, 0)),
        (anywhere(2, 3, 4),),
        lambda x: np.transpose(x, (1, -1, 0)),
    ),
    Case(".T", lambda x: x.T, (anywhere(2, 3),), lambda x: x.T),
    Case("ravel", ad.ravel, (anywhere(2, 3, 4),), np.ravel),
    Case(
        "Tensor.ravel / flatten / squeeze",
        lambda x: x.ravel() + x.flatten() * x.squeeze().ravel(),
        (anywhere(2, 1, 3),),
        lambda x: x.ravel() + x.flatten() * x.squeeze().ravel(),
    ),
    Case("squeeze", ad.squeeze, (anywhere(2, 1, 3, 1),), np.squeeze),
    Case(
        "squeeze axis=-1",
        lambda x: ad.squeeze(x, axis=-1),
        (anywhere(1, 3, 1),),
        lambda x: np.squeeze(x, axis=-1),
    ),
    Case(
        "expand_dims axis=(0,2)",
        lambda x: ad.expand_dims(x, (0, 2)),
        (anywhere(2, 3),),
        lambda x: np.expand_dims(x, (0, 2)),
    ),
    Case(
        "expand_dims axis=-1",
        lambda x: ad.expand_dims(x, -1),
        (anywhere(2, 3),),
        lambda x: np.expand_dims(x, -1),
    ),
    Case(
        "broadcast_to (3,1)->(2,3,4)",
        lambda x: ad.broadcast_to(x, (2, 3, 4)),
        (anywhere(3, 1),),
        lambda x: np.broadcast_to(x, (2, 3, 4)),
    ),
    # indexing
    Case("getitem slices", lambda x: x[1:, ::2], (anywhere(3, 4),), lambda x: x[1:, ::2]),
    Case("getitem integer", lambda x: x[-1], (anywhere(3, 4),), lambda x: x[-1]),
    Case("getitem ellipsis", lambda x: x[..., 0], (anywhere(2, 3, 4),), lambda x: x[..., 0]),
    Case("getitem newaxis", lambda x: x[None, 1], (anywhere(3, 4),), lambda x: x[None, 1]),
    Case(
        "getitem repeats", lambda x: x[[0, 0, 2, 0]], (anywhere(3, 4),), lambda x: x[[0, 0, 2, 0]]
    ),
    Case(
        "getitem repeats in columns",
        lambda x: x[1:, [3, 1, 3]],
        (anywhere(3, 4),),
        lambda x: x[1:, [3, 1, 3]],
    ),
    Case(
        "getitem int and array",
        lambda x: x[[2, 0, 2], 1],
        (anywhere(3, 4),),
        lambda x: x[[2, 0, 2], 1],
    ),
    Case(
        "getitem two arrays",
        lambda x: x[[0, 1, 1], [2, 0, 2]],
        (anywhere(3, 4),),
        lambda x: x[[0, 1, 1], [2, 0, 2]],
    ),
    Case("getitem boolean mask", lambda x: x[:, MASK], (anywhere(3, 4),), lambda x: x[:, MASK]),
    Case("getitem 2-d boolean mask", lambda x: x[ROWS], (anywhere(2, 3),), lambda x: x[ROWS]),
    Case(
        "getitem array, slice, int (non-adjacent: grad only)",
        lambda x: ad.sum(x[[1, 0, 1], :, 2] ** 2),
        (anywhere(2, 3, 4),),
        lambda x: np.sum(x[[1, 0, 1], :, 2] ** 2),
    ),
    # joining
    Case(
        "stack axis=0",
        lambda a, b, c: ad.stack([a, b, c]),
        (anywhere(2, 3), anywhere(2, 3), anywhere(2, 3)),
        lambda *xs: np.stack(xs),
    ),
    Case(
        "stack axis=1",
        lambda a, b: ad.stack([a, b], axis=1),
        (anywhere(2, 3), anywhere(2, 3)),
        lambda *xs: np.stack(xs, axis=1),
    ),
    Case(
        "stack axis=-1, one input twice",
        lambda a, b: ad.stack([a, b, a], axis=-1),
        (anywhere(2, 3), anywhere(2, 3)),
        lambda a, b: np.stack([a, b, a], axis=-1),
    ),
    Case(
        "stack nested lists, like np.array",
        lambda a, b: ad.stack([[a, b, 1.5], [b * b, a, b]]),
        (anywhere(), anywhere()),
        lambda a, b: np.array([[a, b, 1.5], [b * b, a, b]]),
    ),
    Case(
        "stack rows given as a list and a vector",
        lambda a, v: ad.stack([[a, 2.0 * a], v]),
        (anywhere(), anywhere(2)),
        lambda a, v: np.array([[a, 2.0 * a], v]),
    ),
    Case(
        "concatenate axis=0",
        lambda a, b, c: ad.concatenate([a, b, c]),
        (anywhere(2, 3), anywhere(1, 3), anywhere(4, 3)),
        lambda *xs: np.concatenate(xs),
    ),
    Case(
        "concatenate axis=-1",
        lambda a, b: ad.concatenate([a, b], axis=-1),
        (anywhere(2, 3), anywhere(2, 1)),
        lambda *xs: np.concatenate(xs, axis=-1),
    ),
    # linear algebra
    Case("matmul matrix@matrix", ad.matmul, (anywhere(3, 4), anywhere(4, 2)), np.matmul),
    Case("matmul vector@matrix", ad.matmul, (anywhere(4), anywhere(4, 2)), np.matmul),
    Case("matmul matrix@vector", ad.matmul, (anywhere(3, 4), anywhere(4)), np.matmul),
    Case("matmul vector@vector", ad.matmul, (anywhere(4), anywhere(4)), np.matmul),
    Case("matmul stack@matrix", ad.matmul, (anywhere(2, 3, 4), anywhere(4, 2)), np.matmul),
    Case("matmul matrix@stack", ad.matmul, (anywhere(3, 4), anywhere(2, 4, 2)), np.matmul),
    Case("matmul vector@stack", ad.matmul, (anywhere(4), anywhere(2, 4, 3)), np.matmul),
    Case(
        "matmul broadcast stacks (2,1,3,4)@(3,4,2)",
        ad.matmul,
        (anywhere(2, 1, 3, 4), anywhere(3, 4, 2)),
        np.matmul,
    ),
    Case("@ operator", lambda a, b: a @ b, (anywhere(3, 4), anywhere(4, 2)), np.matmul),
    Case("dot vector.vector", ad.dot, (anywhere(4), anywhere(4)), np.dot),
    Case("dot matrix.vector", ad.dot, (anywhere(3, 4), anywhere(4)), np.dot),
    Case("dot matrix.matrix", ad.dot, (anywhere(3, 4), anywhere(4, 2)), np.dot),
    Case("dot scalar.vector", ad.dot, (anywhere(), anywhere(3)), np.dot),
    Case("outer", ad.outer, (anywhere(3), anywhere(4)), np.outer),
    Case("outer flattens", ad.outer, (anywhere(2, 2), anywhere(3)), np.outer),
    Case("trace", ad.trace, (anywhere(3, 3),), np.trace),
    Case(
        "trace offset=1 of (3,4)",
        lambda x: ad.trace(x, 1),
        (anywhere(3, 4),),
        lambda x: np.trace(x, 1),
    ),
    Case(
        "trace offset=-1 axis1=2 axis2=0",
        lambda x: ad.trace(x, -1, 2, 0),
        (anywhere(3, 2, 4),),
        lambda x: np.trace(x, -1, 2, 0),
    ),
    Case("diag of a vector", ad.diag, (anywhere(3),), np.diag),
    Case("diag k=1 of a vector", lambda v: ad.diag(v, 1), (anywhere(3),), lambda v: np.diag(v, 1)),
    Case("diag of a matrix", ad.diag, (anywhere(3, 4),), np.diag),
    Case(
        "diag k=-1 of a matrix",
        lambda x: ad.diag(x, -1),
        (anywhere(3, 4),),
        lambda x: np.diag(x, -1),
    ),
    Case(
        "diagonal offset=1 axis1=0 axis2=2",
        lambda x: ad.diagonal(x, 1, 0, 2),
        (anywhere(3, 2, 4),),
        lambda x: np.diagonal(x, 1, 0, 2),
    ),
    Case(
        "matvec (3,4) x (4,)",
        ad.matvec,
        (anywhere(3, 4), anywhere(4)),
        lambda a, x: a @ x,
        wrt=(1,),
    ),
    Case(
        "matvec (3,4) x (5,4)",
        ad.matvec,
        (anywhere(3, 4), anywhere(5, 4)),
        lambda a, x: x @ a.T,
        wrt=(1,),
    ),
]


def differentiable_args(case):
    if case.wrt is not None:
        return case.wrt
    return tuple(range(len(case.args)))


PAIRS = [(case, n) for case in CASES for n in differentiable_args(case)]


def ids(x):
    return x.name if isinstance(x, Case) else f"arg{x}"


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_values_equal_numpy(case):
    """On Tensors, on constants and on plain arrays, the values are numpy's."""
    expected = case.reference(*case.args)
    wrt = differentiable_args(case)
    on_tensors = case.fun(*[ad.Tensor(a) if n in wrt else a for n, a in enumerate(case.args)])
    assert isinstance(on_tensors, ad.Tensor)
    assert on_tensors.requires_grad
    np.testing.assert_allclose(on_tensors.value, expected, rtol=1e-13, atol=1e-13)
    on_constants = case.fun(*[ad.constant(a) for a in case.args])
    assert not on_constants.requires_grad
    np.testing.assert_allclose(on_constants.value, expected, rtol=1e-13, atol=1e-13)
    plain = case.fun(*case.args)
    assert not isinstance(plain, ad.Tensor)  # plain arrays in, plain numpy out
    np.testing.assert_allclose(plain, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("case, argnum", PAIRS, ids=ids)
def test_jacobian_matches_central_differences(case, argnum):
    """The whole Jacobian w.r.t. each argument, shape ``f.shape + x.shape``."""
    numeric = central_jacobian(case.fun, case.args, argnum)
    exact = ad.jacobian(case.fun, argnum)(*case.args)
    assert exact.shape == numeric.shape
    np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case, argnum", PAIRS, ids=ids)
def test_second_order_check_grad(case, argnum):
    """check_grad to order 2: the rules, differentiated again, match central differences."""

    def of_one(x):
        args = list(case.args)
        args[argnum] = x
        return case.fun(*args)

    of_one.__name__ = case.name
    report = ad.check_grad(of_one, case.args[argnum], order=2, rtol=1e-5, atol=1e-6)
    assert report.order == 2
    assert report.max_rel_error < 1e-4


def test_sign_has_zero_derivative():
    """sign is piecewise constant: d/dx (sign(x)·x) = sign(x), no contribution from sign."""
    x = anywhere(5)
    np.testing.assert_array_equal(ad.grad(lambda x: ad.sum(ad.sign(x) * x))(x), np.sign(x))
    np.testing.assert_array_equal(ad.jacobian(ad.sign)(x), np.zeros((5, 5)))


def test_maximum_splits_ties_evenly():
    """At a tie maximum(x, y) is not differentiable; the rule gives each side half."""
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 5.0, 0.0])
    gx, gy = ad.grad(lambda x, y: ad.sum(ad.maximum(x, y)), argnum=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.5, 1.0, 0.0])


@pytest.mark.parametrize(
    "index",
    [([0, 1], slice(None), 2), (0, slice(None), [1, 2])],
    ids=["array,:,int", "int,:,array"],
)
def test_separated_advanced_indices_refuse_batched_differentials(index):
    """numpy moves the axes of integer arrays and integers separated by a slice to the front.

    With the batch axes of jacobian/diff prefixed to the index, that move would put the
    derivatives in the wrong place (silently when the shapes happen to fit, as here for the
    first index), so the engine refuses clearly; grad (no batch axes) works, see the cases.
    """
    x = anywhere(2, 2, 3)
    with pytest.raises(NotImplementedError, match="separated by slices"):
        ad.jacobian(lambda x: x[index])(x)


# fmt: off
PRIMITIVES = [
    "add", "subtract", "multiply", "divide", "power", "negative", "exp", "log", "tanh", "sin",
    "cos", "cosh", "sinh", "sqrt", "abs", "maximum", "where", "sum", "mean", "matmul", "dot",
    "reshape", "transpose", "broadcast_to", "getitem", "stack", "concatenate", "matvec",
    "minimum", "square", "reciprocal", "log1p", "expm1", "tan", "logaddexp", "max", "min",
    "prod", "var",
]
# written with the primitives above (their rules follow): checked by case name
COMPOSITIONS = [
    "mean", "dot", "clip", "std", "ravel", "squeeze", "expand_dims", "outer", "diagonal",
    "trace", "diag",
]
# fmt: on


def test_every_exported_primitive_has_a_case():
    """The cases above record every primitive of the issue's list in their graphs.

    ``mean`` and ``dot`` may be written as compositions of other primitives, so they are
    checked by case name; ``sign`` has no rule and records nothing (see its own test).
    """
    assert all(callable(getattr(ad, name)) for name in PRIMITIVES + COMPOSITIONS + ["sign"])
    seen = set()
    for case in CASES:
        wrt = differentiable_args(case)
        y = case.fun(*[ad.Tensor(a) if n in wrt else a for n, a in enumerate(case.args)])
        seen |= {node.primitive.name for node in ad.topological_order(y) if node.primitive}
    assert set(COMPOSITIONS) <= {case.name.split()[0] for case in CASES}
    expected = set(PRIMITIVES) - set(COMPOSITIONS)
    assert expected <= seen, f"no case records {sorted(expected - seen)}"


def test_the_package_docstring_lists_every_primitive():
    """The package docstring is the index of primitives: each one is named there."""
    listed = set(re.findall(r"\w+", ad.__doc__))
    missing = [name for name in PRIMITIVES + COMPOSITIONS + ["sign"] if name not in listed]
    assert not missing, f"autodiff_lib's docstring does not list {missing}"


def test_max_and_min_share_ties_like_maximum():
    """max and min at a tie give each of the k tied entries 1/k, as maximum gives each ½."""
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(ad.grad(ad.max)(x), [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]])
    rows = ad.grad(lambda x: ad.sum(ad.max(x, axis=1)))(x)
    np.testing.assert_allclose(rows, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)
    np.testing.assert_array_equal(ad.grad(ad.min)(-x), [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]])
    a, b = np.array(2.0), np.array(2.0)
    pair = ad.grad(lambda a, b: ad.max(ad.stack([a, b])), argnum=(0, 1))(a, b)
    assert pair == tuple(ad.grad(ad.maximum, argnum=(0, 1))(a, b)) == (0.5, 0.5)
    pair = ad.grad(lambda a, b: ad.min(ad.stack([a, b])), argnum=(0, 1))(a, b)
    assert pair == tuple(ad.grad(ad.minimum, argnum=(0, 1))(a, b)) == (0.5, 0.5)


def test_clip_shares_ties_at_its_bounds():
    """clip is minimum(maximum(x, lower), upper): on a bound, x and the bound share."""
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(
        ad.grad(lambda x: ad.sum(ad.clip(x, -1.0, 1.0)))(x), [0.0, 0.5, 1.0, 0.5, 0.0]
    )
    lower = ad.grad(lambda lo: ad.sum(ad.clip(x, lo, 1.0)))(np.array(-1.0))
    assert lower == 1.5  # all of x = -2, half of x = -1


def product_of_the_others(x, skip):
    """∏ of x without the entries at the positions in ``skip``."""
    return np.prod(np.delete(x, list(skip)))


@pytest.mark.parametrize(
    "x", [[0.7, -1.3, 2.0, 0.5], [0.7, 0.0, 2.0, 0.5], [0.0, -1.3, 0.0, 0.5], [0.0, 0.0, 0.0, 2.0]]
)
def test_prod_gradient_and_hessian_with_zeros(x):
    """∂ prod/∂xᵢ = ∏_{j≠i} xⱼ and ∂² prod/∂xᵢ∂xⱼ = ∏_{k≠i,j} xₖ, also where x has zeros
    (where prod/xᵢ would be 0/0)."""
    x = np.array(x)
    n = len(x)
    gradient = [product_of_the_others(x, [i]) for i in range(n)]
    hessian = [
        [product_of_the_others(x, [i, j]) if i != j else 0.0 for j in range(n)] for i in range(n)
    ]
    np.testing.assert_allclose(ad.grad(ad.prod)(x), gradient, rtol=1e-14)
    np.testing.assert_allclose(ad.hessian(ad.prod)(x), hessian, rtol=1e-14, atol=1e-14)
    t = ad.Tensor(x)
    np.testing.assert_allclose(ad.diff(ad.diff(ad.prod(t), t), t).value, hessian, atol=1e-14)


def test_var_hessian_is_centring_over_n_minus_ddof():
    """var(x) = Σ(xᵢ − x̄)²/(n − ddof): its Hessian is 2 (I − 1/n)/(n − ddof)."""
    x = anywhere(5)
    for ddof in (0, 1):
        H = ad.hessian(ad.var)(x, ddof=ddof)
        np.testing.assert_allclose(H, 2 * (np.eye(5) - 1 / 5) / (5 - ddof), atol=1e-15)


def test_stack_refuses_tensors_of_different_shapes():
    """Like np.array, stack needs rows of one length; the error names stack and the shapes."""
    with pytest.raises(ValueError, match=r"stack:.*shape \(2,\)"):
        ad.stack([[ad.Tensor(1.0), 2.0], ad.Tensor([1.0, 2.0, 3.0])])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: ad.squeeze(x, 0), r"^squeeze: axis 0 of shape \(2, 3\) is not of length 1"),
        (lambda x: ad.squeeze(x, 2), r"^squeeze: axis 2 is out of bounds"),
        (lambda x: ad.expand_dims(x, 3), r"^expand_dims: axis 3 is out of bounds"),
        (lambda x: ad.expand_dims(x, (0, -4)), r"^expand_dims: axis \(0, -4\) names an axis twice"),
        (lambda x: ad.trace(x[0]), r"^trace: needs at least two axes, got shape \(3,\)"),
        (lambda x: ad.diagonal(x, 0, 1, -1), r"^diagonal: axis \(1, -1\) names an axis twice"),
        (lambda x: ad.diag(x[None]), r"^diag: input must be 1-d or 2-d, got shape \(1, 2, 3\)"),
        (lambda x: ad.log1p(x - 3.0), r"^log1p: input must be at least -1"),
        (lambda x: ad.max(x, axis=2), r"^max: axis 2 is out of bounds.*\(2, 3\)"),
        (lambda x: ad.stack([[x[0, 0], 1.0], x[0]]), r"^stack: .*shape \(3,\)"),
    ],
)
def test_new_functions_refuse_what_numpy_refuses_naming_the_call(call, message):
    """An axis out of range or given twice is refused (an axis taken modulo the number of
    axes would be a silent wrong answer); each message names the function that was called."""
    with pytest.raises(ValueError, match=message):
        call(ad.Tensor(np.ones((2, 3))))


def test_new_functions_stack_lists_that_hold_variables():
    """A list handed to trace, diag, outer, ravel, ... is stacked like np.array: the variables
    in it keep their derivatives (d/da tr [[a, 2a], [3, a²]] = 1 + 2a)."""
    assert ad.grad(lambda a: ad.trace([[a, 2 * a], [3.0, a * a]]))(1.5) == 4.0
    assert ad.grad(lambda a: ad.sum(ad.outer([a, 1.0], [2.0, a])))(1.5) == 6.0
    np.testing.assert_array_equal(ad.jacobian(lambda a: ad.ravel([[a], [a * a]]))(3.0), [1, 6])
    np.testing.assert_array_equal(ad.jacobian(lambda a: ad.diag([a, a * a]))(3.0), [[1, 0], [0, 6]])


# numpy's own functions on a Tensor call the library's (autodiff_lib/engine/interop.py)
NUMPY_CALLS = {
    "np.square": (lambda x: np.square(x), ad.square),
    "np.reciprocal": (lambda x: np.reciprocal(x), ad.reciprocal),
    "np.log1p": (lambda x: np.log1p(x * x), lambda x: ad.log1p(x * x)),
    "np.expm1": (lambda x: np.expm1(x), ad.expm1),
    "np.tan": (lambda x: np.tan(x), ad.tan),
    "np.logaddexp": (lambda x: np.logaddexp(x, 0.3), lambda x: ad.logaddexp(x, 0.3)),
    "np.minimum": (lambda x: np.minimum(0.3, x), lambda x: ad.minimum(0.3, x)),
    "np.clip": (lambda x: np.clip(x, -0.5, 0.5), lambda x: ad.clip(x, -0.5, 0.5)),
    "np.clip min=": (lambda x: np.clip(x, min=-0.5), lambda x: ad.clip(x, -0.5)),
    "np.max": (lambda x: np.max(x, axis=0), lambda x: ad.max(x, axis=0)),
    "np.amax": (lambda x: np.amax(x), ad.max),
    "np.min": (lambda x: np.min(x, axis=1), lambda x: ad.min(x, axis=1)),
    "np.amin": (lambda x: np.amin(x), ad.min),
    "np.prod": (lambda x: np.prod(x, axis=1), lambda x: ad.prod(x, axis=1)),
    "np.var": (lambda x: np.var(x, ddof=1), lambda x: ad.var(x, ddof=1)),
    "np.std": (lambda x: np.std(x, axis=0), lambda x: ad.std(x, axis=0)),
    "np.ravel": (lambda x: np.ravel(x), ad.ravel),
    "np.squeeze": (lambda x: np.squeeze(x[:1]), lambda x: ad.squeeze(x[:1])),
    "np.expand_dims": (lambda x: np.expand_dims(x, 1), lambda x: ad.expand_dims(x, 1)),
    "np.outer": (lambda x: np.outer(x, x[0]), lambda x: ad.outer(x, x[0])),
    "np.trace": (lambda x: np.trace(x), ad.trace),
    "np.diag": (lambda x: np.diag(x, 1), lambda x: ad.diag(x, 1)),
    "np.diagonal": (lambda x: np.diagonal(x), ad.diagonal),
}


@pytest.mark.parametrize("name", NUMPY_CALLS)
def test_numpy_functions_on_a_tensor_call_the_library(name):
    numpy_call, library_call = NUMPY_CALLS[name]
    x = anywhere(3, 4)
    y = numpy_call(ad.Tensor(x))
    assert isinstance(y, ad.Tensor) and y.requires_grad
    np.testing.assert_allclose(y.value, numpy_call(x), rtol=1e-15)
    expected = ad.grad(lambda x: ad.sum(library_call(x) ** 2))(x)
    np.testing.assert_allclose(ad.grad(lambda x: ad.sum(numpy_call(x) ** 2))(x), expected)


def public_functions():
    """(qualified name, object) for every public function and class of autodiff_lib."""

    found = {}
    for info in pkgutil.iter_modules(ad.__path__):
        module = importlib.import_module(f"autodiff_lib.{info.name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or not callable(obj):
                continue
            if getattr(obj, "__module__", None) == module.__name__:
                found[f"{module.__name__}.{name}"] = obj
    for name in dir(ad):
        obj = getattr(ad, name)
        if not name.startswith("_") and callable(obj):
            found.setdefault(f"autodiff_lib.{name}", obj)
    for qualified, cls in list(found.items()):
        if inspect.isclass(cls) and cls.__module__.startswith("autodiff_lib"):
            for name, method in vars(cls).items():
                if not name.startswith("_") and inspect.isfunction(method):
                    found[f"{qualified}.{name}"] = method
    return found


def test_every_public_function_has_its_own_docstring():
    """help(ad.tanh) shows the library's docstring, never numpy's (which describes out=,
    where=, ... that the wrapper does not take); every primitive states its rule in math."""
    for qualified, obj in public_functions().items():
        doc = inspect.getdoc(obj)
        assert doc, f"{qualified} has no docstring"
        name = qualified.rsplit(".", 1)[1]
        numpy_twin = getattr(np, name, None)
        if numpy_twin is not None:
            assert doc != inspect.getdoc(numpy_twin), f"{qualified} shows numpy's docstring"
    for name in ad.engine.primitives.__all__ + ["matvec"]:
        doc = inspect.getdoc(getattr(ad, name))
        summary = doc.split("\n\n")[0]
        assert len(summary.splitlines()) <= 2, f"{name}: more than two lines before the rule"
        if name != "unbroadcast":  # the engine's helper, not a function to differentiate
            assert "Rule:" in doc, f"ad.{name}'s docstring does not give its derivative rule"
    shown = pydoc.render_doc(ad.tanh, renderer=pydoc.plaintext)
    assert "tanh(x)" in shown and "Rule: d/dx tanh x" in shown
    assert "ufunc" not in shown and "out=" not in shown and "numpy" not in shown, shown
