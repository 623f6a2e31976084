"""autodiff_lib.training (the loop parts 06 to 09 share) and plotting.slider (their sliders)."""

import matplotlib
import numpy as np
import pytest

import autodiff_lib as ad
from autodiff_lib.data import teacher_student
from autodiff_lib.networks import init_mlp, mlp
from autodiff_lib.plotting import slider
from autodiff_lib.training import epoch_batches, flatten, loss, train, unflatten

matplotlib.use("Agg")

SIZES = [2, 5, 1]


@pytest.fixture(scope="module")
def data():
    return teacher_student(SIZES, n_samples=30, noise=0.1, seed=4)


def by_hand(params, x, y, step_size, steps, batch_size, seed):
    """The loop written out: shuffle each epoch, cut into batches, one step per batch."""
    rng = np.random.default_rng(seed)
    grad_loss = ad.grad(lambda p, a, b: ad.mean((mlp(p, a) - b) ** 2))
    done = 0
    while done < steps:
        order = rng.permutation(len(x))
        for first in range(0, len(x), batch_size):
            rows = order[first : first + batch_size]
            gradients = grad_loss(params, x[rows], y[rows])
            params = [p - step_size * g for p, g in zip(params, gradients)]
            done += 1
            if done == steps:
                break
    return params


@pytest.mark.parametrize("batch_size, steps", [(7, 11), (30, 4), (1, 35)])
def test_train_takes_one_step_per_batch_of_each_shuffled_epoch(data, batch_size, steps):
    start = init_mlp(SIZES, seed=1)
    run = train(start, data.x, data.y, 0.1, steps, batch_size=batch_size, seed=3)
    expected = by_hand(start, data.x, data.y, 0.1, steps, batch_size, seed=3)
    for got, want in zip(run.params, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_the_full_batch_is_plain_gradient_descent_and_records_what_it_is_asked(data):
    start = init_mlp(SIZES, seed=1)
    run = train(start, data.x, data.y, 0.2, 10, record_every=3, snapshot_steps=(0, 4))
    assert list(run.recorded) == [0, 3, 6, 9, 10] and len(run.losses) == 5
    assert run.losses[0] == pytest.approx(float(loss(start, data.x, data.y)))
    assert run.final_loss == pytest.approx(float(loss(run.params, data.x, data.y)))
    params = start
    for _ in range(4):
        params = [p - 0.2 * g for p, g in zip(params, ad.grad(loss)(params, data.x, data.y))]
    for got, want in zip(run.snapshots[4], params):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert set(run.snapshots) == {0, 4} and not run.diverged
    for kept, given in zip(run.snapshots[0], start):  # the start is kept, not changed
        np.testing.assert_array_equal(kept, given)


def test_weights_asked_for_at_a_step_not_kept_say_which_steps_were_kept(data):
    """Part 08 keeps 35 steps of 1000: a student asking for step 500 reads why it is missing,
    not a bare ``KeyError: 500``."""
    run = train(init_mlp(SIZES, seed=1), data.x, data.y, 0.2, 10, snapshot_steps=(0, 4, 10))
    with pytest.raises(KeyError) as caught:
        run.snapshots[5]
    assert str(caught.value) == (
        "no weights kept at step 5: train kept them at steps 0, 4, 10 (its snapshot_steps)"
    )
    assert run.snapshots.get(5) is None and 5 not in run.snapshots and len(run.snapshots) == 3


def test_a_run_that_blows_up_stops_and_says_so(data):
    with np.errstate(over="ignore", invalid="ignore"):
        run = train(init_mlp(SIZES, seed=1), data.x, data.y, 50.0, 1000)
    assert run.diverged and run.losses[-1] == np.inf and run.recorded[-1] < 1000


def test_epoch_batches_cover_every_sample_once():
    rng = np.random.default_rng(0)
    batches = epoch_batches(10, 4, rng)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches)) == list(range(10))
    assert [len(b) for b in epoch_batches(10, None, rng)] == [10]
    assert [len(b) for b in epoch_batches(10, 50, rng)] == [10]
    with pytest.raises(ValueError, match="at least 1"):
        epoch_batches(10, 0, rng)


def test_a_batch_of_at_least_all_samples_is_shuffled_too_and_none_is_not():
    """As part 03's exercise asks: batch_size >= n_samples, one batch of all, shuffled."""
    for batch_size in [10, 50]:
        (whole,) = epoch_batches(10, batch_size, np.random.default_rng(0))
        np.testing.assert_array_equal(whole, np.random.default_rng(0).permutation(10))
        assert not np.array_equal(whole, np.arange(10))
    rng = np.random.default_rng(0)
    (whole,) = epoch_batches(10, None, rng)
    np.testing.assert_array_equal(whole, np.arange(10))
    assert rng.integers(1 << 30) == np.random.default_rng(0).integers(1 << 30)  # drew nothing


def test_unflatten_undoes_flatten_and_can_be_differentiated_twice(data):
    params = init_mlp(SIZES, seed=2)
    theta = flatten(params)
    assert theta.shape == (sum(p.size for p in params),)
    for back, original in zip(unflatten(theta, params), params):
        np.testing.assert_array_equal(back, original)

    def flat_loss(vector):
        return loss(unflatten(vector, params), data.x, data.y)

    by_arrays = flatten(ad.grad(loss)(params, data.x, data.y))
    np.testing.assert_allclose(ad.grad(flat_loss)(theta), by_arrays, rtol=1e-12)
    assert ad.check_grad(flat_loss, theta, order=2)
    with pytest.raises(ValueError, match="vector of 21 entries"):
        unflatten(theta[:-1], params)


def test_a_slider_redraws_its_plot_for_each_value_and_prints_what_draw_prints():
    import matplotlib.pyplot as plt

    def draw(k):  # opens its own figure, as a slider's draw function must
        print(f"power {k}")
        plt.figure(figsize=(3, 2))
        plt.plot(np.linspace(0, 1, 5) ** k)

    plt.figure()  # a figure left open elsewhere, current: the slider must not draw it
    open_before = set(plt.get_fignums())
    box = slider(draw, [1, 2, 3], "power k", value=2)
    control, shown = box.children
    assert control.value == 2 and not control.continuous_update
    first = shown.outputs
    assert first[0]["text"] == "power 2\n" and "image/png" in first[1]["data"]
    control.value = 3
    assert shown.outputs[0]["text"] == "power 3\n"
    assert shown.outputs[1]["data"]["image/png"] != first[1]["data"]["image/png"]
    assert len(shown.outputs) == 2  # the draw function's figure only
    calls = []
    box = slider(lambda k: calls.append(k) or print(k), ["a", "b"], "letter")
    control, shown = box.children
    control.value = "b"
    control.value = "a"  # drawn before: shown again, not drawn again
    assert calls == ["a", "b"] and shown.outputs[0]["text"] == "a\n"
    assert set(plt.get_fignums()) == open_before  # each figure is closed once in the widget
    plt.close("all")
