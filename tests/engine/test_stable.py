"""autodiff_lib.engine.stable (issue 17, point 12): stable logsumexp, softmax, logcosh, log1p,
expm1, checked against numpy where numpy is accurate, against HIPS autograd, and against central
differences for their first and second derivatives; and the NaN-through-where trap."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as autograd_grad
from numeric import central_jacobian

import autodiff_lib as ad

rng = np.random.default_rng(17)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_agrees_with_the_naive_formula_where_that_is_accurate(axis, keepdims):
    x = rng.normal(size=(3, 4))
    naive = np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
    value = ad.logsumexp(x, axis=axis, keepdims=keepdims)
    assert np.shape(value) == np.shape(naive)
    np.testing.assert_allclose(value, naive, rtol=1e-13)


def test_logsumexp_neither_overflows_nor_underflows():
    x = np.array([1000.0, 999.0, -1000.0])
    np.testing.assert_allclose(ad.logsumexp(x), 1000 + np.log1p(np.exp(-1.0)), rtol=1e-15)
    np.testing.assert_allclose(ad.logsumexp(-x), 1000 + np.log1p(np.exp(-1999.0)), rtol=1e-15)
    assert ad.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf  # log 0, no nan
    with np.errstate(over="raise", under="ignore", invalid="raise"):
        g = ad.grad(lambda x: ad.logsumexp(x))(x)
    np.testing.assert_allclose(g, np.exp(x - ad.logsumexp(x)))


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_logsumexp_derivatives_match_central_differences_and_autograd(axis):
    x = rng.normal(size=(3, 4))
    u = rng.normal(size=np.shape(np.sum(x, axis=axis)))
    f = lambda x: ad.sum(ad.logsumexp(x, axis=axis) * u)
    np.testing.assert_allclose(ad.grad(f)(x), central_jacobian(f, [x]), atol=1e-8)
    reference = autograd_grad(lambda x: anp.sum(anp.log(anp.sum(anp.exp(x), axis=axis)) * u))(x)
    np.testing.assert_allclose(ad.grad(f)(x), reference, rtol=1e-12)
    hessian = ad.hessian(f)(x)
    np.testing.assert_allclose(hessian, central_jacobian(ad.grad(f), [x]), atol=1e-7)
    np.testing.assert_allclose(  # the batched sweep (jacobian) against one row at a time
        ad.jacobian(lambda x: ad.logsumexp(x, axis=axis))(x).reshape(-1, x.size),
        central_jacobian(lambda x: ad.logsumexp(x, axis=axis), [x]).reshape(-1, x.size),
        atol=1e-8,
    )


def test_softmax_is_stable_and_sums_to_one():
    x = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    with np.errstate(over="raise", invalid="raise", under="ignore"):
        s = ad.softmax(x, axis=1)
    assert np.all(np.isfinite(s)) and np.allclose(np.sum(s, axis=1), 1.0)
    np.testing.assert_allclose(s[1], np.exp(x[1]) / np.sum(np.exp(x[1])))
    np.testing.assert_allclose(ad.log_softmax(x, axis=1)[1], np.log(s[1]))
    assert s[0, 2] == 0.0  # underflows: log(softmax) would be log(0) = -inf
    np.testing.assert_array_equal(ad.log_softmax(x, axis=1)[0], [0.0, -1000.0, -2000.0])


def test_softmax_derivatives_match_central_differences():
    x, u = rng.normal(size=(2, 5))
    f = lambda x: ad.sum(ad.softmax(x) * u)
    np.testing.assert_allclose(ad.grad(f)(x), central_jacobian(f, [x]), atol=1e-8)
    ad.check_grad(f, x, order=2)
    s = np.exp(x) / np.sum(np.exp(x))
    np.testing.assert_allclose(ad.jacobian(ad.softmax)(x), np.diag(s) - np.outer(s, s))


def test_logcosh_is_accurate_where_log_cosh_is_not():
    x = np.array([1e-12, 1e-9, 1e-6, 1e-3])
    series = x**2 / 2 - x**4 / 12 + x**6 / 45  # log cosh x for small x, to the last digit
    np.testing.assert_allclose(ad.logcosh(x), series, rtol=1e-14)
    assert np.log(np.cosh(1e-9)) == 0.0  # what the naive formula gives: every digit lost
    big = np.array([-800.0, 30.0, 800.0])
    np.testing.assert_allclose(ad.logcosh(big), np.abs(big) - np.log(2.0), rtol=1e-15)
    moderate = np.linspace(-19.0, 19.0, 39)
    np.testing.assert_allclose(ad.logcosh(moderate), np.log(np.cosh(moderate)), rtol=1e-14)
    np.testing.assert_allclose(ad.logcosh(np.array([19.99, 20.0, 20.01])),
                               np.log(np.cosh([19.99, 20.0, 20.01])), rtol=1e-15)


def test_logcosh_rule_is_tanh_and_differentiates_again():
    x = np.array([-800.0, -25.0, -3.0, 1e-9, 0.5, 2.0, 30.0, 800.0])
    with np.errstate(over="raise", invalid="raise"):
        g = ad.grad(lambda x: ad.sum(ad.logcosh(x)))(x)
    np.testing.assert_array_equal(g, np.tanh(x))
    h = ad.hessian(lambda x: ad.sum(ad.logcosh(x)))(x)
    e = np.exp(-2.0 * np.abs(x))  # sech^2 x = 4 e / (1 + e)^2: no overflow, no cancellation
    np.testing.assert_allclose(h, np.diag(4.0 * e / (1.0 + e) ** 2), rtol=1e-12, atol=0)
    moderate = np.array([-3.0, -0.2, 0.7, 4.0])
    ad.check_grad(lambda x: ad.sum(ad.logcosh(x) ** 2), moderate, order=2)


def test_log1p_and_expm1_are_accurate_and_differentiable():
    u = np.array([1e-18, 1e-10, 1e-3, 0.5])
    np.testing.assert_array_equal(ad.log1p(u), np.log1p(u))
    np.testing.assert_array_equal(ad.expm1(u), np.expm1(u))
    assert ad.log1p(np.array(1e-18)) == 1e-18 and np.log(1 + 1e-18) == 0.0
    for f in [ad.log1p, ad.expm1]:
        ad.check_grad(lambda x, f=f: ad.sum(f(x) ** 2), u[1:], order=2)


def test_the_nan_through_where_trap_and_its_fix():
    """Lecture 00's claim: a where() that hides a NaN in the forward pass does not hide it
    from the backward pass (0 * inf); where() on the *input* as well keeps it out."""
    x = np.array([0.0, 0.5, 2.0])

    def entropy_naive(p):
        with np.errstate(divide="ignore", invalid="ignore"):
            return ad.sum(ad.where(p > 0, p * ad.log(p), 0.0))

    def entropy_safe(p):
        safe = ad.where(p > 0, p, 1.0)  # log never sees a 0
        return ad.sum(ad.where(p > 0, p * ad.log(safe), 0.0))

    assert np.isfinite(entropy_naive(x))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = ad.grad(entropy_naive)(x)
    assert np.isnan(g[0]) and np.all(np.isfinite(g[1:]))
    g = ad.grad(entropy_safe)(x)
    np.testing.assert_allclose(g, [0.0, np.log(0.5) + 1, np.log(2.0) + 1])
