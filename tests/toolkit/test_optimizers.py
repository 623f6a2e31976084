"""Newton's method and gradient descent (autodiff_lib.optimizers): what the course relies on."""

import numpy as np
import pytest

import autodiff_lib as ad


def quadratic(A, x_star):
    """f(x) = ½ (x − x*)ᵀ A (x − x*): minimum 0 at x*, Hessian A."""
    A, x_star = np.asarray(A, float), np.asarray(x_star, float)
    return lambda x: 0.5 * ad.sum((x - x_star) * ad.matmul(A, x - x_star))


def spd(n, condition, seed):
    """A random symmetric positive definite n×n matrix with the given condition number."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return Q @ np.diag(np.geomspace(1.0, condition, n)) @ Q.T


def gradient_norm(f, x):
    return np.linalg.norm(ad.grad(f)(x))


@pytest.mark.parametrize("n", [1, 2, 7])
def test_newton_solves_a_quadratic_in_one_step(n):
    A, x_star = spd(n, 50.0, seed=n), np.arange(n, dtype=float)
    result = ad.newton(quadratic(A, x_star), np.full(n, 5.0), tol=1e-8)
    assert result.converged and result.steps == 1
    np.testing.assert_allclose(result.x, x_star, atol=1e-10)
    assert result.trajectory.shape == (2, n) and result.losses.shape == (2,)


def test_newton_on_a_non_quadratic_converges_fast_and_stops_at_the_tolerance():
    f = lambda x: ad.sum(ad.log(ad.cosh(x - 1.0))) + 0.1 * ad.sum(x * x)
    result = ad.newton(f, np.array([0.3, -0.4, 0.5]), tol=1e-10)
    assert result.converged and 2 <= result.steps <= 8
    assert gradient_norm(f, result.x) <= 1e-10
    assert all(gradient_norm(f, x) > 1e-10 for x in result.trajectory[:-1])


def test_newton_works_on_arrays_of_any_shape():
    x_star = np.arange(6.0).reshape(2, 3)
    f = lambda x: ad.sum((x - x_star) ** 2) + ad.sum(x[0] * x[1])
    result = ad.newton(f, np.zeros((2, 3)))
    assert result.x.shape == (2, 3) and result.trajectory.shape == (result.steps + 1, 2, 3)
    assert result.converged and gradient_norm(f, result.x) <= 1e-8


def test_newton_with_a_singular_hessian_says_so():
    f = lambda x: ad.sum(x) ** 2
    with pytest.raises(np.linalg.LinAlgError, match="Hessian is singular at step 1"):
        ad.newton(f, np.array([1.0, 2.0]))


def test_damped_newton_takes_fractional_steps():
    A, x_star = spd(3, 10.0, seed=1), np.ones(3)
    result = ad.newton(quadratic(A, x_star), np.zeros(3), step_size=0.5, max_steps=3)
    # each half step halves the distance to the minimum of a quadratic
    np.testing.assert_allclose(result.x - x_star, -(0.5**3) * x_star, atol=1e-12)
    assert not result.converged and result.steps == 3 and "max_steps = 3" in result.message


@pytest.mark.parametrize("n, condition", [(1, 1.0), (2, 20.0), (10, 100.0)])
def test_gradient_descent_converges_on_quadratics(n, condition):
    A, x_star = spd(n, condition, seed=n), np.linspace(-1.0, 1.0, n)
    f = quadratic(A, x_star)
    result = ad.gradient_descent(f, np.full(n, 3.0), step_size=1e-3, tol=1e-6)
    assert result.converged, result.message
    assert np.linalg.norm(A @ (result.x - x_star)) <= 1e-6
    assert result.trajectory.shape == (result.steps + 1, n)
    assert result.step_sizes.shape == (result.steps,)
    # the recorded losses are the losses at the recorded points, and never go up
    np.testing.assert_allclose(result.losses, [float(f(x)) for x in result.trajectory])
    assert np.all(np.diff(result.losses) <= 0)


def test_the_adaptive_step_grows_after_success_and_shrinks_after_failure():
    f = quadratic(spd(4, 30.0, seed=3), np.zeros(4))
    result = ad.gradient_descent(f, np.ones(4), step_size=1e-2, tol=1e-8, grow=1.5, shrink=0.25)
    improved = np.diff(result.losses) < 0
    assert improved.any() and (~improved).any()  # both branches happened
    expected = result.step_sizes[:-1] * np.where(improved[:-1], 1.5, 0.25)
    np.testing.assert_allclose(result.step_sizes[1:], expected)
    # a rejected step leaves the point where it was
    rejected = np.flatnonzero(~improved)
    np.testing.assert_array_equal(result.trajectory[rejected + 1], result.trajectory[rejected])


def test_a_step_far_too_large_is_shrunk_rather_than_diverging():
    A = np.diag([1.0, 100.0])
    result = ad.gradient_descent(quadratic(A, [1.0, 1.0]), np.zeros(2), step_size=10.0, tol=1e-8)
    assert result.converged and result.step_sizes[0] == 10.0
    with pytest.raises(ad.DivergenceError, match="fixed step size 10 is too large"):
        ad.gradient_descent(quadratic(A, [1.0, 1.0]), np.zeros(2), step_size=10.0, adaptive=False)


def test_a_fixed_small_step_is_slow():
    A = np.diag([1.0, 100.0])
    fixed = ad.gradient_descent(
        quadratic(A, [1.0, 1.0]), np.zeros(2), step_size=1e-3, adaptive=False, max_steps=500
    )
    adaptive = ad.gradient_descent(quadratic(A, [1.0, 1.0]), np.zeros(2), step_size=1e-3)
    assert not fixed.converged and np.all(fixed.step_sizes == 1e-3)
    assert adaptive.converged and adaptive.steps < 2000


def test_gradient_descent_stops_at_the_tolerance_and_within_the_budget():
    f = quadratic(spd(3, 10.0, seed=5), np.ones(3))
    result = ad.gradient_descent(f, np.zeros(3), step_size=0.1, tol=1e-4)
    assert result.converged and gradient_norm(f, result.x) <= 1e-4
    assert all(gradient_norm(f, x) > 1e-4 for x in result.trajectory[:-1])
    short = ad.gradient_descent(f, np.zeros(3), step_size=0.1, tol=1e-4, max_steps=5)
    assert not short.converged and short.steps == 5 and "max_steps = 5" in short.message
    assert ad.gradient_descent(f, np.ones(3), step_size=0.1).steps == 0  # already optimal


def test_overflowing_trial_points_are_rejected_not_returned():
    f = lambda x: ad.sum(ad.cosh(10.0 * x))
    result = ad.gradient_descent(f, np.array([1.0]), step_size=1e3, tol=1e-6)
    assert result.converged and np.all(np.isfinite(result.losses))
    assert np.all(np.isfinite(result.trajectory))


def test_a_non_finite_start_raises_a_clear_error():
    f = lambda x: ad.sum(ad.exp(x))
    with pytest.raises(ad.DivergenceError, match="loss is not finite at the starting point"):
        ad.gradient_descent(f, np.array([1e3]), step_size=0.1)
    with pytest.raises(ad.DivergenceError, match="newton: the loss is not finite"):
        ad.newton(f, np.array([1e3]))


def test_a_gradient_inconsistent_with_f_stalls_with_a_message():
    shifted_square = ad.primitive(lambda x: (x - 1.0) ** 2, "wrong_shifted_square")
    ad.defvjp(shifted_square, lambda g, ans, x: g * (2 * (x - 1.0) + 1.0))  # wrong on purpose
    result = ad.gradient_descent(lambda x: ad.sum(shifted_square(x)), np.array([3.0]))
    assert not result.converged and "stalled" in result.message
    assert np.all(np.isfinite(result.losses))


def test_bad_parameters_are_refused():
    f = quadratic(np.eye(2), np.zeros(2))
    with pytest.raises(ValueError, match="shrink"):
        ad.gradient_descent(f, np.ones(2), step_size=0.1, shrink=1.5)
    with pytest.raises(ValueError, match="step_size must be positive"):
        ad.gradient_descent(f, np.ones(2), step_size=0.0)


def test_a_result_built_from_lists_holds_arrays():
    result = ad.OptimizationResult([1.0], [[0.0], [1.0]], [1.0, 0.0], [0.5], np.True_)
    assert result.steps == 1 and result.converged is True
    assert isinstance(result.trajectory, np.ndarray) and result.trajectory.shape == (2, 1)
