"""The engine: the differential cache, the operation counters, constants, and the interface.

The counting claim of the course: on the chain x_{k+1} = tanh(x_k)·x_k, where every level uses
its input twice, the textbook recursive chain rule follows every path from the output to x:
2^k of them, 3(2^k − 1) rule evaluations; backpropagation with the differential cache
evaluates each rule once per edge: 3k. Counting rules instead of timing makes the claim
exact and machine-independent.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from numeric import central_jacobian

import autodiff_lib as ad

RNG = np.random.default_rng(3)


def shared_chain(k):
    """x_{k+1} = tanh(x_k) · x_k, k times: each level reads x_k twice."""

    def f(x):
        for _ in range(k):
            x = ad.tanh(x) * x
        return x

    return f


def shared_chain_derivative(x, k):
    """Forward-mode by hand: d/dx [tanh(x) x] = (1 − tanh²x) x + tanh x, chained."""
    d = 1.0
    for _ in range(k):
        t = np.tanh(x)
        d = d * ((1 - t * t) * x + t)
        x = t * x
    return d


# -- the differential cache -----------------------------------------------------------------------
@pytest.mark.parametrize("k", range(1, 9))
def test_rule_evaluations_linear_with_cache_exponential_without(k):
    """3k rule evaluations with the cache, 3(2^k − 1) without: the count doubles per level."""
    x = 0.7
    with ad.count_operations() as cached:
        g_cached = ad.grad(shared_chain(k))(x)
    with ad.differential_cache(False), ad.count_operations() as textbook:
        g_textbook = ad.grad(shared_chain(k))(x)
    assert cached.rule_evaluations == 3 * k
    assert textbook.rule_evaluations == 3 * (2**k - 1)
    # every node of the graph (x, k tanh, k products) is visited exactly once with the cache
    assert cached.nodes_visited == 2 * k + 1
    assert textbook.nodes_visited > cached.nodes_visited or k == 1
    np.testing.assert_allclose(g_cached, shared_chain_derivative(x, k), rtol=1e-12)
    np.testing.assert_allclose(g_textbook, g_cached, rtol=1e-12)


@pytest.mark.parametrize("k", [1, 4, 7])
def test_counts_of_a_batched_jacobian_on_a_size_one_input(k):
    """jacobian on a size-1 input sends one differential: the same counts as the scalar case."""
    x = np.array([0.7])
    with ad.count_operations() as cached:
        J = ad.jacobian(shared_chain(k))(x)
    with ad.differential_cache(False), ad.count_operations() as textbook:
        J_textbook = ad.jacobian(shared_chain(k))(x)
    assert J.shape == (1, 1)
    assert (cached.rule_evaluations, textbook.rule_evaluations) == (3 * k, 3 * (2**k - 1))
    np.testing.assert_allclose(J_textbook, J, rtol=1e-12)
    np.testing.assert_allclose(J[0, 0], shared_chain_derivative(0.7, k), rtol=1e-12)


def test_a_batched_jacobian_is_one_sweep():
    """All rows of a Jacobian flow through one sweep: the rule count does not grow with them."""
    with ad.count_operations() as small:
        ad.jacobian(shared_chain(5))(RNG.uniform(-1, 1, 2))
    with ad.count_operations() as large:
        ad.jacobian(shared_chain(5))(RNG.uniform(-1, 1, 50))
    assert small.rule_evaluations == large.rule_evaluations == 15


def mlp_loss(params, X, y):
    W1, b1, W2, b2 = params
    h = ad.tanh(X @ W1 + b1)
    return ad.mean((h @ W2 + b2 - y) ** 2)


def mlp_params():
    return [
        RNG.standard_normal((3, 5)),
        RNG.standard_normal(5),
        RNG.standard_normal((5, 1)),
        RNG.standard_normal(1),
    ]


def reuse_with_broadcasting(x):
    s = x[:, None] * x  # an outer product, read three times below
    return ad.sum(s * s, axis=0) + ad.tanh(s)[1] * ad.sum(s)


PARAMS = mlp_params()
DATA = RNG.standard_normal((4, 3))

GRAPHS = {
    "shared chain": (shared_chain(6), (RNG.uniform(-1, 1, (2, 3)),)),
    "mlp loss": (lambda W1: mlp_loss([W1] + PARAMS[1:], DATA, np.ones((4, 1))), (PARAMS[0],)),
    "reuse with broadcasting": (reuse_with_broadcasting, (RNG.uniform(-1, 1, 3),)),
    "stack and index": (
        lambda x: ad.stack([x, x * x, ad.sin(x)])[[0, 2, 2, 1]] @ x,
        (RNG.uniform(-1, 1, 4),),
    ),
}


@pytest.mark.parametrize("name", GRAPHS)
def test_cache_on_and_off_agree(name):
    """jacobian and hessian (a batched sweep over a recorded sweep) agree with and without."""
    f, args = GRAPHS[name]
    J = ad.jacobian(f)(*args)
    H = ad.jacobian(ad.jacobian(f))(*args)
    with ad.differential_cache(False):
        J_textbook = ad.jacobian(f)(*args)
        H_textbook = ad.jacobian(ad.jacobian(f))(*args)
    np.testing.assert_allclose(J_textbook, J, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(H_textbook, H, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(J, central_jacobian(f, args), rtol=1e-6, atol=1e-7)


def test_cache_switch_is_restored():
    """differential_cache(False) is undone when the block ends, also on an error."""
    with pytest.raises(RuntimeError), ad.differential_cache(False):
        raise RuntimeError
    with ad.count_operations() as counts:
        ad.grad(shared_chain(6))(0.3)
    assert counts.rule_evaluations == 18


# -- constants ------------------------------------------------------------------------------------
def test_constant_data_prunes_rule_evaluations():
    """A loss of weights W and data X: with X a variable the engine also computes dL/dX."""
    W = RNG.standard_normal((3, 2))
    X = RNG.standard_normal((8, 3))
    Y = RNG.standard_normal((8, 2))

    def loss(W, X):
        return ad.mean((ad.tanh(X @ W) - Y) ** 2)

    gradients, counts = {}, {}
    for kind, data in [("variable", ad.Tensor(X)), ("constant", ad.constant(X)), ("array", X)]:
        w = ad.Tensor(W)
        L = loss(w, data)
        with ad.count_operations() as ops:
            gradients[kind] = ad.diff(L, w).value
        counts[kind] = ops.rule_evaluations
    assert counts["constant"] < counts["variable"]
    assert counts["constant"] == counts["array"]
    assert counts["variable"] - counts["constant"] == 1  # the one edge into X: matmul's rule
    np.testing.assert_array_equal(gradients["constant"], gradients["variable"])
    np.testing.assert_array_equal(gradients["array"], gradients["variable"])


def test_a_graph_of_constants_needs_no_rules():
    """An output computed from constants only is a constant: zero rule evaluations."""
    c = ad.constant([1.0, 2.0])
    y = ad.sum(ad.tanh(c) * c)
    assert not y.requires_grad
    x = ad.Tensor([0.5, 0.5])
    with ad.count_operations() as ops:
        d = ad.diff(y, x)
    assert ops.rule_evaluations == 0
    np.testing.assert_array_equal(d.value, [0.0, 0.0])


def test_detach_stops_derivatives():
    """y = x · detach(x) differentiates as c·x with c = x held constant."""
    x = ad.Tensor([1.5, -2.0])
    np.testing.assert_array_equal(ad.diff(ad.sum(x * x.detach()), x).value, [1.5, -2.0])


# -- repeatability, depth, independence ------------------------------------------------------------
def test_grad_twice_gives_identical_results():
    """No state leaks between calls: gradients do not accumulate as in micrograd."""
    params = mlp_params()
    X, y = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 1))
    grad_loss = ad.grad(mlp_loss)
    first, second = grad_loss(params, X, y), grad_loss(params, X, y)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    x = ad.Tensor([0.3, 0.4])
    z = ad.sum(ad.tanh(x) * x)
    np.testing.assert_array_equal(ad.diff(z, x).value, ad.diff(z, x).value)


def test_a_chain_of_100000_operations_differentiates():
    """Iterative topological order and sweep: far beyond Python's recursion limit."""
    n = 100_000
    assert n > 10 * sys.getrecursionlimit()

    def nested_sin(x):
        for _ in range(n):
            x = ad.sin(x)
        return x

    with ad.count_operations() as ops:
        g = ad.grad(nested_sin)(0.5)
    assert ops.rule_evaluations == n
    value, derivative = 0.5, 1.0  # forward mode by hand: the product of cos along the chain
    for _ in range(n):
        value, derivative = math.sin(value), derivative * math.cos(value)
    np.testing.assert_allclose(g, derivative, rtol=1e-9)


def test_independent_variable_gives_zeros_of_its_shape():
    """d output / d v for a v the output does not read: zeros of shape out.shape + v.shape."""
    x, v = np.array([0.5, 1.0]), np.ones((2, 3))
    with pytest.warns(ad.AutodiffWarning, match="does not depend on the argument"):
        g = ad.grad(lambda x, v: ad.sum(x**2), argnum=1)(x, v)
    assert g.shape == (2, 3) and not np.any(g)
    J = ad.jacobian(lambda x, v: x**2, argnum=1)(x, v)
    assert J.shape == (2, 2, 3) and not np.any(J)
    t, u = ad.Tensor(x), ad.Tensor(v)
    d = ad.diff(ad.tanh(t), u)
    assert isinstance(d, ad.Tensor) and d.shape == (2, 2, 3) and not np.any(d.value)
    H = ad.hessian(lambda v: ad.sum(x))(v)
    assert H.shape == (2, 3, 2, 3) and not np.any(H)


# -- the interface --------------------------------------------------------------------------------
def test_argnum_tuple():
    """argnum=(0, 2) gives a tuple of the two gradients, in that order."""
    a, b, c = np.array([1.0, 2.0]), np.array(3.0), np.array([0.5, -1.0])
    ga, gc = ad.grad(lambda a, b, c: ad.sum(a * b * c**2), argnum=(0, 2))(a, b, c)
    np.testing.assert_allclose(ga, b * c**2)
    np.testing.assert_allclose(gc, 2 * a * b * c)


def test_list_tuple_and_dict_arguments():
    """A list, tuple or dict of arrays is one argument; the gradient has the same structure."""
    params = mlp_params()
    X, y = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 1))
    g_list = ad.grad(mlp_loss)(params, X, y)
    assert isinstance(g_list, list) and len(g_list) == 4
    for grad_w, w in zip(g_list, params, strict=True):
        assert isinstance(grad_w, np.ndarray) and grad_w.shape == w.shape
    for n in range(4):  # each part against central differences

        def of_part(w, n=n):
            return mlp_loss(params[:n] + [w] + params[n + 1 :], X, y)

        np.testing.assert_allclose(g_list[n], central_jacobian(of_part, (params[n],)), rtol=1e-6)
    g_tuple = ad.grad(mlp_loss)(tuple(params), X, y)
    assert isinstance(g_tuple, tuple)
    names = ["W1", "b1", "W2", "b2"]
    g_dict = ad.grad(lambda p, X, y: mlp_loss([p[k] for k in names], X, y))(
        dict(zip(names, params, strict=True)), X, y
    )
    assert isinstance(g_dict, dict) and list(g_dict) == names
    for n, name in enumerate(names):
        np.testing.assert_array_equal(g_tuple[n], g_list[n])
        np.testing.assert_array_equal(g_dict[name], g_list[n])


def test_value_and_grad():
    """value_and_grad returns f(x), as a plain number, and the gradient."""
    f = lambda x: ad.sum(ad.sin(x) * x)
    x = np.array([0.2, -1.0, 2.5])
    value, g = ad.value_and_grad(f)(x)
    np.testing.assert_allclose(ad.value_of(value), np.sum(np.sin(x) * x), rtol=1e-15)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-14)
    assert type(g) is np.ndarray
    # plain arrays in, plain values out (the value must not hold on to the graph)
    assert not isinstance(value, ad.Tensor), f"value_and_grad returned {value!r}"
    t = ad.Tensor(x)
    value_t, g_t = ad.value_and_grad(f)(t)
    assert isinstance(value_t, ad.Tensor) and isinstance(g_t, ad.Tensor)
    np.testing.assert_allclose(ad.diff(value_t, t).value, g, rtol=1e-15)


def test_arrays_in_arrays_out_tensors_in_tensors_out():
    """Plain arrays give ndarrays; a variable Tensor gives a Tensor that is differentiable again."""
    f = lambda x: ad.sum(ad.tanh(x) ** 2)
    x0 = np.array([0.3, -0.6])
    g = ad.grad(f)(x0)
    assert type(g) is np.ndarray
    assert type(ad.jacobian(ad.tanh)(x0)) is np.ndarray
    x = ad.Tensor(x0)
    g_t = ad.grad(f)(x)
    assert isinstance(g_t, ad.Tensor)
    np.testing.assert_allclose(g_t.value, g, rtol=1e-15)
    # differentiating the returned gradient again gives the Hessian
    np.testing.assert_allclose(ad.diff(g_t, x).value, ad.hessian(f)(x0), rtol=1e-13)


def test_numpy_functions_and_arrays_keep_the_graph():
    """np.tanh(t), np.sum(t), ndarray * t and ndarray @ t call the library's primitives."""
    a = np.array([2.0, 3.0])
    M = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = ad.Tensor([0.1, 0.7])
    for y, expected in [
        (np.tanh(t), np.diag(1 - np.tanh(t.value) ** 2)),
        (a * t, np.diag(a)),
        (t * a, np.diag(a)),
        (a - t, -np.eye(2)),
        (M @ t, M),
        (np.exp(t), np.diag(np.exp(t.value))),
        (np.sum(t * t, keepdims=True), 2 * t.value[None, :]),
    ]:
        assert isinstance(y, ad.Tensor) and y.requires_grad
        np.testing.assert_allclose(ad.diff(y, t).value, expected, rtol=1e-15)


def test_integer_inputs_are_promoted():
    """Integer arrays become float64 Tensors, and grad of an integer argument is float."""
    assert ad.Tensor([1, 2]).dtype == np.float64
    np.testing.assert_array_equal(ad.grad(lambda x: ad.sum(x * x))(np.array([1, 2])), [2.0, 4.0])


def test_the_textbook_chain_rule_needs_no_recursion_either():
    """Without the cache the engine keeps an explicit stack: a deep chain still works."""

    def nested_tanh(x):
        for _ in range(20_000):
            x = ad.tanh(x)
        return x

    with ad.differential_cache(False):
        g = ad.grad(nested_tanh)(0.5)
    np.testing.assert_allclose(g, ad.grad(nested_tanh)(0.5), rtol=1e-12)


def test_a_gradient_that_reads_an_outer_variable_stays_differentiable():
    """grad(f)(x) with f closing over a variable w: d/dw of the gradient is still right.

    f(x) = Σ w·x³, so ∂f/∂x = 3w·x² and d/dw Σ ∂f/∂x = 3x²; the Hessian 6w·x gives 6x.
    """
    x = np.arange(3.0)
    w = ad.Tensor(np.ones(3))
    gradient = ad.grad(lambda z: ad.sum(w * z**3))(x)
    assert isinstance(gradient, ad.Tensor) and gradient.requires_grad
    np.testing.assert_allclose(ad.diff(ad.sum(gradient), w).value, 3 * x**2)
    hessian = ad.hessian(lambda z: ad.sum(w * z**3))(x)
    np.testing.assert_allclose(ad.diff(ad.sum(hessian), w).value, 6 * x)
