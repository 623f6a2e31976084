# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,title,-nbgrader
#     formats: source///ipynb,assignments///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Part 08 — Beating the optimal error?
#
# Part 03 measured a trained network against the truth with the **relative mean
# absolute error**
#
# $$\text{RMAE} = \frac{\text{MAE}(\text{network})}{\text{MAE}(\text{true weights})}
#   - 1 ,$$
#
# both on the same samples: $0$ means "as close to the samples as the true function",
# whose error is the noise. Training from random weights brought it close to $0$.
# Is $0$ a wall? This part starts where no training can improve on the truth, **at the
# true weights**, trains anyway, and watches the RMAE.
#
# 1. Training from the true weights, with a slider over the steps.
# 2. You refit the last layer in closed form (Exercise 1): a proof in code.
# 3. You draw fresh samples from the teacher (Exercise 2) and measure again.
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
from autodiff_lib.metrics import rmae
from autodiff_lib.networks import mlp
from autodiff_lib.plotting import slider
from autodiff_lib.training import flatten, loss, train, unflatten

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# The data and architecture of part 03: 200 noisy samples of a teacher network with
# $1 + 8 + 8 + 1$ units, 97 weights: fewer weights than samples, so the network cannot
# pass through all of them. We start the student network at the teacher's weights.

# %% given data tags=["nbval-check-output"]
SIZES = [1, 8, 8, 1]
data = teacher_student(SIZES, n_samples=200, noise=0.1, seed=2)
x, y = data.x, data.y
truth = data.true_params


def rmae_on(params, inputs, targets):
    """RMAE of the network with weights params against the teacher, on (inputs,
    targets)."""
    return rmae(mlp(params, inputs), data.teacher(inputs), targets)


print(f"weights: {sum(w.size for w in truth)}, samples: {len(x)}")
print(f"the true weights: loss {float(loss(truth, x, y)):.5f}, "
      f"RMAE {rmae_on(truth, x, y):.4f}")

# %% [markdown]
# ## Training from the true weights
#
# Plain gradient descent on all 200 samples, 1000 steps of size $\eta = 0.1$, from the
# true weights: a large step, below the stability limit $2/\lambda_{\max}$ of the
# Hessian at the true weights (part 06), computed first. We keep the weights at the
# steps in `KEPT`: 40 points spaced evenly on a log scale from 1 to 1000, rounded
# down to whole steps, and step 0. The first few points round to the same step, so
# 35 steps are left (the cell prints them), and we compute the RMAE on the samples
# for each.
# `from_truth.snapshots[k]` are the weights after step `k`, for `k` in `KEPT`.

# %%
curvature = ad.hessian(lambda theta: loss(unflatten(theta, truth), x, y))
limit = 2 / np.linalg.eigvalsh(curvature(flatten(truth)))[-1]
print(f"2/lambda_max at the true weights: {limit:.3f}; the step size 0.1 is below it")

KEPT = np.unique(np.r_[0, np.geomspace(1, 1000, 40).astype(int)])
print(f"weights kept at {len(KEPT)} steps: {', '.join(str(k) for k in KEPT)}")
from_truth = train(truth, x, y, step_size=0.1, steps=1000, snapshot_steps=KEPT)
rmae_train = np.array([rmae_on(from_truth.snapshots[k], x, y) for k in KEPT])
print(f"loss: {from_truth.losses[0]:.5f} at the start, {from_truth.final_loss:.5f} "
      f"after 1000 steps")
print(f"RMAE on the samples: {rmae_train[0]:.4f} at the start, {rmae_train[-1]:.4f} "
      f"after 1000 steps")

# %% [markdown]
# It is negative: on these samples, the trained network is closer to the targets than
# the function that generated them. The slider steps through training. Left: the
# noise, $y - \text{teacher}(x)$ (grey dots, left scale), and what the network has
# learned on top of the teacher, $\text{network}(x) - \text{teacher}(x)$ (the red
# curve, on the right scale, ten times finer: it is much smaller than the noise).
# Right: the RMAE on the samples against the step (step 0 is the truth).

# %% tags=["nbval-ignore-output"]
GRID = np.linspace(-2, 2, 300).reshape(-1, 1)


def draw_step(k):
    params = from_truth.snapshots[k]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    left.plot(x[:, 0], (y - data.teacher(x))[:, 0], ".", color="0.6", markersize=4)
    left.axhline(0, color="0.4", linewidth=0.8)
    left.set_ylim(-0.35, 0.35)
    left.set_xlabel("$x$")
    left.set_ylabel("noise: y - teacher(x) (dots)")
    fine = left.twinx()  # the learned difference, on a scale ten times finer
    fine.plot(GRID[:, 0], (mlp(params, GRID) - data.teacher(GRID))[:, 0], "r-")
    fine.set_ylim(-0.035, 0.035)
    fine.set_ylabel("network - teacher (red curve)", color="r")
    left.set_title(f"after {k} steps")
    right.plot(KEPT, rmae_train, ".-", label="RMAE on the samples")
    right.set_xscale("symlog", linthresh=1)  # step 0 at 0, then a log scale
    right.axhline(0, color="k", linestyle="--", linewidth=1, label="the true weights")
    here = rmae_on(params, x, y)
    right.plot([k], [here], "ro", label=f"step {k}: {here:.4f}")
    right.set_xlabel("step")
    right.set_ylabel("RMAE")
    right.set_title("RMAE on the 200 training samples")
    right.legend(fontsize="small")


slider(draw_step, [int(k) for k in KEPT], "training step", value=int(KEPT[-1]))


# %% [markdown]
# The curve is not noise: the network is too small to follow each sample (it would
# need a spike at every dot). But where, by chance, several neighbouring samples lie
# above the teacher, it bends up a little, and there it gains on all of them. The
# weights shift toward the noise of *these* samples.
#
# ## A proof in code: refit the output layer
#
# Gradient descent creeps; we can go straight to the best weights for part of the
# network. Keep the hidden layers of the true weights, and let $h$ (shape $(n, 8)$)
# be the output of the last hidden layer. The network's output $h\,W_L + b_L$ is
# *linear* in the last layer's weights, so the $W_L, b_L$ with the lowest loss on the
# samples solve a linear least-squares problem:
#
# $$\min_{W_L, b_L} \big\lVert [\,h \;\; \mathbf 1\,]
#   \begin{bmatrix} W_L \\ b_L \end{bmatrix} - y \big\rVert^2 .$$
#
# The true $W_L, b_L$ are one candidate in this minimisation, so the refitted
# network's loss on the samples **cannot** be higher than the truth's, whatever the
# data.
#
# ### Exercise 1 (2 points): the best output layer
#
# Write `fit_output_layer(params, x, y)`: compute $h$ for the hidden layers of
# `params` (all but the last two arrays). Careful: `mlp(params[:-2], x)` treats the
# last hidden layer as its output layer, so it leaves out that layer's `tanh`: apply
# `np.tanh` to it yourself to get $h$. Then solve the least-squares problem with
# `np.linalg.lstsq` (append a column of ones for the bias), and return a **new** list:
# the hidden layers as they were, then the fitted $W_L$ (shape `(n_hidden, n_out)`)
# and $b_L$ (shape `(n_out,)`).

# %% answer fit_output_layer
def fit_output_layer(params, x, y):
    """Hidden layers of params, then the least-squares output layer for (x, y)."""
    ### BEGIN SOLUTION
    hidden = np.tanh(np.asarray(mlp(params[:-2], x)))
    design = np.column_stack([hidden, np.ones(len(hidden))])
    coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
    return list(params[:-2]) + [coefficients[:-1], coefficients[-1]]
    ### END SOLUTION


# %% tests test_fit_output_layer (2 points)
from autodiff_lib.testing import own_work  # what you return must be plain arrays
fit_output_layer = own_work(fit_output_layer)
# Targets that a 1-2-1 network fits exactly: the fit must find its output layer.
# Hidden tests: noisy targets, other shapes, the hidden layers left alone.
exact = [np.array([[1.0, -2.0]]), np.array([0.5, 0.0]),
         np.array([[3.0], [-1.0]]), np.array([0.25])]
inputs = np.linspace(-1, 1, 9).reshape(-1, 1)
given_layers = [exact[0], exact[1], np.zeros((2, 1)), np.zeros(1)]
refit = fit_output_layer(given_layers, inputs, mlp(exact, inputs))
assert len(refit) == 4, "return every layer: the hidden ones, then W and b"
assert not np.any(given_layers[2]) and not np.any(given_layers[3]), \
    "fit_output_layer changed the list passed in: return a new list (below, it is " \
    "passed the teacher's own weights)"
assert np.allclose(refit[2], [[3.0], [-1.0]]) and np.allclose(refit[3], [0.25]), \
    "the fitted output layer of an exactly linear problem must be exact: is h the " \
    "tanh of mlp(params[:-2], x)? a column of ones for the bias?"
### BEGIN HIDDEN TESTS
import numpy as np

from autodiff_lib.networks import init_mlp, mlp

rng_fit = np.random.default_rng(81)
for sizes in [[2, 5, 3], [1, 6, 4, 2]]:
    weights = init_mlp(sizes, seed=82, weight_scale=1.5, bias_scale=0.5)
    saved = [w.copy() for w in weights]
    inputs = rng_fit.normal(size=(40, sizes[0]))
    targets = rng_fit.normal(size=(40, sizes[-1]))
    fitted = fit_output_layer(weights, inputs, targets)
    assert all(np.array_equal(w, s) for w, s in zip(weights, saved)), \
        "fit_output_layer changed the arrays passed in: return new ones instead"
    assert all(np.array_equal(a, b) for a, b in zip(fitted[:-2], weights[:-2])), \
        f"layer sizes {sizes}: the hidden layers must stay as they are"
    assert np.shape(fitted[-2]) == (sizes[-2], sizes[-1]) and \
        np.shape(fitted[-1]) == (sizes[-1],), \
        f"layer sizes {sizes}: W must be (n_hidden, n_out) and b of shape (n_out,)"
    features = np.tanh(mlp(weights[:-2], inputs))
    features = np.hstack([features, np.ones((40, 1))])
    normal = np.linalg.solve(features.T @ features, features.T @ targets)
    assert np.allclose(fitted[-2], normal[:-1], atol=1e-8) and \
        np.allclose(fitted[-1], normal[-1], atol=1e-8), \
        f"layer sizes {sizes}: not the least-squares output layer (tanh on the " \
        "last hidden layer? a column of ones for the bias?)"
### END HIDDEN TESTS

# %%
refitted = fit_output_layer(truth, x, y)
print(f"loss on the samples: truth {float(loss(truth, x, y)):.5f}, "
      f"refitted {float(loss(refitted, x, y)):.5f}")
print(f"RMAE on the samples: refitted output layer {rmae_on(refitted, x, y):.4f}")


# %% [markdown]
# Nine numbers chosen for these 200 samples beat the truth on them, as they must.
# (The loss is the *squared* error and the RMAE compares *absolute* errors, so only the
# loss is guaranteed to fall; the RMAE follows it here.)
#
# ## Fresh samples
#
# The truth is optimal in a different sense: **on average over new samples** from the
# same source, nothing beats it. Let us draw some.
#
# ### Exercise 2 (1 point): new samples from the teacher
#
# Write `fresh_samples(data, n, seed)`: `n` new samples from the same teacher and
# noise level as `data`. With `rng = np.random.default_rng(seed)`, draw the inputs
# first, uniform in $[-2, 2]$ like the training inputs (shape `(n, n_inputs)`, with
# `n_inputs` the number of columns of `data.x`), then the noise,
# `data.noise * rng.normal(size=...)` of the shape of the targets, and return
# `(x_new, y_new)` with `y_new = data.teacher(x_new) + noise`.

# %% answer fresh_samples
def fresh_samples(data, n, seed):
    """n new noisy samples of data's teacher, as (x_new, y_new)."""
    ### BEGIN SOLUTION
    generator = np.random.default_rng(seed)
    x_new = generator.uniform(-2.0, 2.0, size=(n, data.x.shape[1]))
    clean = np.asarray(data.teacher(x_new))
    return x_new, clean + data.noise * generator.normal(size=clean.shape)
    ### END SOLUTION


# %% tests test_fresh_samples (1 point)
from autodiff_lib.testing import own_work  # what you return must be plain arrays
fresh_samples = own_work(fresh_samples)
# Shapes and ranges; hidden tests: the seed, the noise level.
x_new, y_new = fresh_samples(data, 50, seed=0)
assert np.shape(x_new) == (50, 1) and np.shape(y_new) == (50, 1), \
    "50 samples of one input and one output: shapes (50, 1) and (50, 1)"
assert np.all(np.abs(x_new) <= 2), "inputs must lie in [-2, 2]"
### BEGIN HIDDEN TESTS
import numpy as np

again = fresh_samples(data, 50, seed=0)
other = fresh_samples(data, 50, seed=1)
assert np.array_equal(again[0], x_new) and np.array_equal(again[1], y_new), \
    "the same seed must give the same samples"
assert not np.allclose(other[0], x_new), "another seed must give other samples"
replay = np.random.default_rng(7)
inputs = replay.uniform(-2, 2, size=(30, 1))
expected = data.teacher(inputs) + data.noise * replay.normal(size=(30, 1))
got = fresh_samples(data, 30, seed=7)
assert np.allclose(got[0], inputs) and np.allclose(got[1], expected), \
    "draw the inputs first (uniform in [-2, 2]), then the noise, from one generator"
many_x, many_y = fresh_samples(data, 20000, seed=3)
residual = many_y - data.teacher(many_x)
assert abs(np.std(residual) - data.noise) < 0.01 and abs(np.mean(residual)) < 0.01, \
    "the noise must have mean 0 and standard deviation data.noise"
assert abs(np.mean(many_x)) < 0.05 and many_x.min() < -1.9 and many_x.max() > 1.9, \
    "the inputs must spread evenly over [-2, 2]"
### END HIDDEN TESTS
print('These visible tests passed. They are not your grade: when your notebook is '
      'graded, hidden tests run in every test cell as well, on other inputs.')

# %% [markdown]
# 10 000 fresh samples, and the RMAE on them for every weights kept during training,
# and for the refitted output layer:

# %%
x_fresh, y_fresh = fresh_samples(data, 10_000, seed=1)
rmae_fresh = np.array([rmae_on(from_truth.snapshots[k], x_fresh, y_fresh)
                       for k in KEPT])
print(f"after 1000 steps: RMAE {rmae_train[-1]:.4f} on the samples, "
      f"{rmae_fresh[-1]:.4f} on fresh samples")
print(f"refitted output layer: RMAE {rmae_on(refitted, x, y):.4f} on the samples, "
      f"{rmae_on(refitted, x_fresh, y_fresh):.4f} on fresh samples")

fig, ax = plt.subplots(figsize=(6.5, 4.2))
ax.plot(KEPT, rmae_train, ".-", label="on the 200 training samples")
ax.plot(KEPT, rmae_fresh, ".-", label="on 10 000 fresh samples")
ax.set_xscale("symlog", linthresh=1)  # step 0 (the truth) at 0, then a log scale
ax.axhline(0, color="k", linestyle="--", linewidth=1, label="the true weights")
ax.set_xlabel("step")
ax.set_ylabel("RMAE")
ax.set_title("training from the true weights")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# One fresh set is one draw. Is the gap more than luck? Five fresh sets of 10 000
# for the notebook's weights, then other teachers with other samples (data seeds 3
# to 8), each with its output layer refitted on its own 200 samples (closed form, so
# quick):

# %%
FRESH_SEEDS = [1, 2, 3, 4, 5]
fresh_sets = [fresh_samples(data, 10_000, seed=seed) for seed in FRESH_SEEDS]
for name, params in [("trained 1000 steps", from_truth.params),
                     ("refitted output layer", refitted)]:
    on_fresh = [rmae_on(params, x_new, y_new) for x_new, y_new in fresh_sets]
    print(f"{name:22} RMAE on the samples {rmae_on(params, x, y):+.4f}, on five "
          f"fresh sets {np.mean(on_fresh):+.4f} ± {np.std(on_fresh):.4f}")

print("other data seeds, output layer refitted:")
for seed in range(3, 9):
    other = teacher_student(SIZES, n_samples=200, noise=0.1, seed=seed)
    refit = fit_output_layer(other.true_params, other.x, other.y)
    on_samples = rmae(mlp(refit, other.x), other.teacher(other.x), other.y)
    on_fresh = [rmae(mlp(refit, x_new), other.teacher(x_new), y_new)
                for x_new, y_new in (fresh_samples(other, 10_000, seed=s)
                                     for s in FRESH_SEEDS)]
    print(f"  seed {seed}: on the samples {on_samples:+.4f}, on five fresh sets "
          f"{np.mean(on_fresh):+.4f} ± {np.std(on_fresh):.4f}")

# %% [markdown]
# Every time, the same sign: below zero on the samples the weights were fitted to,
# above zero on fresh ones, and the gap is several times the spread between fresh
# sets. The size of the effect varies with the teacher and the samples; its
# direction does not.

# %% [markdown]
# ### Question (2 points, graded by hand)
#
# Explain why training from the true weights made the RMAE on the samples negative,
# although the architecture is right and too small to interpolate the samples, and
# why it is positive on fresh samples. In what sense are the true weights "optimal",
# and what does a negative RMAE on the training samples tell you about a model?

# %% written why_negative (2 points) [markdown]
# ### BEGIN SOLUTION
# Training minimizes the loss on *these* 200 samples, and the true weights are not a
# minimum of it: the noise of a finite sample does not average out exactly, so nearby
# weights fit these particular noise values a little better. Gradient descent finds
# them: the weights shift so that the network bends toward groups of neighbouring
# samples that happen to lie on the same side of the teacher. With 97 weights it
# cannot pass through 200 points (it cannot interpolate, and its loss stays close to
# the noise level), but it does not need to: any shift that correlates with the noise
# lowers the error on the samples. For the output layer this is a theorem: the
# least-squares refit ranges over a set containing the true output layer, so its loss
# on the samples is at most the truth's, with equality only by accident. The RMAE,
# measured on the same samples, follows and becomes negative. This is overfitting in
# its mildest form.
#
# On fresh samples the noise is new and independent of what the weights adapted to,
# so the shift is just an error: the RMAE is positive. The true weights are optimal in
# expectation: they minimize the expected error over new samples from the same
# source (no model can predict the noise), not the error on any given finite sample.
# A negative RMAE on the training samples therefore does not mean the model is better
# than the truth; it means it has fitted some of the noise. The "optimal" error is a
# statement about the data-generating process, and an error measured on the data used
# for training is biased low: to compare with it, measure on samples that were not
# used for training (part 09).
# ### END SOLUTION

# %% [markdown]
# ## What the RMAE shows
#
# * Started at the true weights, training lowers the loss on the samples below the
#   truth's: the RMAE turns negative, because the weights follow the noise of these
#   samples, even though the network is too small to interpolate them. For the output
#   layer, least squares proves it must happen.
# * On fresh samples from the same teacher, the same weights are worse than the truth:
#   the RMAE is positive. The true weights are optimal on average over new data, not
#   on the training samples.
# * An error measured on the training samples flatters a model. Part 09 measures on
#   samples held out from training, and varies the number of training samples.
