"""What part 06 claims, asserted on its reference solution (the source notebook's answers),
on the notebook's quadratic and network and on random quadratics. Only counted steps and
seeded numerics: no timings."""


import numpy as np
import pytest
from coursekit import ROOT, reference_namespace

import autodiff_lib as ad
from autodiff_lib.landscapes import random_quadratic
from autodiff_lib.training import flatten, loss, train, unflatten

NOTEBOOK = ROOT / "source" / "06_step_size" / "06_step_size.ipynb"
REFERENCE_CELLS = [
    "setup", "landscape", "stability_limit", "limit", "schedules", "descend", "network",
]  # fmt: skip


@pytest.fixture(scope="module")
def ref():
    """The namespace of the notebook's given cells and its reference answers."""
    return reference_namespace(NOTEBOOK, REFERENCE_CELLS)


def quadratics(ref):
    """The notebook's quadratic, then random ones of other sizes and condition numbers:
    ``(f, x0, Hessian)``."""
    yield ref["f"], ref["x0"], ref["A"]
    for n, condition, seed in [(5, 10.0, 1), (20, 30.0, 2)]:
        f, A, x_star = random_quadratic(n, condition, seed)
        yield f, x_star + 2.0, A


def constant(eta):
    return lambda k: eta


def test_the_limit_is_two_over_the_largest_eigenvalue(ref):
    assert ref["limit"] == pytest.approx(0.2, rel=1e-12)
    for _, _, A in quadratics(ref):
        assert ref["stability_limit"](A) == pytest.approx(2 / np.max(np.linalg.eigvals(A).real))


def test_descent_converges_just_below_the_limit_and_diverges_just_above(ref):
    descend, limit_of = ref["descend"], ref["stability_limit"]
    for f, x0, A in quadratics(ref):
        limit = limit_of(A)
        below = descend(f, x0, constant(0.99 * limit), max_steps=5000)
        above = descend(f, x0, constant(1.01 * limit), max_steps=5000)
        at = descend(f, x0, constant(limit), max_steps=5000)
        assert below.message == "converged" and below.converged
        assert above.message == "diverged" and not above.converged
        assert at.message == "max_steps"  # the steepest error swings back and forth for ever


def test_between_one_and_two_over_lambda_max_the_path_zigzags_across_the_valley(ref):
    """The error along the steepest eigenvector changes sign every step above 1/λ_max, and
    keeps its sign below; either way it shrinks."""
    f, x0, A, x_star = ref["f"], ref["x0"], ref["A"], ref["x_star"]
    steepest = np.linalg.eigh(A)[1][:, -1]
    for fraction, zigzags in [(0.4, False), (0.8, True)]:
        run = ref["descend"](f, x0, constant(fraction * ref["limit"]), max_steps=30)
        across = (run.trajectory - x_star) @ steepest
        signs = np.sign(across[:10])
        assert np.all(signs[1:] != signs[:-1]) == zigzags
        assert np.all(np.abs(across[1:10]) < np.abs(across[:9]))


def test_too_small_a_step_stagnates_and_the_steps_needed_grow_as_one_over_eta(ref):
    f, x0, limit, descend = ref["f"], ref["x0"], ref["limit"], ref["descend"]
    slow = descend(f, x0, constant(0.01 * limit), max_steps=2000)
    assert slow.message == "max_steps"
    assert np.all(np.diff(slow.losses) < 0)  # never unstable, just slow
    # the flat direction shrinks by 1 - 0.01 * 0.2 * 1 per step: f by about 0.996 per step
    assert slow.losses[-1] > 1e-6 * slow.losses[0]
    assert slow.losses[-1] / slow.losses[-2] == pytest.approx((1 - 0.002) ** 2, abs=1e-6)
    steps = {c: descend(f, x0, constant(c * limit), max_steps=5000).steps for c in [0.1, 0.5]}
    assert steps[0.5] < 200
    assert steps[0.1] / steps[0.5] == pytest.approx(5, rel=0.1)  # the flat direction's pace


def test_the_schedules_follow_their_formulas(ref):
    exponential, stairs = ref["exponential_decay"](0.6, 0.999), ref["step_decay"](0.6, 0.5, 250)
    for k in [0, 1, 249, 250, 999]:
        assert exponential(k) == pytest.approx(0.6 * 0.999**k)
        assert stairs(k) == pytest.approx(0.6 * 0.5 ** (k // 250))


def test_the_stopping_rule_stops_at_the_first_point_that_meets_it(ref):
    descend = ref["descend"]
    bowl = lambda x: ad.sum(x * x)  # noqa: E731
    run = descend(bowl, np.array([1.0]), constant(0.25), tol=1e-3)  # x halves each step
    assert run.steps == 11 and 2 * 0.5**11 <= 1e-3 < 2 * 0.5**10
    assert descend(bowl, np.zeros(1), constant(0.25)).steps == 0
    blown = descend(bowl, np.array([1.0]), constant(1.5), blow_up=1e4)  # x -> -2x
    assert blown.message == "diverged" and blown.steps == 7  # 4^7 > 1e4 >= 4^6


@pytest.fixture(scope="module")
def network_runs(ref):
    """The slider's runs on the network: 300 full-batch steps per step size."""
    return {eta: train(ref["start"], ref["x"], ref["y"], step_size=eta, steps=300)
            for eta in [0.003, 0.1, 0.3, 0.5, 0.8]}  # fmt: skip


def test_on_the_network_small_steps_stagnate_and_large_ones_diverge(ref, network_runs):
    floor = ref["floor"]
    assert network_runs[0.003].final_loss > 10 * floor
    for eta in [0.1, 0.3]:
        assert network_runs[eta].final_loss < 1.25 * floor
    assert network_runs[0.8].diverged and network_runs[0.8].recorded[-1] < 20
    assert not any(network_runs[eta].diverged for eta in [0.003, 0.1, 0.3, 0.5])


def test_large_steps_settle_at_the_edge_of_stability(ref, network_runs):
    """Above 2/λ_max of the starting point, the loss goes up on the way, and the weights end
    where λ_max is about 2/η (at most a little above)."""
    sharpness = ref["sharpness"]
    assert sharpness(ref["start"]) > 2 / 0.3
    for eta in [0.3, 0.5]:
        run = network_runs[eta]
        assert np.any(np.diff(run.losses[:100]) > 0)
        assert 0.8 * (2 / eta) < sharpness(run.params) < 1.1 * (2 / eta)
    assert sharpness(network_runs[0.1].params) < 0.7 * (2 / 0.1)  # far from its edge


def test_a_decaying_schedule_beats_both_constant_steps_on_the_network(ref):
    start, x, y, descend = ref["start"], ref["x"], ref["y"], ref["descend"]

    def network_loss(theta):
        return loss(unflatten(theta, start), x, y)

    def run(schedule):
        return descend(network_loss, flatten(start), schedule, tol=1e-3, max_steps=1000)

    large, small = run(constant(0.6)), run(constant(0.1))
    exponential = run(ref["exponential_decay"](0.6, 0.999))
    stairs = run(ref["step_decay"](0.6, 0.5, 250))
    assert large.message == small.message == "max_steps"
    assert np.sum(np.diff(large.losses[-100:]) > 0) >= 10  # still oscillating at the end
    assert np.all(np.diff(small.losses[-100:]) <= 0)  # smooth, but not done
    assert exponential.message == "converged" and exponential.steps < 1000
    for decayed in (exponential, stairs):
        assert decayed.losses[-1] < min(large.losses[-1], small.losses[-1])
