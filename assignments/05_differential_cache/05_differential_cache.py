# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,title,-nbgrader
#     formats: source///ipynb,assignments///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Part 05 — The differential cache
#
# The chain rule says that $dy/dx$ is a sum over **paths**: for every path from $x$
# to $y$ through the graph, multiply the local derivatives along its edges, and add
# up the products. Taken literally, that is a recursion that walks every path, one
# at a time. A graph with shared subexpressions (a value used twice, and its result
# used twice again, ...) has exponentially many paths.
#
# Backpropagation computes the same sum at a cost proportional to the number of
# *edges*: it remembers every differential it has computed, so that no part of a path
# is walked twice. This memo is the **differential cache**. In this part you add it to
# the textbook recursion, and count what it saves.
#
# *How this notebook is graded.* Write your code where it says `YOUR CODE HERE` (and
# delete the `raise NotImplementedError()`). The cell after each answer tests it;
# when your notebook is graded, more tests (hidden here) run in those cells. Run the
# notebook top to bottom (*Kernel → Restart Kernel and Run All Cells*) before you
# submit.

# %% given setup
import gc
import sys
import time
import weakref

import matplotlib.pyplot as plt
import numpy as np

import autodiff_lib as ad
from autodiff_lib.plotting import plot_growth

np.set_printoptions(precision=6, suppress=True)

# %% [markdown]
# ## The graph the library records
#
# Every Tensor computed from a variable is a node of the graph, and keeps what a
# backward sweep needs:
#
# * `node.primitive`: what computed it (`None` for a leaf, such as `x` below);
# * `node.grad_inputs`: a list of pairs `(rule, parent)`, one for each input that is
#   a variable, where `rule(g, ans, *inputs)` turns a differential `g` of the node
#   into the differential of that input (part 04 registered such rules);
# * `node.value`, `node.input_values`, `node.kwargs`: its value, the values of its
#   inputs and its keyword arguments, which the rules receive;
# * `node.seq`: a number given in order of creation. An input always exists before the
#   node computed from it, so sorting by `seq` is a topological order;
#   `ad.topological_order(y)` lists every variable `y` depends on that way.
#
# Here is $y = \tanh(x)\cdot x$. The node `x` is used twice: by `tanh`, and by the
# product.

# %% tags=["nbval-check-output"]
x = ad.Tensor(0.5)
y = ad.tanh(x) * x

graph = ad.topological_order(y)
name = {node.seq: f"v{i}" for i, node in enumerate(graph)}  # short, stable names
for node in graph:
    what = node.primitive.name if node.primitive else "leaf"
    inputs = ", ".join(name[parent.seq] for _, parent in node.grad_inputs)
    print(f"{name[node.seq]} = {what}({inputs})  value {float(node.value):.6f}")


# %% [markdown]
# ## The textbook chain rule (given)
#
# Group the paths from $x$ to $y$ by their first edge: each leaves $x$ for a node $c$
# that uses $x$, and continues from $c$ to $y$. So
#
# $$\frac{dy}{dx} \;=\; \sum_{c \text{ uses } x} \frac{dy}{dc}\,
#   \frac{\partial c}{\partial x}, \qquad \frac{dy}{dy} = 1,$$
#
# and $dy/dc$ is the same problem one step closer to $y$: a recursion. (Grouping by
# the last edge instead gives $\sum_{c \text{ input of } y} \frac{\partial y}{\partial c}
# \frac{dc}{dx}$, the same sum. We group at $x$'s end because the library's rules are
# vector-Jacobian products: `rule(g, ...)` computes $g\,\partial c/\partial x$, a
# differential of $y$ multiplied from the left.)
#
# The code below is that recursion, for a scalar $y$ (a loss). `users_of(y)` turns
# the graph around: for every node, the edges `(c, rule)` to the nodes `c` that use
# it. `local_differential` evaluates one rule and **counts** it; it is the only place
# where rules run, so the count measures the work of any version of the chain rule
# built on it.

# %% given chain_rule
def users_of(y):
    """For each node y depends on (by seq): the edges (c, rule) to its users c."""
    graph = ad.topological_order(y)
    users = {node.seq: [] for node in graph}
    for c in graph:
        for rule, parent in c.grad_inputs:
            users[parent.seq].append((c, rule))
    return users


def local_differential(rule, dy_dc, c, x, counts):
    """dy/dc · ∂c/∂x: one evaluation of the rule of c for its input x, counted."""
    counts.rule_evaluations += 1
    contribution = rule(dy_dc, c.value, *c.input_values, **c.kwargs)
    return ad.unbroadcast(contribution, x.shape)  # undo numpy broadcasting, if any


def chain_rule(y, x, users, counts):
    """dy/dx for a scalar y, path by path: sum over c using x of dy/dc · ∂c/∂x."""
    if x is y:
        return np.ones(y.shape)
    dy_dx = np.zeros(x.shape)
    for c, rule in users[x.seq]:
        dy_dc = chain_rule(y, c, users, counts)
        dy_dx = dy_dx + local_differential(rule, dy_dc, c, x, counts)
    return dy_dx


def textbook_grad(f, x0):
    """The gradient of scalar f at x0 by chain_rule, and how many rules ran."""
    x = ad.Tensor(x0)
    y = f(x)
    counts = ad.OperationCounts()
    return chain_rule(y, x, users_of(y), counts), counts.rule_evaluations


# %% tags=["nbval-check-output"]
f = lambda x: ad.tanh(x) * x
gradient, rules = textbook_grad(f, 0.5)
print(f"textbook: {gradient:.6f} ({rules} rules)   ad.grad: {ad.grad(f)(0.5):.6f}")


# %% [markdown]
# ## Shared subexpressions of growing depth
#
# Repeat the step $x_{k+1} = \tanh(x_k)\cdot x_k$. Each level uses $x_k$ twice, so
# the number of paths from $x_0$ to $x_k$ doubles with every level: $2^k$ paths. The
# textbook recursion walks each of them, and re-walks the shared rest of every path.

# %% given chain tags=["nbval-check-output"]
def chain(x, depth):
    """x_{k+1} = tanh(x_k) * x_k, repeated depth times: shared subexpressions."""
    for _ in range(depth):
        x = ad.tanh(x) * x
    return x


for depth in [1, 2, 3, 4, 5, 10]:
    _, rules = textbook_grad(lambda x: chain(x, depth), 0.5)
    print(f"depth {depth:2d}: {rules:5d} rule evaluations")


# %% [markdown]
# Three rules per level would be enough (one for `tanh`, two for the product), yet
# the count is $3\,(2^k - 1)$: the differential $dy/dx_j$ is recomputed once for every
# path from $x_0$ to $x_j$.
#
# ## Exercise 1 (4 points): the differential cache
#
# Write `cached_chain_rule(y, x, users, counts, cache)`: the same recursion as
# `chain_rule`, with the same arguments, plus `cache`, a dictionary of the
# differentials computed so far. Key it by the pair `(y.seq, x.seq)`: the creation
# numbers identify the nodes (a Tensor's `==` compares values elementwise, as
# numpy's does, which makes Tensors awkward keys). Before computing $dy/dx$, look it
# up; after computing it, store it. Use `local_differential` for every rule
# evaluation, as `chain_rule` does, so that the counts compare.
#
# Within one call, `y` never changes: why is it part of the key? Because a cache may
# outlive one call. The same dictionary can serve several outputs of one graph (the
# gradients of two losses that share their first layers, the rows of a Jacobian, or
# the derivative of a derivative, whose graph contains the first one), and there
# $dy/dc$ and $dz/dc$ are different numbers for the same node $c$. The test below
# shares one cache between two outputs, and so does a cell further down.
#
# Write the cache yourself: the library's own sweep (`ad.diff`, `ad.grad` and the
# other differential operators, `autodiff_lib/engine/differentiation.py`) may not be used
# in `cached_chain_rule` or `cached_grad` (in the tests, it raises when your
# functions call it).

# %% answer cached_chain_rule
def cached_chain_rule(y, x, users, counts, cache):
    """dy/dx for a scalar y, computing each dy/dc at most once (kept in cache)."""
    ### BEGIN SOLUTION
    key = (y.seq, x.seq)
    if key not in cache:
        if x is y:
            cache[key] = np.ones(y.shape)
        else:
            dy_dx = np.zeros(x.shape)
            for c, rule in users[x.seq]:
                dy_dc = cached_chain_rule(y, c, users, counts, cache)
                dy_dx = dy_dx + local_differential(rule, dy_dc, c, x, counts)
            cache[key] = dy_dx
    return cache[key]
    ### END SOLUTION


def cached_grad(f, x0):
    """The gradient of f at x0 by cached_chain_rule, and how many rules ran."""
    x = ad.Tensor(x0)
    y = f(x)
    counts = ad.OperationCounts()
    return cached_chain_rule(y, x, users_of(y), counts, {}), counts.rule_evaluations


# %% tests test_cache_counts (2 points)
# Your own cache: while your functions run in these tests, the library's sweep
# (ad.diff, ad.grad, ...) raises; they must return plain numbers or arrays.
from autodiff_lib.testing import own_work
cached_grad = own_work(cached_grad, "diff", "differentiation._sweep")
own_chain_rule = own_work(cached_chain_rule, "diff", "differentiation._sweep")
gradient, rules = cached_grad(lambda x: chain(x, 3), 0.5)
assert np.isclose(gradient, ad.grad(lambda x: chain(x, 3))(0.5)), \
    "the cached chain rule gives a wrong derivative"
assert rules == 9, f"depth 3: expected 3 rules per level, 9 in all, got {rules}"
# One cache for two outputs of one graph: z = x_2, and y = x_5 computed from z.
x_0 = ad.Tensor(0.5)
z_2 = chain(x_0, 2)
y_5 = chain(z_2, 3)
one_cache = {}
own_chain_rule(y_5, x_0, users_of(y_5), ad.OperationCounts(), one_cache)
dz_dx = own_chain_rule(z_2, x_0, users_of(z_2), ad.OperationCounts(), one_cache)
assert np.isclose(dz_dx, ad.grad(lambda x: chain(x, 2))(0.5)), \
    "one cache for dy/dx, then dz/dx: dz/dx came out wrong (dy/dx, found under " \
    "x's key?). Key the cache by the pair (y.seq, x.seq)"
### BEGIN HIDDEN TESTS
def counted_users(y, tally):
    """users_of(y) with every rule wrapped so that the test counts it itself."""
    def counting(rule):
        def wrapped(*args, **kwargs):
            tally.append(1)
            return rule(*args, **kwargs)
        return wrapped
    return {seq: [(c, counting(rule)) for c, rule in edges]
            for seq, edges in users_of(y).items()}

for depth in [15, 24, 40]:
    x_h = ad.Tensor(0.3)
    y_h = chain(x_h, depth)
    tally, counts_h, cache_h = [], ad.OperationCounts(), {}
    g_h = own_chain_rule(y_h, x_h, counted_users(y_h, tally), counts_h, cache_h)
    assert len(tally) == 3 * depth, \
        f"depth {depth}: the rules ran {len(tally)} times, not 3 per level"
    assert counts_h.rule_evaluations == 3 * depth, \
        f"depth {depth}: every rule evaluation must go through local_differential"
    assert np.isclose(g_h, ad.grad(lambda x: chain(x, depth))(0.3)), \
        f"depth {depth}: the derivative is wrong"
    own_chain_rule(y_h, x_h, counted_users(y_h, tally), counts_h, cache_h)
    assert len(tally) == 3 * depth, \
        "asked again with the same cache, the rules ran again: store every dy/dx"

# the other order, and a derivative of a derivative, each sharing one cache
x_h = ad.Tensor(0.7)
z_h = chain(x_h, 3)
y_h = chain(z_h, 4)
shared_h = {}
first_h = own_chain_rule(z_h, x_h, users_of(z_h), ad.OperationCounts(), shared_h)
second_h = own_chain_rule(y_h, x_h, users_of(y_h), ad.OperationCounts(), shared_h)
assert np.isclose(first_h, ad.grad(lambda x: chain(x, 3))(0.7)) and \
    np.isclose(second_h, ad.grad(lambda x: chain(x, 7))(0.7)), \
    "dz/dx, then dy/dx with the same cache: key it by the pair (y.seq, x.seq)"
x_h = ad.Tensor(0.4)
d1_h = ad.diff(chain(x_h, 3), x_h)  # its graph holds the graph of chain(x, 3)
d2_h = own_chain_rule(d1_h, x_h, users_of(d1_h), ad.OperationCounts(), shared_h)
y_h = chain(x_h, 3)  # a new node: a key of its own, in the same cache
d1_again = own_chain_rule(y_h, x_h, users_of(y_h), ad.OperationCounts(), shared_h)
assert np.isclose(d2_h, ad.diff(ad.diff(chain(x_h, 3), x_h), x_h).value), \
    "the derivative of a recorded derivative came out wrong"
assert np.isclose(d1_again, d1_h.value), "a cache shared with a derivative's graph " \
    "gave a wrong first derivative: key it by the pair (y.seq, x.seq)"
### END HIDDEN TESTS

# %% [markdown]
# The next cell's hidden tests compare `cached_grad` with `ad.grad` on other graphs:
# vectors, broadcasting, reductions, nodes that use their input twice.

# %% tests test_cache_gradients (2 points)
from autodiff_lib.testing import own_work  # the library's sweep raises in yours
cached_grad = own_work(cached_grad, "diff", "differentiation._sweep")
rng = np.random.default_rng(0)
W = rng.normal(size=(3, 4))
g_vec = lambda x: ad.sum(ad.tanh(W * x) * x)  # x: 4 values, broadcast against W
x_vec = rng.normal(size=4)
assert np.allclose(cached_grad(g_vec, x_vec)[0], ad.grad(g_vec)(x_vec)), \
    "wrong gradient for a vector x"
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(1)
W_h = rng.normal(size=(5, 3))

def layered(x):
    h = ad.tanh(W_h * x)
    s = ad.sum(h * x, axis=0)
    return ad.sum(s * s) + ad.mean(x ** 3) - ad.sum(ad.exp(-x * x))

def squares(x):
    for _ in range(4):
        x = x * x + ad.sin(x)
    return ad.sum(x)

def shared_and_constant(x):
    c = ad.constant(np.arange(3.0))
    u = ad.tanh(x) + c
    return ad.sum(u * u * x) / ad.sum(ad.cosh(x))

for name_h, f_h, x_h in [("layered", layered, rng.normal(size=3)),
                         ("repeated squares", squares, 0.3 * rng.normal(size=3)),
                         ("with a constant", shared_and_constant, rng.normal(size=3)),
                         ("deep chain", lambda x: chain(x, 20), 0.8)]:
    assert np.allclose(cached_grad(f_h, x_h)[0], ad.grad(f_h)(x_h)), \
        f"the cached chain rule disagrees with ad.grad on the {name_h} graph"
    with ad.count_operations() as ops:
        ad.grad(f_h)(x_h)
    assert cached_grad(f_h, x_h)[1] == ops.rule_evaluations, \
        f"on the {name_h} graph, each rule should run once, as in the engine"
### END HIDDEN TESTS

# %% [markdown]
# One cache for two outputs of the same graph: $z = x_2$ and $y = x_5$, computed
# from $z$. Each differential is stored under its own pair, so both come out right.
# Keyed by `x.seq` alone, the second call would find $dy/dx$ stored under $x$ and
# hand it back as $dz/dx$.

# %% tags=["nbval-check-output"]
x = ad.Tensor(0.5)
z = chain(x, 2)  # x_2
y = chain(z, 3)  # x_5, computed from z: z's graph is part of y's
shared, tally = {}, ad.OperationCounts()
dy_dx = cached_chain_rule(y, x, users_of(y), tally, shared)
dz_dx = cached_chain_rule(z, x, users_of(z), tally, shared)
for name, got, depth in [("dy/dx", dy_dx, 5), ("dz/dx", dz_dx, 2)]:
    expected = ad.grad(lambda x: chain(x, depth))(0.5)
    print(f"{name} = {float(got):.6g}   ad.grad: {expected:.6g}")
print(f"one cache: {len(shared)} differentials, {tally.rule_evaluations} rules")


# %% [markdown]
# ## Counting: with and without the cache
#
# The same chain, now with both versions and with the library's engine, which has
# the cache built in and can be switched to the textbook way
# (`ad.differential_cache(False)`); `ad.count_operations()` counts its rules.

# %% given count_chain tags=["nbval-check-output"]
def edges(y):
    """The edges of y's graph: one per (rule, input) pair of every node."""
    return sum(len(node.grad_inputs) for node in ad.topological_order(y))


depths = list(range(1, 13))
counts = {"textbook": [], "cached": [], "engine, no cache": [], "engine": []}
graph_edges = [edges(chain(ad.Tensor(0.5), depth)) for depth in depths]
for depth in depths:
    f = lambda x: chain(x, depth)
    counts["textbook"].append(textbook_grad(f, 0.5)[1])
    counts["cached"].append(cached_grad(f, 0.5)[1])
    for label, enabled in [("engine, no cache", False), ("engine", True)]:
        with ad.differential_cache(enabled), ad.count_operations() as ops:
            ad.grad(f)(0.5)
        counts[label].append(ops.rule_evaluations)

columns = {"textbook": counts["textbook"], "cached": counts["cached"],
           "edges": graph_edges, **counts}
print(f"{'depth':>5} " + " ".join(f"{label:>16}" for label in columns))
for i, depth in enumerate(depths):
    print(f"{depth:5d} " + " ".join(f"{column[i]:16d}" for column in columns.values()))

# %% [markdown]
# Plotted on a log scale and on a linear one, with the seconds each version takes at
# two depths (your numbers will differ):

# %% tags=["nbval-ignore-output"]
for depth in [8, 12]:
    f = lambda x: chain(x, depth)
    for label, grad_f in [("textbook", textbook_grad), ("cached", cached_grad)]:
        start = time.perf_counter()
        grad_f(f, 0.5)
        milliseconds = 1e3 * (time.perf_counter() - start)
        print(f"depth {depth:2d}, {label:8}: {milliseconds:8.3f} ms")

fig, (log_axes, linear_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
plot_growth(depths, {"without the cache": counts["textbook"],
                     "with the cache": counts["cached"]},
            "depth k", "rule evaluations (log scale)", ax=log_axes)
log_axes.set_title("log scale: doubling per level is a straight line")
for label, key in [("without the cache", "textbook"), ("with the cache", "cached")]:
    linear_axes.plot(depths, counts[key], "o-", markersize=4, label=label)
linear_axes.plot(depths, graph_edges, "k+", markersize=9, label="edges of the graph")
linear_axes.set_ylim(0, 1.6 * max(counts["cached"]))  # the count without it leaves
linear_axes.set_xlabel("depth k")
linear_axes.set_ylabel("rule evaluations")
linear_axes.set_title("linear scale: 3 more per level is a straight line")
linear_axes.grid(True, alpha=0.3)
linear_axes.legend(fontsize="small")
fig.suptitle(r"$x_{k+1} = \tanh(x_k)\cdot x_k$")
plt.show()

# %% [markdown]
# On the log scale, the count without the cache is a straight line: it doubles with
# every level, $3\,(2^k - 1)$; on the linear scale it leaves the plot after four
# levels. With the cache the count grows by 3 per level, $3k$: a straight line on the
# linear scale (on the log scale it bends flat, since adding 3 is a smaller and
# smaller factor). That is every edge of the graph once: the column `edges` of the
# table. Your recursion and the engine agree on both counts: the engine's sweep is the
# same cache, organized as a loop over the topological order instead of a recursion.
# The seconds tell the same story.
#
# ## How deep can a recursion go?
#
# Python allows `sys.getrecursionlimit()` nested calls (1000, unless changed) and
# then raises `RecursionError`. The recursion above nests a call for every node on
# the way from $x$ to $y$, two per level: a graph a thousand levels deep is out of its
# reach, cache or not. The engine's loop has no such limit: below, it differentiates
# a chain ten times as deep (20 000 operations), and it goes as deep as memory
# allows (try 50 000 levels, 100 000 operations, if you can wait a few seconds).

# %% tags=["nbval-check-output"]
depth = sys.getrecursionlimit()
try:
    cached_grad(lambda x: chain(x, depth), 0.5)
    print(f"depth {depth}: cached_grad went through (is your answer a loop?)")
except RecursionError:
    print(f"depth {depth}: cached_grad raised RecursionError")

DEEP = 10_000  # two operations per level: 20 000 operations
with ad.count_operations() as ops:
    ad.grad(lambda x: chain(x, DEEP))(0.5)
print(f"depth {DEEP}: the engine evaluated {ops.rule_evaluations} rules in a loop")


# %% [markdown]
# ## Another graph: predict, then count
#
# Add $x_k$ once more at every level:
#
# $$x_{k+1} = \tanh(x_k)\cdot x_k + x_k .$$
#
# Each level now has three operations, and uses $x_k$ three times.

# %% given chain_plus
def chain_plus(x, depth):
    """x_{k+1} = tanh(x_k) * x_k + x_k, depth times: each x_k used three times."""
    for _ in range(depth):
        x = ad.tanh(x) * x + x
    return x


# %% [markdown]
# ### Exercise 2 (1 point): predict the counts
#
# Reason it out before you measure: how many rules does the textbook recursion
# evaluate on $k$ levels of this graph, and how many the cached one? Write
# `predicted_rules(k)`, returning the pair `(without the cache, with the cache)` as
# formulas in `k`: they must hold at any depth, also where nobody could wait for the
# count. A way in: call $R_j$ the rules that `chain_rule(y, x_j)` evaluates, with
# $R_k = 0$, and find $R_j$ from $R_{j+1}$ by following the edges that leave $x_j$.
# (For $x_{k+1} = \tanh(x_k)\cdot x_k$ above, $R_j = 2R_{j+1} + 3$.)

# %% answer predicted_rules
def predicted_rules(k):
    """(rules without the cache, rules with it) on k levels of chain_plus."""
    ### BEGIN SOLUTION
    # R_j = 3 R_{j+1} + 6 (x_j has three users, at 2, 1 and 0 edges from x_{j+1})
    return 3 * (3**k - 1), 5 * k
    ### END SOLUTION


# %% tests test_predicted_rules (1 point)
from autodiff_lib.testing import own_work  # what you return must be plain numbers
predicted_rules = own_work(predicted_rules)
# Your formulas against the counts of textbook_grad and of the engine with its cache
# (the same count as cached_grad) at depths 1 to 6; hidden tests: deeper graphs.
for k in range(1, 7):
    f = lambda x: chain_plus(x, k)
    with ad.count_operations() as ops:
        ad.grad(f)(0.5)
    measured = (textbook_grad(f, 0.5)[1], ops.rule_evaluations)
    assert np.allclose(np.asarray(predicted_rules(k), dtype=float), measured,
                       rtol=1e-9, atol=0), \
        f"depth {k}: you predict {predicted_rules(k)}, the counts are {measured}"
### BEGIN HIDDEN TESTS
for k_hidden in [10, 25, 60]:
    expected_h = (3 * (3.0**k_hidden - 1), 5.0 * k_hidden)
    assert np.allclose(np.asarray(predicted_rules(k_hidden), dtype=float), expected_h,
                       rtol=1e-9, atol=0), \
        f"depth {k_hidden}: the prediction does not hold for deeper graphs"
### END HIDDEN TESTS
print('These visible tests passed. They are not your grade: when your notebook is '
      'graded, hidden tests run in every test cell as well, on other inputs.')

# %% tags=["nbval-check-output"]
print(f"{'depth':>5} {'predicted':>22} {'measured':>22}")
for k in range(1, 9):
    measured = (textbook_grad(lambda x: chain_plus(x, k), 0.5)[1],
                cached_grad(lambda x: chain_plus(x, k), 0.5)[1])
    print(f"{k:5d} {str(predicted_rules(k)):>22} {str(measured):>22}")

# %% [markdown]
# Without the cache, each level now triples the paths instead of doubling them; with
# it, each level adds its five edges. (The engine's textbook mode,
# `ad.differential_cache(False)`, groups the paths by their last edge instead of
# their first, walking down from $y$: on this graph it evaluates fewer rules than
# `chain_rule`, but their number triples per level just the same.)
#
# ## Who frees the intermediate tensors?
#
# Each node holds its inputs (`inputs`, `grad_inputs`), and its rules see only the
# node and those inputs. Nothing refers to a node created *later*, so the references
# never form a cycle, and Python's reference counting alone frees a graph as soon as
# the last name for its output goes. Below, the cycle collector (`gc`) is switched
# off to show it. The derivative that `ad.diff` records is a graph built by the rules,
# which holds on to nodes of the original graph: those live as long as it does, and
# go with it.

# %% tags=["nbval-check-output"]
gc.disable()  # from here on, only reference counting frees objects
x = ad.Tensor(0.5)
y = chain(x, 10)
dy_dx = ad.diff(y, x)  # a recorded derivative: its graph holds on to y's nodes
alive = [weakref.ref(node) for node in ad.topological_order(y) if node is not x]
print("intermediate tensors alive:", sum(r() is not None for r in alive), "of",
      len(alive))
del y, dy_dx
print("after del y, dy_dx:", sum(r() is not None for r in alive))
gc.enable()

# %% [markdown]
# ### Question (3 points, graded by hand)
#
# 1. Why does memoizing the differentials by the pair $(y, x)$ give the asymptotic
#    cost of backpropagation? Count the rule evaluations with and without the cache
#    in terms of the graph (its nodes, edges and paths).
# 2. The cell above relies on the references never forming a cycle. Suppose a
#    primitive's rule were written as a closure over its own output node (say, to
#    read `node.value` instead of receiving `ans`). Follow the references from such a
#    node: what would become of the graph's memory in the cell above (with `gc` off),
#    with `gc` on, and in a C++ port that holds nodes in `std::shared_ptr`s? How would
#    you avoid it?

# %% written cache_and_memory (3 points) [markdown]
# ### BEGIN SOLUTION
# 1. With the cache, each differential $dy/dc$ is computed once; computing it
#    evaluates one rule per edge leaving $c$ (one per use of $c$), and every later
#    request is a dictionary lookup. So the total is one rule evaluation per edge of
#    the graph, $O(|E|)$. A rule costs about as much as the forward operation of its
#    node, so a gradient costs a small constant times the forward pass, whatever the
#    number of inputs: that is the cost of backpropagation. Without the cache, the
#    differential of a node is recomputed once for each path from $x$ to it, so each
#    edge is evaluated once per path through it: the total is the number of
#    (path, edge) pairs, which grows with the number of paths, exponentially in the
#    depth when subexpressions are shared ($3(2^k - 1)$ against $3k$ here).
#
# 2. The node would hold its `grad_inputs`, which hold the rule, whose closure holds
#    the node: a cycle. Every object in it keeps a reference count of at least one
#    after the last outside name goes, so reference counting never frees it, and with
#    it everything it references: the node's inputs and, through them, the whole
#    graph below it. In the cell above (`gc` off), the tensors would stay alive after
#    `del y, dy_dx`: a leak, one graph per gradient, that grows with every training
#    step. With `gc` on, Python's cycle collector finds the unreachable cycle and
#    frees it, but only at its next collection, which takes time in proportion to the
#    objects it scans, and memory piles up until then. A C++ port with
#    `std::shared_ptr` has no cycle collector: the graph would leak for good. To avoid
#    it, never point from an older object to a newer one: pass what the rule needs as
#    arguments (the library passes the output's value as `ans`), or hold the back
#    reference weakly (`weakref`, `std::weak_ptr`). Without cycles, as in the library,
#    every intermediate tensor is freed the moment the last reference to it goes.
# ### END SOLUTION

# %% [markdown]
# ## What this part showed
#
# * The chain rule sums over paths; walked one path at a time it costs time
#   exponential in the depth of a graph with shared subexpressions.
# * Memoizing the differentials by $(y, x)$ computes each one once and evaluates each
#   rule once per edge: backpropagation. The library's engine does exactly this, as a
#   loop over the topological order.
# * Walked as a recursion, the chain rule stops at Python's recursion limit, a
#   thousand levels; the engine's loop does not.
# * The graph and its derivative rules only ever point to older nodes, so reference
#   counting frees every intermediate tensor; a rule that pointed back at its own node
#   would make a cycle, which only a garbage collector frees.
