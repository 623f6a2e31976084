# ---
# jupyter:
#   jupytext:
#     formats: notebooks///ipynb,lectures///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Lecture 00 — Automatic differentiation
#
# Training a model means following derivatives downhill, so we need the derivatives of
# a loss with respect to every weight, exactly and cheaply. There are three ways to
# get them:
#
# * **by hand** (or by a computer algebra system): exact, but the expressions swell,
#   and every change to the model means deriving again;
# * **finite differences**, $\big(f(x + \varepsilon e_i) - f(x)\big)/\varepsilon$:
#   easy, but inexact, and one extra evaluation of $f$ *per weight*;
# * **automatic differentiation** (AD): run $f$, record the elementary operations it
#   performs, and apply the chain rule to that record. Exact up to rounding, and in
#   reverse mode the whole gradient costs a small multiple of one evaluation of $f$.
#
# This lecture shows how AD works, with `autodiff_lib`, the small library the course
# is built on. Every claim comes with a cell that shows it: run them, change them.
#
# 1. derivatives of tensors with respect to tensors; 2. the chain rule on Jacobians;
# 3. the computational graph; 4. forward against reverse accumulation;
# 5. vector-Jacobian products; 6. the differential cache; 7. constants;
# 8. higher derivatives and Newton's method; 9. checking against finite differences;
# 10. numerical stability.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

import autodiff_lib as ad
from autodiff_lib.plotting import plot_graph, plot_growth
from autodiff_lib.timing import best_time, machine  # the fastest of a few runs

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Derivatives of tensors with respect to tensors
#
# A `Tensor` is a numpy array that remembers how it was computed. For a tensor $y$ of
# shape $S_y$ that depends on a tensor $x$ of shape $S_x$, the derivative $dy/dx$
# holds one number for every pair (entry of $y$, entry of $x$):
#
# $$\Big(\frac{dy}{dx}\Big)_{i_1 \dots i_p,\; j_1 \dots j_q}
#   = \frac{\partial y_{i_1 \dots i_p}}{\partial x_{j_1 \dots j_q}},
#   \qquad \text{shape } S_y + S_x .$$
#
# A scalar's derivative has the shape of $x$ (the gradient); a vector's derivative
# with respect to a vector is the Jacobian matrix; and a matrix-vector product
# $y = Wx$ differentiated with respect to the *matrix* $W$ has three axes.
# `ad.diff(y, x)` computes exactly this.

# %% tags=["nbval-check-output"]
x = ad.Tensor([1.0, 2.0, 3.0])
W = ad.Tensor(np.arange(6.0).reshape(2, 3))

s = ad.sum(x ** 2)   # a scalar
v = ad.tanh(x)       # a vector of 3
y = W @ x            # a vector of 2

for name, out, wrt in [("ds/dx", s, x), ("dv/dx", v, x), ("dy/dx", y, x),
                       ("dy/dW", y, W)]:
    print(f"{name}: {out.shape} + {wrt.shape} -> {ad.diff(out, wrt).shape}")

# %% [markdown]
# Each entry means what the formula says. $y_i = \sum_k W_{ik} x_k$, so
# $\partial y_i / \partial x_k = W_{ik}$ (the Jacobian *is* $W$), and
# $\partial y_i / \partial W_{jk} = \delta_{ij}\, x_k$: row $i$ of $y$ depends only
# on row $i$ of $W$. The elementwise $\tanh$ has a diagonal Jacobian.

# %% tags=["nbval-check-output"]
print("dy/dx equals W:", np.array_equal(ad.diff(y, x).value, W.value))
print("dy/dW[0] (derivatives of y_0):\n", ad.diff(y, W).value[0])
print("dy/dW[1] (derivatives of y_1):\n", ad.diff(y, W).value[1])
print("dv/dx:\n", ad.diff(v, x).value)

# %% [markdown]
# On functions, `ad.grad(f)` (for a scalar $f$) and `ad.jacobian(f)` follow the same
# rule: plain arrays in, plain arrays out, of shape `f(x).shape + x.shape`.

# %% tags=["nbval-check-output"]
f = lambda x: ad.tanh(x) * x
x0 = np.array([0.5, -1.0])
print("jacobian:", ad.jacobian(f)(x0).shape)
print("gradient of the sum:", ad.grad(lambda x: ad.sum(f(x)))(x0))

# %% [markdown]
# ## 2. The chain rule on Jacobians
#
# If $z = g(Y)$ and $Y = h(x)$, then
#
# $$\frac{dz}{dx} = \frac{dz}{dY} \cdot \frac{dY}{dx}, \qquad
#   \Big(\frac{dz}{dx}\Big)_{i,k} = \sum_{j} \Big(\frac{dz}{dY}\Big)_{i,j}
#   \Big(\frac{dY}{dx}\Big)_{j,k},$$
#
# where $i$, $j$, $k$ are *multi-indices*: the sum runs over every axis of the
# intermediate $Y$. For vectors this is a matrix product; for tensors it is
# `np.tensordot(dz_dY, dY_dx, axes=Y.ndim)`. Here $Y$ is a matrix:

# %% tags=["nbval-check-output"]
x = ad.Tensor([0.5, -1.0, 2.0])
A = np.arange(6.0).reshape(2, 3) / 6
Y = ad.tanh(A * x)              # shape (2, 3), from x of shape (3,)
z = ad.sum(Y * Y, axis=1)       # shape (2,)

dz_dY = ad.diff(z, Y).value     # (2,) + (2, 3)
dY_dx = ad.diff(Y, x).value     # (2, 3) + (3,)
chained = np.tensordot(dz_dY, dY_dx, axes=Y.ndim)
print(dz_dY.shape, "·", dY_dx.shape, "->", chained.shape)
print("equals dz/dx:", np.allclose(chained, ad.diff(z, x).value))

# %% [markdown]
# A program is a long chain of such steps, $x \to Y_1 \to Y_2 \to \dots \to z$, so its
# derivative is a product of many Jacobians. *Which order* we multiply them in is the
# whole difference between forward and reverse mode (section 4), and *never forming
# them* is the trick that makes it fast (section 5).
#
# ## 3. The computational graph
#
# Every call of a primitive (`+`, `*`, `sin`, `tanh`, `sum`, `@`, ...) on a variable
# creates a node that records the primitive, its inputs, and for each input that is a
# variable the derivative rule to apply (`grad_inputs`). The nodes form a directed
# acyclic graph; `ad.topological_order(y)` lists the nodes `y` depends on, each after
# its inputs. Here is the classic example $y = x_1 x_2 + \sin x_1$:

# %% tags=["nbval-check-output"]
x1, x2 = ad.Tensor(2.0), ad.Tensor(3.0)
y = x1 * x2 + ad.sin(x1)

names = {id(x1): "x1", id(x2): "x2"}
order = ad.topological_order(y)
for k, node in enumerate(order):
    if node.primitive is None:
        what = names[id(node)]
    else:
        inputs = [names.get(id(a), f"node {order.index(a)}") for a in node.inputs]
        what = f"{node.primitive.name}({', '.join(inputs)})"
    print(f"node {k}: {what:<25} = {float(node.value):.4f}")

# %%
plot_graph(y, names={"$x_1$": x1, "$x_2$": x2})
plt.show()

# %% [markdown]
# The forward computation runs along the arrows, left to right. Differentiation runs
# against them: each arrow carries a differential backwards, and a node with two
# outgoing arrows ($x_1$ feeds both `multiply` and `sin`) receives the *sum* of what
# comes back along them. Each rule is one line of `autodiff_lib/engine/primitives.py`,
# written as data beside its primitive:

# %%
for primitive in [ad.multiply, ad.sin, ad.tanh]:
    print(inspect.getsource(primitive.primitive.vjps[0]).strip())

# %% tags=["nbval-check-output"]
print(f"dy/dx1 = {ad.diff(y, x1).value:.6f}   (x2 + cos x1 = {3 + np.cos(2.0):.6f})")
print(f"dy/dx2 = {ad.diff(y, x2).value:.6f}   (x1 = 2)")

# %% [markdown]
# ## 4. Forward against reverse accumulation
#
# The derivative of a chain $x \to Y_1 \to \dots \to Y_L = y$ is the product
# $J = J_L J_{L-1} \cdots J_1$ of the Jacobians of its steps. Two orders avoid
# multiplying matrices by matrices:
#
# * **forward mode** pushes a *tangent* $v$ (a direction in input space) from $x$
#   to $y$: $J v = J_L(\cdots(J_2 (J_1 v)))$. One sweep gives one **column** of $J$.
# * **reverse mode** pulls a *cotangent* $u$ (a weighting of the outputs) from $y$
#   back to $x$: $u^\top J = ((u^\top J_L) J_{L-1}) \cdots J_1$. One sweep gives one
#   **row** of $J$.
#
# A loss is a scalar of $n$ weights: $J$ is a single row of $n$ numbers. Reverse mode
# gets all of it in **one** sweep; forward mode needs **$n$** sweeps, one per weight.
# That is why training uses reverse mode (backpropagation).
#
# `autodiff_lib` implements reverse mode. To compare honestly, we write forward mode
# over the same recorded graph: a table of *Jacobian-vector products* (JVPs), one per
# argument of each primitive used below, the mirror image of the library's VJPs.

# %%
# tangent rules: the tangent t of one input -> its contribution to the output's
JVP = {
    "reshape":  (lambda t, ans, x, shape: np.reshape(t, shape),),
    "matmul":   (lambda t, ans, a, b: t @ b, lambda t, ans, a, b: a @ t),
    "multiply": (lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t),
    "tanh":     (lambda t, ans, x: t * (1 - ans * ans),),
    "subtract": (lambda t, ans, x, y: t, lambda t, ans, x, y: -t),
    "power":    (lambda t, ans, x, p: t * p * x ** (p - 1),),
    "mean":     (lambda t, ans, x, axis=None, keepdims=False:
                 np.mean(t, axis=axis, keepdims=keepdims),),
}


# %%
def jvp(y, x, v, counts):
    """Forward mode: J v, the tangent v of x pushed through y's graph."""
    tangents = {x.seq: v}
    for node in ad.topological_order(y):
        if node.primitive is None:
            continue
        total = 0.0
        for k, arg in enumerate(node.inputs):
            if isinstance(arg, ad.Tensor) and arg.seq in tangents:
                rule = JVP[node.primitive.name][k]
                total = total + rule(tangents[arg.seq], node.value,
                                     *node.input_values, **node.kwargs)
                counts["rules"] += 1
        tangents[node.seq] = total
    return tangents[y.seq]


# %% [markdown]
# The loss: a one-layer model on $m = 200$ samples with $n$ weights,
# $L(w) = \operatorname{mean}\big((\tanh(Xw) - t)^2\big)$. Its graph has 7 edges
# (the matrix-vector product reshapes $w$ into a column and back).

# %%
def loss(w, X, t):
    return ad.mean((ad.tanh(X @ w) - t) ** 2)

def problem(n, m=200):
    X = rng.normal(size=(m, n)) / np.sqrt(n)
    return rng.normal(size=n), X, rng.normal(size=m)

w0, X, t = problem(4)
w = ad.Tensor(w0)
plot_graph(loss(w, X, t), names={"w": w, "X": X, "t": t})
plt.show()


# %% [markdown]
# A full gradient by forward mode takes one sweep per standard basis vector $e_i$;
# by reverse mode, one call of `ad.grad`. Both give the same numbers; count the rules
# each evaluates:

# %% tags=["nbval-check-output"]
def forward_gradient(w0, X, t, counts):
    w = ad.Tensor(w0)
    y = loss(w, X, t)  # record the graph once
    return np.array([jvp(y, w, e, counts) for e in np.eye(len(w0))])

print(f"{'n':>5} {'forward rules':>14} {'reverse rules':>14}  same gradient")
for n in [1, 10, 100, 1000]:
    w0, X, t = problem(n)
    counts = {"rules": 0}
    g_forward = forward_gradient(w0, X, t, counts)
    with ad.count_operations() as ops:
        g_reverse = ad.grad(loss)(w0, X, t)
    print(f"{n:5d} {counts['rules']:14d} {ops.rule_evaluations:14d}  "
          f"{np.allclose(g_forward, g_reverse)}")

# %% [markdown]
# Forward mode evaluates $7n$ rules, reverse mode $7$, whatever $n$. The stopwatch
# agrees (the times stored below are from the machine the first line names; yours
# will differ, but the ratio grows like $n$ on any machine):

# %% tags=["nbval-ignore-output"]
print(machine())
sizes = [10, 30, 100, 300, 1000]
seconds = {"forward mode (n sweeps)": [], "reverse mode (1 sweep)": []}
for n in sizes:
    w0, X, t = problem(n)
    seconds["forward mode (n sweeps)"].append(
        best_time(lambda: forward_gradient(w0, X, t, {"rules": 0})))
    seconds["reverse mode (1 sweep)"].append(best_time(lambda: ad.grad(loss)(w0, X, t)))
for n, fwd, rev in zip(sizes, *seconds.values()):
    print(f"n = {n:4d}: forward {1e3 * fwd:7.2f} ms, reverse {1e3 * rev:5.2f} ms")
plot_growth(sizes, seconds, "number of weights n", "seconds for the full gradient",
            logx=True)
plt.show()

# %% [markdown]
# **When forward mode wins.** With *one* input and many outputs, $J$ is a single
# column: one forward sweep gives it, while reverse mode needs one sweep per output.
# Take $y = \tanh(s\,a)$ for a scalar $s$ and a vector $a$ of $m = 50$ entries:

# %% tags=["nbval-check-output"]
a = np.linspace(-1.0, 1.0, 50)
s = ad.Tensor(0.3)
y = ad.tanh(s * a)

counts = {"rules": 0}
column = jvp(y, s, 1.0, counts)  # dy/ds, all 50 entries, in one sweep
with ad.count_operations() as ops:
    rows = [ad.grad(lambda s: ad.tanh(s * a)[i])(0.3) for i in range(len(a))]
print("forward mode:", counts["rules"], "rules;  reverse mode, one row at a time:",
      ops.rule_evaluations, "rules")
print("same derivative:", np.allclose(column, rows))


# %% [markdown]
# (`ad.jacobian` does better than this loop: it sends all $m$ cotangents through
# *one* sweep as a batch. That saves the per-node overhead, not the arithmetic;
# lecture 10 measures it.)
#
# **Forward mode needs no tape.** Look again at `jvp` above: a node's tangent needs
# only its inputs' values and tangents, and both exist the moment the node is
# computed. So the tangent can be computed *alongside* the value, and both dropped
# as soon as nothing reads them: carry a pair (value, tangent) through the program
# (a *dual number*) and nothing of the past is kept. Reverse mode cannot do that: its
# sweep starts at the output, after the whole program has run, so every value a
# rule will need must be recorded first: the tape (our graph). A dual number fits in
# a few lines:

# %% tags=["nbval-check-output"]
class Dual:
    """A value and its tangent: each operation makes a new pair, none is kept."""
    def __init__(self, value, tangent):
        self.value, self.tangent = value, tangent
    def __add__(self, other):
        return Dual(self.value + other.value, self.tangent + other.tangent)
    def scaled(self, c):
        return Dual(c * self.value, c * self.tangent)
    def sin(self):
        return Dual(np.sin(self.value), np.cos(self.value) * self.tangent)

def step(x):  # x + 0.01 sin x, on a Dual or on a Tensor
    return x + (x.sin().scaled(0.01) if isinstance(x, Dual) else 0.01 * ad.sin(x))

z = Dual(0.5, 1.0)          # x = 0.5, seeded with dx/dx = 1
x = ad.Tensor(0.5)
y = x
for _ in range(1000):
    z = step(z)             # the previous pair is garbage now
    y = step(y)             # the previous node stays in the graph
print(f"d x_1000 / d x_0: dual numbers {z.tangent:.12f}, "
      f"reverse mode {ad.value_of(ad.diff(y, x)):.12f}")
print(f"kept: dual numbers 1 pair; reverse mode {len(ad.topological_order(y))} nodes")

# %% [markdown]
# The library's forward mode, `ad.jvp(f, x, v)`, returns $f(x)$ and $Jv$. It walks
# the recorded graph in the order the values were computed, with one table of
# tangent rules keyed by primitive (`autodiff_lib/engine/forward.py`, the mirror of the
# VJPs; a primitive without an entry gets one derived from its VJP, which is linear
# in the cotangent). It walks a graph rather than carrying pairs so that it can also
# run over a *recorded gradient*: that gives the Hessian-vector products of
# section 8.

# %% tags=["nbval-check-output"]
value, column = ad.jvp(lambda s: ad.tanh(s * a), 0.3, 1.0)
print("ad.jvp: the whole column in one sweep:", np.allclose(column, rows))

# %% [markdown]
# ## 5. Vector-Jacobian products instead of Jacobians
#
# Reverse mode never builds the Jacobian of a step: each rule computes
# $u^\top J_k$ directly. For the elementwise $\tanh$ of $n$ numbers, $J_k$ is an
# $n \times n$ diagonal matrix, $n^2$ floats, almost all zero; the rule
# `g * (1 - ans * ans)` needs $n$ multiplications and no matrix at all.

# %% tags=["nbval-check-output"]
n = 2000
x = rng.normal(size=n)
u = rng.normal(size=n)

J = ad.jacobian(ad.tanh)(x)                          # the full Jacobian
vjp = ad.grad(lambda x: ad.sum(u * ad.tanh(x)))(x)   # u^T J, by one reverse sweep
print(f"Jacobian: shape {J.shape}, {J.nbytes / 1e6:.0f} MB;  "
      f"vector-Jacobian product: shape {vjp.shape}, {vjp.nbytes / 1e3:.0f} kB")
print("u^T J equals the VJP:", np.allclose(u @ J, vjp))

# %% tags=["nbval-ignore-output"]
for label, run in [("Jacobian, then u^T J", lambda: u @ ad.jacobian(ad.tanh)(x)),
                   ("VJP", lambda: ad.grad(lambda x: ad.sum(u * ad.tanh(x)))(x))]:
    print(f"{label:<21} {1e3 * best_time(run):8.2f} ms")


# %% [markdown]
# ## 6. The differential cache
#
# The chain rule sums over *paths*: $dy/dx$ adds up, for every path from $x$ to $y$
# in the graph, the product of the local derivatives along it. When a value is used
# twice, paths multiply: in $x_{k+1} = \tanh(x_k)\cdot x_k$ each level reads $x_k$
# twice, so there are $2^k$ paths through $k$ levels.
#
# The textbook recursion ($dy/dx = \sum_c dy/dc \cdot \partial c/\partial x$, each
# $dy/dc$ computed afresh) walks every path. Backpropagation instead keeps, for each
# node, its differential $dy/d(\text{node})$ once it is complete: the **differential
# cache**. Then each rule runs once per edge. `ad.differential_cache(False)` switches
# the cache off, to count the difference (part 05 builds the cache yourself):

# %% tags=["nbval-check-output"]
def shared_chain(x, depth):
    for _ in range(depth):
        x = ad.tanh(x) * x
    return x

depths = list(range(1, 13))
counts = {"with the cache": [], "without (textbook recursion)": []}
for depth in depths:
    for label, enabled in [("with the cache", True),
                           ("without (textbook recursion)", False)]:
        with ad.differential_cache(enabled), ad.count_operations() as ops:
            ad.grad(shared_chain)(0.5, depth)
        counts[label].append(ops.rule_evaluations)
print("depth:   ", depths)
for label, values in counts.items():
    print(f"{label}: {values}")

# %%
plot_growth(depths, counts, "depth k", "rule evaluations")
plt.show()

# %% [markdown]
# $3k$ against $3(2^k - 1)$: linear against exponential (on a log scale, exponential
# growth is a straight line).
#
# Where does the blow-up come from in a network? Not from a layer's matrix product:
# each activation does feed every unit of the next layer, but all of that happens
# *inside* one `matmul` node, whose rule handles it at once. In a plain stack of
# layers $z \leftarrow \tanh(z W_i)$ every node is read exactly once, so there is one
# path to each node and the cache saves nothing. Paths multiply where a **value is
# reused**: a residual connection $z \leftarrow z + \tanh(z W_i)$ reads $z$ twice,
# and twelve such blocks make $2^{12}$ paths:

# %% tags=["nbval-check-output"]
weights = [rng.normal(size=(4, 4)) / 2 for _ in range(12)]  # 12 layers
batch = rng.normal(size=(3, 4))

def plain_mlp(Ws, x):
    for W in Ws:
        x = ad.tanh(x @ W)
    return ad.sum(x)

def residual_net(Ws, x):
    for W in Ws:
        x = x + ad.tanh(x @ W)
    return ad.sum(x)

print(f"{'12 layers':<14} {'with the cache':>15} {'without':>9}")
for net in [plain_mlp, residual_net]:
    rules = []
    for enabled in [True, False]:
        with ad.differential_cache(enabled), ad.count_operations() as ops:
            ad.grad(net)(weights, batch)  # w.r.t. all 12 weight matrices
        rules.append(ops.rule_evaluations)
    print(f"{net.__name__:<14} {rules[0]:15d} {rules[1]:9d}")

# %% [markdown]
# The cache is what makes residual networks (and anything else that reuses a value:
# attention reads its input three times, a recurrent network its weights at every
# step) trainable by reverse mode.
#
# *Standard names.* What this course calls the **differential** of a node, $dy/dv$
# flowing backwards, is its **adjoint** $\bar v$ (in the AD literature, Griewank and
# Walther) or its **cotangent** (JAX's word: `jax.vjp` pulls cotangents back).
# The **differential cache** is **adjoint accumulation**: the memoization of partial
# adjoints, each node's adjoint summed over its consumers before it is used, which is
# what every reverse-mode implementation does (PyTorch's `InputBuffer`, HIPS autograd's
# `outgrads` dictionary, needle's `node_to_output_grads_list`).
#
# ## 7. Constants
#
# Data are constant with respect to the weights. A plain numpy array (or
# `ad.constant(a)`) is a constant: operations on constants alone record no node, and
# no rule runs along a path that reaches only constants. Wrapping the data as a
# variable instead makes the engine compute $dL/dX$ too, which nobody asked for:

# %% tags=["nbval-check-output"]
w0, X, t = problem(100)
w = ad.Tensor(w0)
for label, data in [("X a constant (plain array)", X),
                    ("X a variable (ad.Tensor)", ad.Tensor(X))]:
    with ad.count_operations() as ops:
        ad.diff(loss(w, data, t), w)
    print(f"{label:<27} {ops.rule_evaluations} rules, "
          f"{ops.nodes_visited} nodes visited")

# %% [markdown]
# In the picture of section 4, $X$ and $t$ are grey: constants, with dotted arrows
# along which no rule runs. (Part 04 measures what this saves on real data.)
#
# ## 8. Higher derivatives: the Hessian for Newton's method
#
# The rules are written with the library's own functions (`g * cos(x)`, not
# `np.cos`), so when the sweep runs on Tensors it records a graph of its own, and
# `ad.diff(ad.diff(y, x), x)` differentiates the derivative. `ad.hessian(f)` is
# `jacobian(jacobian(f))`. For $f(x) = \tfrac14 \sum_i x_i^4 + x_0 x_1$ the Hessian
# is $\operatorname{diag}(3x_i^2)$ plus ones off the diagonal:

# %% tags=["nbval-check-output"]
f = lambda x: ad.sum(x ** 4) / 4 + x[0] * x[1]
x0 = np.array([1.0, 2.0])
print("Hessian by autodiff:\n", ad.hessian(f)(x0))
print("by hand:\n", np.diag(3 * x0 ** 2) + np.array([[0, 1], [1, 0]]))

x = ad.Tensor(0.7)
third = ad.diff(ad.diff(ad.diff(ad.sin(x), x), x), x)
print(f"third derivative of sin at 0.7: {third.value:.6f}  "
      f"(-cos 0.7 = {-np.cos(0.7):.6f})")

# %% [markdown]
# Newton's method uses the Hessian: solve $H(x)\,p = -\nabla f(x)$ and step to
# $x + p$. On $f(x) = \sum_i (e^{x_i} - 2x_i)$, minimized at $x_i = \ln 2$, the number
# of correct digits doubles with every step (quadratic convergence):

# %% tags=["nbval-check-output"]
f = lambda x: ad.sum(ad.exp(x) - 2 * x)
x = np.array([1.5, 0.0])
for step in range(5):
    print(f"step {step}: error {np.abs(x - np.log(2)).max():.1e}")
    x = x + np.linalg.solve(ad.hessian(f)(x), -ad.grad(f)(x))
print("step 5: error below 1e-12:", np.abs(x - np.log(2)).max() < 1e-12)

# %% [markdown]
# (`ad.newton` does this with a stopping rule; part 01 compares it with gradient
# descent.)
#
# **Hessian-vector products, forward-over-reverse.** The Hessian of $n$ weights has
# $n^2$ entries and costs $n$ cotangents. Iterative solvers such as conjugate
# gradients never need it, only products $Hv$. Record the gradient as a graph
# (`ad.diff(f(x), x)`, as for the Hessian) and push the tangent $v$ *forward*
# through it: $Hv = \frac{d}{d\varepsilon} \nabla f(x + \varepsilon v)$, one forward
# sweep over a graph about twice the size of $f$'s. `ad.hvp(f, x, v)` does that
# (JAX: `jax.jvp(jax.grad(f), (x,), (v,))`):

# %% tags=["nbval-check-output"]
n = 300
M = rng.normal(size=(n, n)) / np.sqrt(n)
f = lambda x: ad.sum(ad.tanh(M @ x) ** 2) + ad.sum(x ** 2) / 2
x0, v = rng.normal(size=(2, n))
print("H v equals the Hessian times v:",
      np.allclose(ad.hvp(f, x0, v), ad.hessian(f)(x0) @ v))
print(f"floats: the Hessian {n * n}, a Hessian-vector product {n}")

# %% tags=["nbval-ignore-output"]
print(machine())
for label, run in [("ad.hessian(f)(x) @ v", lambda: ad.hessian(f)(x0) @ v),
                   ("ad.hvp(f, x, v)", lambda: ad.hvp(f, x0, v))]:
    print(f"{label:<21} {1e3 * best_time(run):7.1f} ms")


# %% [markdown]
# A Newton step solves $H p = -\nabla f$. Conjugate gradients solve it with
# products $Hv$ alone, when $H$ is positive definite, often in far fewer than $n$ of
# them: **Newton-CG**. With $f(x) = \sum_i \log\cosh\,(Mx)_i + \tfrac12 |x|^2$, whose
# Hessian $M^\top \operatorname{diag}(1 - \tanh^2(Mx))\, M + I$ is positive
# definite (part 02 can compare it with its own Newton step):

# %% tags=["nbval-check-output"]
def conjugate_gradient(product, b, rtol=1e-10):
    """Solve A p = b for positive definite A, given only p -> A p."""
    p, r = np.zeros_like(b), b.copy()
    direction, rr = r.copy(), r @ r
    for k in range(1, len(b) + 1):
        Ad = product(direction)
        alpha = rr / (direction @ Ad)
        p, r = p + alpha * direction, r - alpha * Ad
        if np.sqrt(r @ r) <= rtol * np.sqrt(b @ b):
            return p, k
        direction, rr = r + (r @ r) / rr * direction, r @ r
    return p, len(b)

f = lambda x: ad.sum(ad.logcosh(M @ x)) + ad.sum(x ** 2) / 2
gradient = ad.grad(f)(x0)
newton_cg, products = conjugate_gradient(lambda d: ad.hvp(f, x0, d), -gradient)
newton = np.linalg.solve(ad.hessian(f)(x0), -gradient)
print(f"Newton-CG: under 30 Hessian-vector products for n = {n}: {products < 30};"
      f" the same step as with the Hessian: {np.allclose(newton_cg, newton)}")

# %%
print(products, "Hessian-vector products")  # the count may differ by one elsewhere

# %% [markdown]
# ## 9. Checking a gradient against finite differences
#
# A new derivative rule should be checked. The central difference
#
# $$\frac{f(x + \varepsilon v) - f(x - \varepsilon v)}{2\varepsilon}
#   = \nabla f(x) \cdot v + O(\varepsilon^2)$$
#
# approximates the directional derivative, but rounding adds an error of order
# $\delta / \varepsilon$ ($\delta \approx 10^{-16}$, the precision of a float): too
# large an $\varepsilon$ and the Taylor remainder dominates, too small and rounding
# does. The best $\varepsilon$ lies in between, near $\delta^{1/3} \approx 10^{-5}$:

# %%
f = lambda x: ad.sum(ad.sin(x) * ad.exp(x))
x0, v = rng.normal(size=5), rng.normal(size=5)
exact = ad.grad(f)(x0) @ v
epsilons = np.logspace(-1, -13, 25)
errors = [abs((float(f(x0 + e * v)) - float(f(x0 - e * v))) / (2 * e) - exact)
          for e in epsilons]
fig, ax = plt.subplots(figsize=(5.5, 4))
ax.loglog(epsilons, errors, "o-", markersize=4)
ax.set_xlabel(r"$\varepsilon$")
ax.set_ylabel("error of the central difference")
ax.grid(True, alpha=0.3)
plt.show()

# %% [markdown]
# `ad.check_grad(f, x, order)` compares reverse mode with central differences in a
# few random directions, for the derivatives up to `order`, and raises
# `GradientCheckError` if they disagree. Below, a new primitive, `softplus`
# $= \log(1 + e^x)$, is registered twice: once with its correct rule, once with a
# mistake. Its derivative is the logistic function $\sigma(x) = 1 - e^{-\text{ans}}$
# (with $\text{ans} = \text{softplus}(x)$), but *written* that way it loses every
# digit for negative $x$: there $\text{ans} \approx e^x$ is tiny, $e^{-\text{ans}}$
# rounds to a number within $10^{-16}$ of 1, and the subtraction cancels. The same
# number written as $-\operatorname{expm1}(-\text{ans})$ (`expm1`$(u) = e^u - 1$,
# computed without forming $e^u$) keeps full precision:

# %% tags=["nbval-check-output"]
sigmoid = lambda x: 1 / (1 + np.exp(-x))
print(f"{'x':>5} {'rel. error of 1 - exp(-ans)':>28} {'of -expm1(-ans)':>16}")
for x in [-20.0, -30.0, -35.0, -37.0, -40.0]:
    ans = np.logaddexp(0.0, x)
    cancelled, kept = 1 - np.exp(-ans), -np.expm1(-ans)
    print(f"{x:5.0f} {abs(cancelled / sigmoid(x) - 1):28.2e} "
          f"{abs(kept / sigmoid(x) - 1):16.2e}")

# %% [markdown]
# (At $x = -40$ the first form returns exactly 0, a relative error of 1.) The rule
# is written with the library's `expm1`, so it is differentiable again:

# %% tags=["nbval-check-output"]
softplus = ad.primitive(lambda x: np.logaddexp(0.0, x), "softplus")
ad.defvjp(softplus, lambda g, ans, x: g * -ad.expm1(-ans))

wrong = ad.primitive(lambda x: np.logaddexp(0.0, x), "softplus_wrong")
ad.defvjp(wrong, lambda g, ans, x: g * ad.exp(-ans))  # 1 - ... forgotten

x0 = rng.normal(size=4)
report = ad.check_grad(lambda x: ad.sum(softplus(x) ** 2), x0, order=2)
print(f"softplus: first and second derivatives agree "
      f"(largest relative error below 1e-6: {report.max_rel_error < 1e-6})")
try:
    ad.check_grad(lambda x: ad.sum(wrong(x) ** 2), x0)
except ad.GradientCheckError as error:
    print("softplus_wrong:", type(error).__name__, "raised")

# %% [markdown]
# ## 10. Numerical stability
#
# A formula can be right on paper and wrong in floating point, and so can its
# derivative. Four cases every AD user meets, and what the library gives for each
# (`autodiff_lib/engine/stable.py`, and `log1p`/`expm1` among the primitives).
#
# **log-sum-exp and softmax.** $\log \sum_i e^{x_i}$ overflows as soon as some
# $x_i > 709$ ($e^{710}$ is infinite in float64). Shifting by the largest entry $m$
# changes nothing on paper, $m + \log \sum_i e^{x_i - m}$, but now every exponent
# is at most 0 and the largest term is exactly 1. `ad.logsumexp` is a primitive
# computed that way, with the rule $\partial/\partial x_i = e^{x_i - \text{ans}}$,
# the softmax, stable for the same reason; `ad.softmax(x)` is
# `exp(x - logsumexp(x))`:

# %% tags=["nbval-check-output"]
x = np.array([1000.0, 999.0, 0.0])
with np.errstate(over="ignore", invalid="ignore"):
    naive_lse = np.log(np.sum(np.exp(x)))
    naive_softmax = np.exp(x) / np.sum(np.exp(x))
print("log sum exp:  naive", naive_lse, "  stable", ad.logsumexp(x))
print("softmax:      naive", naive_softmax, "  stable", ad.softmax(x))
print("its gradient:", ad.grad(ad.logsumexp)(x))

# %% [markdown]
# **log1p and expm1.** Near 0, $\log(1 + u)$ and $e^u - 1$ cancel: $1 + u$ rounds
# $u$ to 16 digits *of 1*, not of $u$. `ad.log1p(u)` and `ad.expm1(u)` compute them
# directly (section 9's softplus rule needed `expm1`).
#
# **log cosh.** Part 02's landscape is built from $\log\cosh x$. Written so, it
# fails at both ends: for $|x| > 710$, $\cosh x$ is infinite and the gradient
# $\sinh x / \cosh x$ is $\infty/\infty$ = NaN; for tiny $|x|$, $\cosh x$ rounds to
# 1 and the value to 0, which is what stalls a minimization below a tolerance of about
# $10^{-7}$. `ad.logcosh` is a primitive computed as
# $\operatorname{log1p}(2\sinh^2(x/2))$ (no cancellation: $\cosh x - 1 =
# 2\sinh^2(x/2)$), or $|x| - \log 2 + \operatorname{log1p}(e^{-2|x|})$ for large
# $|x|$, with the closed-form rule $g \tanh x$:

# %% tags=["nbval-check-output"]
xs = np.array([1e-9, 1e-4, 3.0, 800.0])
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.log(np.cosh(xs))
    naive_grad = ad.grad(lambda x: ad.sum(ad.log(ad.cosh(x))))(xs)
stable, stable_grad = ad.logcosh(xs), ad.grad(lambda x: ad.sum(ad.logcosh(x)))(xs)
print(f"{'x':>6} {'log(cosh(x))':>17} {'ad.logcosh':>17} {'x²/2 - x⁴/12':>17}"
      f" {'its gradient':>12} {'ad.logcosh':>11}")
for row in zip(xs, naive, stable, naive_grad, stable_grad):
    x = row[0]
    series = f"{x ** 2 / 2 - x ** 4 / 12:17.10g}" if x < 1 else ""
    print("{:6.0e} {:17.10g} {:17.10g} {:>17} {:12.4g} {:11.4g}".format(
        x, row[1], row[2], series, *row[3:]))

# %% [markdown]
# **NaN through `where`.** Entropy terms $p \log p$ are 0 at $p = 0$, so one writes
# `where(p > 0, p * log(p), 0)`. The value is right. The gradient is NaN: the
# backward sweep runs through *both* branches, `where` sends the zero cotangent
# $g = 0$ into the unused one, and there `log`'s rule computes $g / p = 0 / 0$. Zero
# times infinity is NaN, not zero, and one NaN poisons every sum it enters. The fix
# is a second `where` on the *input*, so that the unused branch never sees a bad
# value (JAX's FAQ calls this the double-`where` trick; PyTorch and autograd behave
# alike):

# %% tags=["nbval-check-output"]
p = np.array([0.0, 0.25, 0.75])

def entropy_naive(p):
    return -ad.sum(ad.where(p > 0, p * ad.log(p), 0.0))

def entropy_safe(p):
    safe = ad.where(p > 0, p, 1.0)          # log never sees a zero
    return -ad.sum(ad.where(p > 0, p * ad.log(safe), 0.0))

with np.errstate(divide="ignore", invalid="ignore"):
    print("value:   naive", entropy_naive(p), "  safe", entropy_safe(p))
    print("gradient naive:", ad.grad(entropy_naive)(p))
print("gradient safe: ", ad.grad(entropy_safe)(p))

# %% [markdown]
# **A primitive with its own rule, in three libraries.** `ad.logcosh` is a
# primitive with a hand-written rule because the rule the chain rule would derive
# from its stable formula is longer and no more accurate than $g \tanh x$. The
# same step in the libraries this course compares itself with:
#
# ```python
# # autodiff_lib (and HIPS autograd: @primitive, then defvjp, the same shape)
# logcosh = ad.primitive(stable_logcosh, "logcosh")
# ad.defvjp(logcosh, lambda g, ans, x: g * ad.tanh(x))
#
# # JAX
# @jax.custom_vjp
# def logcosh(x):
#     return stable_logcosh(x)
# def logcosh_fwd(x):                  # the value, and what the rule needs
#     return stable_logcosh(x), x
# def logcosh_bwd(x, g):               # a tuple: one cotangent per input
#     return (g * jnp.tanh(x),)
# logcosh.defvjp(logcosh_fwd, logcosh_bwd)
#
# # PyTorch
# class LogCosh(torch.autograd.Function):
#     @staticmethod
#     def forward(ctx, x):
#         ctx.save_for_backward(x)     # what backward needs: our rule's arguments
#         return stable_logcosh(x)
#     @staticmethod
#     def backward(ctx, g):
#         (x,) = ctx.saved_tensors
#         return g * torch.tanh(x)
# logcosh = LogCosh.apply
# ```
#
# What differs is what the rule may see: our rules (and autograd's) receive the
# output and every input; JAX's `fwd` chooses the *residuals* explicitly, and
# PyTorch's `ctx.save_for_backward` does the same. JAX's rule must be written with
# `jnp` to differentiate again (as ours with `ad.`); PyTorch's `backward` is
# differentiable again when it uses differentiable torch operations (and
# `torch.autograd.gradcheck` with `gradgradcheck` checks both orders, as our
# `check_grad(..., order=2)`). JAX also has `jax.custom_jvp`, a forward-mode rule
# from which it derives reverse mode, often the better choice there.
#
# ## What this lecture showed
#
# * $dy/dx$ has shape $S_y + S_x$; the chain rule contracts over every axis of the
#   intermediate tensor.
# * A program's operations form a graph; its derivative is a product of the
#   Jacobians along it.
# * Forward mode pushes tangents (a column of $J$ per sweep), reverse mode pulls
#   cotangents (a row per sweep): for a scalar loss of $n$ weights, $n$ sweeps
#   against one.
# * Rules are vector-Jacobian products: no Jacobian of a step is ever formed.
# * The differential cache makes the cost one rule per edge instead of one per path.
# * Constants prune the graph; rules written with the library's functions give
#   Hessians for Newton's method; finite differences check it all.
# * Forward mode needs no tape; forward over reverse gives Hessian-vector products.
# * Stable formulas (logsumexp, log1p, expm1, logcosh) and a second `where` keep
#   values and gradients finite.
#
# Next: part 01, Newton's method against gradient descent. Lecture 10 goes through
# what real frameworks do beyond this; lecture 11 what a C++ port needs.
