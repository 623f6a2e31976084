"""What part 08 claims, asserted on its reference solution (the source notebook's answers),
with the notebook's data, training settings and seeds."""


import numpy as np
import pytest
from coursekit import ROOT, cell_source, reference_namespace

import autodiff_lib as ad
from autodiff_lib.metrics import rmae
from autodiff_lib.networks import mlp
from autodiff_lib.training import flatten, loss, train, unflatten

PART = "08_rmae"
NOTEBOOK = ROOT / "source" / PART / f"{PART}.ipynb"
RELEASE = ROOT / "release" / "08_rmae" / "08_rmae.ipynb"
REFERENCE_CELLS = ["setup", "data", "fit_output_layer", "fresh_samples"]
KEPT = np.unique(np.r_[0, np.geomspace(1, 1000, 40).astype(int)])


@pytest.fixture(scope="module")
def ref():
    """The namespace of the notebook's given cells and its reference answers."""
    return reference_namespace(PART, REFERENCE_CELLS)


@pytest.fixture(scope="module")
def from_truth(ref):
    """The notebook's run: 1000 full-batch steps of 0.1 from the true weights."""
    return train(ref["truth"], ref["x"], ref["y"], step_size=0.1, steps=1000, snapshot_steps=KEPT)


@pytest.fixture(scope="module")
def fresh(ref):
    return ref["fresh_samples"](ref["data"], 10_000, seed=1)


def truth_loss(ref):
    return float(loss(ref["truth"], ref["x"], ref["y"]))


def test_the_step_size_is_below_the_stability_limit_at_the_true_weights(ref):
    truth, x, y = ref["truth"], ref["x"], ref["y"]
    curvature = ad.hessian(lambda theta: loss(unflatten(theta, truth), x, y))(flatten(truth))
    limit = 2 / np.linalg.eigvalsh(curvature)[-1]
    assert 0.1 < limit == pytest.approx(0.116, abs=0.001)  # the notebook prints 0.116


def test_trained_from_the_true_weights_the_rmae_on_the_samples_turns_negative(ref, from_truth):
    rmae_on, x, y = ref["rmae_on"], ref["x"], ref["y"]
    values = np.array([rmae_on(from_truth.snapshots[k], x, y) for k in KEPT])
    assert values[0] == 0.0  # the true weights are the reference of the RMAE
    assert np.all(values[1:] < 0)  # from the first step on
    assert values[-1] < -0.01
    assert values[-1] == min(values)  # and it keeps falling to the end


def test_the_loss_falls_below_the_truths_but_the_network_cannot_interpolate(ref, from_truth):
    assert np.all(np.diff(from_truth.losses) < 0)  # every step lowers the loss on the samples
    assert from_truth.losses[0] == pytest.approx(truth_loss(ref))
    assert 0.9 * truth_loss(ref) < from_truth.final_loss < truth_loss(ref)
    assert sum(w.size for w in ref["truth"]) < len(ref["x"])  # fewer weights than samples


def test_the_refitted_output_layer_beats_the_truth_on_the_samples(ref):
    x, y, truth = ref["x"], ref["y"], ref["truth"]
    refitted = ref["fit_output_layer"](truth, x, y)
    assert float(loss(refitted, x, y)) < truth_loss(ref)
    assert ref["rmae_on"](refitted, x, y) < -0.01
    # it is the least-squares optimum: no gradient left w.r.t. the output layer
    gradients = ad.grad(loss)(refitted, x, y)
    assert np.abs(np.concatenate([gradients[-2].ravel(), gradients[-1]])).max() < 1e-12
    for kept, given in zip(refitted[:-2], truth[:-2]):
        np.testing.assert_array_equal(kept, given)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_any_output_layer_refit_on_noisy_samples_beats_the_truth_there(ref, seed):
    """Not luck with these samples: other samples of the same teacher, the same result."""
    data = ad.data.teacher_student(ref["SIZES"], n_samples=200, noise=0.1, seed=2)
    x, y = ref["fresh_samples"](data, 200, seed=seed + 10)
    refitted = ref["fit_output_layer"](data.true_params, x, y)
    assert float(loss(refitted, x, y)) < float(loss(data.true_params, x, y))


def test_on_fresh_samples_the_same_weights_are_worse_than_the_truth(ref, from_truth, fresh):
    x_fresh, y_fresh = fresh
    rmae_on = ref["rmae_on"]
    trained = rmae_on(from_truth.params, x_fresh, y_fresh)
    refitted = rmae_on(ref["fit_output_layer"](ref["truth"], ref["x"], ref["y"]), x_fresh, y_fresh)
    assert trained > 0.005 and refitted > 0.005
    for k in KEPT[KEPT >= 10]:  # once training has moved the weights, on every snapshot
        assert rmae_on(from_truth.snapshots[k], x_fresh, y_fresh) > 0


def test_the_gap_is_several_times_the_spread_between_fresh_sets(ref, from_truth):
    rmae_on, x, y = ref["rmae_on"], ref["x"], ref["y"]
    fresh_sets = [ref["fresh_samples"](ref["data"], 10_000, seed=seed) for seed in range(1, 6)]
    refitted = ref["fit_output_layer"](ref["truth"], x, y)
    for params in (from_truth.params, refitted):
        on_fresh = np.array([rmae_on(params, *fresh) for fresh in fresh_sets])
        assert rmae_on(params, x, y) < -0.01 and np.all(on_fresh > 0)
        assert on_fresh.mean() > 3 * on_fresh.std()


@pytest.mark.parametrize("seed", range(3, 9))
def test_for_other_teachers_the_refit_is_below_zero_on_its_samples_above_on_fresh(ref, seed):
    other = ad.data.teacher_student(ref["SIZES"], n_samples=200, noise=0.1, seed=seed)
    refit = ref["fit_output_layer"](other.true_params, other.x, other.y)
    on_samples = rmae(mlp(refit, other.x), other.teacher(other.x), other.y)
    on_fresh = np.array([rmae(mlp(refit, x_new), other.teacher(x_new), y_new)
                         for x_new, y_new in (ref["fresh_samples"](other, 10_000, seed=s)
                                              for s in range(1, 6))])  # fmt: skip
    assert on_samples < 0 and np.all(on_fresh > 0) and on_fresh.mean() > 3 * on_fresh.std()


@pytest.mark.parametrize("seed", [3, 4, 6])
def test_for_other_teachers_training_from_the_truth_shows_the_same_signs(ref, seed):
    """Trained as in the notebook, with the step size below each teacher's own limit."""
    other = ad.data.teacher_student(ref["SIZES"], n_samples=200, noise=0.1, seed=seed)
    truth, x, y = other.true_params, other.x, other.y
    curvature = ad.hessian(lambda theta: loss(unflatten(theta, truth), x, y))(flatten(truth))
    eta = 0.85 * 2 / np.linalg.eigvalsh(curvature)[-1]
    trained = train(truth, x, y, step_size=eta, steps=1000, record_every=1000).params
    x_new, y_new = ref["fresh_samples"](other, 10_000, seed=1)
    assert rmae(mlp(trained, x), other.teacher(x), y) < 0
    assert rmae(mlp(trained, x_new), other.teacher(x_new), y_new) > 0


def test_fresh_samples_come_from_the_same_teacher_and_noise(ref):
    data = ref["data"]
    x_new, y_new = ref["fresh_samples"](data, 20_000, seed=5)
    assert x_new.shape == (20_000, 1) and np.abs(x_new).max() <= 2
    residual = y_new - data.teacher(x_new)
    assert np.std(residual) == pytest.approx(0.1, abs=0.003)
    assert abs(np.mean(residual)) < 0.003


def test_the_weights_are_kept_at_35_steps_as_the_text_says():
    text = NOTEBOOK.read_text()
    assert "KEPT = np.unique(np.r_[0, np.geomspace(1, 1000, 40).astype(int)])" in text
    assert "35 steps are left" in text and len(KEPT) == 35


IN_PLACE = '''
def fit_output_layer(params, x, y):
    h = np.tanh(mlp(params[:-2], x))
    design = np.column_stack([h, np.ones(len(h))])
    coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
    params[-2], params[-1] = coefficients[:-1], coefficients[-1]
    return params
'''


def test_an_output_layer_fitted_in_place_fails_the_visible_test(ref):
    """Fitted into the list passed in, the refit would overwrite the teacher's own weights
    (``truth`` is ``data.true_params``) and every RMAE after it would read 0."""
    visible = cell_source(RELEASE, "test_fit_output_layer")
    exec(visible, dict(ref))
    wrong = dict(ref)
    exec(IN_PLACE, wrong)
    with pytest.raises(AssertionError, match="changed the list passed in"):
        exec(visible, wrong)
