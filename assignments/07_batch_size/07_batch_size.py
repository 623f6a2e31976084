# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,title,-nbgrader
#     formats: source///ipynb,assignments///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Part 07 — The batch size
#
# Part 03 took each gradient step on a **mini-batch** of 20 of the 200 samples. The
# gradient of the loss on a batch $B$,
#
# $$g_B = \nabla\Big(\frac{1}{|B|}\sum_{i \in B} \ell_i\Big)
#       = \frac{1}{|B|}\sum_{i\in B} \nabla \ell_i ,$$
#
# is an *estimate* of the full gradient $g = \frac1n \sum_{i=1}^n \nabla\ell_i$: the
# average over a random sample of the per-sample gradients instead of all of them.
# The batch size trades two things:
#
# * a small batch makes a **cheap** step: the forward and backward pass run over
#   $|B|$ rows, not $n$;
# * a large batch makes an **accurate** step: $g_B$ is closer to $g$.
#
# You write the estimate and measure how far it strays (Exercises 1 and 2), we count
# and time the cost of a step, race batch sizes against three clocks (steps, samples
# processed, seconds), and a slider shows what the noise does near the optimum.
#
# *How this notebook is graded.* Write your code where it says `YOUR CODE HERE` (and
# delete the `raise NotImplementedError()`). The cell after each answer tests it;
# when your notebook is graded, more tests (hidden here) run in those cells. Run the
# notebook top to bottom (*Kernel → Restart Kernel and Run All Cells*) before you
# submit. The slider redraws results computed ahead of time, so moving it is quick.

# %% given setup
import time

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

import autodiff_lib as ad
from autodiff_lib.data import teacher_student
from autodiff_lib.networks import init_mlp
from autodiff_lib.plotting import log_ticks, plot_growth, plot_loss_curve, slider
from autodiff_lib.progress import progress_bar
from autodiff_lib.training import flatten, loss, train

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# The data, network and initial weights of part 03. `loss(params, x, y)` is the mean
# squared error of the network (`autodiff_lib.training.loss`, your part 03 answer),
# and `grad_loss` its gradient with respect to the weights: a list of 6 arrays.
# `flatten` strings such a list out into one vector of 97 numbers, so that we can
# measure distances between gradients.

# %% given data tags=["nbval-check-output"]
SIZES = [1, 8, 8, 1]
data = teacher_student(SIZES, n_samples=200, noise=0.1, seed=2)
x, y = data.x, data.y
params = init_mlp(SIZES, seed=0)
grad_loss = ad.grad(loss)
full_gradient = grad_loss(params, x, y)
length = np.linalg.norm(flatten(full_gradient))
print(f"{len(x)} samples; full gradient: {len(full_gradient)} arrays, "
      f"{flatten(full_gradient).size} numbers, length {length:.4f}")


# %% [markdown]
# ## The mini-batch gradient
#
# ### Exercise 1 (2 points): the estimate
#
# Write `minibatch_gradient(params, x, y, batch_size, rng)`: draw `batch_size`
# **different** sample indices at random with
# `rng.choice(len(x), size=batch_size, replace=False)` (one call, so that a seeded
# generator gives the same batch every run), and return `grad_loss` on those rows
# only. The library's batching (`autodiff_lib.training.epoch_batches`, and `train`,
# which uses it) may not be used in this part's answers (in the tests, it raises
# when your functions call it).

# %% answer minibatch_gradient
def minibatch_gradient(params, x, y, batch_size, rng):
    """The loss gradient on batch_size samples drawn without replacement."""
    ### BEGIN SOLUTION
    chosen = rng.choice(len(x), size=batch_size, replace=False)
    return grad_loss(params, x[chosen], y[chosen])
    ### END SOLUTION


# %% tests test_minibatch_gradient (2 points)
# Your own batch: while your function runs in these tests, each of the library's
# training.epoch_batches and training.train raises; return plain arrays.
from autodiff_lib.testing import own_work
minibatch_gradient = own_work(minibatch_gradient, "training.epoch_batches",
                              "training.train")
# A batch of every sample is the full gradient; hidden tests: the rows drawn.
everything = minibatch_gradient(params, x, y, len(x), np.random.default_rng(0))
assert len(everything) == len(params), "one gradient per weight array"
assert np.allclose(flatten(everything), flatten(full_gradient)), \
    "a batch of all 200 samples (each once) must give the full gradient"
five = np.random.default_rng(5).choice(len(x), size=5, replace=False)
drawn_five = flatten(minibatch_gradient(params, x, y, 5, np.random.default_rng(5)))
assert np.allclose(drawn_five, flatten(grad_loss(params, x[five], y[five]))), \
    "a batch of 5: not the gradient on the rows that rng.choice(len(x), size=5, " \
    "replace=False) draws from the rng passed in"
### BEGIN HIDDEN TESTS
import numpy as np

import autodiff_lib as ad
from autodiff_lib.training import flatten, loss

def on_rows(rows):
    return flatten(ad.grad(loss)(params, x[rows], y[rows]))

for size, seed in [(1, 11), (7, 12), (64, 13)]:
    twin = np.random.default_rng(seed)
    wanted = twin.choice(len(x), size=size, replace=False)
    drawn = minibatch_gradient(params, x, y, size, np.random.default_rng(seed))
    assert np.allclose(flatten(drawn), on_rows(wanted), atol=1e-12), \
        f"batch of {size}: not the gradient on the rows rng.choice(len(x), " \
        "size=batch_size, replace=False) draws (one call, with the rng given)"
shared = np.random.default_rng(14)
first = flatten(minibatch_gradient(params, x, y, 5, shared))
second = flatten(minibatch_gradient(params, x, y, 5, shared))
assert not np.allclose(first, second), \
    "two calls with the same generator must draw two different batches"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 (2 points): how far it strays
#
# The **spread** of the estimate around the full gradient $g$ is the root mean
# square of the distance over many draws,
#
# $$\text{spread}(|B|) = \sqrt{\frac{1}{D}\sum_{d=1}^{D} \lVert g_{B_d} - g\rVert^2},$$
#
# with $\lVert\cdot\rVert$ the length of all 97 numbers together (`flatten`, then
# `np.linalg.norm`, or a sum of squares). Write
# `gradient_spread(params, x, y, batch_size, draws, rng)`, which computes $g$ once
# and calls your `minibatch_gradient` `draws` times with `rng`.

# %% answer gradient_spread
def gradient_spread(params, x, y, batch_size, draws, rng):
    """Root mean square distance of the mini-batch gradient from the full one."""
    ### BEGIN SOLUTION
    exact = flatten(grad_loss(params, x, y))
    total = 0.0
    for _ in range(draws):
        estimate = flatten(minibatch_gradient(params, x, y, batch_size, rng))
        total += float(np.sum((estimate - exact) ** 2))
    return np.sqrt(total / draws)
    ### END SOLUTION


# %% tests test_gradient_spread (2 points)
from autodiff_lib.testing import own_work  # the library's epoch_batches raises
gradient_spread = own_work(gradient_spread, "training.epoch_batches",
                           "training.train")
# The full batch does not stray; hidden tests: your spread of given estimates (a
# stand-in replaces your minibatch_gradient there, so a mistake in it costs no
# points here).
assert np.isclose(gradient_spread(params, x, y, len(x), 3, np.random.default_rng(0)),
                  0.0, atol=1e-9), "a batch of all samples must have spread 0"
### BEGIN HIDDEN TESTS
import numpy as np

from autodiff_lib.training import flatten

offsets = [3.0, -1.0, 0.0, 2.0]  # squared distances 9 * 97, 97, 0, 4 * 97
seen = []

def stand_in(params, x, y, batch_size, rng):  # the names of the original
    seen.append((batch_size, rng))
    shift = offsets[len(seen) - 1]
    return [g + shift for g in full_gradient]

marker = np.random.default_rng(1)
yours = minibatch_gradient
try:
    minibatch_gradient = stand_in
    got = gradient_spread(params, x, y, 17, 4, marker)
finally:
    minibatch_gradient = yours
assert len(seen) == 4, "call minibatch_gradient once per draw"
assert all(size == 17 and generator is marker for size, generator in seen), \
    "pass batch_size and the rng given to minibatch_gradient"
assert np.isclose(got, np.sqrt(97 * (9 + 1 + 0 + 4) / 4)), \
    "the spread must be the square root of the mean squared distance over the draws"
### END HIDDEN TESTS
print('These visible tests passed. They are not your grade: when your notebook is '
      'graded, hidden tests run in every test cell as well, on other inputs.')

# %% [markdown]
# ## Smaller batches stray further
#
# The spread for batch sizes from 1 to all 200 samples, 100 draws each. Beside it, the
# formula of sampling without replacement: the average of $|B|$ of $n$ numbers with
# variance $\sigma^2$ has variance $\frac{\sigma^2}{|B|}\frac{n - |B|}{n - 1}$, here
# with $\sigma^2$ the mean of $\lVert\nabla\ell_i - g\rVert^2$ over the 200
# per-sample gradients $\nabla \ell_i$ (computed one by one below).

# %% tags=["nbval-ignore-output"]
BATCH_SIZES = [1, 2, 5, 10, 20, 50, 100, 200]
n = len(x)
per_sample = np.array([flatten(grad_loss(params, x[i:i + 1], y[i:i + 1]))
                       for i in range(n)])
sigma2 = np.mean(np.sum((per_sample - flatten(full_gradient)) ** 2, axis=1))

rng = np.random.default_rng(0)
measured = [gradient_spread(params, x, y, b, 100, rng)
            for b in progress_bar(BATCH_SIZES, desc="batch sizes")]
predicted = [np.sqrt(sigma2 / b * (n - b) / (n - 1)) for b in BATCH_SIZES]
for b, got, formula in zip(BATCH_SIZES, measured, predicted):
    print(f"batch {b:3}: spread {got:.3f}  (formula {formula:.3f})")

fig, ax = plt.subplots(figsize=(6, 4.2))
plot_growth(BATCH_SIZES[:-1], {"measured (100 draws)": measured[:-1],
                               "formula": predicted[:-1]},
            "batch size", "spread of the mini-batch gradient", ax=ax, logx=True)
ax.axhline(np.linalg.norm(flatten(full_gradient)), color="k", linestyle=":",
           linewidth=1, label="length of the full gradient")
log_ticks(ax)
ax.set_title("the mini-batch gradient at the initial weights")
ax.legend(fontsize="small")
plt.show()


# %% [markdown]
# For small batches the spread falls like $1/\sqrt{|B|}$ (a slope of $-\tfrac12$ on
# the log-log plot): four times the batch for half the noise. At $|B| = 1$ it is
# larger than the gradient itself. Near $|B| = n$ the factor $\frac{n-|B|}{n-1}$
# takes it to exactly $0$ (not drawn on the log scale): all samples, no noise.
#
# ## Smaller batches make cheaper steps
#
# What does a step cost? We count it, as in part 04, by the floats held by the graph
# of the loss on one batch: every intermediate array the forward pass records and
# the backward pass reads.

# %% given step_cost
def step_floats(params, x, y, batch_size):
    """Floats held by the graph of the loss on the first batch_size samples."""
    weights = [ad.Tensor(w) for w in params]
    batch_loss = loss(weights, x[:batch_size], y[:batch_size])
    return sum(node.value.size for node in ad.topological_order(batch_loss))


def step_seconds(params, x, y, batch_size, repeats=3):
    """The best time of one step (gradient on a batch, then the update), after one
    step not timed (the first call pays for caches being filled)."""
    def step():
        grads = grad_loss(params, x[:batch_size], y[:batch_size])
        return [w - 0.01 * g for w, g in zip(params, grads)]

    step()
    steps = max(1, min(10, 10_000 // batch_size))  # about the same time per repeat
    best = np.inf
    for _ in range(repeats):
        begin = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - begin) / steps)
    return best


# %% tags=["nbval-check-output"]
floats = [step_floats(params, x, y, b) for b in BATCH_SIZES]
print("batch   floats per step   steps per epoch   floats per epoch")
for b, held in zip(BATCH_SIZES, floats):
    print(f"{b:5}   {held:15}   {n // b:15}   {held * (n // b):16}")

# %% [markdown]
# The floats of a step are a fixed part, the same for every batch (the weights, and
# what is computed from them alone), plus the same amount for each row: its
# activations in every layer. An epoch, one pass over the $n$ samples, takes
# $n/|B|$ steps, so it pays the per-row part $n$ times whatever the batch size, and
# the fixed part once per step. Counted in floats, the full batch is the least work
# per epoch (10 498 floats, against 30 000 for batches of 1, which pay the fixed part
# 200 times). But work is not time, and an epoch is not the goal: a lower loss is.
#
# Now the time of a step, measured on this machine (your numbers will differ), for
# batches from 1 row to 100 000 (inputs drawn from the same teacher), once with numpy
# restricted to a single thread for its matrix products (BLAS, set by
# `threadpoolctl`) and once with all the threads it uses by default:

# %% tags=["nbval-ignore-output"]
TIMED_SIZES = [1, 10, 50, 200, 1000, 10_000, 100_000]
many = teacher_student(SIZES, n_samples=TIMED_SIZES[-1], noise=0.1, seed=3)
seconds = {}
with threadpool_limits(limits=1, user_api="blas"):
    seconds["one BLAS thread"] = [step_seconds(params, many.x, many.y, b)
                                  for b in progress_bar(TIMED_SIZES, desc="one thread")]
seconds["all threads"] = [step_seconds(params, many.x, many.y, b)
                          for b in progress_bar(TIMED_SIZES, desc="all threads")]
print("   rows   " + "   ".join(f"{label:>28}" for label in seconds))
for i, b in enumerate(TIMED_SIZES):
    cells = [f"{1e6 * t[i]:9.0f} us/step {1e9 * t[i] / b:8.0f} ns/row"
             for t in seconds.values()]
    print(f"{b:7}   " + "   ".join(cells))

fig, (per_step, per_row) = plt.subplots(1, 2, figsize=(11, 4.2))
plot_growth(TIMED_SIZES, {k: 1e6 * np.array(v) for k, v in seconds.items()},
            "batch size (rows)", "microseconds per step", ax=per_step, logx=True)
per_step.set_title("time of one step")
plot_growth(TIMED_SIZES, {k: 1e9 * np.array(v) / TIMED_SIZES
                          for k, v in seconds.items()},
            "batch size (rows)", "nanoseconds per row", ax=per_row, logx=True)
per_row.set_title("time of one step, per row of the batch")
plt.show()

# %% [markdown]
# Read the curves from the left. For small batches the time of a step hardly moves:
# it is the library's bookkeeping for each operation, the same for 1 row as for 50,
# and the time per row falls as the batch shares it. Further right the time grows in
# proportion to the rows: the arithmetic takes over and the time per row levels off.
# Where the bend lies is a property of the machine, the library and the network, not
# of the mathematics, and the two curves show it moving with the hardware: where
# several cores help with the matrix products, the time per step of large batches
# drops with all threads; where the cores are few or busy, the extra threads only get
# in each other's way. On a GPU the bend moves far to the right: its thousands of
# arithmetic units sit idle until a batch is large enough to fill them (lecture 10).
#
# ## Which batch size trains fastest? It depends on the clock
#
# From the initial weights, 400 steps of size $\eta = 0.1$ with batches of 1, 10, 50
# and all 200 samples, and the loss on all samples against three clocks: the steps;
# the **samples processed** (steps times the batch size: the arithmetic, counted in
# rows); and the **seconds**, the steps times this machine's time per step (all
# threads, measured above).

# %% tags=["nbval-ignore-output"]
RACE_SIZES = [1, 10, 50, 200]
race = {b: train(params, x, y, step_size=0.1, steps=400, batch_size=b, seed=0,
                 record_every=5)
        for b in RACE_SIZES}
per_step_time = dict(zip(TIMED_SIZES, seconds["all threads"]))

fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
for b, run in race.items():
    after = run.recorded[1:]  # from the first step on (a log axis has no 0)
    clocks = [after, after * b, after * per_step_time[b]]
    for ax, clock in zip(axes, clocks):
        ax.plot(clock, run.losses[1:], linewidth=1.2, label=f"batch {b}")
titles = ["per step: the larger batch wins", "per sample processed: batch 1 wins",
          "per second, on this machine"]
xlabels = ["step", "samples processed", "seconds (steps x time per step)"]
for ax, title, xlabel in zip(axes, titles, xlabels):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(True, which="major", alpha=0.3)
log_ticks(axes[0])
axes[0].set_ylabel("loss on all samples")
axes[0].legend(fontsize="small")
plt.show()

def loss_at(run, clock, when):
    """The loss last recorded at or before `when` on `clock` (one per record)."""
    return run.losses[np.searchsorted(clock, when, side="right") - 1]


horizon = 400 * per_step_time[1]  # the seconds batch 1 took for its 400 steps
print("batch   after 400 steps   after 400 samples   after batch 1's seconds")
for b, run in race.items():
    by_samples = loss_at(run, run.recorded * b, 400)
    by_seconds = loss_at(run, run.recorded * per_step_time[b], horizon)
    print(f"{b:5}   {run.losses[-1]:15.4f}   {by_samples:17.4f}   {by_seconds:23.4f}")

# %% [markdown]
# Per step, the larger batches end lower: each step follows a better gradient. Per
# sample processed the order turns round: batch 1 has taken its 400 steps when the
# full batch has taken 2, and is far ahead. Per second it depends on the machine: in
# the flat part of the timing curve a step costs about the same whatever its size, the
# seconds axis is the step axis stretched, and large batches win; where the time grows
# with the rows, the seconds axis is the samples axis, and small batches win. Which
# clock counts is the hardware's answer, which is why the batch size is found by
# trying.
#
# ## Noise near the optimum: a slider
#
# Start at the **true weights**, next to the best weights for these samples, and take
# 400 steps with the large step size $\eta = 0.1$ (just below $2/\lambda_{\max}$ there,
# part 06), with each batch size. Each epoch goes through the samples in a new random
# order (`autodiff_lib.training.train`). The runs are computed ahead of time (a few
# seconds); the slider shows one beside the full batch: the loss on all 200 samples
# after each step, and how far each step moves the weights.

# %% tags=["nbval-ignore-output"]
STEPS, ETA = 400, 0.1
near_runs = {
    b: train(data.true_params, x, y, step_size=ETA, steps=STEPS, batch_size=b,
             seed=1, snapshot_steps=range(STEPS + 1))
    for b in progress_bar(BATCH_SIZES, desc="batch sizes")
}
moves = {}  # the length of each step: how far it moves all 97 weights
for b, run in near_runs.items():
    path = np.array([flatten(run.snapshots[k]) for k in range(STEPS + 1)])
    moves[b] = np.linalg.norm(np.diff(path, axis=0), axis=1)


# %% tags=["nbval-ignore-output"]
def draw_batch_run(b):
    run, whole = near_runs[b], near_runs[n]
    last = slice(-200, None)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    plot_loss_curve(whole.losses, ax=left, steps=whole.recorded, xlabel="step",
                    label="full batch", floor=None, color="k")
    plot_loss_curve(run.losses, ax=left, steps=run.recorded, xlabel="step",
                    label=f"batch {b}", alpha=0.8)
    left.set_ylim(8e-3, max(0.3, 1.5 * run.losses.max()))  # the highest jump shows
    log_ticks(left)
    left.set_title(f"last 200 steps: loss {run.losses[last].mean():.4f} "
                   f"± {run.losses[last].std():.4f}")
    steps = np.arange(1, STEPS + 1)
    right.semilogy(steps, moves[n], "k-", linewidth=1.2, label="full batch")
    right.semilogy(steps, moves[b], "-", linewidth=1.2, alpha=0.8, label=f"batch {b}")
    right.set_ylim(1e-5, 3)
    right.set_title(f"last 200 steps: {moves[b][last].mean():.4f} per step")
    right.set_xlabel("step")
    right.set_ylabel("length of the step (all weights)")
    right.grid(True, alpha=0.3)
    right.legend(fontsize="small")


slider(draw_batch_run, BATCH_SIZES, "batch size", value=5)

# %% tags=["nbval-check-output"]
# the spread where these runs are, at the true weights (100 draws per batch size)
at_truth = np.random.default_rng(2)
spread_at_truth = {b: gradient_spread(data.true_params, x, y, b, 100, at_truth)
                   for b in BATCH_SIZES}
print("over the last 200 steps:")
print("batch   loss on all samples   length of a step   eta x spread at the truth"
      "   ratio")
for b, run in near_runs.items():
    tail = run.losses[-200:]
    step = moves[b][-200:].mean()
    ratio = f"{step / (ETA * spread_at_truth[b]):7.2f}" if b < n else "      -"
    print(f"{b:5}   {tail.mean():.5f} ± {tail.std():.5f}   {step:16.5f}   "
          f"{ETA * spread_at_truth[b]:25.5f}   {ratio}")

# %% [markdown]
# The full batch follows the gradient flow: its loss falls a little and settles, and
# its steps shrink towards nothing. With small batches the weights never settle: each
# step follows a noisy estimate with a step size made for the exact gradient. At the
# optimum the full gradient is zero, so a step there is $\eta$ times the estimate's
# error alone; the weights, once knocked away, add a pull back towards it. So the
# steps stay long: for small batches about $\eta$ times the spread at the true
# weights (the last column, their ratio: 1.2 up to a batch of 5), and more for larger
# ones, where the pull back weighs more (1.5 to 1.6 at 10 and 20, 2.1 to 2.2 at 50
# and 100). (At the initial weights the spread is several times larger: the noise
# near the optimum has to be measured there.) The weights keep
# jumping around the optimum (and wander along the directions in which the loss is
# almost flat), and the loss on all samples jumps with them. A smaller step size, or
# one that decays (part 06), damps the jumps; a larger batch removes their cause, at
# the cost of more work per step.
#
# ### Question (2 points, graded by hand)
#
# In practice the batch size is chosen by trial and error on the hardware at hand and
# then rarely changed during training. Using what you measured above (work per step,
# time per step, spread, and the runs near the optimum), explain why. What does a
# larger batch buy, what does it cost, and why does the answer depend on the
# machine? How does the batch size interact with the step size?

# %% written why_trial_and_error (2 points) [markdown]
# ### BEGIN SOLUTION
# A larger batch buys a more accurate gradient: the spread falls like $1/\sqrt{|B|}$
# (exactly $\sqrt{\sigma^2 (n-|B|)/(|B|(n-1))}$), so the steps are less noisy and, with
# the same step size, the weights settle closer to the optimum instead of jumping
# around it. It costs work: the floats (and arithmetic) of a step grow linearly with
# $|B|$, so per unit of work, small batches make more progress while far from the
# optimum, where the gradient is large compared with its noise.
#
# Whether the extra work costs *time* depends on the machine: here the time per step
# is dominated by per-operation overhead and hardly changes from 1 to 100 rows; on a
# GPU (or with vectorized CPU code) the arithmetic units are idle until the batch is
# large enough to fill them, so up to that size a larger batch is nearly free per
# step, and beyond it the time grows linearly. Memory sets an upper limit (the graph
# holds floats in proportion to the batch). So the best batch size is where the time
# per step starts to grow on this hardware, with this network and library, which no
# formula gives: it is measured, by trial and error, and kept fixed because it is a
# property of the set-up rather than of the stage of training.
#
# The batch size and the step size interact: the noise of a step is about
# $\eta \cdot$ spread, so a smaller batch needs a smaller (or decaying) step size to
# settle, and a larger batch allows a larger step (up to the stability limit
# $2/\lambda_{\max}$); changing one usually means retuning the other.
# ### END SOLUTION

# %% [markdown]
# ## What the batch size does
#
# * The mini-batch gradient is an unbiased, noisy estimate of the full gradient; its
#   spread falls like $1/\sqrt{|B|}$, to $0$ at the full batch.
# * The work of a step grows linearly with the batch; its time only beyond a batch
#   size that the machine and the library set (one BLAS thread or all of them moves
#   it). Per step the larger batch wins, per sample processed the smaller one, per
#   second whichever the hardware favours.
# * Near the optimum, a small batch with a large step keeps jumping around it, where
#   the full batch settles. Part 08 asks how low the loss can go, part 09 whether a
#   low loss is what we want.
