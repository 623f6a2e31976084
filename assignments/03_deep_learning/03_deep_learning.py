# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,title,-nbgrader
#     formats: source///ipynb,assignments///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Part 03 — Deep learning
#
# A neural network is a function of its input $x$ *and* of many weight arrays. Its
# loss on a set of samples is a scalar function of the weights, and training is
# gradient descent on it, with the gradient that `autodiff_lib` computes for all
# weight arrays in one backward sweep. No derivative is written by hand.
#
# In this part you build the pieces of a training program:
#
# 1. the forward pass of a small network (a multilayer perceptron),
# 2. the loss, the mean squared error,
# 3. the gradient-descent update of all weights,
# 4. the split of the samples into mini-batches,
# 5. the training loop,
#
# and train the network on data whose true function we know, so that we can say how
# close to the best possible it gets.
#
# *How this notebook is graded.* Write your code where it says `YOUR CODE HERE` (and
# delete the `raise NotImplementedError()`). The cell after each answer tests it;
# when your notebook is graded, more tests (hidden here) run in those cells. Each
# function is tested on its own: a mistake in one does not cost the points of
# another. Run the notebook top to bottom (*Kernel → Restart Kernel and Run All
# Cells*) before you submit.

# %% given setup
import time

import matplotlib.pyplot as plt
import numpy as np
import autodiff_lib as ad
from autodiff_lib.data import teacher_student
from autodiff_lib.metrics import rmae
from autodiff_lib.networks import init_mlp
from autodiff_lib.plotting import plot_fit, plot_loss_curve
from autodiff_lib.progress import progress_bar

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## The data: samples of a teacher network
#
# Real data come from an unknown process. Here we make the process known: a
# **teacher** network with random weights plays the law of nature, and each sample
# is its output at a random input plus Gaussian noise,
#
# $$y = \text{teacher}(x) + \varepsilon, \qquad \varepsilon \sim \mathcal N(0, 0.1^2).$$
#
# The network we train, the **student**, has the same architecture as the teacher,
# so the true weights are among the weights it could learn. The noise, however, is
# beyond anyone's reach: even the true weights do not fit the samples exactly.
# One input and one output keep the function easy to plot.

# %% given data tags=["nbval-check-output"]
SIZES = [1, 8, 8, 1]  # 1 input, two hidden layers of 8 tanh units, 1 output
data = teacher_student(SIZES, n_samples=200, noise=0.1, seed=2)
x, y = data.x, data.y  # the samples, one per row: shapes (200, 1) and (200, 1)
print("x:", x.shape, " y:", y.shape)

# %%
plot_fit(x, y, {"teacher (the true function)": data.teacher})
plt.title("200 noisy samples of the teacher")
plt.show()

# %% [markdown]
# ## The network: a multilayer perceptron
#
# A multilayer perceptron (MLP) alternates linear maps and a nonlinearity. With the
# samples as the rows of $x$ (shape $(n, n_0)$), layer $k$ computes
#
# $$h_k = \tanh\!\big(h_{k-1} W_k + b_k\big), \qquad h_0 = x,$$
#
# for the hidden layers, and the last layer $L$ is linear (no $\tanh$), so that the
# output can take any value:
#
# $$\text{forward}(x) = h_{L-1} W_L + b_L .$$
#
# $W_k$ has shape $(n_{k-1}, n_k)$ and $b_k$ shape $(n_k,)$; adding $b_k$ to an
# $(n, n_k)$ array broadcasts it over the rows. The weights are a plain list,
# `params = [W_1, b_1, W_2, b_2, ..., W_L, b_L]`. `init_mlp(SIZES, seed)` draws
# random weights: each $W_k$ with entries of standard deviation $1/\sqrt{n_{k-1}}$,
# so that every layer's pre-activations keep a similar size, and zero biases.

# %% given params tags=["nbval-check-output"]
params = init_mlp(SIZES, seed=0)
for k in range(0, len(params), 2):
    print(f"layer {k // 2 + 1}: W {params[k].shape}, b {params[k + 1].shape}")
print("number of weights:", sum(p.size for p in params))


# %% [markdown]
# ### Exercise 1 (2 points): the forward pass
#
# Write `forward(params, x)` for any number of layers (`len(params) // 2` of them).
# Use `ad.matmul` and `ad.tanh` (or `@` and `np.tanh`, which also work on the
# library's Tensors), so that `autodiff_lib` can differentiate it with respect to
# the weights. The library has its own versions of this part's exercises
# (`autodiff_lib.networks.mlp`, `metrics.mse`, `training.epoch_batches`,
# `training.train`): they may not be used in your answers, and the tests make them
# raise when your functions call them.

# %% answer forward
def forward(params, x):
    """The MLP's output for inputs x of shape (n, n_0)."""
    ### BEGIN SOLUTION
    h = x
    n_layers = len(params) // 2
    for k in range(n_layers):
        W, b = params[2 * k], params[2 * k + 1]
        h = ad.matmul(h, W) + b
        if k < n_layers - 1:  # every layer but the last
            h = ad.tanh(h)
    return h
    ### END SOLUTION


# %% tests test_forward_values (1 point)
# Your own code: while yours runs in these tests, the library's version of each exercise
# (here autodiff_lib.networks.mlp) raises; what you return must be plain arrays.
from autodiff_lib.testing import own_work
forward = own_work(forward, "networks.mlp")
# One sample through a 1-2-1 network, by hand; hidden tests: random weights and
# other architectures against a reference.
tiny = [np.array([[1.0, -1.0]]), np.array([0.0, 0.5]),
        np.array([[2.0], [1.0]]), np.array([0.1])]
expected = 2.0 * np.tanh(0.5) + 1.0 * np.tanh(0.0) + 0.1
assert np.shape(forward(tiny, np.array([[0.5]]))) == (1, 1), "one sample in, one out"
assert np.allclose(forward(tiny, np.array([[0.5]])), expected), \
    "forward([[0.5]]) of the 1-2-1 network is not 2 tanh(0.5) + tanh(0) + 0.1"
assert np.shape(forward(params, x)) == (200, 1), "forward(params, x) must be (200, 1)"
### BEGIN HIDDEN TESTS
import numpy as np

def reference_forward(weights, inputs):
    h = inputs
    for k in range(0, len(weights), 2):
        h = h @ weights[k] + weights[k + 1]
        if k < len(weights) - 2:
            h = np.tanh(h)
    return h

rng_forward = np.random.default_rng(31)
for sizes in [[3, 5, 2], [2, 4, 4, 4, 3], [4, 1], [1, 8, 8, 1]]:
    weights = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights += [2.0 * rng_forward.normal(size=(n_in, n_out)),
                    rng_forward.normal(size=n_out)]
    inputs = rng_forward.normal(size=(6, sizes[0]))
    out = forward(weights, inputs)
    assert np.shape(out) == (6, sizes[-1]), \
        f"for layer sizes {sizes}, the output must have shape (6, {sizes[-1]})"
    assert np.allclose(out, reference_forward(weights, inputs), atol=1e-10), \
        f"wrong output for layer sizes {sizes} (tanh after every layer but the last?)"
### END HIDDEN TESTS

# %% tests test_forward_gradient (1 point)
from autodiff_lib.testing import own_work  # the library's mlp raises in your forward
forward = own_work(forward, "networks.mlp")
# autodiff_lib can differentiate it: one gradient per weight array; hidden tests
# compare the gradients with a reference.
grads = ad.grad(lambda p: ad.sum(forward(p, x)))(params)
assert len(grads) == len(params), "one gradient per weight array"
assert all(np.shape(g) == np.shape(p) for g, p in zip(grads, params)), \
    "each gradient has the shape of its weight array"
### BEGIN HIDDEN TESTS
import numpy as np

import autodiff_lib as ad
from autodiff_lib.networks import init_mlp, mlp

rng_grad = np.random.default_rng(32)
for sizes in [[2, 3, 1], [3, 4, 4, 2]]:
    weights = init_mlp(sizes, seed=33, weight_scale=1.5, bias_scale=0.5)
    inputs = rng_grad.normal(size=(5, sizes[0]))
    targets = rng_grad.normal(size=(5, sizes[-1]))
    student = ad.grad(lambda w: ad.sum((forward(w, inputs) - targets) ** 2))(weights)
    reference = ad.grad(lambda w: ad.sum((mlp(w, inputs) - targets) ** 2))(weights)
    for k, (got, want) in enumerate(zip(student, reference)):
        assert np.allclose(got, want, atol=1e-10), \
            f"layer sizes {sizes}: the gradient w.r.t. params[{k}] is wrong"
### END HIDDEN TESTS

# %% [markdown]
# ## The loss: mean squared error
#
# How far the network's predictions are from the targets, averaged over the samples:
#
# $$\text{MSE} = \frac{1}{N}\sum_{i,j} \big(\text{prediction}_{ij} - y_{ij}\big)^2,$$
#
# where $N$ is the number of entries (samples times outputs).
#
# ### Exercise 2 (1 point): the mean squared error
#
# Write `mse(prediction, target)` for two arrays of the same shape, with
# `autodiff_lib`'s functions so that it can be differentiated. Here both are
# $(n, 1)$: the network's output and `y` hold one row per sample. If the shapes
# differ, **raise a `ValueError`**: numpy would otherwise broadcast silently, and a
# prediction of shape $(20, 1)$ against a target of shape $(20,)$ would compare every
# prediction with every target, a $(20, 20)$ array, and return a wrong loss without
# a word. (`np.shape` gives the shape of an array and of the library's Tensors alike;
# `autodiff_lib.metrics.mse` refuses the same way.)

# %% answer mse
def mse(prediction, target):
    """Mean squared error between two arrays of the same shape."""
    ### BEGIN SOLUTION
    if np.shape(prediction) != np.shape(target):
        raise ValueError(f"mse: shapes {np.shape(prediction)} and {np.shape(target)} "
                         "differ")
    return ad.mean((prediction - target) ** 2)
    ### END SOLUTION


# %% tests test_mse (1 point)
from autodiff_lib.testing import own_work  # the library's metrics.mse raises in yours
mse = own_work(mse, "metrics.mse")
# A small case by hand; hidden tests: other shapes, and its gradient.
value = float(mse(np.array([[1.0], [2.0]]), np.array([[0.0], [4.0]])))
assert np.isclose(value, 2.5), \
    "mse([[1], [2]], [[0], [4]]) must be (1 + 4) / 2 = 2.5"
assert np.isclose(float(mse(np.ones((2, 3)), np.zeros((2, 3)))), 1.0), \
    "with 3 outputs per sample, average over all 2 x 3 entries (not per sample)"
# Shapes (20, 1) and (20,): numpy would broadcast them to (20, 20).
try:
    mse(np.zeros((20, 1)), np.arange(20.0))
except ValueError:
    pass
else:
    raise AssertionError("mse of shapes (20, 1) and (20,) must raise a ValueError: "
                         "numpy broadcasts them to (20, 20) and averages 400 "
                         "differences instead of 20")
### BEGIN HIDDEN TESTS
import numpy as np

import autodiff_lib as ad

rng_mse = np.random.default_rng(41)
for shape in [(7, 1), (5, 3), (4,)]:
    p, t = rng_mse.normal(size=shape), rng_mse.normal(size=shape)
    assert np.isclose(float(mse(p, t)), np.mean((p - t) ** 2)), \
        f"wrong value for arrays of shape {shape}: average over every entry"
    assert np.allclose(ad.grad(mse)(p, t), 2 * (p - t) / p.size), \
        f"wrong gradient for arrays of shape {shape}: use autodiff_lib's functions"
### END HIDDEN TESTS

# %% [markdown]
# The loss of the network is a function of the weights (the data are fixed: plain
# numpy arrays, which `autodiff_lib` treats as constants). Its value for the random
# initial weights, and for the true weights of the teacher: no weights can be
# expected to do better on average than the truth, whose loss is about the variance
# of the noise, $0.1^2$.

# %% given loss tags=["nbval-check-output"]
def loss(params, x, y):
    """The MSE of the network with weights params on the samples (x, y)."""
    return mse(forward(params, x), y)

print(f"loss of the initial weights: {float(loss(params, x, y)):.4f}")
print(f"loss of the true weights:    {float(loss(data.true_params, x, y)):.4f}")

# %% [markdown]
# `ad.value_and_grad(loss)` is a function that returns the loss **and** its gradient
# with respect to the first argument: for a list of arrays, a list of arrays of the
# same shapes, from one backward sweep through the network.

# %% tags=["nbval-check-output"]
value_and_grad_loss = ad.value_and_grad(loss)
value, grads = value_and_grad_loss(params, x, y)
print(f"loss {float(value):.4f}; gradient shapes:", [g.shape for g in grads])


# %% [markdown]
# ## A gradient step on all weights
#
# Gradient descent moves every weight array against its gradient, with one step size
# $\eta$ (the *learning rate*) for all:
#
# $$W_k \leftarrow W_k - \eta\,\frac{\partial\,\text{loss}}{\partial W_k}, \qquad
#   b_k \leftarrow b_k - \eta\,\frac{\partial\,\text{loss}}{\partial b_k}.$$
#
# ### Exercise 3 (1 point): the update
#
# Write `gradient_step(params, grads, step_size)`, which returns a **new** list of
# updated arrays and leaves `params` as it was (no in-place `-=`: the caller may
# still need the old weights).

# %% answer gradient_step
def gradient_step(params, grads, step_size):
    """One gradient-descent step: a new list of arrays."""
    ### BEGIN SOLUTION
    return [p - step_size * g for p, g in zip(params, grads)]
    ### END SOLUTION


# %% tests test_gradient_step (1 point)
from autodiff_lib.testing import own_work  # what you return must be plain arrays
gradient_step = own_work(gradient_step)
# Two arrays by hand; hidden tests: any number of arrays, the inputs left unchanged.
stepped = gradient_step([np.array([1.0, 2.0]), np.array([[3.0]])],
                        [np.array([0.5, -1.0]), np.array([[2.0]])], 0.1)
assert np.allclose(stepped[0], [0.95, 2.1]) and np.allclose(stepped[1], [[2.8]]), \
    "each array must move by -step_size times its gradient"
kept = [np.array([1.0, 2.0])]
gradient_step(kept, [np.array([1.0, 1.0])], 0.5)
assert np.array_equal(kept[0], [1.0, 2.0]), \
    "gradient_step changed the array passed in: return new arrays (no -=)"
### BEGIN HIDDEN TESTS
import numpy as np

rng_step = np.random.default_rng(51)
for count in [1, 4, 7]:
    weights = [rng_step.normal(size=(3, k + 1)) for k in range(count)]
    gradients = [rng_step.normal(size=w.shape) for w in weights]
    before = [w.copy() for w in weights]
    out = list(gradient_step(weights, gradients, 0.3))
    assert len(out) == count, f"with {count} weight arrays, return {count} arrays"
    for w, g, o in zip(before, gradients, out):
        assert np.allclose(o, w - 0.3 * g), "wrong update for some weight array"
    assert all(np.array_equal(w, b) for w, b in zip(weights, before)), \
        "gradient_step changed the arrays passed in: return new ones instead"
### END HIDDEN TESTS

# %% [markdown]
# ## Mini-batches
#
# The gradient of the loss on all 200 samples costs a pass over all of them. A
# **mini-batch** of a few samples gives a cheaper, noisier estimate of it, and many
# cheap steps usually beat few exact ones (an experiment below shows it here). One
# **epoch** visits every sample once:
# shuffle the sample indices, then cut them into batches of `batch_size` (the last
# one smaller if `batch_size` does not divide the number of samples). A new shuffle
# each epoch keeps the batches from always grouping the same samples.
#
# ### Exercise 4 (2 points): one epoch of mini-batches
#
# Write `minibatches(n_samples, batch_size, rng)`, which returns a list of integer
# index arrays: a random order of `0, ..., n_samples - 1` (use `rng.permutation`, so
# that a seeded generator gives the same batches every run) cut into consecutive
# pieces of `batch_size`. A `batch_size` of `n_samples` or more gives one batch of
# all the samples, shuffled like any other (`autodiff_lib.training.epoch_batches`
# does the same).

# %% answer minibatches
def minibatches(n_samples, batch_size, rng):
    """One epoch: a list of index arrays, in random order."""
    ### BEGIN SOLUTION
    order = rng.permutation(n_samples)
    starts = range(0, n_samples, batch_size)
    return [order[start:start + batch_size] for start in starts]
    ### END SOLUTION


# %% tests test_minibatches_cover_every_sample (1 point)
from autodiff_lib.testing import own_work  # the library's epoch_batches raises in yours
minibatches = own_work(minibatches, "training.epoch_batches")
# Ten samples in batches of four; hidden tests: other sizes, every sample exactly once.
batches = minibatches(10, 4, np.random.default_rng(0))
assert [len(b) for b in batches] == [4, 4, 2], "10 samples in batches of 4: 4, 4 and 2"
assert sorted(np.concatenate(batches).tolist()) == list(range(10)), \
    "every sample must be in exactly one batch"
# A batch size of at least the number of samples: one batch of all, still shuffled.
whole = minibatches(10, 25, np.random.default_rng(0))
assert len(whole) == 1 and sorted(whole[0].tolist()) == list(range(10)), \
    "10 samples in batches of 25: one batch holding every sample"
assert not np.array_equal(whole[0], np.arange(10)), \
    "a batch size of at least n_samples still shuffles the samples"
### BEGIN HIDDEN TESTS
import numpy as np

for n, size in [(7, 7), (7, 10), (100, 32), (1, 1), (64, 8)]:
    got = minibatches(n, size, np.random.default_rng(n))
    lengths = [len(b) for b in got]
    expected = [size] * (n // size) + ([n % size] if n % size else [])
    assert lengths == expected, \
        f"{n} samples in batches of {size}: wrong batch lengths (all batches are " \
        "full but the last, which holds what is left)"
    indices = np.concatenate(got)
    assert np.issubdtype(indices.dtype, np.integer), "batches must hold integer indices"
    assert np.array_equal(np.sort(indices), np.arange(n)), \
        f"{n} samples in batches of {size}: every sample must appear exactly once"
### END HIDDEN TESTS

# %% tests test_minibatches_shuffle (1 point)
from autodiff_lib.testing import own_work  # the library's epoch_batches raises in yours
minibatches = own_work(minibatches, "training.epoch_batches")
# Shuffled by the generator; hidden tests: a new order each epoch, the same for a seed.
order = np.concatenate(minibatches(100, 10, np.random.default_rng(1)))
assert not np.array_equal(order, np.arange(100)), "the samples must be shuffled"
### BEGIN HIDDEN TESTS
import numpy as np

rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
first = np.concatenate(minibatches(50, 8, rng_a))
again = np.concatenate(minibatches(50, 8, rng_b))
assert np.array_equal(first, again), \
    "the same seed must give the same batches: draw the order from rng"
second = np.concatenate(minibatches(50, 8, rng_a))
assert not np.array_equal(first, second), \
    "each epoch (each call with the same generator) must shuffle anew"
### END HIDDEN TESTS

# %% [markdown]
# ## The training loop
#
# `train` is given except for what happens in one epoch: for each mini-batch,
# evaluate the loss and its gradient **on that batch only** (`x[batch]`, `y[batch]`)
# and take a gradient step. After each epoch it records the loss on all samples and
# shows it beside a progress bar.
#
# ### Exercise 5 (2 points): one epoch of training
#
# Complete the loop with `minibatches(len(x), batch_size, rng)`,
# `value_and_grad_loss` and `gradient_step`.

# %% answer train
def train(params, x, y, epochs=1000, batch_size=20, step_size=0.05, seed=0,
          progress=True):
    """Mini-batch gradient descent on the loss; returns the trained weights and the
    loss on all samples after each epoch."""
    rng = np.random.default_rng(seed)  # draws the order of the samples in each epoch
    value_and_grad_loss = ad.value_and_grad(loss)
    losses = []
    bar = progress_bar(range(epochs), desc="training", disable=not progress)
    for epoch in bar:
        ### BEGIN SOLUTION
        for batch in minibatches(len(x), batch_size, rng):
            value, grads = value_and_grad_loss(params, x[batch], y[batch])
            params = gradient_step(params, grads, step_size)
        ### END SOLUTION
        losses.append(float(loss(params, x, y)))
        bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    return params, np.array(losses)


# %% tests test_train (2 points)
from autodiff_lib.testing import own_work  # the library's train raises in yours
train = own_work(train, "training.train")
# The loop alone: stand-ins replace your forward, mse, gradient_step and minibatches
# here, so that a mistake in one of them does not cost these points. Hidden tests:
# the weights after training, against a reference loop.
calls = {"epochs": 0, "steps": [], "weights": [], "rows": []}

def stand_in_minibatches(n_samples, batch_size, rng):
    calls["epochs"] += 1
    return [np.array([0, 1]), np.array([2, 3]), np.array([4])]

def stand_in_step(params, grads, step_size):
    calls["steps"].append((step_size, [np.shape(g) for g in grads]))
    calls["weights"].append(float(np.ravel(params[0])[0]))
    return [params[0] + 1.0]  # new weights: the next step must be given these

def stand_in_forward(params, inputs):
    calls["rows"].append(len(inputs))
    return inputs * params[0]

def stand_in_mse(prediction, target):
    return ad.mean(ad.abs(prediction - target))

yours = forward, mse, gradient_step, minibatches
try:
    forward, mse = stand_in_forward, stand_in_mse
    gradient_step, minibatches = stand_in_step, stand_in_minibatches
    _, history = train([np.ones((1, 1))], np.ones((5, 1)), np.zeros((5, 1)), epochs=2,
                       batch_size=2, step_size=0.25, progress=False)
finally:
    forward, mse, gradient_step, minibatches = yours
assert calls["epochs"] == 2, "call minibatches once per epoch"
assert len(calls["steps"]) == 6, "take one gradient step per mini-batch"
assert all(step == (0.25, [(1, 1)]) for step in calls["steps"]), \
    "pass step_size and the gradients (one per weight array) to gradient_step"
assert len(history) == 2, "the loss is recorded once per epoch"
assert calls["rows"].count(2) == 4 and calls["rows"].count(1) == 2, \
    "compute each step's gradient on the mini-batch alone: x[batch] and y[batch]"
assert calls["weights"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], \
    "each step must start from the weights the previous gradient_step returned " \
    "(params = gradient_step(params, grads, step_size))"
### BEGIN HIDDEN TESTS
import numpy as np

import autodiff_lib as ad
from autodiff_lib.networks import init_mlp, mlp

def reference_minibatches(n_samples, batch_size, rng):
    shuffled = rng.permutation(n_samples)
    return [shuffled[i:i + batch_size] for i in range(0, n_samples, batch_size)]

def reference_step(weights, gradients, eta):
    return [w - eta * g for w, g in zip(weights, gradients)]

def reference_mse(prediction, target):
    residual = prediction - target
    return ad.mean(residual * residual)

rng_train = np.random.default_rng(61)
inputs, targets = rng_train.normal(size=(23, 2)), rng_train.normal(size=(23, 1))
start = init_mlp([2, 4, 1], seed=62)
expected = list(start)
order = np.random.default_rng(7)
reference_value_and_grad = ad.value_and_grad(
    lambda w, a, b: reference_mse(mlp(w, a), b))
for _ in range(3):
    for batch in reference_minibatches(23, 5, order):
        _, gradients = reference_value_and_grad(expected, inputs[batch], targets[batch])
        expected = reference_step(expected, gradients, 0.1)
yours = forward, mse, gradient_step, minibatches
try:
    forward, mse = mlp, reference_mse
    gradient_step, minibatches = reference_step, reference_minibatches
    trained, history = train(start, inputs, targets, epochs=3, batch_size=5,
                             step_size=0.1, seed=7, progress=False)
finally:
    forward, mse, gradient_step, minibatches = yours
assert len(trained) == len(expected), "train must return every weight array"
for got, want in zip(trained, expected):
    assert np.allclose(got, want, atol=1e-12), \
        "after 3 epochs the weights differ from a reference loop: one step per " \
        "batch, the gradient on x[batch] and y[batch] only, minibatches(len(x), " \
        "batch_size, rng) with the rng given"
assert history[-1] < history[0] or np.isclose(history[-1], history[0]), \
    "the loss went up during training"
### END HIDDEN TESTS
print('These visible tests passed. They are not your grade: when your notebook is '
      'graded, hidden tests run in every test cell as well, on other inputs.')

# %% [markdown]
# ## Training
#
# Now the whole program runs: 1000 epochs of 10 mini-batches of 20 samples, with
# step size 0.05, from the random initial weights. That is 10 000 gradient steps, each
# a forward and a backward pass through the network on 20 samples; together they take
# a few seconds at most.

# %% tags=["nbval-ignore-output"]
start = time.perf_counter()
trained, losses = train(init_mlp(SIZES, seed=0), x, y)
print(f"trained in {time.perf_counter() - start:.1f} s")

# %% [markdown]
# ### Many cheap steps against few exact ones
#
# Is the mini-batch worth its noise? Compare at **equal cost**: 100 epochs each, so
# every run sees the 200 samples 100 times (20 000 samples, the same arithmetic up to
# the overhead per step). The full batch takes 100 exact steps; batches of 20 take
# 1000 noisy ones. The full batch may take longer steps (its gradient is exact), so it
# gets three step sizes; at $\eta = 1$ it diverges.

# %% tags=["nbval-check-output"]
equal_cost = {  # (batch size, step size) -> loss on all samples after each epoch
    (len(x), eta): train(init_mlp(SIZES, seed=0), x, y, epochs=100,
                         batch_size=len(x), step_size=eta, progress=False)[1]
    for eta in [0.05, 0.2, 0.5]
}
equal_cost[20, 0.05] = train(init_mlp(SIZES, seed=0), x, y, epochs=100,
                             progress=False)[1]
for (batch_size, eta), history in equal_cost.items():
    steps = 100 * len(x) // batch_size
    print(f"batches of {batch_size:3d}, step size {eta:<4}: {steps:4d} steps, "
          f"loss {history[-1]:.4f} at the end, {history.min():.4f} at best")
print(f"the true weights: {float(loss(data.true_params, x, y)):.4f}")

# %%
floor = float(loss(data.true_params, x, y))  # the loss of the true weights
for (batch_size, eta), history in equal_cost.items():
    plt.semilogy(200 * np.arange(1, 101), history,
                 label=f"batches of {batch_size}, step size {eta}")
plt.axhline(floor, color="gray", linestyle=":", label="the true weights")
plt.xlabel("samples processed")
plt.ylabel("loss on all samples")
plt.title("at equal cost, mini-batches get further")
plt.legend()
plt.show()

# %% [markdown]
# At the same cost, the mini-batches end at the level of the true weights; every
# full-batch run ends at least four times above it: with the small step it crawls,
# with the larger ones it swings ($\eta = 0.2$ came closest at its best epoch, still
# above the mini-batches, then climbed away again). Ten noisy steps per epoch move
# further than one exact step. Part 07 takes this trade-off apart (per step, per
# sample and per second).

# %% [markdown]
# ### How good is it? The relative mean absolute error
#
# The loss alone does not say how good a fit is: even the true weights have an error,
# set by the noise. So we compare the network with the truth, on the same samples,
# by the **relative mean absolute error**
#
# $$\text{RMAE} = \frac{\text{MAE}(\text{network})}{\text{MAE}(\text{true weights})}
#   - 1, \qquad
#   \text{MAE} = \frac1N \sum_{i,j}\big|\text{prediction}_{ij} - y_{ij}\big|.$$
#
# $\text{RMAE} = 0$: the network is as close to the samples as the true function;
# $\text{RMAE} = 1$: its errors are twice as large. (`autodiff_lib.metrics.rmae`
# computes it from the two predictions and the targets.)

# %%
rmae_before = rmae(forward(init_mlp(SIZES, seed=0), x), data.clean, y)
rmae_after = rmae(forward(trained, x), data.clean, y)
print(f"loss after the first epoch {losses[0]:.4f}, after the last {losses[-1]:.4f}, "
      f"of the true weights {float(loss(data.true_params, x, y)):.4f}")
print(f"RMAE: {rmae_before:.2f} before training, {rmae_after:.3f} after")

# %%
floor = float(loss(data.true_params, x, y))  # the loss of the true weights
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
plot_loss_curve(losses, floor=floor, ax=left)
left.set_title("loss on all samples after each epoch")
plot_fit(x, y, {"teacher (the true function)": data.teacher,
                "trained network": lambda inputs: forward(trained, inputs)}, ax=right)
right.set_title("what the network learned")
plt.show()

# %% [markdown]
# The loss falls to the level of the true weights, the noise floor, and the RMAE to
# within a few percent of zero. Compare functions, not weights: the trained weights
# are not the teacher's, and need not be. Swapping two hidden units (and their
# weights) gives a different list of weights that computes exactly the same function:

# %% tags=["nbval-check-output"]
swap = np.array([1, 0, 2, 3, 4, 5, 6, 7])  # exchange hidden units 0 and 1 of layer 1
W1, b1, W2, b2, W3, b3 = data.true_params
swapped = [W1[:, swap], b1[swap], W2[swap, :], b2, W3, b3]
same_function = np.allclose(forward(swapped, x), forward(data.true_params, x))
print("same weights:", np.array_equal(W1, swapped[0]), " same function:", same_function)

# %% [markdown]
# ## Why the initial weights are random
#
# Try to start from weights that are all equal, first all zero, then all $0.5$, and
# train for 200 epochs:

# %% tags=["nbval-check-output"]
zeros = [np.zeros_like(p) for p in init_mlp(SIZES)]
zero_trained, zero_losses = train(zeros, x, y, epochs=200, progress=False)
print("all weights but the output bias still exactly zero:",
      all(np.all(p == 0) for p in zero_trained[:-1]))
print(f"loss {zero_losses[-1]:.3f}, variance of y {np.var(y):.3f}; "
      f"output bias {zero_trained[-1][0]:.3f}, mean of y {np.mean(y):.3f}")

# %% [markdown]
# The bias is close to the mean of $y$, not equal to it: each mini-batch step pulls it
# towards the mean of *that batch* (by $2\eta = 10\%$ of the gap), so it ends near the
# mean of the last few batches. With the full batch every step pulls towards the mean
# of all samples, and the bias gets there:

# %% tags=["nbval-check-output"]
zero_full, _ = train(zeros, x, y, epochs=200, batch_size=len(x), progress=False)
print(f"full batch: output bias {zero_full[-1][0]:.3f}, mean of y {np.mean(y):.3f}")

# %% tags=["nbval-check-output"]
halves = [np.full_like(p, 0.5) for p in init_mlp(SIZES)]
half_trained, half_losses = train(halves, x, y, epochs=200, progress=False)
W1, W2 = half_trained[0], half_trained[2]
print("the 8 units of hidden layer 1 still identical:", np.allclose(W1, W1[:, :1]))
print("the 8 units of hidden layer 2 still identical:", np.allclose(W2, W2[:, :1]))
print(f"loss {half_losses[-1]:.3f}")

# %% [markdown]
# ### Question (2 points, graded by hand)
#
# Explain what you see in the two runs above. Why does training from all-zero weights
# change nothing but the output bias, and why do the hidden units of the all-$0.5$
# network stay identical? What does this say about how the initial weights must be
# chosen?

# %% written why_random_weights (2 points) [markdown]
# ### BEGIN SOLUTION
# With all weights zero, every hidden pre-activation is $0$ and $\tanh 0 = 0$, so
# every hidden unit outputs $0$. The gradient of the loss with respect to the last
# weights $W_L$ is $h_{L-1}^\top \delta = 0$, and the error signal sent back to the
# hidden layers is $\delta W_L^\top = 0$, so every gradient is zero except the one
# for the output bias, $\partial\,\text{loss}/\partial b_L = $ the mean residual.
# Gradient descent therefore only moves $b_L$, to the mean of $y$: the network
# predicts a constant and its loss is the variance of $y$. Zero is a stationary point.
#
# With all weights equal (0.5), the units of a hidden layer compute the same function
# of the same inputs, and receive the same gradient, because the weights that lead
# out of them are equal as well. After every step they are still equal: the symmetry
# can never be broken by gradient descent. Eight equal units are no better than one,
# so the network behaves like a 1-1-1-1 network and cannot fit the teacher (the loss
# stays far above the noise floor).
#
# Hence the initial weights must be random, different for each unit, to break the
# symmetry; and not zero (nor all tiny) so that signals and gradients pass through the
# layers. Their scale ($1/\sqrt{\text{fan-in}}$) keeps the pre-activations in the
# curved but not saturated range of $\tanh$.
# ### END SOLUTION

# %% [markdown]
# ## What training shows
#
# * Gradient descent on mini-batches, with gradients from `autodiff_lib`, trains the
#   network from random weights to the **noise floor**: its loss ends at the level of
#   the true weights, and its RMAE close to $0$ (well below $0.1$).
# * The network learns the **function**, not the weights: many weight lists compute
#   the same function, which is why we measure errors, not distances to the true
#   weights.
# * Random initial weights are needed to break the **symmetry** between hidden units.
#
# From now on, `autodiff_lib.networks.mlp` plays the role of your `forward`,
# `autodiff_lib.metrics` holds `mse`, `mae` and `rmae`, and `autodiff_lib.data` the
# teacher. Later parts vary what was fixed here: the step size (part 06), the batch
# size (part 07), the starting weights (part 08) and the number of samples (part 09).
