"""What part 09 claims, asserted on its reference solution (the source notebook's answers):
the notebook's pool, split and training settings (1000 steps, batches of 10, step size 0.1)."""

import contextlib
import io

import numpy as np
import pytest
from coursekit import ROOT, reference_namespace

from autodiff_lib.training import loss

NOTEBOOK = ROOT / "source" / "09_sample_size" / "09_sample_size.ipynb"
REFERENCE_CELLS = ["setup", "pool", "split", "sets", "evaluate", "learning_curve"]
SAMPLE_SIZES = [10, 20, 40, 80, 160, 320, 500]


@pytest.fixture(scope="module")
def ref():
    """The namespace of the notebook's given cells and its reference answers."""
    return reference_namespace(NOTEBOOK, REFERENCE_CELLS)


@pytest.fixture(scope="module")
def curve(ref):
    """The notebook's experiment: {n: (weights, training loss, test loss)}."""
    with contextlib.redirect_stderr(io.StringIO()):  # the progress bar
        return ref["learning_curve"](SAMPLE_SIZES)


def losses(curve, which):
    return np.array([curve[n][which] for n in SAMPLE_SIZES])


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


def test_as_the_sample_shrinks_the_training_loss_falls(ref, curve):
    train = losses(curve, 1)
    floor = ref["noise_floor"]
    small, large = train[:2], train[2:]  # 10 and 20 samples, against 40 to 500
    assert np.all(small < 0.85 * floor)  # below the noise level: the noise is fitted
    assert small.max() < large.min()
    assert train[:3].mean() < train[-3:].mean()
    assert rank_correlation(SAMPLE_SIZES, train) > 0.5


def test_as_the_sample_shrinks_the_test_error_rises(ref, curve):
    test = losses(curve, 2)
    floor = ref["noise_floor"]
    assert np.all(test[:2] > 1.5 * floor)
    assert test[:2].min() > test[2:].max()
    assert test[:3].mean() > test[-3:].mean()
    assert rank_correlation(SAMPLE_SIZES, test) < -0.5
    assert test[-1] < 1.1 * floor  # with 500 samples, close to the best possible


def test_the_gap_between_test_and_training_closes_as_the_sample_grows(curve):
    gap = losses(curve, 2) - losses(curve, 1)
    assert gap[0] > 0.02 and gap[1] > 0.01
    assert abs(gap[-1]) < 0.1 * gap[0]


def test_on_a_small_sample_the_network_beats_the_truth_only_on_that_sample(ref, curve):
    x_train, y_train, x_test, y_test = ref["x_train"], ref["y_train"], ref["x_test"], ref["y_test"]
    truth = ref["pool"].true_params
    for n in [10, 20]:
        _, on_train, on_test = curve[n]
        assert on_train < float(loss(truth, x_train[:n], y_train[:n]))
        assert on_test > 1.5 * float(loss(truth, x_test, y_test))


def test_the_evaluation_is_the_loss_on_each_set(ref, curve):
    params = curve[40][0]
    x_train, y_train, x_test, y_test = ref["x_train"], ref["y_train"], ref["x_test"], ref["y_test"]
    on_train, on_test = ref["evaluate"](params, x_train[:40], y_train[:40], x_test, y_test)
    assert on_train == pytest.approx(float(loss(params, x_train[:40], y_train[:40])))
    assert on_test == pytest.approx(float(loss(params, x_test, y_test)))
