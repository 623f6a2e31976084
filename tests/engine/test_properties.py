"""Property tests: random expression graphs, differentiated by autodiff_lib and by HIPS autograd.

Hypothesis draws a small program: leaves (the variables x and y, and constants) whose shapes
broadcast against each other, then a few steps, each applying a random operation to earlier
nodes. Operands are drawn from *all* earlier nodes and the output adds up every step, so
subexpressions are shared and reused: the graphs where a wrong accumulation of differentials
or a missing ``unbroadcast`` shows. The same Python code evaluates the program with
``autodiff_lib`` and with ``autograd.numpy``; grad, jacobian and hessian must agree, and grad
must agree with central differences. Domains are kept safe by construction (log(z²+1),
sqrt(z²+1), division by z²+1, powers of z²+1), and programs whose values grow large are
discarded so that finite differences stay accurate.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from numeric import central_jacobian
from random_programs import evaluate, inputs, programs, scalar, scale_of, well_scaled

import autodiff_lib as ad

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.filterwarnings("ignore:Output seems independent of input")  # y may be unused
@SETTINGS
@given(programs())
def test_grad_agrees_with_autograd_and_central_differences(program):
    """grad w.r.t. both variables (argnum as a tuple) on a random graph with sharing."""
    assume(well_scaled(program))
    x, y = inputs(program)
    gx, gy = ad.grad(lambda x, y: scalar(ad, program, x, y), argnum=(0, 1))(x, y)
    assert gx.shape == x.shape and gy.shape == y.shape
    for argnum, ours in [(0, gx), (1, gy)]:
        reference = autograd.grad(lambda x, y: scalar(anp, program, x, y), argnum)(x, y)
        tol = 1e-10 * scale_of(reference)
        np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=tol)
        numeric = central_jacobian(lambda x, y: scalar(np, program, x, y), (x, y), argnum)
        tol = 1e-5 * scale_of(numeric)
        np.testing.assert_allclose(ours, numeric, rtol=1e-5, atol=tol)


@SETTINGS
@given(programs())
def test_jacobian_agrees_with_autograd(program):
    """The Jacobian of the (non-scalar) sum of all steps, shape ``out.shape + x.shape``."""
    assume(well_scaled(program))
    x, y = inputs(program)
    ours = ad.jacobian(lambda x: evaluate(ad, program, x, y))(x)
    reference = autograd.jacobian(lambda x: evaluate(anp, program, x, y))(x)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-10 * scale_of(reference))


@SETTINGS
@given(programs())
def test_hessian_agrees_with_autograd(program):
    """hessian(f) and diff(diff(f(x), x), x) against autograd's hessian."""
    assume(well_scaled(program))
    x, y = inputs(program)
    reference = autograd.hessian(lambda x: scalar(anp, program, x, y))(x)
    tol = 1e-9 * scale_of(reference)
    ours = ad.hessian(lambda x: scalar(ad, program, x, y))(x)
    assert ours.shape == x.shape + x.shape
    np.testing.assert_allclose(ours, reference, rtol=1e-8, atol=tol)
    t = ad.Tensor(x)
    twice = ad.diff(ad.diff(scalar(ad, program, t, y), t), t)
    np.testing.assert_allclose(twice.value, reference, rtol=1e-8, atol=tol)


@SETTINGS
@given(programs())
def test_textbook_chain_rule_agrees_with_the_cache(program):
    """Without the differential cache (path by path) the Jacobian is the same."""
    assume(well_scaled(program))
    x, y = inputs(program)

    def f(x):
        return evaluate(ad, program, x, y)

    cached = ad.jacobian(f)(x)
    with ad.differential_cache(False):
        textbook = ad.jacobian(f)(x)
    np.testing.assert_allclose(textbook, cached, rtol=1e-12, atol=1e-12 * scale_of(cached))


# -- the functions added for numpy users (issue 14, point 21), each against HIPS autograd --------
def _array(m, rows):
    """``np.array`` of rows that hold variables: autograd's anp.array, the library's stack."""
    return m.array(rows) if m is anp else m.stack(rows)


# name -> a function of the numpy-like module m and a (3, 4) array x (or Tensor, or ArrayBox)
NUMPY_USER_FUNCTIONS = {
    "max": lambda m, x: m.max(x, axis=1) * m.max(x),
    "max at ties": lambda m, x: m.max(m.minimum(x, 0.3), axis=0),
    "min": lambda m, x: m.min(x, axis=0, keepdims=True) + m.min(x),
    "prod": lambda m, x: m.prod(x, axis=0) + m.prod(x[:2, :2]),
    "var": lambda m, x: m.var(x, axis=1) + m.var(x, ddof=1),
    "std": lambda m, x: m.std(x, axis=0, keepdims=True) * m.std(x),
    "minimum": lambda m, x: m.minimum(x, x[0]),
    "square": lambda m, x: m.square(x),
    "reciprocal": lambda m, x: m.reciprocal(x * x + 1.0),
    "log1p": lambda m, x: m.log1p(x * x),
    "expm1": lambda m, x: m.expm1(x),
    "tan": lambda m, x: m.tan(0.5 * x),
    "clip": lambda m, x: m.clip(x, -0.5, 0.7) * x,
    "logaddexp": lambda m, x: m.logaddexp(x, x[:, :1]),
    "squeeze": lambda m, x: m.squeeze(x[:1, :, None]) * x,
    "expand_dims": lambda m, x: m.expand_dims(x, 1) * x,
    "ravel": lambda m, x: m.ravel(x) ** 3,
    "outer": lambda m, x: m.outer(x[0], x[1]) ** 2,
    "trace": lambda m, x: m.trace(x) * x + m.trace(x, 1),
    # autograd's rules for diag and diagonal of a matrix handle only a square matrix's main
    # diagonal (other cases: test_primitives.py, against central differences)
    "diag": lambda m, x: m.diag(m.diag(x[:, 1:])) ** 2 + m.diag(x[0, :2], -1) * m.diag(x[1, 2:], 1),
    "diagonal": lambda m, x: m.diagonal(x[:, :3], 0, -1, -2) ** 3,
    "array of variables": lambda m, x: _array(m, [[x[0, 0], x[1, 2] * x[0, 1]], [x[2, 3], 2.0]]),
}


@pytest.mark.parametrize("name", NUMPY_USER_FUNCTIONS)
def test_numpy_user_functions_agree_with_autograd(name):
    """Value, gradient and Hessian of Σ f(x)² / 2 against autograd, on well-separated values
    (and on deliberate ties for max, where both share the derivative among the tied entries)."""
    fun = NUMPY_USER_FUNCTIONS[name]
    x = np.array([[0.9, -0.4, 1.3, 0.2], [-1.1, 0.6, -0.3, 1.7], [0.5, -1.4, 0.8, -0.7]])

    def loss(m):
        return lambda x: m.sum(fun(m, x) ** 2) * 0.5

    np.testing.assert_allclose(ad.value_of(loss(ad)(ad.Tensor(x))), loss(anp)(x), rtol=1e-14)
    reference = autograd.grad(loss(anp))(x)
    np.testing.assert_allclose(ad.grad(loss(ad))(x), reference, rtol=1e-12, atol=1e-14)
    reference = autograd.hessian(loss(anp))(x)
    np.testing.assert_allclose(ad.hessian(loss(ad))(x), reference, rtol=1e-10, atol=1e-13)
