"""Misuse a careless but plausible student makes: each ends in a clear error or the right number.

Issue 14: a teaching library's worst bug is a wrong number that looks right. Every test here
failed before the issue was closed (the point of the issue is named in each docstring); the
design is for the class of mistake, compared with what HIPS autograd and JAX do.
"""

from __future__ import annotations

import decimal
import math
import pickle
import warnings

import numpy as np
import pytest

import autodiff_lib as ad

RNG = np.random.default_rng(14)


# -- conversions of a variable to a plain number or array (points 1, 9, 19, 23) -------------------
@pytest.mark.parametrize(
    "f, conversion",
    [
        (lambda w: math.tanh(w), r"float\(x\)"),
        (lambda w: w * float(w), r"float\(x\)"),
        (lambda w: w * int(w), r"int\(x\)"),
        (lambda w: w * w.item(), r"x\.item\(\)"),
        (lambda w: w if w else -w, r"bool\(x\)"),
        (lambda w: np.float64(w) * w, r"np\.float64|np\.asarray"),
        (lambda w: ad.sum(np.asarray(w) * w), r"np\.asarray"),
        (lambda w: ad.sum(np.array(w) * w), r"np\.asarray"),
        (lambda w: w * math.exp(ad.sum(w)), r"math\."),
    ],
    ids=["math.tanh", "float", "int", "item", "if", "np.float64", "asarray", "array", "math.exp"],
)
def test_converting_a_variable_to_a_plain_number_raises(f, conversion):
    """Point 1/9: the conversion names itself and points to .value / ad.value_of."""
    with pytest.raises(TypeError, match=conversion) as error:
        ad.grad(f)(0.3)
    assert "x.value" in str(error.value) and "ad.value_of" in str(error.value)


def test_float_of_one_entry_times_another_raises():
    """Point 9: float(x[0]) * x[1] would give a believable, wrong, non-zero gradient."""
    with pytest.raises(TypeError, match=r"float\(x\)"):
        ad.grad(lambda x: float(x[0]) * x[1])(np.array([2.0, 3.0]))


def test_writing_a_variable_into_a_numpy_buffer_raises():
    """Point 9: out[i] = x[i] ** 2 into an ndarray drops the derivative."""

    def f(x):
        out = np.zeros(3)
        for i in range(3):
            out[i] = x[i] ** 2
        return ad.sum(out)

    with pytest.raises((TypeError, ValueError)) as error:
        ad.grad(f)(np.ones(3))
    chain = f"{error.value} {error.value.__cause__}"
    assert "x.value" in chain


@pytest.mark.parametrize(
    "f",
    [lambda x: ad.sum(np.r_[x, x]), lambda x: ad.sum(np.append(np.ones(2), [x], axis=0))],
    ids=["np.r_", "np.append"],
)
def test_numpy_building_an_array_from_a_list_with_a_variable_raises(f):
    """Point 19: numpy reads a list of Tensors through __array__, which a variable refuses."""
    with pytest.raises(TypeError, match="ad.stack"):
        ad.grad(f)(np.ones(2))


def test_constants_still_convert_freely():
    """Point 9: a constant (or a value outside differentiation) converts as before."""
    c = ad.constant(2.5)
    assert float(c) == 2.5 and int(c) == 2 and c.item() == 2.5 and bool(c)
    np.testing.assert_array_equal(np.asarray(ad.constant([1.0, 2.0])), [1.0, 2.0])
    assert math.tanh(c) == math.tanh(2.5)
    loss = ad.sum(ad.Tensor([1.0, 2.0]) ** 2)
    assert float(loss.value) == 5.0 and float(ad.value_of(loss)) == 5.0  # the documented way


def test_a_list_of_tensors_handed_to_a_primitive_is_stacked():
    """Point 19: ad.mean([x, x + 2]) and ad.sum([x, 3x]) differentiate through the list."""
    assert ad.grad(lambda x: ad.mean([x, x + 2]))(0.0) == 1.0
    assert ad.grad(lambda x: ad.sum([x, 3 * x]))(0.0) == 4.0
    assert ad.grad(lambda x: ad.sum([[x, 3 * x], [x, 2.0]]))(1.0) == 5.0
    np.testing.assert_allclose(
        ad.grad(lambda x: ad.sum(ad.maximum([x[0], x[1]], 0.0)))(np.array([1.0, -1.0])), [1, 0]
    )


def test_item_int_and_abs_of_tensors():
    """Point 23: .item(), int() and abs() exist, and refuse variables like float() does."""
    t = ad.constant([-1.5])
    assert t.item() == -1.5 and int(ad.constant(3.7)) == 3
    np.testing.assert_array_equal(abs(t).value, [1.5])
    assert ad.grad(lambda x: abs(x))(-2.0) == -1.0
    assert ad.sum(ad.constant([1.0, 2.0])).item() == 3.0


# -- what grad is given and what f returns (points 2, 6, 10, 11, 12, 13, 22) -------------------
def test_an_output_that_does_not_depend_on_the_input_warns():
    """Point 2: as HIPS autograd, a warning, and still zeros."""
    with pytest.warns(ad.AutodiffWarning, match="does not depend"):
        g = ad.grad(lambda x: ad.sum(ad.constant(np.ones(3))))(np.ones(3))
    np.testing.assert_array_equal(g, np.zeros(3))
    with pytest.warns(ad.AutodiffWarning, match="does not depend"):
        assert ad.grad(lambda x: 3.0)(1.0) == 0.0


def test_a_list_of_numbers_is_one_array():
    """Point 6: grad(f)([-2.0, 2.0]) with a vectorized f is the gradient, never zeros."""
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    g = ad.grad(lambda x: ad.sum(ad.log(ad.cosh(x))))([-2.0, 2.0])
    np.testing.assert_allclose(g, np.tanh([-2.0, 2.0]))
    g = ad.grad(lambda x: 0.5 * ad.sum(x * ad.matmul(A, x)))([1.0, -1.0])
    np.testing.assert_allclose(g, A @ [1.0, -1.0])
    H = ad.hessian(lambda x: 0.5 * ad.sum(x * ad.matmul(A, x)))([1.0, -1.0])
    np.testing.assert_allclose(H, A)
    np.testing.assert_allclose(ad.jacobian(lambda x: x**2)([1.0, 2.0]), np.diag([2.0, 4.0]))
    w, b = ad.grad(lambda p: p[0] * 3.0 + p[1])((1.0, 2.0))  # unpacks like a pair
    assert (w, b) == (3.0, 1.0)


def test_a_list_used_as_one_array_says_it_is_a_container():
    """Point 22: a list of arrays is a container; using it as one array says so."""
    with pytest.raises(TypeError, match=r"argument 0 is a list.*container of arrays.*np\.array"):
        ad.grad(lambda x: sum(x * x))([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match="container of arrays"):
        ad.jacobian(lambda x: x**2)([np.ones(2), np.ones(2)])


@pytest.mark.parametrize(
    "f",
    [lambda x: [x[0] ** 2, x[0] * x[1]], lambda x: (x, x**2)],
    ids=["list", "tuple"],
)
def test_a_list_or_tuple_returned_by_f_is_refused(f):
    """Point 10: jacobian of a function returning parts would give zeros: ad.stack them."""
    with pytest.raises(TypeError, match=r"jacobian: f returned a (list|tuple).*ad\.stack"):
        ad.jacobian(f)(np.array([1.0, 2.0]))


def test_hessian_blocks_for_a_tuple_argnum():
    """Point 10: hessian(f, argnum=(0, 1)) gives the blocks d²f/dx_i dx_j, not zeros."""
    x, y = np.array([1.0, 2.0]), np.array([0.5])

    def f(x, y):
        return ad.sum(x**2) * ad.sum(y**3)

    H = ad.hessian(f, argnum=(0, 1))(x, y)
    np.testing.assert_allclose(H[0][0], 2 * np.eye(2) * 0.125)
    np.testing.assert_allclose(H[0][1], (2 * x * 3 * 0.25)[:, None])
    np.testing.assert_allclose(H[1][0], (2 * x * 3 * 0.25)[None, :])
    np.testing.assert_allclose(H[1][1], [[5.0 * 6 * 0.5]])


def test_a_function_without_return_is_refused():
    """Point 11: None is not a zero gradient."""

    def f(x):
        ad.sum(x**2)

    with pytest.raises(TypeError, match="returned None.*return"):
        ad.grad(f)(np.ones(2))


def test_a_complex_output_is_refused():
    """Point 20: complex numbers don't leak into a real Tensor or a complex gradient."""
    with pytest.raises(TypeError, match="complex"):
        ad.grad(lambda x: x * (1 + 0.2j))(1.0)
    with pytest.raises(TypeError, match="complex"):
        ad.grad(lambda x: ad.sum(x * (1 + 0.2j)))(np.ones(3))
    with pytest.raises(TypeError, match="complex"):
        ad.Tensor([1.0, 2.0]) * 1j


@pytest.mark.parametrize("wrap", [ad.Tensor, ad.variable], ids=["Tensor", "variable"])
def test_wrapping_the_argument_inside_f_keeps_the_graph(wrap):
    """Point 12: ad.Tensor(x) of a variable is x itself (JAX's jnp.asarray of a tracer)."""
    g = ad.grad(lambda x: ad.sum(wrap(x) ** 2))(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [2.0, 4.0])
    x = ad.Tensor([1.0])
    assert wrap(x) is x
    assert not ad.constant(x).requires_grad  # the explicit way to cut the graph


def test_diff_wrt_a_constant_is_refused():
    """Point 13: ad.diff(y, C) with C constant would be zeros."""
    C = ad.constant([1.0, 2.0])
    with pytest.raises(TypeError, match="diff: x is a constant.*variable"):
        ad.diff(ad.sum(C * C), C)


# -- value_and_grad, argnum (points 4, 17) --------------------------------------------------------
def test_value_and_grad_result_used_as_a_number_says_what_it_is():
    """Point 4: forgetting to unpack gives an error naming the pair, not 'can't multiply'."""
    f = ad.value_and_grad(lambda w: ad.sum(w**2))
    w = np.array([1.0, 2.0])
    for misuse in (
        lambda: w - 0.1 * f(w),
        lambda: w - f(w),
        lambda: f(w) * 2,
        lambda: f(w) + 1.0,
        lambda: float(f(w)),
        lambda: f(w) < 1.0,
    ):
        with pytest.raises(TypeError, match=r"value_and_grad returns a pair.*loss, g ="):
            misuse()
    loss, g = f(w)
    assert loss == 5.0 and f(w).value == 5.0
    np.testing.assert_array_equal(f(w).grad, [2.0, 4.0])
    assert pickle.loads(pickle.dumps(f(w)))[0] == 5.0


@pytest.mark.parametrize("argnum", [[0], "0", 1.0, (0, 0), True, ()])
def test_bad_argnum_is_named(argnum):
    """Point 17: an int or a tuple of distinct ints, and the bad value is named."""
    with pytest.raises(TypeError, match=r"argnum must be an int or a tuple of distinct ints"):
        ad.grad(lambda x: ad.sum(x), argnum=argnum)


def test_keyword_arguments_are_not_differentiated_and_it_says_so():
    """Point 17: grad(f)(x=x) says to pass the argument positionally."""
    message = r"argnum 0.*0 positional.*keyword argument.*x.*positionally"
    with pytest.raises(TypeError, match=message):
        ad.grad(lambda x: ad.sum(x))(x=np.ones(2))
    assert ad.grad(lambda x, y: ad.sum(x * y), argnum=-1)(np.ones(2), 3.0) == 2.0


# -- the switches (points 14, 25) ----------------------------------------------------------------
def shared_chain(x, n=8):
    for _ in range(n):
        x = x * x + x
    return ad.sum(x)


def test_differential_cache_bare_call_switches_it():
    """Point 14: the bare call works (until the next call), and only a bool is accepted."""
    x = np.array([0.1])
    try:
        ad.differential_cache(False)
        with ad.count_operations() as off:
            ad.grad(shared_chain)(x)
    finally:
        ad.differential_cache(True)
    with ad.count_operations() as on:
        ad.grad(shared_chain)(x)
    assert off.rule_evaluations > 10 * on.rule_evaluations
    for bad in ("False", 0, None):
        with pytest.raises(TypeError, match="True or False"):
            ad.differential_cache(bad)
    with ad.differential_cache(False):
        pass
    with ad.count_operations() as again:
        ad.grad(shared_chain)(x)
    assert again.rule_evaluations == on.rule_evaluations  # the block restored the cache


def test_count_operations_entered_twice():
    """Point 25: one counter entered twice, nested or one after the other, counts once."""
    ops = ad.count_operations()
    with ops:
        ad.grad(shared_chain)(np.array([0.1]))
    first = ops.rule_evaluations
    with ops, ops:
        ad.grad(shared_chain)(np.array([0.1]))
    assert ops.rule_evaluations == 2 * first


# -- data as variables, constants, detach (points 3, 18) ----------------------------------------
def test_data_passed_as_variables_is_detected_and_named(monkeypatch):
    """Point 3: weights updated with a gradient recorded on data made with ad.Tensor(X) drag
    every step's graph along: the second step says so (once), with the fix."""
    monkeypatch.setattr(ad.engine.differentiation, "_warned_growth", [])
    X, y = RNG.standard_normal((8, 3)), RNG.standard_normal(8)
    data = ad.Tensor(X)

    def loss(w):
        return ad.mean((ad.matmul(data, w) - y) ** 2)

    w = np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = ad.grad(loss)(w)  # right, and recorded: it may be differentiated w.r.t. data
        assert isinstance(g, ad.Tensor)
        w = w - 0.1 * g
    with pytest.warns(ad.AutodiffWarning, match=r"earlier steps.*ad\.constant\(X\)"):
        w = w - 0.1 * ad.grad(loss)(w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        w = w - 0.1 * ad.grad(loss)(w)
        data = ad.constant(X)  # the fix: a plain array comes back
        assert type(ad.grad(loss)(np.zeros(3))) is np.ndarray


def test_constant_does_not_copy():
    """Point 18: ad.constant(X) wraps X (read-only through the Tensor), as detach does."""
    X = RNG.standard_normal((300, 300))
    c = ad.constant(X)
    assert np.shares_memory(c.value, X) and not c.value.flags.writeable
    assert X.flags.writeable  # the caller's array is left as it was
    x = ad.Tensor(X)
    assert np.shares_memory(x.detach().value, x.value)
    assert not np.shares_memory(x.value, X)  # a variable still copies: rules keep its values


# -- numerics (points 7, 15, 16) -------------------------------------------------------------------
def sech2(u):
    """sech²(u) to 50 digits (decimal arithmetic), as a float."""
    with decimal.localcontext() as context:
        context.prec = 50
        e = decimal.Decimal(u).exp()
        return float(4 / (e + 1 / e) ** 2)


def tanh_second(u):
    """d²/du² tanh u = −2 sech²(u) tanh(u), to 50 digits."""
    with decimal.localcontext() as context:
        context.prec = 50
        e = decimal.Decimal(u).exp()
        return float(-2 * 4 / (e + 1 / e) ** 2 * (e - 1 / e) / (e + 1 / e))


@pytest.mark.parametrize("u", [0.3, -2.0, 4.9, 5.1, -5.5, 12.0, 20.0, -35.0, 100.0, 300.0])
def test_tanh_derivatives_far_from_zero(u):
    """Point 7: tanh's rule has no cancellation: sech² and its derivative to 1e-12 relative."""
    first = ad.grad(ad.tanh)(u)
    second = ad.grad(ad.grad(ad.tanh))(u)
    np.testing.assert_allclose(first, sech2(u), rtol=1e-12, atol=0)
    np.testing.assert_allclose(second, tanh_second(u), rtol=1e-12, atol=0)
    H = ad.hessian(lambda x: ad.sum(ad.log(ad.cosh(x[:1])) * 0.0 + ad.tanh(x)))(np.array([u, 1.0]))
    np.testing.assert_allclose(np.diag(H), [tanh_second(u), tanh_second(1.0)], rtol=1e-12)


@pytest.mark.parametrize(
    "shape, beyond",
    [((), 1), ((7,), 2), ((4, 5), 3), ((40, 50), 1), ((40, 50), 60), ((40, 50), 900),
     ((50, 40), 5), ((50, 40), 60)],
    ids=["0-d", "short", "short 2-d", "long, one beyond", "long, some beyond",
         "long, many beyond", "transposed, one", "transposed, some"],
)  # fmt: skip
def test_tanh_rule_is_exact_on_every_path(shape, beyond):
    """Point 7: tanh's rule checks for |x| > 5 (a short list or a reduction) and computes those
    entries from x (one by one, some, or all): sech² to 1e-12 relative on every path."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-4.0, 4.0, size=shape)
    far = rng.choice(x.size, size=beyond, replace=False)
    x.flat[far] = rng.uniform(5.0, 40.0, size=beyond) * rng.choice([-1.0, 1.0], size=beyond)
    if shape == (50, 40):
        x = x.T  # not C-contiguous: flat positions in x and in its sech² must still agree
    g = ad.grad(lambda x: ad.sum(ad.tanh(x)))(x)
    expected = np.vectorize(sech2)(x)
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=0)


def test_tanh_rule_far_out_neither_overflows_nor_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = ad.grad(lambda x: ad.sum(ad.tanh(x)))(np.array([800.0, -1e6, 0.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])


def test_mean_of_an_empty_selection_is_nan_with_numpys_warning():
    """Point 15: not 0.0."""
    x = np.ones(3)
    with pytest.warns(RuntimeWarning):
        value, _ = ad.value_and_grad(lambda x: ad.mean(x[x > 5]))(x)
    assert np.isnan(value)
    with pytest.warns(RuntimeWarning):
        assert np.all(np.isnan(ad.mean(ad.Tensor(np.ones((3, 0))), axis=1).value))


def test_power_of_a_negative_base_has_no_real_slope_in_the_exponent():
    """Point 16: d/dy (−2)^y is nan (as in HIPS autograd), not −0.0; 0^y still has slope 0."""
    assert np.isnan(ad.grad(lambda y: (-2.0) ** y)(3.0))
    assert ad.grad(lambda y: 0.0**y)(3.0) == 0.0
    np.testing.assert_allclose(ad.grad(lambda y: 2.0**y)(3.0), 8 * np.log(2.0))


# -- messages (points 8, 24) ----------------------------------------------------------------------
def test_newton_diverging_at_a_step_says_what_to_try():
    """Point 8: exp(x) − 2x from far left: the first Newton step lands where exp overflows."""
    with pytest.raises(ad.DivergenceError, match=r"not finite at step 1: .*smaller step_size"):
        ad.newton(lambda x: ad.sum(ad.exp(x) - 2 * x), np.array([-700.0]))


def test_in_place_add_into_an_ndarray_blames_the_ndarray():
    """Point 24: acc += x writes into acc (a plain array), not into the Tensor."""

    def f(x):
        acc = np.zeros(3)
        acc += x
        return ad.sum(acc)

    with pytest.raises(TypeError, match=r"plain numpy array.*acc = acc \+ x"):
        ad.grad(f)(np.ones(3))
    acc = np.zeros(2)
    acc += ad.constant([1.0, 2.0])  # a constant: just numbers
    np.testing.assert_array_equal(acc, [1.0, 2.0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: np.tanh(x, dtype=float), r"numpy\.tanh\(x, dtype=\.\.\.\).*takes no keyword"),
        (lambda x: np.mean(x, dtype=float), r"numpy\.mean\(\.\.\., dtype=.*autodiff_lib\.mean"),
        (lambda x: ad.mean(x, dtype=float), r"^mean: takes no argument 'dtype'"),
        (lambda x: ad.sum(x, dtype=float), r"^sum: takes no argument 'dtype'"),
    ],
    ids=["np.tanh", "np.mean", "ad.mean", "ad.sum"],
)
def test_an_unsupported_keyword_is_named(call, message):
    """Point 24: the keyword is the problem, and no private name shows."""
    with pytest.raises(TypeError, match=message) as error:
        call(ad.Tensor(np.ones(3)))
    assert "_forward" not in str(error.value)


def test_nested_counters_with_equal_counts_each_leave_their_own_block():
    """Point 25: leaving a block removes that counter, not another one with the same counts."""
    with ad.count_operations() as outer:
        with ad.count_operations():
            pass
        ad.grad(shared_chain)(np.array([0.1]))
    assert outer.rule_evaluations > 0


def test_numpy_methods_a_tensor_lacks_say_where_they_are():
    """Point 23: t.tolist() (any ndarray method a Tensor lacks) points to ad. or t.value."""
    t = ad.Tensor([1.0, 2.0])
    with pytest.raises(AttributeError, match=r"no method 'tolist'.*t\.value\.tolist"):
        t.tolist()
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        t.nonsense  # noqa: B018
    assert f"{ad.sum(t):.2f}" == "3.00" and f"{t}" == repr(t)  # printing a loss is fine
