"""What part 02 claims, asserted on its reference solution (the source notebook's answers).

Work is counted in derivative-rule evaluations (``ad.count_operations``), not seconds: the
same on every machine and every run.
"""

import numpy as np
import pytest
from coursekit import reference_namespace

import autodiff_lib as ad
from autodiff_lib.landscapes import quadratic

PART = "02_nonquadratic_landscape"
REFERENCE_CELLS = [
    "setup", "log_cosh_landscape", "landscape", "undamped_newton", "damped_newton", "pseudo_huber",
]  # fmt: skip
NEWTON_FAILURES = (ad.DivergenceError, np.linalg.LinAlgError)


@pytest.fixture(scope="module")
def ref():
    """The namespace of the notebook's given cells and its reference answers."""
    return reference_namespace(PART, REFERENCE_CELLS)


def counted(run):
    """``(result, rule evaluations)`` of one optimizer run."""
    with ad.count_operations() as ops:
        result = run()
    return result, ops.rule_evaluations


def compare(ref, f, x0):
    """Damped Newton and gradient descent (as the notebook runs them): results and work."""
    newton, newton_work = counted(lambda: ref["damped_newton"](f, x0, tol=ref["tol"]))
    descent, descent_work = counted(
        lambda: ad.gradient_descent(f, x0, step_size=0.01, tol=ref["tol"])
    )
    assert newton.converged and descent.converged
    return newton, newton_work, descent, descent_work


def test_the_reference_landscape_is_log_cosh_with_its_closed_form_derivatives(ref):
    M, x_star, f = ref["M"], ref["x_star"], ref["f"]
    rng = np.random.default_rng(0)
    for x in [*ref["starts"], *(x_star + rng.normal(size=(3, 2)))]:
        u = M @ (x - x_star)
        assert float(f(x)) == pytest.approx(np.sum(np.log(np.cosh(u))), rel=1e-12)
        np.testing.assert_allclose(ad.grad(f)(x), M.T @ np.tanh(u), atol=1e-12)
        H = ad.hessian(f)(x)
        np.testing.assert_allclose(H, M.T @ np.diag(np.cosh(u) ** -2) @ M, atol=1e-12)
        assert np.all(np.linalg.eigvalsh(H) > 0)  # the Newton direction always points downhill
    np.testing.assert_allclose(ad.hessian(f)(x_star), M.T @ M)  # the quadratic model's A


def test_the_newton_step_moves_each_u_coordinate_as_in_one_variable(ref):
    M, x_star, f = ref["M"], ref["x_star"], ref["f"]
    for u in [np.array([0.5, -0.8]), np.array([1.3, 0.2]), np.array([-2.0, 1.0])]:
        x = x_star + np.linalg.solve(M, u)
        x_next = x - np.linalg.solve(ad.hessian(f)(x), ad.grad(f)(x))
        np.testing.assert_allclose(M @ (x_next - x_star), u - np.sinh(2 * u) / 2, atol=1e-9)


def test_in_one_variable_newton_diverges_beyond_about_1_09(ref):
    lo, hi = 0.5, 2.0  # bisect sinh(2u) = 4u: where a Newton step lands exactly at -u
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.sinh(2 * mid) < 4 * mid else (lo, mid)
    assert lo == pytest.approx(1.09, abs=0.005)
    f_1d, undamped_newton = ref["f_1d"], ref["undamped_newton"]
    for u0 in [0.5, 1.0, 0.99 * lo]:
        result = undamped_newton(f_1d, [u0], max_steps=20)
        assert result.converged and abs(result.x[0]) < 1e-6
    for u0 in [1.01 * lo, 1.1, 1.5]:
        result = undamped_newton(f_1d, [u0], max_steps=20)
        u = np.abs(result.trajectory[:, 0])
        assert not result.converged and np.all(np.diff(u) > 0), u  # each step overshoots more
        assert u[-1] > 100


def test_undamped_newton_fails_from_every_start(ref):
    f, starts, tol = ref["f"], ref["starts"], ref["tol"]
    for x0 in starts:
        with pytest.raises(NEWTON_FAILURES):
            ad.newton(f, x0, tol=tol)
        path = ref["undamped_newton"](f, x0, max_steps=20)
        assert not path.converged
        assert not path.losses[1] <= path.losses[0]  # the first step already goes uphill (or inf)


@pytest.mark.parametrize("eta", [0.5, 0.1, 0.02])
def test_a_fixed_step_size_does_not_stop_newton_from_diverging(ref, eta):
    for x0 in ref["starts"]:
        with pytest.raises(NEWTON_FAILURES):
            ad.newton(ref["f"], x0, tol=ref["tol"], step_size=eta, max_steps=200)


def test_a_fixed_step_size_small_enough_not_to_diverge_is_too_slow(ref):
    for x0 in ref["starts"]:
        result = ad.newton(ref["f"], x0, tol=ref["tol"], step_size=0.001, max_steps=200)
        assert not result.converged and np.all(np.isfinite(result.losses))


def test_damped_newton_converges_from_every_start_with_full_steps_at_the_end(ref):
    f, x_star = ref["f"], ref["x_star"]
    for x0 in ref["starts"]:
        result = ref["damped_newton"](f, x0, tol=ref["tol"])
        assert result.converged
        np.testing.assert_allclose(result.x, x_star, atol=1e-6)
        assert np.all(np.diff(result.losses) < 0)
        assert result.step_sizes[0] < 1  # the first step is cut down by the line search
        assert np.all(result.step_sizes[-2:] == 1.0)  # near the minimum: plain Newton steps


def test_damped_newton_is_plain_newton_on_a_quadratic(ref):
    q = quadratic(ref["M"].T @ ref["M"], ref["x_star"])
    for x0 in ref["starts"]:
        result = ref["damped_newton"](q, x0, tol=ref["tol"])
        assert result.converged and result.steps == 1 and result.step_sizes[0] == 1.0


def test_gradient_descent_converges_and_hardly_notices_the_landscape_is_not_quadratic(ref):
    q = quadratic(ref["M"].T @ ref["M"], ref["x_star"])
    for x0 in ref["starts"]:
        on_log_cosh = ad.gradient_descent(ref["f"], x0, step_size=0.01, tol=ref["tol"])
        on_quadratic = ad.gradient_descent(q, x0, step_size=0.01, tol=ref["tol"])
        assert on_log_cosh.converged and on_quadratic.converged
        assert on_log_cosh.steps <= 1.25 * on_quadratic.steps


def test_newtons_advantage_shrinks_in_steps_and_reverses_in_counted_work(ref):
    """The notebook's table: gradient descent over damped Newton, in steps and in work."""
    q = quadratic(ref["M"].T @ ref["M"], ref["x_star"])
    work_ratios = []
    for x0 in ref["starts"]:
        newton_q, newton_q_work, descent_q, descent_q_work = compare(ref, q, x0)
        newton, newton_work, descent, descent_work = compare(ref, ref["f"], x0)
        assert newton_q.steps == 1 and descent_q.steps >= 25  # part 01's picture
        assert descent_q_work >= 5 * newton_q_work
        assert newton.steps >= 4  # Newton needs several steps now ...
        step_ratio = descent.steps / newton.steps
        assert step_ratio <= descent_q.steps / newton_q.steps / 3  # ... so its lead shrinks
        assert 5 <= step_ratio <= 8  # "6 to 7 times as many steps"
        work_ratios.append(descent_work / newton_work)
        assert work_ratios[-1] <= (descent_q_work / newton_q_work) / 5
    assert max(work_ratios) <= 1.3, work_ratios  # "about the same work"
    assert min(work_ratios) < 1, work_ratios  # "less from one start": the advantage reverses


def test_the_accepted_step_sizes_are_cut_down_far_out_and_full_near_the_minimum(ref):
    """The printed step sizes: from start 0, 2^-8, 2^-5, 2^-7, 1/2, 1, 1."""
    result = ref["damped_newton"](ref["f"], ref["starts"][0], tol=ref["tol"])
    np.testing.assert_array_equal(result.step_sizes, [2**-8, 2**-5, 2**-7, 0.5, 1.0, 1.0])


def test_plain_newtons_first_step_lands_off_the_pictures_window(ref):
    for x0 in ref["starts"]:
        x1 = ref["undamped_newton"](ref["f"], x0, max_steps=1).trajectory[-1]
        assert not (-3.5 <= x1[0] <= 4.5 and -4.0 <= x1[1] <= 3.5)
        assert np.max(np.abs(x1)) > 100  # "hundreds to thousands away"


def overflow_free_log_cosh(M, x_star):
    """log cosh u = |u| + log(1 + exp(-2|u|)) - log 2: finite for every u."""

    def f(x):
        a = ad.abs(ad.matmul(M, x - x_star))
        return ad.sum(a + ad.log(1.0 + ad.exp(-2.0 * a)) - np.log(2.0))

    return f


def test_plain_newton_blows_up_either_way_whichever_form_f_is_written_in(ref):
    """log(cosh(u)) overflows (DivergenceError); the overflow-free form ends with a singular
    Hessian (LinAlgError): "blew up" covers both."""
    f_free = overflow_free_log_cosh(ref["M"], ref["x_star"])
    for x0 in ref["starts"]:
        assert float(f_free(x0)) == pytest.approx(float(ref["f"](x0)), rel=1e-12)
        with pytest.raises(ad.DivergenceError):
            ad.newton(ref["f"], x0, tol=ref["tol"])
        with pytest.raises(np.linalg.LinAlgError):
            ad.newton(f_free, x0, tol=ref["tol"])


def test_a_form_written_with_abs_loses_the_hessian_at_the_minimum(ref):
    """The visible test's message: ad.abs has derivative sign(0) = 0 at 0."""
    M, x_star = ref["M"], ref["x_star"]
    np.testing.assert_allclose(ad.hessian(ref["f"])(x_star), M.T @ M)
    assert np.all(ad.hessian(overflow_free_log_cosh(M, x_star))(x_star) == 0)


def test_from_far_out_newtons_advantage_goes_and_then_it_fails(ref):
    f, tol = ref["f"], ref["tol"]
    (newton, newton_work), (descent, descent_work) = (
        counted(lambda: ref["damped_newton"](f, np.array([-6.0, 9.0]), tol=tol)),
        counted(lambda: ad.gradient_descent(f, np.array([-6.0, 9.0]), step_size=0.01, tol=tol)),
    )
    assert newton.converged and descent.converged
    assert newton_work > 1.2 * descent_work  # more work than gradient descent now
    assert newton.step_sizes[0] < 1e-9  # dozens of halvings
    far = np.array([-12.0, 18.0])
    assert ad.gradient_descent(f, far, step_size=0.01, tol=tol).converged
    try:
        result = ref["damped_newton"](f, far, tol=tol)
    except np.linalg.LinAlgError:  # the Hessian singular in floating point
        return
    assert result.steps == 0 and not result.converged  # no step size lowered f: stopped


def test_when_no_step_size_lowers_f_nothing_is_recorded_and_the_last_size_is_tried(ref):
    """Exercise 2's rules: trials 1, 1/2, ..., 2^-max_halvings (that one included); if none
    lowers f, the step is not recorded and the run stops, not converged."""
    f = ref["f"]
    trials = []

    def watched(x):
        trials.append(np.array(ad.value_of(x), dtype=float))
        return f(x)

    far = np.array([-12.0, 18.0])
    result = ref["damped_newton"](watched, far, tol=ref["tol"], max_halvings=5)
    assert result.steps == 0 and not result.converged and len(result.trajectory) == 1
    steps = [t - far for t in trials if np.any(t != far)]  # not the evaluations at x0
    assert len(steps) == 6  # eta = 1, 1/2, ..., 1/32
    np.testing.assert_allclose(steps[-1], steps[0] / 32)
    with pytest.raises(np.linalg.LinAlgError):  # a singular Hessian is not caught
        ref["damped_newton"](
            lambda x: ad.sum(ad.matmul(np.zeros((2, 2)), x) ** 2) + x[0] ** 2, np.ones(2)
        )


def test_armijos_sufficient_decrease_halves_more_often_than_plain_decrease(ref):
    """Why the exercise states plain decrease: Armijo's rule with c = 0.3 accepts shorter steps
    somewhere, which the hidden test reports as "halved once too often"."""
    f, x0 = ref["f"], ref["starts"][0]
    value_and_grad_f, hessian_f = ad.value_and_grad(f), ad.hessian(f)
    x = np.array(x0)
    for _ in range(20):
        loss, g = value_and_grad_f(x)
        if np.linalg.norm(g) <= ref["tol"]:
            break
        p = np.linalg.solve(hessian_f(x), -g)
        plain = armijo = 1.0
        with np.errstate(over="ignore", invalid="ignore"):
            while not float(f(x + plain * p)) < float(loss):
                plain /= 2
            while not float(f(x + armijo * p)) <= float(loss) + 0.3 * armijo * g @ p:
                armijo /= 2
        assert armijo <= plain
        if armijo < plain:
            return
        x = x + plain * p
    pytest.fail("Armijo's rule never halved more often than plain decrease")
