# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,title,-nbgrader
#     formats: source///ipynb,assignments///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Part 04 — Making autodiff fast
#
# Our library, like PyTorch in eager mode or HIPS autograd, runs one primitive at a
# time: every `*`, `+` and `sum` becomes a node of the graph, keeps its result alive
# for the backward sweep, and has its derivative rule evaluated there. Two things a
# *user* of the library can do make the same gradient cheaper, and real libraries do
# both:
#
# * **Fused operators.** One primitive with a closed-form derivative instead of a
#   chain of generic ones. You add one to the library: a constant matrix times a
#   vector, then times a batch of vectors.
# * **The constant hint.** Training data are constant with respect to the weights.
#   Saying so lets the engine skip every derivative nobody asked for.
#
# We measure the work in two ways that give the same answer on every run (the
# derivative rules the engine evaluates, and the floats its graph holds) and in
# seconds, which depend on your machine.
#
# *How this notebook is graded.* Write your code where it says `YOUR CODE HERE` (and
# delete the `raise NotImplementedError()`). The cell after each answer tests it;
# when your notebook is graded, more tests (hidden here) run in those cells. Run the
# notebook top to bottom (*Kernel → Restart Kernel and Run All Cells*) before you
# submit.

# %% given setup
import os

# One BLAS thread, set before numpy loads: the generic composition runs on one core,
# so the fused product gets one too, and other programs cannot skew the timings.
for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")

from collections import Counter

import matplotlib.pyplot as plt
import numpy as np

import autodiff_lib as ad
from autodiff_lib.plotting import plot_growth
from autodiff_lib.timing import best_time  # the fastest of a few runs

np.set_printoptions(precision=4, suppress=True)


# %% [markdown]
# ## A matrix times a vector, the generic way
#
# For a matrix $A$ of shape $(m, n)$ and a vector $x$ of length $n$, $y = Ax$ is
# $y_i = \sum_j A_{ij} x_j$. With the library's generic primitives that is a
# broadcast product followed by a sum over the last axis: `generic_matvec` below.
# (The index `x[..., None, :]` turns each vector into a row, so the same code also
# multiplies every vector of a batch.)
#
# Two helpers look at the graph that a backward sweep from `y` walks:
# `rules_in_backward(y)` counts, per primitive, the derivative rules the sweep
# evaluates (one for every input of every node that is a variable), and
# `graph_floats(y)` adds up the sizes of the arrays its nodes hold.

# %% given graph_helpers
def generic_matvec(A, x):
    """A @ x from generic primitives: a broadcast product, then a sum."""
    return ad.sum(A * x[..., None, :], axis=-1)


def rules_in_backward(y):
    """The derivative rules the backward sweep from y evaluates, per primitive."""
    graph = ad.topological_order(y)
    counts = Counter(node.primitive.name for node in graph for _ in node.grad_inputs)
    return dict(sorted(counts.items()))


def graph_floats(y):
    """The floats held by the nodes of y's graph (alive until the sweep)."""
    return sum(node.value.size for node in ad.topological_order(y))


# %% tags=["nbval-check-output"]
A = np.arange(12.0).reshape(3, 4)
x = ad.Tensor([1.0, 2.0, 3.0, 4.0])
y = generic_matvec(A, x)
print("y =", y.value, "  A @ x =", A @ x.value)
print("rules:", rules_in_backward(y), "  floats in the graph:", graph_floats(y))


# %% [markdown]
# To get three numbers, the product `A * x[..., None, :]` built the whole $3\times4$
# array of the terms $A_{ij}x_j$ and kept it for the backward sweep, which builds
# another one: `sum`'s rule spreads the differential $g$ of $y$ over $m \times n$
# entries, `multiply`'s rule multiplies them by $A$, and the engine sums the rows
# away again to undo the broadcasting. For a batch of $B$ vectors these arrays hold
# $B\cdot m\cdot n$ floats.
#
# Yet the derivative is known in closed form: $\partial(Ax)/\partial x = A$. A
# differential $g$ of $y$ (the gradient of a loss with respect to $y$) becomes the
# differential $g^\top A$ of $x$, that is $A^\top g$: one more matrix-vector product,
# and no $m \times n$ array of terms anywhere.
#
# ## Exercise 1 (2 points): a fused operator
#
# A user adds a primitive to the library in two statements (the package docstring,
# `help(ad)`, shows them too):
#
# * `ad.primitive(forward, name)` wraps a numpy function `forward`; called on
#   Tensors, the wrapper records **one** node of the graph.
# * `ad.defvjp(fun, rule_0, rule_1, ...)` declares one derivative rule per argument.
#   `rule(g, ans, *inputs)` receives the differential `g` of the output `ans` and
#   returns the differential of its input. `None` declares no rule: here $A$ is a
#   constant, so only $x$ gets one.
#
# Write `matvec_forward` (numpy only: it receives plain arrays) and `matvec_rule`.
# Write the rule with `my_matvec` itself, not with raw numpy: when `hessian` records
# the backward sweep, `g` is a Tensor, and a rule built from the library's functions
# becomes part of a graph that can be differentiated again. The transpose of `A` may
# be taken in numpy (`A.T`): `A` is a constant, a plain array in the rule, and nothing
# is differentiated through it; only the product with `g` must go through
# `my_matvec`.
#
# The library has this operator already (`ad.matvec`, in `autodiff_lib/engine/fused.py`):
# it may not be used in your answers to this exercise and the next, and the tests
# make it raise when your functions call it.

# %% answer my_matvec
def matvec_forward(A, x):
    """A @ x for a matrix A of shape (m, n) and a vector x of shape (n,)."""
    ### BEGIN SOLUTION
    return A @ x
    ### END SOLUTION


def matvec_rule(g, ans, A, x):
    """The differential of x, given the differential g of ans = A @ x."""
    ### BEGIN SOLUTION
    return my_matvec(A.T, g)
    ### END SOLUTION


my_matvec = ad.primitive(matvec_forward, "my_matvec")
ad.defvjp(my_matvec, None, matvec_rule)  # A: a constant, no rule; x: matvec_rule

# %% tests test_my_matvec (2 points)
# Your own operator: while your functions run in these tests, the library's ad.matvec
# raises; my_matvec is registered again from them, as in your cell.
from autodiff_lib.testing import own_work
matvec_forward = own_work(matvec_forward, "matvec", "fused._matvec_forward")
matvec_rule = own_work(matvec_rule, "matvec", "fused._matvec_forward")
my_matvec = ad.primitive(matvec_forward, "my_matvec")
ad.defvjp(my_matvec, None, matvec_rule)
A = np.array([[1.0, 2.0, 0.0],
              [0.0, -1.0, 3.0]])
x0 = np.array([0.5, -1.0, 2.0])
assert np.allclose(matvec_forward(A, x0), A @ x0), "matvec_forward(A, x) must be A @ x"
assert np.allclose(my_matvec(A, ad.Tensor(x0)).value, A @ x0), \
    "my_matvec(A, x) must be A @ x"
fused = lambda x: ad.sum(ad.tanh(my_matvec(A, x)))
generic = lambda x: ad.sum(ad.tanh(generic_matvec(A, x)))
assert np.allclose(ad.grad(fused)(x0), ad.grad(generic)(x0)), \
    "the gradient through my_matvec differs from the one through generic_matvec"
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(4)
for m, n in [(1, 5), (7, 1), (6, 4), (4, 6)]:
    A_h, x_h, g_h = rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=m)
    assert np.allclose(my_matvec(A_h, ad.Tensor(x_h)).value, A_h @ x_h), \
        f"my_matvec gives wrong values for a {m}x{n} matrix"
    rule_h = ad.value_of(matvec_rule(g_h, A_h @ x_h, A_h, x_h))
    assert np.allclose(rule_h, A_h.T @ g_h), \
        f"matvec_rule gives a wrong differential of x for a {m}x{n} matrix"
    f_h = lambda x: ad.sum(ad.tanh(my_matvec(A_h, x)) * g_h)
    expected = A_h.T @ (g_h * (1 - np.tanh(A_h @ x_h) ** 2))
    assert np.allclose(ad.grad(f_h)(x_h), expected), \
        f"the gradient through my_matvec is wrong for a {m}x{n} matrix"
    ad.check_grad(f_h, x_h)  # against central differences
    assert np.allclose(my_matvec(ad.constant(A_h), ad.Tensor(x_h)).value, A_h @ x_h), \
        "my_matvec must also accept A marked constant with ad.constant"
A1, A2, x_h = rng.normal(size=(5, 3)), rng.normal(size=(2, 5)), rng.normal(size=3)
twice = lambda x: ad.sum(my_matvec(A2, ad.tanh(my_matvec(A1, x))))
expected = A1.T @ ((1 - np.tanh(A1 @ x_h) ** 2) * (A2.T @ np.ones(2)))
assert np.allclose(ad.grad(twice)(x_h), expected), \
    "the gradient is wrong when my_matvec is applied twice in a row"
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 (3 points): a batch of vectors, and derivatives of any order
#
# `jacobian` and `hessian` push many differentials through **one** backward sweep:
# rules are linear in `g`, so the rows of a whole Jacobian can travel together. A
# rule then receives `g` with extra leading *batch* axes, of shape
# `batch + ans.shape`, which is why the library's rules index axes from the right.
# For our operator, a differential `g` of shape $(k, m)$ is $k$ vectors of length
# $m$ in the rows, exactly like a batch of $k$ inputs $x$.
#
# If your `matvec_forward` computes `A @ x` (as the reference answer does), the rule
# hands those rows to `A.T @ g`, which reads `g` as $m$ *columns*. With a square
# matrix nothing fails, and the Jacobian of $x \mapsto Ax$, which is $A$, comes out
# transposed. (If you wrote `x @ A.T`, your operator is batch-aware already: the cell
# below prints "equals A: True", and Exercise 2 asks for what you have.) With yours:

# %% tags=["nbval-check-output"]
A_square = np.array([[1.0, 2.0],
                     [3.0, 4.0]])
J = ad.jacobian(lambda x: my_matvec(A_square, x))(np.array([1.0, 1.0]))
print(J)
print("equals A:", np.allclose(J, A_square), "  equals A transposed:",
      np.allclose(J, A_square.T))


# %% [markdown]
# Write `batched_matvec_forward(A, x)`: for `x` of shape `(..., n)`, the product
# $Av$ for every vector $v$ in the last axis of `x`, so a batch of shape `(B, n)`
# gives `(B, m)` and a single vector still gives `(m,)`. One numpy expression, no
# loop. The cell then registers `my_matvec` again with the new forward computation
# and **the same rule**: `matvec_rule` calls `my_matvec`, which now multiplies every
# row of `g`, whatever the number of leading axes. From then on `jacobian`,
# `hessian` and derivatives of any order work.

# %% answer batched_matvec
def batched_matvec_forward(A, x):
    """A @ v for every vector v in the last axis of x: (..., n) gives (..., m)."""
    ### BEGIN SOLUTION
    return x @ A.T
    ### END SOLUTION


my_matvec = ad.primitive(batched_matvec_forward, "my_matvec")
ad.defvjp(my_matvec, None, matvec_rule)

# %% tests test_batched_values (1 point)
from autodiff_lib.testing import own_work  # the library's ad.matvec raises in yours
batched_matvec_forward = own_work(batched_matvec_forward, "matvec",
                                  "fused._matvec_forward")
matvec_rule = own_work(matvec_rule, "matvec", "fused._matvec_forward")
my_matvec = ad.primitive(batched_matvec_forward, "my_matvec")
ad.defvjp(my_matvec, None, matvec_rule)
X0 = np.array([[0.5, -1.0, 2.0],
               [1.0, 0.0, -1.0]])
assert batched_matvec_forward(A, X0).shape == (2, 2), "a (2, 3) batch must give (2, 2)"
assert np.allclose(batched_matvec_forward(A, X0), np.stack([A @ v for v in X0])), \
    "row i of the result must be A @ X0[i]"
assert np.allclose(batched_matvec_forward(A, x0), A @ x0), "one vector must still work"
J = ad.jacobian(lambda x: my_matvec(A_square, x))(np.array([1.0, 1.0]))
assert np.allclose(J, A_square), "the Jacobian of x -> A x must be A"
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(5)
A_h = rng.normal(size=(4, 3))
for shape in [(3,), (1, 3), (6, 3), (2, 5, 3)]:
    x_h = rng.normal(size=shape)
    expected = np.einsum("mn,...n->...m", A_h, x_h)
    out = batched_matvec_forward(A_h, x_h)
    assert np.shape(out) == shape[:-1] + (4,), \
        f"an input of shape {shape} must give shape {shape[:-1] + (4,)}"
    assert np.allclose(out, expected), f"wrong values for an input of shape {shape}"
    assert np.allclose(my_matvec(A_h, ad.Tensor(x_h)).value, expected), \
        f"my_matvec gives wrong values for an input of shape {shape}"
### END HIDDEN TESTS

# %% [markdown]
# The next cell's hidden tests differentiate `my_matvec` to every order: Jacobians
# of batches, Hessians, third derivatives, each against the generic composition and
# against central differences (`ad.check_grad`).

# %% tests test_batched_derivatives (2 points)
f = lambda x: ad.sum(ad.tanh(my_matvec(A, x)) ** 2)
ad.check_grad(f, X0, order=2)  # raises an error with the details if a derivative is off
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(6)
A_h = rng.normal(size=(4, 3))
X_h = rng.normal(size=(2, 3))
fused_h = lambda x: ad.sum(ad.tanh(my_matvec(A_h, x)) ** 2)
generic_h = lambda x: ad.sum(ad.tanh(generic_matvec(A_h, x)) ** 2)
assert np.allclose(ad.jacobian(lambda x: my_matvec(A_h, x))(X_h),
                   ad.jacobian(lambda x: generic_matvec(A_h, x))(X_h)), \
    "the Jacobian of my_matvec on a batch differs from the generic composition's"
assert np.allclose(ad.hessian(fused_h)(X_h), ad.hessian(generic_h)(X_h)), \
    "the Hessian through my_matvec differs from the generic composition's"
assert np.allclose(ad.hessian(fused_h)(X_h[0]), ad.hessian(generic_h)(X_h[0])), \
    "the Hessian through my_matvec of a single vector is wrong"
ad.check_grad(fused_h, X_h, order=3)
x_t = ad.Tensor(X_h[1])
y_t = ad.sum(ad.sin(my_matvec(A_h, x_t)))
d3 = ad.diff(ad.diff(ad.diff(y_t, x_t), x_t), x_t)
expected = -np.einsum("m,mi,mj,mk->ijk", np.cos(A_h @ X_h[1]), A_h, A_h, A_h)
assert np.allclose(d3.value, expected), "a third derivative through my_matvec is wrong"
assert np.allclose(ad.grad(fused_h)(X_h),
                   ad.grad(lambda x: ad.sum(ad.tanh(ad.matvec(A_h, x)) ** 2))(X_h)), \
    "the gradient through my_matvec differs from the library's ad.matvec"
### END HIDDEN TESTS

# %% [markdown]
# The library has the same operator: `ad.matvec(A, x)` (in `autodiff_lib/engine/fused.py`,
# the rule is one line, like yours). It also checks that `A` is a constant and
# raises an error otherwise. Yours does not: with `A` a variable, `my_matvec` would
# silently drop the derivative with respect to $A$, since its rule is `None`. A
# closed-form rule is only as valid as the assumptions it was derived under.
#
# ## How much work does the fused operator save?
#
# We differentiate $\sum \tanh(Ax)$ for a batch of $B = 32$ vectors through both
# operators, with square matrices of growing size $n$.

# %% given count_matvec tags=["nbval-check-output"]
sizes = [16, 32, 64, 128, 256]
batch = 32
operators = {"generic": generic_matvec, "fused": my_matvec}


def matvec_problem(n, seed=0):
    """A random n x n matrix and a batch of vectors."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=(batch, n))


def matvec_loss(operator, A):
    return lambda X: ad.sum(ad.tanh(operator(A, X)))


rules = {name: [] for name in operators}
floats = {name: [] for name in operators}
for n in sizes:
    A_n, X_n = matvec_problem(n)
    for name, operator in operators.items():
        loss = matvec_loss(operator, A_n)
        with ad.count_operations() as ops:
            ad.grad(loss)(X_n)
        rules[name].append(ops.rule_evaluations)
        floats[name].append(graph_floats(loss(ad.Tensor(X_n))))

print(f"{'n':>4} {'rules: generic':>15} {'fused':>6} "
      f"{'floats: generic':>16} {'fused':>7}")
for i, n in enumerate(sizes):
    print(f"{n:4d} {rules['generic'][i]:15d} {rules['fused'][i]:6d} "
          f"{floats['generic'][i]:16d} {floats['fused'][i]:7d}")

# %% [markdown]
# And in seconds: the best of a few runs of one gradient (your numbers will differ,
# their ratios less so), plotted beside the floats.

# %% tags=["nbval-ignore-output"]
seconds = {name: [] for name in operators}
for n in sizes:
    A_n, X_n = matvec_problem(n)
    for name, operator in operators.items():
        gradient = ad.grad(matvec_loss(operator, A_n))
        seconds[name].append(best_time(lambda: gradient(X_n)))

for i, n in enumerate(sizes):
    print(f"n = {n:3d}: generic {1e3 * seconds['generic'][i]:7.3f} ms, "
          f"fused {1e3 * seconds['fused'][i]:6.3f} ms, "
          f"speed-up {seconds['generic'][i] / seconds['fused'][i]:5.1f}x")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
plot_growth(sizes, floats, "matrix size n", "floats in the graph", ax=left,
            logx=True)
left.set_title(f"memory of the graph (batch of {batch})")
plot_growth(sizes, seconds, "matrix size n", "seconds per gradient", ax=right,
            logx=True)
right.set_title("time of one gradient")
plt.show()


# %% [markdown]
# The fused operator evaluates **fewer rules** (3 against 5, at every size), but that
# count hides what each rule costs. The **floats** tell more: the generic graph holds
# the $B \cdot n^2$ terms $A_{ij}x_j$ (a slope of 2 on the log-log plot), the fused
# one only vectors, $3Bn + 1$ floats (a slope of 1). The time follows the floats,
# and the gap widens with $n$; at the largest size the fused gradient is many times
# faster. Its two products, forward and backward, are each a single matrix product
# that numpy hands to an optimized BLAS routine.
#
# ## The constant hint
#
# Now a training step. We fit a linear model $X w \approx y$ to a batch of data by
# least squares, with the loss
#
# $$L(w) = \frac1B \sum_{b=1}^{B} \big((Xw)_b - y_b\big)^2,
#   \qquad \nabla L(w) = \frac2B\, X^\top (Xw - y).$$
#
# Only $w$ is trained; the data $X, y$ are constant with respect to it. But our data
# loader standardizes the features with library functions, and `ad.Tensor` makes a
# *variable* by default: the batches arrive as variables, `X` with the graph of the
# standardization behind it.

# %% given loader
def load_batch(batch_size, n_features, seed=0):
    """A batch (X, y) as the loader delivers it: standardized features and
    noisy linear targets, as Tensors (variables; X with the graph behind it)."""
    rng = np.random.default_rng(seed)
    raw = ad.Tensor(rng.normal(3.0, 2.0, size=(batch_size, n_features)))
    centered = raw - ad.mean(raw, axis=0)
    X = centered / ad.sqrt(ad.mean(centered * centered, axis=0))
    w_true = rng.normal(size=n_features)
    y = ad.Tensor(X.value @ w_true + 0.1 * rng.normal(size=batch_size))
    return X, y


def data_loss(w, X, y):
    """Mean squared error of the linear model X @ w, data as they come."""
    residual = ad.matmul(X, w) - y
    return ad.mean(residual * residual)


# %% tags=["nbval-check-output"]
X, y = load_batch(64, 4)
w = np.zeros(4)
with ad.count_operations() as ops:
    value, gradient = ad.value_and_grad(data_loss)(w, X, y)
print(f"rules evaluated: {ops.rule_evaluations}, nodes visited: {ops.nodes_visited}")
print("rules per primitive:", rules_in_backward(data_loss(ad.Tensor(w), X, y)))
print("the gradient comes back as:", type(gradient).__name__)


# %% [markdown]
# The backward sweep went through everything the loss depends on: the derivative
# with respect to `X` and `y` (through `matmul` and `subtract`), and on through the
# standardization (`sqrt`, `divide`, the `mean`s) down to the raw data. Worse, the
# gradient came back as a `Tensor`: since the data are variables, the engine cannot
# know that nobody will differentiate the gradient with respect to them later, so it
# *recorded* the backward sweep as a graph too (that is how `hessian` works).
#
# ### Exercise 3 (2 points): mark the data constant
#
# Write `constant_data_loss(w, X, y)`: the same loss as `data_loss`, with `ad.matmul`
# as there, but with `X` and `y` marked constant (`ad.constant(t)` is a constant
# Tensor with the values of `t`; a plain numpy array is a constant too). The engine
# evaluates a rule only for inputs that are variables, so nothing behind a constant
# is visited.

# %% answer constant_data_loss
def constant_data_loss(w, X, y):
    """Mean squared error of the linear model X @ w; the data marked constant."""
    ### BEGIN SOLUTION
    X, y = ad.constant(X), ad.constant(y)
    residual = ad.matmul(X, w) - y
    return ad.mean(residual * residual)
    ### END SOLUTION


# %% tests test_constant_data_loss (2 points)
value_c, gradient_c = ad.value_and_grad(constant_data_loss)(w, X, y)
assert np.isclose(ad.value_of(value_c), ad.value_of(value)), \
    "the loss differs from data_loss"
assert np.allclose(gradient_c, ad.value_of(gradient)), "not the gradient of data_loss"
assert isinstance(gradient_c, np.ndarray), \
    "with constant data, the gradient of plain w should be a plain array"
### BEGIN HIDDEN TESTS
for B_h, n_h, seed in [(10, 3, 7), (50, 6, 8)]:
    X_h, y_h = load_batch(B_h, n_h, seed)
    w_h = np.random.default_rng(seed).normal(size=n_h)
    X_p, y_p = X_h.value, y_h.value
    expected = 2 / B_h * X_p.T @ (X_p @ w_h - y_p)
    with ad.count_operations() as ops_variables:
        g_v = ad.grad(constant_data_loss)(w_h, X_h, y_h)
    with ad.count_operations() as ops_plain:
        g_p = ad.grad(constant_data_loss)(w_h, X_p, y_p)
    assert np.allclose(ad.value_of(g_v), expected) and np.allclose(g_p, expected), \
        "the gradient of constant_data_loss is wrong"
    assert np.isclose(float(constant_data_loss(w_h, X_h, y_h)),
                      np.mean((X_p @ w_h - y_p) ** 2)), "the loss value is wrong"
    assert ops_variables.rule_evaluations == ops_plain.rule_evaluations, \
        "data that arrive as variables still cost rules: mark X and y constant"
    assert ops_variables.nodes_visited == ops_plain.nodes_visited, \
        "the backward sweep still visits the graph behind the data"
    with ad.count_operations() as ops_generic:
        ad.grad(data_loss)(w_h, X_h, y_h)
    assert ops_variables.rule_evaluations < ops_generic.rule_evaluations, \
        "marking the data constant should save rule evaluations"
### END HIDDEN TESTS
print('These visible tests passed. They are not your grade: when your notebook is '
      'graded, hidden tests run in every test cell as well, on other inputs.')


# %% [markdown]
# Both tricks together: the product $Xw$ is a constant matrix times a vector, the job
# of your fused operator (with the data as the constant matrix).

# %% given fused_loss
def fused_loss(w, X, y):
    """constant_data_loss with the product X @ w done by the fused operator."""
    residual = my_matvec(ad.constant(X), w) - ad.constant(y)
    return ad.mean(residual * residual)


losses = {"data as loaded": data_loss, "constant data": constant_data_loss,
          "constant data, fused": fused_loss}


# %% [markdown]
# A training step takes the gradient and moves downhill. Here is the work of one
# step for growing batches ($B = 16n$ samples of $n$ features), counted: rules
# evaluated and nodes visited by the backward sweep. Then timed: the two constant
# columns get the data marked constant once, before the clock starts (a training
# loop marks a batch once, not every step), so that they time the same work but the
# product, however you marked the data in Exercise 3. The counts are the same on
# every machine; the times are not, and the fused column's lead in them is small.

# %% given count_training_step tags=["nbval-check-output"]
def training_step(loss, w, X, y, step_size=0.1):
    """One step of gradient descent on loss(w, X, y); the new w and the loss."""
    value, gradient = ad.value_and_grad(loss)(w, X, y)
    return w - step_size * ad.value_of(gradient), float(ad.value_of(value))


feature_sizes = [4, 16, 64, 256]
batches = {n: load_batch(16 * n, n) for n in feature_sizes}
step_rules = {name: [] for name in losses}
print(f"{'n':>4} {'B':>5}  " + "  ".join(f"{name:>20}" for name in losses))
for n, (X_n, y_n) in batches.items():
    counts = []
    for name, loss in losses.items():
        with ad.count_operations() as ops:
            training_step(loss, np.zeros(n), X_n, y_n)
        step_rules[name].append(ops.rule_evaluations)
        counts.append(f"{ops.rule_evaluations:4d} rules {ops.nodes_visited:3d} nodes")
    print(f"{n:4d} {16 * n:5d}  " + "  ".join(f"{c:>20}" for c in counts))

# %% tags=["nbval-ignore-output"]
from functools import partial

step_seconds = {name: [] for name in losses}
for n, (X_n, y_n) in batches.items():
    # the data as loaded for the first column; marked constant once, before the
    # clock, for the other two, which then time the same work but the product
    data = {name: (X_n, y_n) if name == "data as loaded"
            else (ad.constant(X_n), ad.constant(y_n)) for name in losses}
    timed = {name: [] for name in losses}
    for _ in range(5):  # the columns in turn, so that a slow moment hits all
        for name, loss in losses.items():
            step = partial(training_step, loss, np.zeros(n), *data[name])
            timed[name].append(best_time(step, repeats=3))
    for name in losses:
        step_seconds[name].append(min(timed[name]))
for i, n in enumerate(feature_sizes):
    times = [step_seconds[name][i] for name in losses]
    print(f"n = {n:3d}, B = {16 * n:4d}: "
          + ", ".join(f"{1e3 * t:7.3f} ms" for t in times)
          + f"   constant hint: {times[0] / times[1]:5.1f}x faster")

fig, ax = plt.subplots(figsize=(6, 4))
plot_growth(feature_sizes, step_seconds, "features n (batch B = 16 n)",
            "seconds per training step", ax=ax, logx=True)
ax.set_title("time of one training step")
plt.show()

# %% [markdown]
# With constant data the sweep evaluates only the rules on the path from the loss to
# $w$, the same handful at every size, and returns a plain array. With the data as
# loaded it also computes $\partial L/\partial X$ (an array as large as the batch),
# differentiates through the standardization, and records all of it as a graph; the
# time lost grows with the batch (see the timings). The fused operator saves a little
# more: two rules and two nodes (7 against 5 in the table), because `matmul` of a
# vector is three nodes (a reshape on each side of the product) where `my_matvec` is
# one. Per primitive:

# %% tags=["nbval-check-output"]
X_4, y_4 = batches[4]
for name in ["constant data", "constant data, fused"]:
    graph = losses[name](ad.Tensor(np.zeros(4)), X_4, y_4)
    print(f"{name:<21}", rules_in_backward(graph))

# %% [markdown]
# ### Question (3 points, graded by hand)
#
# Real libraries use both tricks. Where do PyTorch, JAX or HIPS autograd let a user
# (or do their authors) fuse operations under one hand-written derivative rule, and
# where do they let a user say that something is constant? Give **one concrete
# example you found** (a function or class, with where you found it: documentation
# page or source file) and explain what it saves, in the terms of this notebook.

# %% written real_libraries (3 points) [markdown]
# ### BEGIN SOLUTION
# *Constants.* PyTorch tensors are constant unless created with
# `requires_grad=True` (parameters of `nn.Module`s are variables), and
# `tensor.detach()` and `torch.no_grad()` cut the graph; autograd then skips every
# backward function whose inputs need no gradient. Inside a custom
# `torch.autograd.Function`, `ctx.needs_input_grad` tells `backward` which inputs
# need a gradient, so it can skip computing, say, the gradient of the input data.
# JAX differentiates only with respect to the arguments named in `argnums`, and
# `jax.lax.stop_gradient(x)` treats `x` as a constant inside a function. In HIPS
# autograd, only the argument `argnum` is boxed and traced.
#
# *Fused rules.* PyTorch's `torch.nn.functional.linear` (used by `nn.Linear`)
# computes $xW^\top + b$ with one `addmm` whose derivative formulas are written by
# hand in `tools/autograd/derivatives.yaml`: the gradient for the input is one matrix
# product with $W$, the one for $W$ one product with $x$, and no elementwise
# intermediate is kept. `F.scaled_dot_product_attention` goes further: its fused
# (FlashAttention) kernels never store the $n \times n$ attention matrix, and their
# backward pass recomputes it blockwise, trading floats in the graph for arithmetic.
# Users add their own rules with `torch.autograd.Function` (`forward`/`backward`) or
# `jax.custom_vjp` (`f.defvjp(f_fwd, f_bwd)`), exactly like `ad.primitive` and
# `ad.defvjp` here; HIPS autograd's `autograd/numpy/numpy_vjps.py` registers the
# rules of `np.dot` (`dot_vjp_0`, `dot_vjp_1`) with `defvjp`.
#
# *Example, explained.* `jax.custom_vjp`, documentation page "Custom derivative rules
# for JAX-transformable Python functions": a function is declared with a forward
# pass that saves residuals and a backward pass that maps the output cotangent to
# the input cotangents. Like `my_matvec`, JAX then treats the function as one node:
# it keeps only the residuals instead of every intermediate of the composition, and
# runs one rule instead of one per primitive inside; it can also replace an
# unstable or expensive derivative (for example through an iterative solver) by a
# closed form.
# ### END SOLUTION

# %% [markdown]
# ## What this part showed
#
# * A **fused operator** replaces a chain of primitives by one node with a
#   closed-form rule: fewer rules, no intermediate arrays, and a product that BLAS
#   computes. It must be written batch-aware (rules index from the right) and with
#   the library's own functions to support derivatives of every order, and it is
#   valid only under its assumptions (here: $A$ constant).
# * The **constant hint** keeps the engine from computing, and recording,
#   derivatives nobody asked for.
#
# Both are choices a user makes. Part 05 looks at the speed-up that lives inside the
# engine itself: the *differential cache*, without which backpropagation would cost
# time exponential in the depth of a graph.
