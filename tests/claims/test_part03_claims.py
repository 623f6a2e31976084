"""What part 03 claims, asserted on its reference solution (the source notebook's answers),
with the notebook's data, architecture and default training settings."""

import numpy as np
import pytest
from coursekit import ROOT, reference_namespace

from autodiff_lib.metrics import mse, rmae
from autodiff_lib.networks import init_mlp, mlp

PART = "03_deep_learning"
NOTEBOOK = ROOT / "source" / PART / f"{PART}.ipynb"
REFERENCE_CELLS = [
    "setup", "data", "params", "forward", "mse", "loss", "gradient_step", "minibatches", "train",
]  # fmt: skip


@pytest.fixture(scope="module")
def ref():
    """The namespace of the notebook's given cells and its reference answers."""
    return reference_namespace(PART, REFERENCE_CELLS)


@pytest.fixture(scope="module")
def trained(ref):
    """The notebook's training run: default settings, initial weights of seed 0."""
    return ref["train"](init_mlp(ref["SIZES"], seed=0), ref["x"], ref["y"], progress=False)


def true_loss(ref):
    return float(ref["loss"](ref["data"].true_params, ref["x"], ref["y"]))


def test_the_true_weights_have_the_loss_of_the_noise(ref):
    assert true_loss(ref) == pytest.approx(ref["data"].noise ** 2, rel=0.2)


def test_training_lowers_the_loss_to_the_noise_floor(ref, trained):
    params, losses = trained
    initial = float(ref["loss"](init_mlp(ref["SIZES"], seed=0), ref["x"], ref["y"]))
    assert len(losses) == 1000
    assert losses[-1] < initial / 20 and losses[-1] < losses[0] / 10
    assert losses[-1] <= 1.1 * true_loss(ref)  # "falls to the level of the true weights"


def test_the_rmae_after_training_is_within_a_few_percent_of_zero(ref, trained):
    data, x = ref["data"], ref["x"]
    before = rmae(mlp(init_mlp(ref["SIZES"], seed=0), x), data.clean, ref["y"])
    after = rmae(mlp(trained[0], x), data.clean, ref["y"])
    assert before > 1
    assert after < 0.1  # the target
    assert abs(after) < 0.05  # the notebook: "within a few percent of zero"


@pytest.mark.parametrize("seed", [1, 2])
def test_other_initial_weights_reach_the_noise_floor_too(ref, seed):
    """Not a lucky seed: the default settings train from other random weights as well."""
    params, losses = ref["train"](init_mlp(ref["SIZES"], seed=seed), ref["x"], ref["y"],
                                  progress=False)  # fmt: skip
    assert rmae(mlp(params, ref["x"]), ref["data"].clean, ref["y"]) < 0.1
    assert losses[-1] <= 1.2 * true_loss(ref)


def test_the_reference_answers_are_the_library_functions_later_parts_use(ref):
    rng = np.random.default_rng(0)
    for sizes in [[1, 8, 8, 1], [3, 5, 2], [2, 1]]:
        params = init_mlp(sizes, seed=1, weight_scale=2.0, bias_scale=1.0)
        x = rng.normal(size=(9, sizes[0]))
        np.testing.assert_allclose(ref["forward"](params, x), mlp(params, x), rtol=1e-14)
        y = rng.normal(size=(9, sizes[-1]))
        assert float(ref["mse"](mlp(params, x), y)) == pytest.approx(float(mse(mlp(params, x), y)))


def test_every_sample_is_in_one_batch_per_epoch_in_a_new_order(ref):
    rng = np.random.default_rng(0)
    orders = []
    for _ in range(3):
        batches = ref["minibatches"](200, 20, rng)
        assert [len(b) for b in batches] == [20] * 10
        orders.append(np.concatenate(batches))
        assert np.array_equal(np.sort(orders[-1]), np.arange(200))
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])


def test_swapping_two_hidden_units_changes_the_weights_not_the_function(ref):
    W1, b1, W2, b2, W3, b3 = ref["data"].true_params
    swap = np.array([1, 0, 2, 3, 4, 5, 6, 7])
    swapped = [W1[:, swap], b1[swap], W2[swap, :], b2, W3, b3]
    assert not np.array_equal(W1, swapped[0])
    np.testing.assert_allclose(mlp(swapped, ref["x"]), mlp(ref["data"].true_params, ref["x"]))


def test_from_zero_weights_only_the_output_bias_learns(ref):
    zeros = [np.zeros_like(p) for p in init_mlp(ref["SIZES"])]
    params, losses = ref["train"](zeros, ref["x"], ref["y"], epochs=200, progress=False)
    assert all(np.all(p == 0) for p in params[:-1])
    y = ref["y"]
    assert params[-1][0] == pytest.approx(np.mean(y), abs=0.05)  # predicts about the mean
    assert losses[-1] == pytest.approx(np.var(y), rel=0.02)  # and its loss is the variance
    assert losses[-1] > 10 * true_loss(ref)


def test_from_equal_weights_the_hidden_units_stay_identical(ref):
    halves = [np.full_like(p, 0.5) for p in init_mlp(ref["SIZES"])]
    params, losses = ref["train"](halves, ref["x"], ref["y"], epochs=200, progress=False)
    W1, b1, W2, b2, W3, _ = params
    for units in (W1, b1[None, :], W2, b2[None, :], W3.T):
        np.testing.assert_allclose(units, np.broadcast_to(units[:, :1], units.shape), atol=1e-12)
    assert not np.allclose(W1, 0.5)  # they did learn, all the same thing
    assert losses[-1] > 5 * true_loss(ref)  # eight equal units fit no better than one


def test_mse_refuses_shapes_that_would_broadcast(ref):
    """Exercise 2: (20, 1) against (20,) would broadcast to (20, 20) and give a wrong loss."""
    prediction, target = ref["y"][:20], ref["y"][:20, 0] + 0.1
    with pytest.raises(ValueError):
        ref["mse"](prediction, target)
    broadcast = np.mean((prediction - target) ** 2)  # what a natural answer returns silently
    assert abs(broadcast - np.mean((prediction[:, 0] - target) ** 2)) > 0.1


def test_minibatches_and_the_librarys_epoch_batches_agree_also_for_a_batch_of_all(ref):
    from autodiff_lib.training import epoch_batches

    for n, size in [(10, 4), (200, 20), (10, 10), (10, 25), (1, 3)]:
        ours = ref["minibatches"](n, size, np.random.default_rng(n + size))
        library = epoch_batches(n, size, np.random.default_rng(n + size))
        assert len(ours) == len(library)
        for a, b in zip(ours, library):
            np.testing.assert_array_equal(a, b)
    (whole,) = ref["minibatches"](10, 25, np.random.default_rng(0))
    assert not np.array_equal(whole, np.arange(10))  # shuffled, as the exercise says


def test_at_equal_cost_mini_batches_beat_the_full_batch(ref):
    """The equal-cost experiment: 100 epochs each (20 000 samples processed)."""
    train, x, y, sizes = ref["train"], ref["x"], ref["y"], ref["SIZES"]
    full = {
        eta: train(init_mlp(sizes, seed=0), x, y, epochs=100, batch_size=len(x),
                   step_size=eta, progress=False)[1]
        for eta in [0.05, 0.2, 0.5, 1.0]
    }  # fmt: skip
    _, mini = train(init_mlp(sizes, seed=0), x, y, epochs=100, progress=False)
    assert mini[-1] <= 1.3 * true_loss(ref)  # "reach the level of the true weights"
    for eta in [0.05, 0.2, 0.5]:
        assert full[eta][-1] > 4 * true_loss(ref)  # "ends at least four times above it"
        assert full[eta].min() > mini[-1]  # "at its best epoch, still above the mini-batches"
    assert not np.isfinite(full[1.0][-1]) or full[1.0][-1] > 1e3  # "at eta = 1 it diverges"


def test_the_zero_runs_bias_is_near_the_mean_with_mini_batches_and_at_it_with_the_full_batch(
    ref,
):
    zeros = [np.zeros_like(p) for p in init_mlp(ref["SIZES"])]
    y = ref["y"]
    mini, _ = ref["train"](zeros, ref["x"], y, epochs=200, progress=False)
    full, _ = ref["train"](zeros, ref["x"], y, epochs=200, batch_size=len(y), progress=False)
    assert abs(mini[-1][0] - np.mean(y)) > 0.005  # printed: 0.548 against 0.561
    assert abs(full[-1][0] - np.mean(y)) < 5e-4  # the same to three decimals


def test_the_training_bar_is_the_one_whose_saved_text_shows_its_end():
    """Point 3: tqdm's own bar keeps "0/1000" in its saved text; progress_bar (tested in
    tests/toolkit/test_progress.py) keeps the final state. Part 03 uses it, no part uses tqdm."""
    import nbformat

    for notebook in sorted((ROOT / "source").glob("*/*.ipynb")):
        code = "\n".join(c.source for c in nbformat.read(notebook, 4).cells)
        assert "from tqdm" not in code and "tqdm(" not in code, notebook.name
    code = "\n".join(c.source for c in nbformat.read(NOTEBOOK, 4).cells)
    assert "progress_bar(range(epochs)" in code
