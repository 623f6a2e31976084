"""What part 07 claims, asserted on its reference solution (the source notebook's answers),
with the notebook's data, weights and seeds. The cost of a step is counted (floats held by its
graph, rows it reads), never timed."""


import numpy as np
import pytest
from coursekit import reference_namespace

from autodiff_lib.training import flatten, train

PART = "07_batch_size"
REFERENCE_CELLS = ["setup", "data", "minibatch_gradient", "gradient_spread", "step_cost"]
BATCH_SIZES = [1, 2, 5, 10, 20, 50, 100, 200]


@pytest.fixture(scope="module")
def ref():
    """The namespace of the notebook's given cells and its reference answers."""
    return reference_namespace(PART, REFERENCE_CELLS)


def test_a_smaller_batch_makes_a_cheaper_step_exactly_linear_in_its_rows(ref):
    floats = [ref["step_floats"](ref["params"], ref["x"], ref["y"], b) for b in BATCH_SIZES]
    assert all(a < b for a, b in zip(floats, floats[1:]))
    per_row = (floats[-1] - floats[0]) / (BATCH_SIZES[-1] - BATCH_SIZES[0])
    fixed = floats[0] - per_row
    assert per_row == int(per_row) and fixed > 0  # floats = fixed + per_row * batch size
    assert floats == [fixed + per_row * b for b in BATCH_SIZES]
    assert floats[-1] / floats[0] > 50  # a batch of 1 holds under 2% of the full batch's graph


def test_per_epoch_the_full_batch_is_the_least_work_the_fixed_part_paid_once_per_step(ref):
    n = len(ref["x"])
    floats = {b: ref["step_floats"](ref["params"], ref["x"], ref["y"], b) for b in BATCH_SIZES}
    per_epoch = [floats[b] * (n // b) for b in BATCH_SIZES]
    assert all(a > b for a, b in zip(per_epoch, per_epoch[1:]))
    assert (per_epoch[0], per_epoch[-1]) == (30_000, 10_498)  # the notebook's numbers
    per_row = floats[2] - floats[1]
    fixed = floats[1] - per_row
    assert per_epoch == [n * fixed // b + n * per_row for b in BATCH_SIZES]
    assert fixed == sum(w.size for w in ref["params"]) + 1  # the weights, and the loss itself


def test_a_step_reads_exactly_the_rows_of_its_batch(ref):
    """The mini-batch gradient depends on the drawn rows only: changing any other row of the
    data leaves it unchanged, changing a drawn row changes it."""
    x, y, params = ref["x"], ref["y"], ref["params"]
    drawn = np.random.default_rng(3).choice(len(x), size=7, replace=False)
    before = flatten(ref["minibatch_gradient"](params, x, y, 7, np.random.default_rng(3)))
    other = np.setdiff1d(np.arange(len(x)), drawn)
    moved = y.copy()
    moved[other] += 5.0
    unchanged = flatten(ref["minibatch_gradient"](params, x, moved, 7, np.random.default_rng(3)))
    np.testing.assert_array_equal(before, unchanged)
    moved[drawn[0]] += 5.0
    changed = flatten(ref["minibatch_gradient"](params, x, moved, 7, np.random.default_rng(3)))
    assert not np.allclose(before, changed)


@pytest.fixture(scope="module")
def spreads(ref):
    """The notebook's measurement (100 draws per batch size, seed 0) and the formula."""
    x, y, params = ref["x"], ref["y"], ref["params"]
    rng = np.random.default_rng(0)
    measured = [ref["gradient_spread"](params, x, y, b, 100, rng) for b in BATCH_SIZES]
    per_sample = np.array([flatten(ref["grad_loss"](params, x[i:i + 1], y[i:i + 1]))
                           for i in range(len(x))])  # fmt: skip
    sigma2 = np.mean(np.sum((per_sample - flatten(ref["full_gradient"])) ** 2, axis=1))
    n = len(x)
    predicted = [np.sqrt(sigma2 / b * (n - b) / (n - 1)) for b in BATCH_SIZES]
    return np.array(measured), np.array(predicted)


def test_a_smaller_batch_gives_a_noisier_gradient(spreads):
    measured, _ = spreads
    assert np.all(np.diff(measured) < 0)
    assert measured[-1] < 1e-12  # all samples: the full gradient itself
    assert measured[0] > 10 * measured[-2]


def test_the_spread_follows_the_sampling_formula(spreads):
    measured, predicted = spreads
    np.testing.assert_allclose(measured[:-1], predicted[:-1], rtol=0.15)
    ratio = measured[0] / measured[4]  # batch 1 against 20: about sqrt(20) for n >> 20
    assert ratio == pytest.approx(np.sqrt(20) * np.sqrt((200 - 1) / (200 - 20)), rel=0.15)


def test_the_mini_batch_gradient_is_the_full_gradient_on_average(ref):
    x, y, params = ref["x"], ref["y"], ref["params"]
    rng = np.random.default_rng(5)
    mean = np.mean([flatten(ref["minibatch_gradient"](params, x, y, 10, rng))
                    for _ in range(2000)], axis=0)  # fmt: skip
    full = flatten(ref["full_gradient"])
    # unbiased: the average of 2000 draws is within a few standard errors of g
    assert np.linalg.norm(mean - full) < 4 * 0.97 / np.sqrt(2000)


@pytest.fixture(scope="module")
def race(ref):
    """The notebook's race: 400 steps of 0.1 from the initial weights, batches of 1 to 200."""
    return {b: train(ref["params"], ref["x"], ref["y"], step_size=0.1, steps=400, batch_size=b,
                     seed=0, record_every=5)
            for b in [1, 10, 50, 200]}  # fmt: skip


def loss_at(run, clock, when):
    return run.losses[np.searchsorted(clock, when, side="right") - 1]


def test_per_step_the_larger_batch_wins_per_sample_processed_batch_1_wins(race):
    after_steps = {b: run.losses[-1] for b, run in race.items()}
    assert all(after_steps[b] < 0.7 * after_steps[1] for b in [10, 50, 200])
    assert after_steps[200] < after_steps[50]
    after_samples = {b: loss_at(run, run.recorded * b, 400) for b, run in race.items()}
    assert min(after_samples, key=after_samples.get) == 1
    assert all(after_samples[1] < 0.2 * after_samples[b] for b in [10, 50, 200])


@pytest.fixture(scope="module")
def near_runs(ref):
    """The slider's runs: 400 steps of step size 0.1 from the true weights."""
    return {b: train(ref["data"].true_params, ref["x"], ref["y"], step_size=0.1, steps=400,
                     batch_size=b, seed=1, snapshot_steps=range(401))
            for b in [1, 5, 20, 50, 200]}  # fmt: skip


def step_lengths(run):
    path = np.array([flatten(run.snapshots[k]) for k in range(len(run.snapshots))])
    return np.linalg.norm(np.diff(path, axis=0), axis=1)


def test_a_small_batch_with_a_large_step_keeps_oscillating_where_the_full_batch_settles(
    near_runs,
):
    full = near_runs[200]
    assert np.all(np.diff(full.losses) <= 0)  # the full batch only goes down
    assert full.losses[-200:].std() < 1e-5 and step_lengths(full)[-200:].max() < 1e-3
    small = near_runs[1]
    assert small.losses[-200:].std() > 1000 * full.losses[-200:].std()
    assert small.losses[-200:].mean() > 2 * full.final_loss
    assert np.sum(np.diff(small.losses[-200:]) > 0) > 50  # up and down, not converging
    assert step_lengths(small)[-200:].mean() > 100 * step_lengths(full)[-200:].mean()


def test_near_the_optimum_a_step_is_about_eta_times_the_spread_measured_there(ref, near_runs):
    """The ratio the notebook prints and the text quotes: 1.2 for batches up to 5, 1.6 at 10 and
    20, 2.1 to 2.2 at 50 and 100 (the pull back to the optimum adds); the spread at the start
    is several times larger, so it would not do."""
    x, y, truth = ref["x"], ref["y"], ref["data"].true_params
    spread = ref["gradient_spread"]
    rng = np.random.default_rng(2)
    at_truth = {b: spread(truth, x, y, b, 100, rng) for b in [1, 2, 5, 10, 20, 50, 100]}
    near = {b: near_runs[b] if b in near_runs else train(
        truth, x, y, step_size=0.1, steps=400, batch_size=b, seed=1,
        snapshot_steps=range(401)) for b in at_truth}  # fmt: skip
    for b, run in near.items():
        ratio = step_lengths(run)[-200:].mean() / (0.1 * at_truth[b])
        quoted = {1: 1.2, 2: 1.2, 5: 1.2, 10: 1.6, 20: 1.6, 50: 2.15, 100: 2.15}[b]
        assert ratio == pytest.approx(quoted, abs=0.05), (b, ratio)
    at_start = spread(ref["params"], x, y, 1, 100, np.random.default_rng(0))
    assert at_start > 3 * at_truth[1]


def test_the_smaller_the_batch_the_larger_the_jumps_near_the_optimum(near_runs):
    sizes = sorted(near_runs)
    spread = [near_runs[b].losses[-200:].std() for b in sizes]
    mean_step = [step_lengths(near_runs[b])[-200:].mean() for b in sizes]
    excess = [near_runs[b].losses[-200:].mean() - near_runs[200].final_loss for b in sizes]
    for series in (spread, mean_step, excess):
        assert all(a > b for a, b in zip(series, series[1:])), series
