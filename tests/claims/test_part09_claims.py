"""What part 09 claims, asserted on its reference solution (the source notebook's answers):
the notebook's pool, splits and training settings (1000 steps, batches of 10, step size 0.1),
five splits per sample size, trained side by side. The trends are asserted on the means over
the splits; the yardstick of the training loss is the true weights' loss on the same samples."""

import contextlib
import io

import numpy as np
import pytest
from coursekit import ROOT, cell_source, reference_namespace

from autodiff_lib.networks import init_mlp
from autodiff_lib.training import loss, train

PART = "09_sample_size"
RELEASE = ROOT / "release" / "09_sample_size" / "09_sample_size.ipynb"
REFERENCE_CELLS = ["setup", "pool", "split", "sets", "evaluate", "learning_curves"]
SAMPLE_SIZES = [10, 20, 40, 80, 160, 320, 500]
REPEATS = 5


@pytest.fixture(scope="module")
def ref():
    """The namespace of the notebook's given cells and its reference answers."""
    return reference_namespace(PART, REFERENCE_CELLS)


@pytest.fixture(scope="module")
def curves(ref):
    """The notebook's experiment: {(n, r): (weights, training, test, truth's training loss)}."""
    with contextlib.redirect_stderr(io.StringIO()):  # the progress bar
        return ref["learning_curves"](SAMPLE_SIZES, REPEATS)


@pytest.fixture(scope="module")
def table(curves):
    """(sizes, splits, 3): training loss, test loss, the true weights' training loss."""
    return np.array([[curves[n, r][1:] for r in range(REPEATS)] for n in SAMPLE_SIZES])


def rank_correlation(a, b):
    ranks = [np.argsort(np.argsort(v)) for v in (a, b)]
    return np.corrcoef(*ranks)[0, 1]


def test_the_split_is_disjoint_complete_and_seeded(ref):
    pool = ref["pool"]
    x_train, _, x_test, _ = ref["x_train"], ref["y_train"], ref["x_test"], ref["y_test"]
    assert len(x_train) == len(x_test) == 500
    together = np.sort(np.concatenate([x_train, x_test]).ravel())
    np.testing.assert_array_equal(together, np.sort(pool.x.ravel()))  # each sample once
    again = ref["held_out_split"]()
    for first, second in zip(again, (ref["x_train"], ref["y_train"], x_test, ref["y_test"])):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("n, r", [(10, 0), (40, 3), (500, 1)])
def test_side_by_side_training_is_the_same_as_training_one_network_at_a_time(ref, curves, n, r):
    x_train, y_train, _, _ = ref["split"](ref["pool"].x, ref["pool"].y, 500,
                                          np.random.default_rng(r))  # fmt: skip
    alone = train(init_mlp(ref["SIZES"], seed=0), x_train[:n], y_train[:n], step_size=0.1,
                  steps=1000, batch_size=10, seed=r, record_every=1000)  # fmt: skip
    for together, by_itself in zip(curves[n, r][0], alone.params):
        np.testing.assert_allclose(together, by_itself, rtol=1e-9, atol=1e-12)


def test_the_first_split_is_the_split_of_the_notebook(ref):
    first = ref["split"](ref["pool"].x, ref["pool"].y, 500, np.random.default_rng(0))
    for a, b in zip(first, ref["held_out_split"]()):
        np.testing.assert_array_equal(a, b)


def test_a_side_by_side_set_must_hold_whole_batches(ref):
    x = np.zeros((15, 1))
    with pytest.raises(ValueError, match="whole batches"):
        ref["train_side_by_side"]([x], [x], seeds=[0], steps=1)


def test_on_few_samples_the_training_loss_falls_below_the_truths_on_those_samples(table):
    train_loss, truth = table[..., 0], table[..., 2]
    assert np.all(train_loss[0] < truth[0])  # 10 samples: in every split
    assert train_loss[0].mean() < 0.6 * truth[0].mean()  # "well below"
    assert np.sum(train_loss[1] < truth[1]) == 4  # 20 samples: in four splits of five
    assert train_loss[1].mean() < 0.85 * truth[1].mean()


def test_from_80_samples_the_training_loss_sits_above_the_truths_at_40_they_are_level(table):
    train_loss, truth = table[..., 0], table[..., 2]
    assert np.all(train_loss[3:] > truth[3:])  # 80 samples and more, every split
    assert train_loss[2].mean() == pytest.approx(truth[2].mean(), rel=0.05)


def test_the_trend_holds_on_the_means_and_beyond_40_samples_it_is_within_the_spread(ref, table):
    mean, spread = table.mean(axis=1), table.std(axis=1)
    floor = ref["noise_floor"]
    train_mean, test_mean = mean[:, 0], mean[:, 1]
    assert rank_correlation(SAMPLE_SIZES, train_mean) > 0.5
    assert rank_correlation(SAMPLE_SIZES, test_mean) < -0.5
    assert test_mean[0] > test_mean[1] > test_mean[2]  # 10 > 20 > 40
    assert test_mean[0] > 2 * floor and test_mean[1] > 1.4 * floor
    assert test_mean[-1] < 1.3 * floor
    beyond = slice(2, None)  # 40 samples and more
    for column in (0, 1):
        assert np.ptp(mean[beyond, column]) < spread[beyond, column].max()


def test_the_gap_between_test_and_training_closes_as_the_sample_grows(table):
    gap = table[..., 1].mean(axis=1) - table[..., 0].mean(axis=1)
    assert gap[0] > 0.015 and gap[1] > 0.005
    assert abs(gap[-1]) < 0.1 * gap[0]


def test_with_the_steps_fixed_the_epochs_run_from_1000_to_20():
    epochs = {n: 1000 * 10 / n for n in SAMPLE_SIZES}
    assert (epochs[10], epochs[80], epochs[500]) == (1000, 125, 20)


def test_the_evaluation_is_the_loss_on_each_set(ref, curves):
    params = curves[40, 0][0]
    x_train, y_train, x_test, y_test = ref["x_train"], ref["y_train"], ref["x_test"], ref["y_test"]
    on_train, on_test = ref["evaluate"](params, x_train[:40], y_train[:40], x_test, y_test)
    assert on_train == pytest.approx(float(loss(params, x_train[:40], y_train[:40])))
    assert on_test == pytest.approx(float(loss(params, x_test, y_test)))
    assert curves[40, 0][1:3] == (on_train, on_test)


SWAPPED = {
    "the pair returned the other way round": '''
def evaluate(params, x_train, y_train, x_test, y_test):
    return float(loss(params, x_test, y_test)), float(loss(params, x_train, y_train))
''',
    "the training and test sets swapped": '''
def evaluate(params, x_test, y_test, x_train, y_train):
    return float(loss(params, x_train, y_train)), float(loss(params, x_test, y_test))
''',
    "inputs and targets swapped": '''
def evaluate(params, x_train, y_train, x_test, y_test):
    return float(loss(params, y_train, x_train)), float(loss(params, y_test, x_test))
''',
}


@pytest.mark.parametrize("mistake", SWAPPED)
def test_an_evaluate_with_its_arguments_swapped_fails_the_visible_test(ref, mistake):
    """On two halves of the pool the true weights score the noise level either way round: the
    visible test also moves the test targets, so that only the test loss grows."""
    visible = cell_source(RELEASE, "test_evaluate")
    exec(visible, dict(ref))  # the reference answer passes
    wrong = dict(ref)
    exec(SWAPPED[mistake], wrong)
    with pytest.raises(AssertionError):
        exec(visible, wrong)
