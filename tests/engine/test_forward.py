"""Forward mode (issue 17, point 13): ``ad.jvp`` against the Jacobian, central differences and
HIPS autograd's ``make_jvp`` for every primitive's case; ``ad.hvp`` (forward-over-reverse)
against the Hessian and differences of the gradient; the JVP table and what lacks a rule."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import make_jvp
from numeric import central_jacobian
from test_primitives import PAIRS, differentiable_args, ids

import autodiff_lib as ad
from autodiff_lib.engine import forward

rng = np.random.default_rng(13)


def _at(case, argnum):
    """The case as a function of its argument ``argnum`` alone."""

    def f(x):
        args = list(case.args)
        args[argnum] = x
        return case.fun(*args)

    return f


@pytest.mark.parametrize("case, argnum", PAIRS, ids=ids)
def test_jvp_is_the_jacobian_times_the_tangent_for_every_primitive(case, argnum):
    x = case.args[argnum]
    v = rng.normal(size=np.shape(x))
    f = _at(case, argnum)
    value, tangent = ad.jvp(f, x, v)
    np.testing.assert_allclose(value, case.reference(*case.args), rtol=1e-13, atol=1e-13)
    jacobian = ad.jacobian(f)(x)
    expected = np.tensordot(jacobian, v, axes=np.ndim(x)) if np.ndim(x) else jacobian * v
    assert np.shape(tangent) == np.shape(value)
    np.testing.assert_allclose(tangent, expected, rtol=1e-10, atol=1e-12)
    numeric = central_jacobian(f, [x])
    by_differences = np.tensordot(numeric, v, axes=np.ndim(x)) if np.ndim(x) else numeric * v
    np.testing.assert_allclose(tangent, by_differences, rtol=1e-6, atol=1e-7)


def test_every_differentiable_primitive_has_a_case_here():
    """The cases above (test_primitives' table) reach every primitive forward mode knows."""
    seen = set()
    for case, _ in PAIRS:
        wrt = differentiable_args(case)
        y = case.fun(*[ad.Tensor(a) if n in wrt else a for n, a in enumerate(case.args)])
        seen |= {node.primitive.name for node in ad.topological_order(y) if node.primitive}
    differentiable = {name for name, p in forward.all_primitives().items()
                      if p.vjps or p.vjp_argnum is not None}  # fmt: skip
    # logsumexp and logcosh: below; sech_squared appears only in tanh's rule (a derivative's
    # graph, never a forward pass of these cases): its forward mode is tested below as well
    untested = differentiable - seen - {"logsumexp", "logcosh", "sech_squared"}
    assert not untested, f"no case of test_primitives records {sorted(untested)}"


def test_the_primitives_lacking_a_jvp_rule_are_listed_and_still_work():
    """The table JVPS covers the common primitives; the rest get a rule derived from their
    VJP (slower: a small reverse sweep per node). The list is printed for whoever adds rules."""
    lacking = forward.lacking_jvp_rules()
    print("primitives whose JVP is derived from their VJP:", ", ".join(lacking))
    names = forward.all_primitives()
    for name in lacking:
        assert forward.JVPS.get(names[name]) is None
        assert any(forward.derived_jvp(names[name], k) is not None for k in range(3))
    for prim, rules in forward.JVPS.items():
        assert prim in names.values(), f"JVPS has a rule for an unknown primitive {prim}"
        assert len(rules) >= len(prim.vjps), f"{prim.name}: a JVP per argument with a VJP"
    for core in ["add", "multiply", "tanh", "exp", "sum", "matmul", "getitem", "logsumexp"]:
        assert core not in lacking, f"{core} should have its own JVP rule in forward.JVPS"


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_jvp_of_the_stable_primitives(axis):
    x, v = rng.normal(size=(2, 3, 4))
    for f in [lambda x: ad.logsumexp(x, axis=axis), lambda x: ad.logcosh(x) * 2.0]:
        numeric = np.tensordot(central_jacobian(f, [x]), v, axes=2)
        np.testing.assert_allclose(ad.jvp(f, x, v)[1], numeric, rtol=1e-6, atol=1e-8)


def test_hvp_through_tanhs_rule_near_and_far_from_zero():
    """tanh's rule records sech_squared(x, tanh x), so forward over reverse goes through it:
    the Hessian of sum(tanh x) is diag(-2 sech^2 x tanh x), exact also where tanh saturates."""
    x = np.array([-30.0, -3.0, -0.2, 0.0, 0.7, 6.0, 25.0])
    v = np.linspace(0.5, 2.0, x.size)
    sech2 = 1.0 / np.cosh(x) ** 2
    expected = -2.0 * sech2 * np.tanh(x) * v  # H = diag((tanh)'') for f = sum(tanh x)
    np.testing.assert_allclose(ad.hvp(lambda x: ad.sum(ad.tanh(x)), x, v), expected,
                               rtol=1e-12, atol=0)  # fmt: skip


def test_jvp_agrees_with_hips_autograd_make_jvp():
    A = rng.normal(size=(4, 3))
    x, v = rng.normal(size=(2, 3))
    ours = ad.jvp(lambda x: ad.tanh(A @ x) * ad.sum(ad.exp(x) / (1 + x**2)), x, v)
    theirs = make_jvp(lambda x: anp.tanh(A @ x) * anp.sum(anp.exp(x) / (1 + x**2)))(x)(v)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-14)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)


@pytest.mark.parametrize("x", [0.3, -4.9, 5.5, 20.0, -35.0, 300.0, 800.0])
def test_jvp_of_tanh_is_exact_far_from_zero(x):
    """Issue 14, point 7, in forward mode: tanh's tangent rule is sech²x, not 1 − tanh²x
    (exactly 0 for |x| ≳ 19); sech²x to 1e-12 relative, from 4e/(1 + e)², e = exp(−2|x|)."""
    e = np.exp(-2.0 * abs(x))
    _, tangent = ad.jvp(ad.tanh, x, 1.0)
    np.testing.assert_allclose(tangent, 4.0 * e / (1.0 + e) ** 2, rtol=1e-12, atol=0)


def test_one_forward_sweep_gives_a_whole_column():
    """One input, many outputs: forward mode's case (lecture 00, section 4)."""
    a = np.linspace(-1.0, 1.0, 50)
    value, column = ad.jvp(lambda s: ad.tanh(s * a), 0.3, 1.0)
    np.testing.assert_allclose(column, a * (1 - np.tanh(0.3 * a) ** 2))
    with ad.count_operations() as ops:  # no backward sweep at all
        ad.jvp(lambda s: ad.tanh(s * a), 0.3, 1.0)
    assert ops.rule_evaluations == 0


def test_jvp_of_a_function_that_ignores_its_input_is_zero():
    value, tangent = ad.jvp(lambda x: ad.constant(np.ones(3)) * 2.0, np.zeros(2), np.ones(2))
    np.testing.assert_array_equal(tangent, np.zeros(3))
    with pytest.raises(ValueError, match="tangent has shape"):
        ad.jvp(ad.tanh, np.zeros(2), np.ones(3))


def test_hvp_is_the_hessian_times_the_vector():
    A = rng.normal(size=(5, 5))
    x, v = rng.normal(size=(2, 5))

    def f(x):
        return ad.sum(ad.logcosh(A @ x)) + ad.logsumexp(x * x) + ad.sum(ad.sin(x) ** 3)

    expected = ad.hessian(f)(x) @ v
    np.testing.assert_allclose(ad.hvp(f, x, v), expected, rtol=1e-10, atol=1e-12)
    gradient = ad.grad(f)
    eps = 1e-6  # the gradient's central difference along v
    numeric = (gradient(x + eps * v) - gradient(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(ad.hvp(f, x, v), numeric, rtol=1e-6, atol=1e-7)


def test_hvp_costs_a_few_gradients_not_n():
    n = 200
    A = rng.normal(size=(n, n)) / np.sqrt(n)
    x, v = rng.normal(size=(2, n))
    f = lambda x: ad.sum(ad.tanh(A @ x) ** 2)
    with ad.count_operations() as ops:
        ad.hvp(f, x, v)
    with ad.count_operations() as one_gradient:
        ad.grad(f)(x)
    assert ops.rule_evaluations <= 3 * one_gradient.rule_evaluations
    np.testing.assert_allclose(ad.hvp(f, x, v), ad.hessian(f)(x) @ v, rtol=1e-9, atol=1e-12)
    assert ad.hvp(lambda x: ad.sum(3.0 * x), x, v).shape == (n,)  # linear: zero
    with pytest.raises(TypeError, match="scalar"):
        ad.hvp(ad.tanh, x, v)
