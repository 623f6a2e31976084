# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,title,-nbgrader
#     formats: source///ipynb,assignments///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Part 09 — The sample size
#
# Part 03 trained on 200 samples. What if there are fewer? Keep everything else
# fixed: the network, the batch size, the step size and the number of steps, and
# shrink the sample. Does the loss go up, as less information would suggest?
#
# To see what is going on we need a second measurement: the error on samples the
# network has **not** been trained on, a *test set*.
#
# 1. You split a pool of samples into a training set and a test set (Exercise 1),
# 2. and write the evaluation on both (Exercise 2).
# 3. We train on training sets from 10 to 500 samples, five times each on other
#    splits, and a slider shows each fit.
#
# *How this notebook is graded.* Write your code where it says `YOUR CODE HERE` (and
# delete the `raise NotImplementedError()`). The cell after each answer tests it;
# when your notebook is graded, more tests (hidden here) run in those cells. Run the
# notebook top to bottom (*Kernel → Restart Kernel and Run All Cells*) before you
# submit. The slider redraws results computed ahead of time, so moving it is quick.

# %% given setup
import matplotlib.pyplot as plt
import numpy as np

import autodiff_lib as ad
from autodiff_lib.data import teacher_student
from autodiff_lib.networks import init_mlp, mlp
from autodiff_lib.plotting import log_ticks, plot_fit, slider
from autodiff_lib.progress import progress_bar
from autodiff_lib.training import epoch_batches, loss

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# A pool of 1000 noisy samples of the teacher of part 03 (the same teacher and noise
# level $0.1$, so the loss of the true weights is about $0.1^2 = 0.01$).

# %% given pool tags=["nbval-check-output"]
SIZES = [1, 8, 8, 1]
pool = teacher_student(SIZES, n_samples=1000, noise=0.1, seed=2)
noise_floor = pool.noise ** 2  # the expected loss of the true weights
print("pool:", pool.x.shape, pool.y.shape)


# %% [markdown]
# ## A test set
#
# The test set must be **independent** of the training: samples the training never
# sees, drawn from the same source. From one pool, a random split does it: shuffle
# the sample indices, put the first `n_test` in the test set and the rest in the
# training set. (Taking, say, the last rows instead would be safe only if the rows
# were in random order; shuffling makes sure.)
#
# ### Exercise 1 (2 points): the split
#
# Write `split(x, y, n_test, rng)`, which returns
# `(x_train, y_train, x_test, y_test)`: with `order = rng.permutation(len(x))`, the
# test set holds the samples `order[:n_test]` and the training set the others,
# `order[n_test:]`, each in that order.

# %% answer split
def split(x, y, n_test, rng):
    """Randomly split into (x_train, y_train, x_test, y_test), n_test to test."""
    ### BEGIN SOLUTION
    shuffled = rng.permutation(len(x))
    held_out, kept = shuffled[:n_test], shuffled[n_test:]
    return x[kept], y[kept], x[held_out], y[held_out]
    ### END SOLUTION


# %% tests test_split (2 points)
from autodiff_lib.testing import own_work  # what you return must be plain arrays
split = own_work(split)
# Ten samples, three for testing; hidden tests: the order, other sizes.
x_ten, y_ten = np.arange(10.0).reshape(-1, 1), 10 * np.arange(10.0).reshape(-1, 1)
parts = split(x_ten, y_ten, 3, np.random.default_rng(0))
assert len(parts) == 4, "return x_train, y_train, x_test, y_test"
assert [len(p) for p in parts] == [7, 7, 3, 3], "3 test samples and 7 training samples"
assert sorted(np.concatenate([parts[0], parts[2]]).ravel()) == list(range(10)), \
    "every sample goes to exactly one of the two sets"
assert np.array_equal(parts[1], 10 * parts[0]), "the targets must follow their inputs"
order = np.random.default_rng(0).permutation(10)
assert np.array_equal(parts[2].ravel(), order[:3]) and \
    np.array_equal(parts[0].ravel(), order[3:]), \
    "test = x[order[:n_test]] and training = x[order[n_test:]], in that order, " \
    "with order = rng.permutation(len(x))"
### BEGIN HIDDEN TESTS
import numpy as np

inputs = np.random.default_rng(91).normal(size=(40, 2))
targets = inputs[:, :1] * 3.0 - inputs[:, 1:]
for n_held, seed in [(10, 92), (1, 93), (39, 94)]:
    reference_order = np.random.default_rng(seed).permutation(40)
    got = split(inputs, targets, n_held, np.random.default_rng(seed))
    assert np.array_equal(got[2], inputs[reference_order[:n_held]]) and \
        np.array_equal(got[0], inputs[reference_order[n_held:]]), \
        f"{n_held} of 40 for testing: test = order[:n_test], training = " \
        "order[n_test:], with order = rng.permutation(len(x))"
    assert np.array_equal(got[3], targets[reference_order[:n_held]]) and \
        np.array_equal(got[1], targets[reference_order[n_held:]]), \
        "the targets must be split like the inputs"
### END HIDDEN TESTS

# %% [markdown]
# Half the pool for testing, half for training. The training sets of the experiment
# are the first $n$ samples of `x_train`: each smaller set is part of every larger
# one, and the test set is the same for all.

# %% given sets tags=["nbval-check-output"]
def held_out_split():
    """The split of this experiment: 500 of the pool for testing (seed 0)."""
    return split(pool.x, pool.y, 500, np.random.default_rng(0))


x_train, y_train, x_test, y_test = held_out_split()
print("training:", x_train.shape, " test:", x_test.shape)


# %% [markdown]
# ### Exercise 2 (1 point): the evaluation
#
# Write `evaluate(params, x_train, y_train, x_test, y_test)`, which returns the pair
# `(training loss, test loss)`: the mean squared error of the network with weights
# `params` (`loss(params, x, y)`) on each set, as two floats.

# %% answer evaluate
def evaluate(params, x_train, y_train, x_test, y_test):
    """(loss on the training set, loss on the test set), as floats."""
    ### BEGIN SOLUTION
    on_train = float(loss(params, x_train, y_train))
    on_test = float(loss(params, x_test, y_test))
    return on_train, on_test
    ### END SOLUTION


# %% tests test_evaluate (1 point)
from autodiff_lib.testing import own_work  # what you return must be plain numbers
evaluate = own_work(evaluate)
# The true weights on two halves of the pool; hidden tests: other weights and sets.
halves = pool.x[:500], pool.y[:500], pool.x[500:], pool.y[500:]
both = evaluate(pool.true_params, *halves)
assert len(both) == 2 and all(isinstance(v, float) for v in both), \
    "return two floats: (training loss, test loss)"
assert abs(both[0] - noise_floor) < 0.002 and abs(both[1] - noise_floor) < 0.002, \
    "the true weights must have a loss close to the noise level 0.01 on both sets"
# Test targets moved up by 1: only the second loss, the test loss, grows by about 1.
moved = evaluate(pool.true_params, pool.x[:500], pool.y[:500], pool.x[500:800],
                 pool.y[500:800] + 1.0)
assert abs(moved[0] - noise_floor) < 0.002 and abs(moved[1] - 1.0) < 0.05, \
    f"with the test targets moved up by 1, expected (about 0.01, about 1.01), got " \
    f"{moved}: the first loss is on (x_train, y_train), the second on (x_test, y_test)"
### BEGIN HIDDEN TESTS
import numpy as np

from autodiff_lib.networks import init_mlp, mlp

guess = init_mlp(SIZES, seed=95)
first, second = pool.x[:37], pool.x[900:911]
got = evaluate(guess, first, pool.y[:37], second, pool.y[900:911])
wanted = (np.mean((mlp(guess, first) - pool.y[:37]) ** 2),
          np.mean((mlp(guess, second) - pool.y[900:911]) ** 2))
assert np.allclose(got, wanted), \
    "wrong losses: the first is on (x_train, y_train), the second on (x_test, y_test)"
### END HIDDEN TESTS
print('These visible tests passed. They are not your grade: when your notebook is '
      'graded, hidden tests run in every test cell as well, on other inputs.')


# %% [markdown]
# ## Shrinking the sample
#
# For each sample size $n$, train the network of part 03 from the same initial
# weights (seed 0) on the first $n$ training samples: **1000 steps**, batches of
# **10** samples, step size **0.1**, whatever $n$ (a new random order of the samples
# each epoch, as `autodiff_lib.training.train` does). With the steps fixed, the
# samples are seen unequally often: 10 samples make one batch, so they get 1000
# full-batch epochs; 500 samples get 20 epochs. Then evaluate on the training set and
# on the test set.
#
# One run per size would be one draw of the samples: the differences between the
# larger sizes are no bigger than the difference between two draws. So each size
# is trained five times, each time on another split of the pool (the split of
# `split(pool.x, pool.y, 500, np.random.default_rng(r))` for `r = 0, ..., 4`; `r = 0`
# is the split above), and we look at the mean and the spread. That is 35 runs.
# Trained one after the other they would take half a minute; the cell below trains
# them **side by side**: the weights of the 35 networks are stacked along a first
# axis, `mlp` multiplies stacks of matrices (`matmul` on arrays of shape
# `(35, rows, columns)`), and one step of gradient descent on the *sum* of the 35
# losses updates each network by the gradient of its own loss. numpy does the 35
# small networks for about the price of one (part 07: the time of a step hardly
# depends on its size).

# %% given learning_curves
def train_side_by_side(x_sets, y_sets, seeds, steps=1000, batch_size=10,
                       step_size=0.1):
    """One network per training set, all from init_mlp(SIZES, seed=0), trained at
    once. Network k takes its batches from x_sets[k], in a fresh random order each
    epoch drawn from seeds[k] (as train(..., seed=seeds[k]) does); every set must hold
    a whole number of batches. Returns the weights of each network."""
    if any(len(xs) % batch_size for xs in x_sets):
        raise ValueError("train_side_by_side: every set must hold whole batches")
    count, start = len(x_sets), init_mlp(SIZES, seed=0)
    stacked = [np.repeat(w.reshape(1, -1, w.shape[-1]), count, axis=0) for w in start]
    rngs = [np.random.default_rng(seed) for seed in seeds]
    waiting = [[] for _ in range(count)]  # each network's batches left this epoch

    def summed_loss(weights, x_batch, y_batch):  # the sum of the networks' losses
        return ad.sum((mlp(weights, x_batch) - y_batch) ** 2) / batch_size

    grad_summed = ad.grad(summed_loss)
    for _ in progress_bar(range(steps), desc=f"{count} networks side by side"):
        rows = []
        for k in range(count):
            if not waiting[k]:
                batches = epoch_batches(len(x_sets[k]), batch_size, rngs[k])
                waiting[k] = list(batches)[::-1]
            rows.append(waiting[k].pop())
        x_batch = np.stack([xs[r] for xs, r in zip(x_sets, rows)])
        y_batch = np.stack([ys[r] for ys, r in zip(y_sets, rows)])
        grads = grad_summed(stacked, x_batch, y_batch)
        stacked = [w - step_size * g for w, g in zip(stacked, grads)]
    return [[w[k].reshape(np.shape(w0)) for w, w0 in zip(stacked, start)]
            for k in range(count)]


def learning_curves(sample_sizes, repeats):
    """Train on the first n training samples of split r, for each n and r; returns
    {(n, r): (weights, training loss, test loss, the truth's training loss)}."""
    runs = [(n, r) for r in range(repeats) for n in sample_sizes]
    splits = [split(pool.x, pool.y, 500, np.random.default_rng(r))
              for r in range(repeats)]
    weights = train_side_by_side([splits[r][0][:n] for n, r in runs],
                                 [splits[r][1][:n] for n, r in runs],
                                 seeds=[r for _, r in runs])
    results = {}
    for (n, r), params in zip(runs, weights):
        x_train, y_train, x_test, y_test = splits[r]
        on_train, on_test = evaluate(params, x_train[:n], y_train[:n], x_test, y_test)
        truth = float(loss(pool.true_params, x_train[:n], y_train[:n]))
        results[n, r] = (params, on_train, on_test, truth)
    return results


# %% tags=["nbval-ignore-output"]
SAMPLE_SIZES, REPEATS = [10, 20, 40, 80, 160, 320, 500], 5
curves = learning_curves(SAMPLE_SIZES, REPEATS)
table = np.array([[curves[n, r][1:] for r in range(REPEATS)]
                  for n in SAMPLE_SIZES])  # (sizes, repeats, 3)
mean, spread = table.mean(axis=1), table.std(axis=1)  # train, test, truth's train
print(f"mean ± standard deviation over {REPEATS} splits")
print(" samples      training loss          test loss   true weights, training set")
for n, m, s in zip(SAMPLE_SIZES, mean, spread):
    cells = [f"{m[i]:.4f} ± {s[i]:.4f}" for i in range(3)]
    print(f"{n:8}   " + "   ".join(f"{cell:>16}" for cell in cells))


# %% [markdown]
# A slider for the sample size. Left: the training samples of the first split, the
# teacher and what the network learned from them, over the whole input range
# $[-2, 2]$ that the test samples cover. Right: the mean of the five runs for each
# loss against the sample size, the band one standard deviation either side, and the
# yardstick of part 08: the loss of the true weights on the same training samples.

# %% tags=["nbval-ignore-output"]
def draw_sample_size(n):
    x_train, y_train = split(pool.x, pool.y, 500, np.random.default_rng(0))[:2]
    params, on_train, on_test, truth = curves[n, 0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    plot_fit(x_train[:n], y_train[:n],
             {"teacher": pool.teacher, "network": lambda inputs: mlp(params, inputs)},
             ax=left, span=(-2, 2))
    left.set_xlim(-2.05, 2.05)
    left.set_ylim(-1.0, 2.0)
    left.set_title(f"{n} training samples (first split): training {on_train:.4f}, "
                   f"test {on_test:.4f}")
    labels = ["training loss", "test loss", "true weights on the training samples"]
    for column, label, style in zip(range(3), labels, ["o-", "s-", "k--"]):
        (line,) = right.plot(SAMPLE_SIZES, mean[:, column], style, markersize=4,
                             label=label)
        right.fill_between(SAMPLE_SIZES, mean[:, column] - spread[:, column],
                           mean[:, column] + spread[:, column], alpha=0.15,
                           color=line.get_color())
    right.axvline(n, color="r", linewidth=1, label=f"n = {n}")
    right.set_xscale("log")
    right.set_xticks(SAMPLE_SIZES, [str(size) for size in SAMPLE_SIZES])
    right.minorticks_off()
    right.set_yscale("log")
    log_ticks(right)
    right.set_xlabel("number of training samples")
    right.set_ylabel("mean squared error")
    right.set_title(f"mean ± standard deviation of {REPEATS} splits")
    right.grid(True, which="major", alpha=0.3)
    right.legend(fontsize="small")


slider(draw_sample_size, SAMPLE_SIZES, "training samples", value=20)

# %% [markdown]
# On 10 samples the network follows the samples, noise and all: in every split its
# training loss ends well *below* the loss of the true weights on the same samples,
# lower than the true function could do there; on 20 samples it does on average (in
# four splits of five). Between the samples it goes its own way (look at
# $[-2, 2]$ beyond the few samples), and its test error is far above the noise level.
# As the sample grows, the network can no longer follow every sample (97 weights,
# hundreds of samples), and the test loss falls toward the noise level. At 40
# samples the training loss and the true weights' loss are level; from 80 on, the
# training loss sits *above* it in every split: with 1000 steps, 125 epochs or fewer
# (20 for 500 samples), the network is not fully trained, and that keeps it there.
# Beyond 40 samples the means differ by less than the spread between splits: a single
# run per size could not tell them apart.
#
# ### Question (2 points, graded by hand)
#
# When the sample shrinks at fixed batch size, step size and number of steps, does
# the training loss go up? Explain what you observe, why, and whether it is what you
# expected. What is wrong with the training loss as a measure of how good the trained
# network is, and what should be measured instead? What must be true of a test set
# for its error to be trusted?

# %% written training_loss_misleads (2 points) [markdown]
# ### BEGIN SOLUTION
# No: the training loss goes *down* as the sample shrinks, to well below what the
# true weights achieve on the same samples for 10 or 20 samples, while the error on
# the independent test set goes up.
# With fewer samples the same network (97 weights) has more freedom per sample: it
# can bend through the few points it sees, fitting their noise as well as the
# function, and gradient descent, which only ever sees the training samples, happily
# does so. That is overfitting. It is not intuitive if one reads the loss as "how
# well the network knows the function": fewer samples carry less information about
# the function, so a *better* loss must be misleading. With many samples the network
# cannot follow each one, the noise averages out, and the training loss rises to
# (with a fixed number of steps, above) the true weights' loss while the test loss
# falls toward the noise level. Beyond a few dozen samples the differences are within
# the spread between splits, which only repeating the experiment shows.
#
# The training loss measures how well the network fits the data it was fitted to: it
# is biased low, the more so the fewer the samples and the more flexible the model
# (part 08 showed it even below the truth). The performance that matters is the error
# on new data from the same source. Estimate it on an independent test set (or by
# cross-validation, which rotates the held-out part), and compare models by it, or by
# the gap between training and test error.
#
# A test set must be independent of everything that produced the model: drawn from
# the same distribution as the data the model will meet, never used for training,
# nor for choosing step sizes, architectures or when to stop (that needs a separate
# validation set), and large enough that its error is a precise estimate.
# ### END SOLUTION

# %% [markdown]
# ## What the sample size shows
#
# * At fixed batch size, step size and number of steps, a smaller sample gives a
#   *lower* training loss, below what the true weights achieve on the same samples,
#   and a *higher* test error: the network fits the noise of the few samples it sees.
#   Beyond a few dozen samples the differences are within the spread between splits:
#   repeat an experiment before reading a trend into it.
# * The training loss measures the fit to the samples used for training, not how
#   well the network has learned the function. An independent test set, never used
#   in training, measures that.
