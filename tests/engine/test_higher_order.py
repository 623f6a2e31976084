"""Higher derivatives against closed forms, and the shapes of grad, jacobian, hessian and diff.

Rules are written with the library's own functions, so differentiating a derivative is just
another sweep. Here the third derivatives of scalar functions are compared with what calculus
says, by two routes: nesting the function transforms (``jacobian(jacobian(grad(f)))``) and
nesting ``diff`` on Tensors. The Hessian of the Newton-step example of the course,
0.5 xᵀAx + bᵀx + Σ log cosh x, is compared with (A + Aᵀ)/2 + diag(1 − tanh²x).
"""

from __future__ import annotations

import numpy as np
import pytest
from numeric import central_jacobian

import autodiff_lib as ad

# f, its third derivative, and points inside its domain
THIRD_DERIVATIVES = {
    "sin": (ad.sin, lambda x: -np.cos(x), [-2.0, 0.3, 1.7]),
    "cos": (ad.cos, np.sin, [-2.0, 0.3, 1.7]),
    "exp": (ad.exp, np.exp, [-1.0, 0.0, 0.8]),
    "tanh": (
        ad.tanh,
        lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2),
        [-1.2, 0.0, 0.4],
    ),
    "sinh": (ad.sinh, np.cosh, [-1.0, 0.5]),
    "cosh": (ad.cosh, np.sinh, [-1.0, 0.5]),
    "x**3": (lambda x: x**3, lambda x: 6.0 + 0 * x, [-1.5, 0.0, 2.0]),
    "x**4 / 4": (lambda x: x**4 / 4, lambda x: 6 * x, [-1.5, 0.7]),
    "log(1+x**2)": (
        lambda x: ad.log(1 + x**2),
        lambda x: (4 * x**3 - 12 * x) / (1 + x**2) ** 3,
        [-2.0, -0.5, 0.0, 0.9],
    ),
    "sqrt": (ad.sqrt, lambda x: 0.375 * x**-2.5, [0.5, 2.0]),
    "1/x": (lambda x: 1 / x, lambda x: -6 / x**4, [-1.3, 0.7]),
    "x*exp(-x)": (lambda x: x * ad.exp(-x), lambda x: (3 - x) * np.exp(-x), [-0.5, 0.4, 2.0]),
    "square": (ad.square, lambda x: 0.0 * x, [-1.5, 0.0, 2.0]),
    "reciprocal": (ad.reciprocal, lambda x: -6 / x**4, [-1.3, 0.7]),
    "log1p": (ad.log1p, lambda x: 2 / (1 + x) ** 3, [-0.5, 0.0, 1e-9, 2.0]),
    "expm1": (ad.expm1, np.exp, [-1.0, 1e-9, 0.8]),
    "tan": (
        ad.tan,
        lambda x: 2 * (1 + np.tan(x) ** 2) * (1 + 3 * np.tan(x) ** 2),
        [-1.0, 0.0, 0.3, 1.2],
    ),
    "logaddexp(x, 0.5)": (  # log(eˣ + e^0.5): its derivative is σ(x − 0.5)
        lambda x: ad.logaddexp(x, 0.5),
        lambda x: (s := 1 / (1 + np.exp(0.5 - x))) * (1 - s) * (1 - 2 * s),
        [-2.0, 0.5, 1.7],
    ),
    "logaddexp(0.5, x)": (
        lambda x: ad.logaddexp(0.5, x),
        lambda x: (s := 1 / (1 + np.exp(0.5 - x))) * (1 - s) * (1 - 2 * s),
        [-2.0, 0.5, 1.7],
    ),
    "x·max(x, 0.2x)": (
        lambda x: x * ad.max(ad.stack([x, 0.2 * x])),
        lambda x: 0.0 * x,
        [-1.0, 0.6],
    ),
    "prod([x, x, x])": (lambda x: ad.prod(ad.stack([x, x, x])), lambda x: 6.0 + 0 * x, [-0.7, 0.0]),
    "clip(x, -1, 1)**3": (lambda x: ad.clip(x, -1.0, 1.0) ** 3, lambda x: 6.0 + 0 * x, [-0.5, 0.5]),
}


@pytest.mark.parametrize("name", THIRD_DERIVATIVES)
def test_third_derivative_by_nested_transforms(name):
    """jacobian(jacobian(grad(f))) at a scalar point is f'''(x)."""
    f, third, points = THIRD_DERIVATIVES[name]
    d3 = ad.jacobian(ad.jacobian(ad.grad(f)))
    for x in points:
        value = d3(x)
        assert np.shape(value) == ()
        np.testing.assert_allclose(value, third(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", THIRD_DERIVATIVES)
def test_third_derivative_by_nested_diff(name):
    """diff(diff(diff(y, x), x), x) on Tensors is f'''(x), and is a Tensor."""
    f, third, points = THIRD_DERIVATIVES[name]
    for x0 in points:
        x = ad.Tensor(x0)
        y = f(x)
        d3 = ad.diff(ad.diff(ad.diff(y, x), x), x)
        assert isinstance(d3, ad.Tensor) and d3.shape == ()
        np.testing.assert_allclose(d3.value, third(x0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "name", ["sin", "tanh", "log(1+x**2)", "x*exp(-x)", "reciprocal", "tan", "logaddexp(x, 0.5)"]
)
def test_third_derivative_tensor_of_a_vector_function(name):
    """For F(x) = Σ f(x_i), the third-derivative tensor is diagonal with entries f'''(x_i)."""
    f, third, _ = THIRD_DERIVATIVES[name]
    x = np.array([-1.1, -0.2, 0.5, 1.3])
    d3 = ad.jacobian(ad.hessian(lambda x: ad.sum(f(x))))(x)
    expected = np.zeros((4, 4, 4))
    expected[np.arange(4), np.arange(4), np.arange(4)] = third(x)
    assert d3.shape == (4, 4, 4)
    np.testing.assert_allclose(d3, expected, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_derivatives_of_integer_powers_at_zero(k):
    """d^n/dx^n x^k at 0 is k! for n = k and 0 for n > k, never 0·inf = nan.

    Each derivative of x**k lowers the exponent; at exponent 0 the rule must give 0 rather
    than 0 · x^(−1), which is nan at x = 0.
    """
    derivative = lambda x: x**k
    for n in range(1, k + 3):
        derivative = ad.grad(derivative) if n == 1 else ad.jacobian(derivative)
        expected = float(np.prod(np.arange(1, k + 1))) if n == k else 0.0
        assert derivative(0.0) == expected, (n, derivative(0.0))


def test_derivative_of_a_power_with_a_zero_exponent_array():
    """x**y with y a variable array containing 0: d/dx is 0 there, also at x = 0."""
    x = np.array([0.0, 0.0, 2.0])
    y = np.array([0.0, 2.0, 0.0])
    gx, gy = ad.grad(lambda x, y: ad.sum(x**y), argnum=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0, np.log(2.0)])


def test_check_grad_to_third_order():
    """check_grad compares orders 1 to 3 of a composite function with central differences."""

    def f(x):
        return ad.sum(ad.tanh(x) * ad.sin(x) ** 2) + ad.log(1 + ad.sum(x * x))

    report = ad.check_grad(f, np.array([0.3, -0.8, 1.1]), order=3, rtol=1e-5, atol=1e-6)
    assert report.order == 3


def test_check_grad_detects_a_wrong_rule():
    """The checker itself can fail: a primitive with a wrong rule is reported, not excused."""
    wrong_sin = ad.primitive(np.sin, "wrong_sin")
    ad.defvjp(wrong_sin, lambda g, ans, x: g * ad.cos(x) * 1.01)
    with pytest.raises(ad.GradientCheckError, match="order-1"):
        ad.check_grad(lambda x: ad.sum(wrong_sin(x)), np.array([0.3, 1.0]))


# -- the Newton-step example: 0.5 xᵀAx + bᵀx + Σ log cosh x -------------------------------------
N = 6
RNG = np.random.default_rng(7)
A = RNG.standard_normal((N, N))  # not symmetric: the Hessian is its symmetric part
B = RNG.standard_normal(N)
X0 = RNG.uniform(-1.5, 1.5, N)


def newton_objective(x):
    return 0.5 * (x @ (A @ x)) + B @ x + ad.sum(ad.log(ad.cosh(x)))


def newton_objective_matvec(x):
    return 0.5 * ad.dot(x, ad.matvec(A, x)) + ad.dot(B, x) + ad.sum(ad.log(ad.cosh(x)))


def closed_form_gradient(x):
    return 0.5 * (A + A.T) @ x + B + np.tanh(x)


def closed_form_hessian(x):
    return 0.5 * (A + A.T) + np.diag(1 - np.tanh(x) ** 2)


@pytest.mark.parametrize("f", [newton_objective, newton_objective_matvec])
def test_hessian_of_the_newton_objective(f):
    """grad and hessian against the closed forms; diff(diff(y, x), x) gives the same."""
    np.testing.assert_allclose(ad.grad(f)(X0), closed_form_gradient(X0), rtol=1e-12)
    H = ad.hessian(f)(X0)
    assert H.shape == (N, N)
    np.testing.assert_allclose(H, closed_form_hessian(X0), rtol=1e-12, atol=1e-14)
    x = ad.Tensor(X0)
    np.testing.assert_allclose(
        ad.diff(ad.diff(f(x), x), x).value, closed_form_hessian(X0), rtol=1e-12, atol=1e-14
    )


def test_newton_step_reaches_the_minimum_of_a_quadratic():
    """One Newton step x - H⁻¹∇f solves a convex quadratic exactly (H from hessian)."""
    S = A @ A.T + N * np.eye(N)

    def quadratic(x):
        return 0.5 * (x @ (S @ x)) + B @ x

    x = X0 - np.linalg.solve(ad.hessian(quadratic)(X0), ad.grad(quadratic)(X0))
    np.testing.assert_allclose(x, -np.linalg.solve(S, B), rtol=1e-10)
    np.testing.assert_allclose(ad.grad(quadratic)(x), np.zeros(N), atol=1e-10)


# -- shapes ---------------------------------------------------------------------------------------
M = RNG.standard_normal((3, 4))
XM = RNG.uniform(-1, 1, (2, 3))


def test_grad_of_a_matrix_argument_has_its_shape():
    """grad of f: R^{2×3} → R is a (2, 3) array: d/dX Σ tanh(X M) = (1 − tanh²(X M)) Mᵀ."""
    g = ad.grad(lambda X: ad.sum(ad.tanh(X @ M)))(XM)
    assert g.shape == (2, 3)
    np.testing.assert_allclose(g, (1 - np.tanh(XM @ M) ** 2) @ M.T, rtol=1e-12)


def test_jacobian_of_a_matrix_function_has_shape_out_plus_in():
    """For F(X) = X M, J[i, j, k, l] = ∂F_ij/∂X_kl = δ_ik M_lj, of shape (2, 4) + (2, 3)."""
    J = ad.jacobian(lambda X: X @ M)(XM)
    assert J.shape == (2, 4, 2, 3)
    np.testing.assert_allclose(J, np.einsum("ik,lj->ijkl", np.eye(2), M), atol=1e-15)


def test_hessian_of_a_matrix_argument_has_shape_in_plus_in():
    """For f(X) = Σ X³, the Hessian is diagonal, 6 X, of shape (2, 3, 2, 3)."""
    H = ad.hessian(lambda X: ad.sum(X**3))(XM)
    assert H.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(H, np.diag(6 * XM.ravel()).reshape(2, 3, 2, 3), atol=1e-14)


def test_hessian_of_a_matrix_argument_matches_central_differences():
    """A Hessian with all entries non-zero, against central differences of the gradient."""

    def f(X):
        return ad.sum(ad.tanh(X @ M) ** 2) + ad.sum(X[:, 0] * X[:, 2]) + ad.sum(X) ** 2

    H = ad.hessian(f)(XM)
    assert H.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(H, central_jacobian(ad.grad(f), (XM,)), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "in_shape, fun, out_shape",
    [
        ((), lambda x: x * np.arange(3.0), (3,)),  # scalar in, vector out
        ((4,), lambda x: ad.sum(x**2), ()),  # vector in, scalar out: the gradient
        ((2, 3), lambda x: ad.sum(x, axis=0), (3,)),
        ((3,), lambda x: ad.reshape(x, (1, 3, 1)) * np.ones((2, 1, 2)), (2, 3, 2)),
    ],
)
def test_jacobian_and_diff_shapes(in_shape, fun, out_shape):
    """jacobian(f)(x) and diff(f(x), x) have shape out.shape + in.shape; diff∘diff adds in.shape."""
    x0 = np.linspace(0.2, 0.9, int(np.prod(in_shape))).reshape(in_shape)
    J = ad.jacobian(fun)(x0)
    assert J.shape == out_shape + in_shape
    np.testing.assert_allclose(J, central_jacobian(fun, (x0,)), rtol=1e-7, atol=1e-8)
    x = ad.Tensor(x0)
    y = fun(x)
    d = ad.diff(y, x)
    assert d.shape == out_shape + in_shape
    np.testing.assert_allclose(d.value, J, rtol=1e-14, atol=1e-15)
    assert ad.diff(d, x).shape == out_shape + in_shape + in_shape


# -- Hessians of the reductions and matrix functions, against closed forms ----------------------
def test_hessian_of_std_is_the_derivative_of_its_gradient():
    """std(x) = √(Σ(xᵢ − x̄)²/n): ∇ = (x − x̄)/(n·std), H = (I − 1/n)/(n·std) − ∇∇ᵀ/std."""
    x = np.array([0.3, -1.2, 0.8, 2.0])
    n, s, c = len(x), np.std(x), x - x.mean()
    gradient = c / (n * s)
    np.testing.assert_allclose(ad.grad(ad.std)(x), gradient, rtol=1e-13)
    expected = (np.eye(n) - 1 / n) / (n * s) - np.outer(gradient, gradient) / s
    np.testing.assert_allclose(ad.hessian(ad.std)(x), expected, rtol=1e-12, atol=1e-14)


def test_hessian_of_a_trace_and_a_diag():
    """tr(X Xᵀ) = Σ X²ᵢⱼ has Hessian 2I; Σ diag(v)² v = Σ vᵢ³ has Hessian diag(6v)."""
    X = RNG.standard_normal((2, 3))
    H = ad.hessian(lambda X: ad.trace(X @ X.T))(X)
    np.testing.assert_allclose(H, 2 * np.eye(6).reshape(2, 3, 2, 3), atol=1e-14)
    v = RNG.standard_normal(4)
    H = ad.hessian(lambda v: ad.sum(ad.square(ad.diag(v)) @ v))(v)
    np.testing.assert_allclose(H, np.diag(6 * v), atol=1e-14)


def test_hessian_of_logsumexp_written_with_max():
    """m + log Σ exp(x − m) with m = max(x): the max cancels (its derivative is 1/k where the
    ties share), and the Hessian is diag(p) − ppᵀ with p = softmax(x), also at a tie."""
    for x in [np.array([0.3, -1.2, 0.8, 2.0]), np.array([1.0, 2.0, 2.0, -0.5])]:

        def logsumexp(x):
            m = ad.max(x)
            return m + ad.log(ad.sum(ad.exp(x - m)))

        p = np.exp(x - x.max()) / np.sum(np.exp(x - x.max()))
        np.testing.assert_allclose(ad.grad(logsumexp)(x), p, rtol=1e-14)
        np.testing.assert_allclose(
            ad.hessian(logsumexp)(x), np.diag(p) - np.outer(p, p), atol=1e-15
        )
