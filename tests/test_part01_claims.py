"""What part 01 claims, asserted on its reference solution (the source notebook's answers).

Work is counted in derivative-rule evaluations (``ad.count_operations``), not seconds: the
same on every machine and every run.
"""

import nbformat
import numpy as np
import pytest
from coursekit import ROOT

import autodiff_lib as ad
from autodiff_lib.landscapes import quadratic, random_quadratic

NOTEBOOK = ROOT / "source" / "01_newton_vs_gd" / "01_newton_vs_gd.ipynb"


@pytest.fixture(scope="module")
def reference():
    """The namespace of the notebook's setup cell and its reference answers."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    namespace = {}
    for grade_id in ["setup", "landscape", "next_step_size", "gradient_descent"]:
        exec(compile(cells[grade_id], f"<{grade_id}>", "exec"), namespace)
    return namespace


def counted(run):
    """``(result, rule evaluations)`` of one optimizer run."""
    with ad.count_operations() as ops:
        result = run()
    return result, ops.rule_evaluations


def problems(reference):
    """The notebook's quadratic, then random quadratics of other sizes and shapes."""
    yield reference["f"], reference["x0"]
    for n, condition, seed in [(5, 50.0, 1), (20, 100.0, 2)]:
        f, _, x_star = random_quadratic(n, condition, seed)
        yield f, x_star + 3.0


def test_newton_converges_in_one_step_on_an_exact_quadratic(reference):
    for f, x0 in problems(reference):
        result = ad.newton(f, x0, tol=1e-8)
        assert result.converged and result.steps == 1


@pytest.mark.parametrize("tol", [1e-4, 1e-8])
def test_a_gradient_step_is_cheaper_but_descent_takes_far_more_steps_and_work(reference, tol):
    for f, x0 in problems(reference):
        newton, newton_work = counted(lambda: ad.newton(f, x0, tol=tol))  # noqa: B023
        descent, descent_work = counted(
            lambda: reference["gradient_descent"](f, x0, step_size=0.01, tol=tol)  # noqa: B023
        )
        assert newton.converged and descent.converged  # the same tolerance, reached by both
        per_step = descent_work / descent.steps, newton_work / newton.steps
        assert per_step[0] < per_step[1] / 2, f"gradient step {per_step[0]} vs Newton {per_step[1]}"
        assert descent.steps >= 20 * newton.steps
        assert descent_work >= 5 * newton_work


def test_the_notebook_reference_and_the_library_take_the_same_steps(reference):
    """ad.gradient_descent, which later parts use, is the reference answer of part 01."""
    for f, x0 in problems(reference):
        ours = reference["gradient_descent"](f, x0, step_size=0.01, tol=1e-8, grow=1.5, shrink=0.3)
        library = ad.gradient_descent(f, x0, step_size=0.01, tol=1e-8, grow=1.5, shrink=0.3)
        np.testing.assert_array_equal(ours.trajectory, library.trajectory)
        np.testing.assert_array_equal(ours.step_sizes, library.step_sizes)
        assert ours.converged == library.converged


def test_a_fixed_step_fails_where_the_adaptive_one_succeeds(reference):
    """The three fixed step sizes the notebook shows, against the reference answer."""
    f, x0 = reference["f"], reference["x0"]
    for eta in [0.2, 0.01, 0.15]:
        fixed = ad.gradient_descent(f, x0, step_size=eta, tol=1e-6, max_steps=200, adaptive=False)
        assert not fixed.converged
    assert ad.gradient_descent(f, x0, step_size=0.2, tol=1e-6, max_steps=200, adaptive=False
                               ).losses[-1] > 1e10  # fmt: skip
    adaptive = reference["gradient_descent"](f, x0, step_size=0.2, tol=1e-6, max_steps=2000)
    assert adaptive.converged


def test_newton_is_exact_on_the_library_quadratic():
    A, x_star = np.array([[2.0, 1.0], [1.0, 3.0]]), np.array([0.5, -1.5])
    f = quadratic(A, x_star)
    x = np.array([4.0, 4.0])
    np.testing.assert_allclose(ad.grad(f)(x), A @ (x - x_star))
    np.testing.assert_allclose(ad.hessian(f)(x), A)
    np.testing.assert_allclose(ad.newton(f, x).x, x_star, atol=1e-12)
