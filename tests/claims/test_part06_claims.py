"""What part 06 claims, asserted on its reference solution (the source notebook's answers),
on the notebook's quadratic and network and on random quadratics. Only counted steps and
seeded numerics: no timings."""


import numpy as np
import pytest
from coursekit import reference_namespace

import autodiff_lib as ad
from autodiff_lib.landscapes import random_quadratic
from autodiff_lib.training import flatten, loss, train, unflatten

PART = "06_step_size"
REFERENCE_CELLS = [
    "setup", "landscape", "quadratic_runs", "stability_limit", "limit", "schedules", "descend",
    "network",
]  # fmt: skip


@pytest.fixture(scope="module")
def ref():
    """The namespace of the notebook's given cells and its reference answers."""
    return reference_namespace(PART, REFERENCE_CELLS)


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


def test_each_run_of_the_slider_gets_the_verdict_the_theory_predicts(ref):
    """Straight down the valley below 1/λ_max = 0.1, zigzagging above it; the flat direction
    sets the pace below η* = 2/(λ_min + λ_max) (too small: stagnates), the zigzag above it
    (0.19 converges slowly); 2/λ_max = 0.2 swings for ever; above, it diverges."""
    low, high = np.linalg.eigvalsh(ref["A"])[[0, -1]]
    best = 2 / (low + high)
    verdicts = {eta: ref["verdict"](run) for eta, run in ref["quadratic_runs"].items()}
    straight = 1.000001 / high  # at 1/λ_max exactly the steep error vanishes in one step
    for eta, verdict in verdicts.items():
        if eta < 2 / high:
            assert ("zigzag" in verdict) == (eta > straight), (eta, verdict)
        if eta < straight:
            assert verdict.split()[0] == ("stagnates:" if eta < 0.1 else "converges,"), eta
        elif eta < best:
            assert verdict == "converges, zigzagging", eta
        elif eta < 2 / high:
            assert verdict == "converges slowly: the zigzag sets the pace", eta
    assert verdicts[0.2] == "swings back and forth for ever"
    assert verdicts[0.21].startswith("diverges") and verdicts[0.23].startswith("diverges")
    assert [eta for eta, v in verdicts.items() if v.startswith("stagnates")] == [
        0.002, 0.01, 0.03, 0.06]


def test_the_error_shrinks_per_step_by_the_factor_of_the_slowest_direction(ref):
    """The printed pace is max(1 − ηλ_min, |1 − ηλ_max|), except where the faster direction
    has not died out after 50 steps (0.002 and 0.18), as the text says."""
    low, high = np.linalg.eigvalsh(ref["A"])[[0, -1]]
    for eta, run in ref["quadratic_runs"].items():
        theory = max(abs(1 - eta * low), abs(1 - eta * high))
        measured = ref["pace"](run)
        if eta in (0.002, 0.18):
            assert measured < theory - 0.01, eta
            faster = min(abs(1 - eta * low), abs(1 - eta * high))
            assert faster < measured, eta
        else:
            assert measured == pytest.approx(theory, abs=1e-3), eta
    assert 2 / (low + high) == pytest.approx(2 / 11)


def test_the_best_constant_step_is_two_over_the_sum_of_the_extreme_eigenvalues(ref):
    low, high = np.linalg.eigvalsh(ref["A"])[[0, -1]]
    best = 2 / (low + high)
    assert best == pytest.approx(2 / 11)
    grid = np.linspace(0.01, 0.2, 1901)
    slowest = np.max(np.abs(1 - np.outer(grid, [low, high])), axis=1)
    assert grid[np.argmin(slowest)] == pytest.approx(best, abs=1e-4)
    assert slowest.min() == pytest.approx(9 / 11, abs=1e-4)  # (kappa - 1) / (kappa + 1)
    ends = {eta: run.losses[-1] for eta, run in ref["quadratic_runs"].items()}
    assert min(ends, key=ends.get) == 0.18  # the slider's value that ends lowest


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


def test_the_stagnating_run_looks_done_but_fails_the_tolerance_and_what_it_costs(ref):
    f, x0, limit, descend = ref["f"], ref["x0"], ref["limit"], ref["descend"]
    slow = descend(f, x0, constant(0.01 * limit), max_steps=2000)
    assert slow.message == "max_steps"
    assert slow.losses[0] == pytest.approx(84.57, abs=0.01) and slow.losses[-1] < 2.5e-4
    gradient_norm = np.linalg.norm(ad.grad(f)(slow.x))
    assert gradient_norm > 1e4 * 1e-6  # "twenty thousand times tol"
    more = np.log(gradient_norm / 1e-6) / -np.log(1 - 0.01 * limit)
    patient = descend(f, x0, constant(0.01 * limit), max_steps=20_000)
    assert patient.converged and patient.steps == pytest.approx(slow.steps + more, rel=0.01)
    assert 4900 < more < 5000 and 6900 < patient.steps < 7000
    half = descend(f, x0, constant(0.5 * limit), max_steps=2000)
    assert half.steps == 133 and patient.steps > 50 * half.steps


def test_schedules_started_above_the_limit_blow_up_the_bold_driver_finds_the_limit(ref):
    f, x0, limit, descend = ref["f"], ref["x0"], ref["limit"], ref["descend"]
    for schedule in [ref["exponential_decay"](0.3, 0.99), ref["step_decay"](0.3, 0.5, 10)]:
        run = descend(f, x0, schedule, max_steps=2000)
        assert run.message == "diverged" and run.steps <= 12
    assert ref["exponential_decay"](0.3, 0.99)(40) > limit > ref["exponential_decay"](0.3, 0.99)(41)
    for eta0 in [0.002, 0.5, 2.0]:
        run = ad.gradient_descent(f, x0, step_size=eta0, tol=1e-6, max_steps=2000)
        assert run.converged and run.steps < 100
        second_half = run.step_sizes[run.steps // 2:]
        assert 0.15 < np.median(second_half) < 0.25  # around the limit 0.2
        assert second_half.max() > limit  # it crosses the limit ...
        undone = np.all(np.diff(run.trajectory, axis=0) == 0, axis=1)
        assert 0 < undone.sum() < 25  # ... and undoes those steps


def test_a_start_where_f_is_not_positive_and_an_overflow_with_blow_up_off(ref):
    descend = ref["descend"]
    below_zero = descend(lambda x: ad.sum(x * x) - 1.0, np.array([0.5]), constant(0.25))
    assert below_zero.message == "converged"
    with np.errstate(over="ignore"):
        overflowing = descend(lambda x: ad.sum(ad.exp(x * x)), np.array([3.0]), constant(1.0),
                              max_steps=50, blow_up=np.inf)  # fmt: skip
    assert overflowing.message == "diverged" and overflowing.steps == 1
    assert np.isinf(overflowing.losses[-1]) and len(overflowing.step_sizes) == 1  # recorded


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
            for eta in [0.003, 0.1, 0.3, 0.5, 0.6, 0.65, 0.8]}  # fmt: skip


def went_up(losses, last=100):
    return int(np.sum(np.diff(losses[-last - 1:]) > 0))


def test_on_the_network_small_steps_stagnate_and_large_ones_diverge(ref, network_runs):
    floor = ref["floor"]
    assert 15 * floor < network_runs[0.003].final_loss < 20 * floor  # "17 times"
    for eta in [0.1, 0.3]:
        assert network_runs[eta].final_loss < 1.15 * floor
    assert 20 <= went_up(network_runs[0.3].losses) <= 45  # "about a third" of the last 100
    for eta in [0.5, 0.6]:  # train, but end at three times the floor, still swinging
        assert 2.5 * floor < network_runs[eta].final_loss < 3.5 * floor
        assert went_up(network_runs[eta].losses) >= 40
    for eta in [0.65, 0.8]:  # the edge lies between 0.6 and 0.65
        assert network_runs[eta].diverged and network_runs[eta].recorded[-1] <= 15
    assert not any(network_runs[eta].diverged for eta in [0.003, 0.1, 0.3, 0.5, 0.6])


def test_large_steps_settle_at_the_edge_of_stability(ref, network_runs):
    """Above 2/λ_max of the starting point, the loss goes up on the way, and the weights end
    where λ_max is about 2/η (at most a little above)."""
    sharpness = ref["sharpness"]
    assert sharpness(ref["start"]) > 2 / 0.3
    for eta in [0.3, 0.5, 0.6]:
        run = network_runs[eta]
        assert np.any(np.diff(run.losses[:100]) > 0)
        assert 0.8 * (2 / eta) < sharpness(run.params) < 1.1 * (2 / eta)
    assert sharpness(network_runs[0.1].params) < 0.7 * (2 / 0.1)  # far from its edge


@pytest.fixture(scope="module")
def descents(ref):
    """The notebook's four runs of descend on the network: two constants, two schedules."""
    start, x, y, descend = ref["start"], ref["x"], ref["y"], ref["descend"]

    def network_loss(theta):
        return loss(unflatten(theta, start), x, y)

    def run(schedule):
        return descend(network_loss, flatten(start), schedule, tol=1e-3, max_steps=1000)

    return {"large": run(constant(0.6)), "small": run(constant(0.1)),
            "exponential": run(ref["exponential_decay"](0.6, 0.999)),
            "stairs": run(ref["step_decay"](0.6, 0.5, 250))}  # fmt: skip


def test_a_decaying_schedule_beats_both_constant_steps_on_the_network(ref, descents):
    large, small = descents["large"], descents["small"]
    exponential, stairs = descents["exponential"], descents["stairs"]
    assert large.message == small.message == "max_steps"
    assert np.sum(np.diff(large.losses[-100:]) > 0) >= 10  # still oscillating at the end
    assert np.all(np.diff(small.losses[-100:]) <= 0)  # smooth, but not done
    assert exponential.message == "converged" and 780 < exponential.steps < 810  # "793"
    for decayed in (exponential, stairs):
        assert decayed.losses[-1] < min(large.losses[-1], small.losses[-1])
        assert decayed.losses[-1] < 1.03 * ref["floor"]  # "within 3 % of the floor"


def test_the_large_step_leads_at_first_then_stays_above_the_small_one(ref, descents):
    large, small = descents["large"].losses, descents["small"].losses
    assert large[100] == pytest.approx(0.023, abs=0.001) and small[100] == pytest.approx(
        0.032, abs=0.001)  # fmt: skip
    assert np.all(large[119:] > small[119:]) and large[118] <= small[118]  # "from step 119 on"
    assert large[-1] == pytest.approx(1.6 * ref["floor"], rel=0.03)
    four = np.array([np.pad(run.losses, (0, 1001 - len(run.losses)), constant_values=np.inf)
                     for run in descents.values()])  # fmt: skip
    lowest = np.argmin(four, axis=0)
    assert np.all(lowest[120:400] == 1)  # the small step is the lowest from 120 to about 400


def test_every_loss_panel_of_the_quadratic_slider_is_readable(ref):
    """A log axis over less than a decade (0.2 runs from 84.57 to 83.97) would show one tick:
    such a panel is linear; every panel shows at least three labelled values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = {}

    def every_value(draw, options, description, value=None):
        for eta in options:
            draw(eta)
            drawn[eta] = plt.gcf()

    reference_namespace(PART, ["def draw_quadratic_run"], namespace={**ref, "slider": every_value})
    assert sorted(drawn) == sorted(ref["QUADRATIC_ETAS"])
    for eta, figure in drawn.items():
        figure.canvas.draw()
        right = figure.axes[1]
        low, high = right.get_ylim()
        shown = [t for t in right.get_yticklabels() if low <= t.get_position()[1] <= high]
        labelled = [t for t in shown if t.get_text()]
        assert len(labelled) >= 3, (eta, right.get_yscale(), [t.get_text() for t in labelled])
        losses = ref["quadratic_runs"][eta].losses
        assert (right.get_yscale() == "linear") == (max(losses) < 10 * min(losses)), eta
        plt.close(figure)
