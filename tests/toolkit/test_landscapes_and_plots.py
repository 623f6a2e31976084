"""The landscapes part 01 runs on, and the plot helpers its comparison uses."""

import matplotlib
import numpy as np
import pytest

import autodiff_lib as ad
from autodiff_lib.landscapes import quadratic, random_quadratic, random_spd
from autodiff_lib.plotting import plot_losses, plot_trajectories

matplotlib.use("Agg")


@pytest.mark.parametrize("n, condition", [(1, 1.0), (4, 30.0), (12, 1000.0)])
def test_random_spd_has_the_condition_number_asked_for(n, condition):
    A = random_spd(n, condition, seed=n)
    eigenvalues = np.linalg.eigvalsh(A)
    assert np.array_equal(A, A.T) and eigenvalues.min() > 0
    np.testing.assert_allclose(eigenvalues.max() / eigenvalues.min(), condition, rtol=1e-8)
    np.testing.assert_array_equal(A, random_spd(n, condition, seed=n))  # seeded


def test_a_quadratic_has_the_gradient_hessian_and_minimum_of_its_formula():
    f, A, x_star = random_quadratic(5, 20.0, seed=3)
    x = np.linspace(-1.0, 1.0, 5)
    np.testing.assert_allclose(float(f(x)), 0.5 * (x - x_star) @ A @ (x - x_star))
    np.testing.assert_allclose(ad.grad(f)(x), A @ (x - x_star))
    np.testing.assert_allclose(ad.hessian(f)(x), A, atol=1e-12)
    assert float(f(x_star)) == 0.0


def test_the_plots_draw_every_method_and_keep_an_exact_zero_on_the_log_scale():
    import matplotlib.pyplot as plt

    f = quadratic(np.diag([1.0, 10.0]), [1.0, -1.0])
    results = {
        "Newton": ad.newton(f, np.array([-2.0, 2.0])),
        "gradient descent": ad.gradient_descent(f, np.array([-2.0, 2.0]), tol=1e-6),
    }
    fig, (left, right) = plt.subplots(1, 2)
    plot_trajectories(f, results, ax=left)
    labels = [line.get_label() for line in left.get_lines()]
    assert labels == ["Newton (1 step)", f"gradient descent ({results['gradient descent'].steps} "
                      "steps)", "start"]  # fmt: skip
    exact = ad.OptimizationResult([1.0, -1.0], [[-2.0, 2.0], [1.0, -1.0]], [9.0, 0.0], [1.0], True)
    plot_losses({"exact": exact, **results}, ax=right)
    exact_line = right.get_lines()[0]
    assert right.get_yscale() == "log" and np.all(exact_line.get_ydata() > 0)
    smallest = min(r.losses[r.losses > 0].min() for r in results.values())
    assert exact_line.get_ydata()[-1] < smallest  # zero is drawn below every other point
    plt.close(fig)


def test_log_ticks_label_an_axis_of_two_decades_at_1_2_and_5():
    import matplotlib.pyplot as plt

    from autodiff_lib.plotting import log_ticks

    fig, ax = plt.subplots()
    ax.semilogy([0, 1], [0.009, 0.4])
    ax.set_ylim(8e-3, 0.5)
    log_ticks(ax)
    fig.canvas.draw()
    low, high = ax.get_ylim()
    shown = [t.get_text() for t in ax.get_yticklabels() if low <= t.get_position()[1] <= high]
    assert shown == ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5"]
    plt.close(fig)


def test_log_ticks_label_the_powers_of_ten_of_an_axis_of_ten_decades():
    """1, 2 and 5 per decade over ten decades: matplotlib drops them all, leaving no label."""
    import matplotlib.pyplot as plt

    from autodiff_lib.plotting import log_ticks

    fig, ax = plt.subplots()
    ax.semilogy([0, 1], [1e-8, 100.0])
    ax.set_ylim(6e-8, 230.0)
    log_ticks(ax)
    fig.canvas.draw()
    low, high = ax.get_ylim()
    shown = [t.get_text() for t in ax.get_yticklabels() if low <= t.get_position()[1] <= high]
    assert len(shown) >= 4 and shown[-1] == "100"
    assert all(float(text) == 10 ** round(np.log10(float(text))) for text in shown), shown
    plt.close(fig)
