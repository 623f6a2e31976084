# ---
# jupyter:
#   jupytext:
#     formats: notebooks///ipynb,lectures///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Lecture 10 — Further optimizations
#
# `autodiff_lib` is a toy on purpose: every primitive is one numpy call made from
# Python, every result becomes a node of a graph kept in Python objects, and the
# backward sweep walks that graph one rule at a time. Frameworks used in practice
# keep the same idea (a graph of primitives, vector-Jacobian products, the
# differential cache, known elsewhere as adjoint accumulation) and then work hard to
# make it fast. This lecture goes through what they do, measures each idea on a small
# experiment with our library where one fits, and says where PyTorch, JAX and HIPS
# autograd (the library `autodiff_lib` resembles most) do it:
#
# 1. where the time goes; 2. operator fusion; 3. graph rewriting: common
# subexpressions and constant folding; 4. just-in-time compilation; 5. memory reuse
# and checkpointing; 6. batching cotangents for Jacobians and Hessians; 7. GPUs.
#
# Times depend on your machine and change from run to run; operation counts and
# memory peaks do not. Every timing takes the fastest of a few runs. The times stored
# in this notebook come from the machine named above the first table of them.

# %%
import os

# One thread for BLAS, set before numpy loads: timings of one core, not of a race.
for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")

import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

import autodiff_lib as ad
from autodiff_lib.plotting import plot_growth
from autodiff_lib.timing import best_time, machine  # the fastest of a few runs

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Where the time goes
#
# One elementwise operation costs a fixed **overhead** (Python calls the function,
# numpy checks types and shapes, allocates the result) plus a time **per element**.
# For small arrays the overhead is everything; for large ones the arithmetic and the
# traffic to memory are. The library adds its own overhead per node (a Tensor, the
# graph bookkeeping) on top of numpy's:

# %% tags=["nbval-ignore-output"]
print(machine())
print(f"{'elements':>9} {'np.tanh':>10} {'ad.tanh':>10}   (microseconds per call)")
for n in [1, 100, 10_000, 1_000_000]:
    x = rng.normal(size=n)
    x_var = ad.Tensor(x)
    numpy_time = best_time(lambda: np.tanh(x), 20)
    library_time = best_time(lambda: ad.tanh(x_var), 20)
    print(f"{n:9d} {1e6 * numpy_time:10.2f} {1e6 * library_time:10.2f}")

# %% [markdown]
# A model built from many small operations is dominated by overhead: the remedies are
# fewer, bigger operations (fusion, section 2), no Python in the loop (compilation,
# section 4) and batching (section 6). A model built from few large operations is
# dominated by arithmetic and memory traffic: the remedies are fewer passes over
# memory (fusion again), less memory (section 5) and more hardware (section 7).
#
# ## 2. Operator fusion
#
# $\tanh(a x + b)$ is three primitives: three nodes, three temporary arrays, three
# passes over memory forward and more backward. A **fused** primitive computes it in
# one call and has one closed-form rule: $\frac{d}{dx}\tanh(ax + b) = a\,(1 -
# \tanh^2)$. Part 04 does this by hand for a matrix-vector product; here is the
# elementwise case:

# %% tags=["nbval-check-output"]
affine_tanh = ad.primitive(lambda a, x, b: np.tanh(a * x + b), "affine_tanh")
ad.defvjp(affine_tanh, None, lambda g, ans, a, x, b: g * a * (1 - ans * ans))

def unfused(x, a, b):
    return ad.sum(ad.tanh(a * x + b))

def fused(x, a, b):
    return ad.sum(affine_tanh(a, x, b))

x, a, b = rng.normal(size=(3, 1000))
for f in [unfused, fused]:
    with ad.count_operations() as ops:
        g = ad.grad(f)(x, a, b)
    nodes = len(ad.topological_order(f(ad.Tensor(x), a, b)))
    print(f"{f.__name__:<8} {nodes} nodes, {ops.rule_evaluations} rule evaluations")
print("same gradient:", np.allclose(ad.grad(unfused)(x, a, b), ad.grad(fused)(x, a, b)))

# %% tags=["nbval-ignore-output"]
for n in [10, 1_000_000]:
    x, a, b = rng.normal(size=(3, n))
    times = [best_time(lambda f=f: ad.grad(f)(x, a, b)) for f in (unfused, fused)]
    print(f"n = {n:>9}: unfused {1e3 * times[0]:8.3f} ms, "
          f"fused {1e3 * times[1]:8.3f} ms  ({times[0] / times[1]:.1f}x)")


# %% [markdown]
# Fewer nodes save overhead, which is what counts on small arrays. On large arrays
# the gain disappears: our fused forward still makes numpy's temporaries (`a * x`,
# then `+ b`, then `tanh`, each a full pass over memory: numpy cannot fuse loops), so
# the work per element stays the same. A compiler goes further: it generates **one
# loop** that reads $a, x, b$ once and writes the result once.
#
# *Where.* **JAX**: `jax.jit` hands the whole function to XLA, whose fusion pass
# merges elementwise operations and reductions into single kernels. **PyTorch**:
# `torch.compile` (TorchInductor) generates fused Triton (GPU) or C++ (CPU) kernels;
# eager PyTorch ships hand-fused operators instead (`scaled_dot_product_attention`,
# fused optimizers such as `Adam(fused=True)`). **autograd**: none; every primitive is
# one numpy call, and the only fusion is a bigger primitive written by hand, as here.
#
# ## 3. Graph rewriting: common subexpressions and constant folding
#
# A compiler that sees the whole graph before running it can rewrite it. **Common
# subexpression elimination** (CSE) merges nodes that apply the same primitive to
# the same inputs. A naive softmax, $e^x / \sum e^x$, computes $e^x$ twice; this pass
# finds such repeats in a recorded graph:

# %%
def repeated_nodes(y):
    """How many nodes of y's graph repeat an earlier node: same primitive, inputs
    and keyword arguments (inputs already found repeated count as the original)."""
    first, same_as = {}, {}
    for node in ad.topological_order(y):
        if node.primitive is None:
            continue
        inputs = tuple(id(same_as.get(id(a), a)) for a in node.inputs)
        key = (node.primitive.name, inputs, repr(node.kwargs))
        if key in first:
            same_as[id(node)] = first[key]
        else:
            first[key] = node
    return len(same_as)

def softmax_naive(x):
    return ad.exp(x) / ad.sum(ad.exp(x))

def softmax_shared(x):  # rewritten: e^x once
    e = ad.exp(x)
    return e / ad.sum(e)


# %% tags=["nbval-check-output"]
u = rng.normal(size=1000)
x0 = rng.normal(size=1000)
for softmax in [softmax_naive, softmax_shared]:
    x = ad.Tensor(x0)
    with ad.count_operations() as ops:
        ad.diff(ad.sum(softmax(x) * u), x)
    print(f"{softmax.__name__:<15} repeated nodes: "
          f"{repeated_nodes(softmax(ad.Tensor(x0)))}, "
          f"rule evaluations: {ops.rule_evaluations}")

# %% [markdown]
# Our graph is built while the program runs, so by the time a pass could find the
# repeat, both copies are computed; a tracing compiler (section 4) rewrites the
# graph *before* running it.
#
# **Constant folding** evaluates, once, whatever depends on constants only. A
# kernel matrix $K = e^{-D^2/2}$ of constant data $D$, written inside the loss, is
# recomputed on every call. Our library already leaves constants out of the
# backward sweep (operations on constants record no node), but not out of the
# forward computation:

# %% tags=["nbval-ignore-output"]
D = rng.normal(size=(300, 300))

def loss_recomputing(w):
    K = ad.exp(-ad.constant(D) ** 2 / 2)  # constants only: no node, no rule
    return ad.sum(ad.tanh(K @ w) ** 2)

K = np.exp(-D ** 2 / 2)                   # folded by hand: computed once

def loss_folded(w):
    return ad.sum(ad.tanh(K @ w) ** 2)

w0 = rng.normal(size=300)
for loss in [loss_recomputing, loss_folded]:
    with ad.count_operations() as ops:
        ad.grad(loss)(w0)
    print(f"{loss.__name__:<17} {ops.rule_evaluations} rule evaluations, "
          f"{1e3 * best_time(lambda: ad.grad(loss)(w0)):.3f} ms per gradient")


# %% [markdown]
# Same rules, different times: the difference is the recomputed constant.
#
# *Where.* **JAX**: under `jax.jit` XLA's simplification passes fold constants,
# eliminate common subexpressions and simplify algebra (`x * 1`, transposes of
# transposes) before generating code. **PyTorch**: `torch.compile` runs such passes
# on its FX graph (the Inductor backend also folds constants and, with
# `torch._inductor.config.freezing`, the frozen parameters of an inference model);
# a graph captured ahead of time with `torch.export` is rewritten by the same kind of
# passes. (TorchScript's `torch.jit.freeze` did this for scripted models; TorchScript
# is deprecated in favour of `torch.export`.) **autograd**: none; it runs the Python
# program as written, so CSE and folding are the programmer's job (as in
# `softmax_shared`).
#
# ## 4. Just-in-time compilation
#
# A **tracing** JIT runs the function once on stand-in inputs, records the graph, and
# turns it into a program that it can optimize (sections 2 and 3) and run again on
# new inputs of the same shape, without re-running the Python code. Our library
# already records the graph; here it becomes a straight-line program of plain numpy
# calls, forward and backward, with no Tensors and no graph bookkeeping:

# %%
def trace(f, x_example):
    """Run f once on a variable; its graph as a list of instructions. Each is
    (forward, sources, kwargs, rules): a source is ("slot", k), the value of
    instruction k (0 is the input), or ("constant", value)."""
    x = ad.Tensor(x_example)
    order = ad.topological_order(f(x))
    assert order[0] is x, "f may depend on no other variable"
    slot = {node.seq: k for k, node in enumerate(order)}

    def source(a):
        if isinstance(a, ad.Tensor) and a.seq in slot:
            return ("slot", slot[a.seq])
        return ("constant", ad.value_of(a))

    return [(node.primitive.forward, [source(a) for a in node.inputs], node.kwargs,
             [(rule, slot[p.seq]) for rule, p in node.grad_inputs])
            for node in order[1:]]


# %%
def replay(program, x):
    """The traced function's value and gradient at x: numpy calls, in order."""
    values = [x]
    for forward, sources, kwargs, _ in program:
        args = [values[k] if kind == "slot" else k for kind, k in sources]
        values.append(forward(*args, **kwargs))
    grads = [None] * len(values)
    grads[-1] = np.ones(())
    for k in range(len(program), 0, -1):  # backward, last instruction first
        _, sources, kwargs, rules = program[k - 1]
        args = [values[j] if kind == "slot" else j for kind, j in sources]
        for rule, parent in rules:
            g = ad.unbroadcast(rule(grads[k], values[k], *args, **kwargs),
                               np.shape(values[parent]))
            grads[parent] = g if grads[parent] is None else grads[parent] + g
    return values[-1], grads[0]


# %% [markdown]
# A small network's loss as a function of its flattened weights, traced once, then
# replayed at new weights:

# %% tags=["nbval-check-output"]
X, t = rng.normal(size=(32, 8)), rng.normal(size=32)
W2 = rng.normal(size=16) / 4

def network_loss(v):
    W1 = ad.reshape(v, (8, 16))
    return ad.mean((ad.tanh(X @ W1) @ W2 - t) ** 2)

program = trace(network_loss, rng.normal(size=128))
v = rng.normal(size=128)
value, gradient = replay(program, v)
expected_value, expected_gradient = ad.value_and_grad(network_loss)(v)
print(len(program), "instructions; same value and gradient:",
      np.isclose(value, expected_value) and np.allclose(gradient, expected_gradient))

# %% tags=["nbval-ignore-output"]
library_time = best_time(lambda: ad.value_and_grad(network_loss)(v), 50)
replay_time = best_time(lambda: replay(program, v), 50)
print(f"ad.value_and_grad: {1e6 * library_time:.1f} us;  "
      f"replay: {1e6 * replay_time:.1f} us")


# %% [markdown]
# The replay saves only the graph bookkeeping, a modest fraction: most of the time
# is in the numpy calls themselves, each with its own overhead. A real JIT compiler
# goes on from the traced program: it fuses the calls into a few loops, plans the
# memory, and emits machine code, so no Python runs at all.
#
# **The catch of tracing.** A trace records one path through the program. A branch
# that depends on a *value* is frozen at the value seen while tracing:

# %% tags=["nbval-check-output"]
def branchy(x):
    return ad.sum(x * x) if ad.sum(x) > 0 else ad.sum(-x)

program = trace(branchy, np.ones(3))  # traced where sum(x) > 0
x_negative = -np.ones(3)
print("replayed trace:", replay(program, x_negative)[1])
print("the program:   ", ad.grad(branchy)(x_negative))


# %% [markdown]
# *Where.* **JAX**: `jax.jit` traces with abstract values, so a Python `if` on a
# traced value raises an error instead of freezing silently; branches are written
# with `jax.lax.cond`, loops with `jax.lax.scan`; a new input shape or a new value of
# an argument marked static compiles again. **PyTorch**: `torch.compile`
# (TorchDynamo) captures Python bytecode, not a trace: it records **guards**, the
# assumptions the graph was built on (input shapes, dtypes, devices, the values of
# Python constants and globals it read), checks them on every call, and
# **recompiles** when one fails (after a few recompilations it marks the dimension
# dynamic, or gives up and runs eagerly). Where the code branches on the *data* of a
# tensor (`if x.sum() > 0`) it cannot know the branch while tracing: it ends the
# graph there (a **graph break**), runs that Python eagerly, and starts a new graph
# after it (`torch._dynamo.explain` lists the breaks; `fullgraph=True` makes them an
# error). `torch.export` captures one whole graph ahead of time for deployment, with
# data-dependent branches written as `torch.cond`. The older `torch.jit.trace`
# froze branches silently like our trace (with a `TracerWarning`); TorchScript
# (`torch.jit.trace`, `torch.jit.script`, `torch.jit.freeze`) is deprecated in favour
# of `torch.compile` and `torch.export`. **autograd**: none; it re-runs the Python
# function on every call, which is why it is always right and never fast.
#
# ## 5. Memory: reuse, and checkpointing
#
# **Reuse.** In plain numpy, `z = np.tanh(z)` frees the old array as soon as its
# last reference goes, and the allocator hands that memory to the next result: a
# chain of 20 operations on 8 MB arrays peaks at two arrays. Reverse mode cannot do
# that: the rules need the intermediate values, so the graph keeps all of them until
# the backward sweep is done. `tracemalloc` measures the peak (numpy reports its
# arrays to it):

# %% tags=["nbval-ignore-output"]
def peak_megabytes(run):
    """The most memory Python and numpy held at once while run() ran."""
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6

def numpy_chain(z):
    for _ in range(20):
        z = np.tanh(z)
    return z

def recorded_chain(z):
    for _ in range(20):
        z = ad.tanh(z)
    return ad.sum(z)

z0 = rng.normal(size=1_000_000)  # 8 MB
chain_peak = peak_megabytes(lambda: numpy_chain(z0))
gradient_peak = peak_megabytes(lambda: ad.grad(recorded_chain)(z0))
print(f"20 x tanh in numpy:     {chain_peak:6.0f} MB")
print(f"its gradient (reverse): {gradient_peak:6.0f} MB")

# %% [markdown]
# **Checkpointing** trades time for memory: keep only every $k$-th activation during
# the forward pass, and during the backward pass recompute each segment of $k$ layers
# from its checkpoint, differentiate it, and drop it again. For a network of $L$
# layers, memory falls from all $L$ layers' activations to $L/k$ checkpoints plus one
# segment's $k$ layers, at the price of a second forward pass (below: how much one
# layer keeps, and where the minimum lies). Below, $L = 64$ layers
# $z \leftarrow \tanh(z W_i)$; the checkpointed gradient with respect to all weights
# is built from `ad.grad` on one segment at a time, its cotangent passed from the
# segment after it:

# %%
L, width, batch = 64, 64, 256
Ws = [rng.normal(size=(width, width)) / np.sqrt(width) for _ in range(L)]
x0 = rng.normal(size=(batch, width))
layer_evaluations = [0]

def layers(z, Ws):
    for W in Ws:
        z = ad.tanh(z @ W)
    layer_evaluations[0] += len(Ws)
    return z

def deep_loss(Ws, x0):
    return ad.sum(layers(x0, Ws) ** 2)


# %% tags=["nbval-check-output"]
def checkpointed_grad(Ws, x0, k):
    """The gradient of deep_loss w.r.t. Ws, keeping every k-th activation only."""
    checkpoints = [x0]
    for start in range(0, len(Ws), k):  # forward: plain values, no graph kept
        checkpoints.append(ad.value_of(layers(checkpoints[-1], Ws[start:start + k])))
    cotangent = 2 * checkpoints.pop()  # d loss / d output
    grads = []
    for start in reversed(range(0, len(Ws), k)):  # backward, segment by segment
        segment = lambda z, W: ad.sum(layers(z, W) * cotangent)
        cotangent, g_W = ad.grad(segment, argnum=(0, 1))(checkpoints.pop(),
                                                          Ws[start:start + k])
        grads[:0] = g_W
    return grads

full = ad.grad(deep_loss)(Ws, x0)
print("same gradient for k = 1, 8, 64:",
      all(np.allclose(g, h) for k in [1, 8, 64]
          for g, h in zip(full, checkpointed_grad(Ws, x0, k))))

# %%
ks = [1, 2, 4, 8, 16, 32, 64]
layer_evaluations[0] = 0
peak = peak_megabytes(lambda: ad.grad(deep_loss)(Ws, x0))
print(f"{'':<14} {'peak MB':>8} {'layer evaluations':>18}")
print(f"{'store all':<14} {peak:8.1f} {layer_evaluations[0]:18d}")
peaks = []
for k in ks:
    layer_evaluations[0] = 0
    peaks.append(peak_megabytes(lambda: checkpointed_grad(Ws, x0, k)))
    print(f"{'checkpoint k=' + str(k):<14} {peaks[-1]:8.1f} {layer_evaluations[0]:18d}")

# %% [markdown]
# Each checkpointed run evaluates every layer twice (the `layer evaluations` column
# counts the first pass, then the recomputation). With $k = L$ there is one segment:
# everything is stored, as without checkpointing.
#
# Where is the peak smallest? Count arrays of one activation's size
# ($256 \times 64$ floats, 131 kB). While segment $j$ is differentiated, memory holds
# the $L/k$ checkpoints and the recorded segment, in which **each layer keeps two
# arrays**: the product $zW_i$ (the input of `tanh`) and the output of `tanh`. So
#
# $$\text{memory}(k) \approx \Big(\frac{L}{k} + 2k\Big) \cdot 131 \text{ kB},
#   \qquad \frac{d}{dk}\Big(\frac{L}{k} + 2k\Big) = 0 \iff k = \sqrt{L/2}
#   \approx 5.7,$$
#
# not $\sqrt{L} = 8$ (which would hold if each layer kept one array). The powers of
# two nearest 5.7 are 4 and 8, where the model gives the same 24 arrays; the
# measurement breaks the tie, because memory that grows with $k$ and is not in the
# model (the segment's weight gradients, the sweep's temporaries) favours the
# shorter segment:

# %% tags=["nbval-check-output"]
model = [(L / k + 2 * k) * x0.nbytes / 1e6 for k in ks]
best = ks[int(np.argmin(peaks))]
print(f"smallest measured peak at k = {best}; the model's optimum "
      f"k = sqrt(L/2) = {np.sqrt(L / 2):.1f}")

# %%
ax = plot_growth(ks, {"checkpointed (measured)": peaks,
                      "model (L/k + 2k) arrays": model,
                      "store all (measured)": [peak] * len(ks)},
                 "segment length k", "peak memory (MB)", logx=True)
ax.plot([best], [min(peaks)], "k*", markersize=14,
        label=f"measured minimum, k = {best}")
ax.legend(fontsize="small")
plt.show()

# %% tags=["nbval-ignore-output"]
seconds = {"store all": best_time(lambda: ad.grad(deep_loss)(Ws, x0), 3)}
for k in ks:
    seconds[f"checkpoint k={k}"] = best_time(lambda: checkpointed_grad(Ws, x0, k), 3)
for label, s in seconds.items():
    print(f"{label:<14} {1e3 * s:7.2f} ms")

# %% [markdown]
# *Where.* Reuse: **PyTorch** frees each tensor saved for backward as soon as the
# backward pass has used it, and its CUDA caching allocator hands freed blocks to the
# next tensor without asking the driver; in-place operations (`add_`) write into an
# existing tensor, and a version counter catches those that would corrupt a saved
# one. **JAX/XLA** plans every buffer at compile time and reuses it once dead;
# `jax.jit(..., donate_argnums=...)` lets a training step overwrite its input
# parameters. Checkpointing: `torch.utils.checkpoint.checkpoint`,
# `jax.checkpoint` (also called `jax.remat`, with policies for what to keep), and
# HIPS **autograd**'s `autograd.checkpoint`, whose docstring cites Chen et al.,
# *Training deep nets with sublinear memory cost* (2016).
#
# ## 6. Batching cotangents: Jacobians and Hessians
#
# A Jacobian of $f: \mathbb{R}^n \to \mathbb{R}^m$ needs $m$ vector-Jacobian
# products, one per row. The rules are linear in the cotangent, so all $m$ can flow
# through **one** sweep as a batch: the seed is the $m \times m$ identity, and each
# rule works on a leading batch axis. That is what `ad.jacobian` does. Against it,
# two loops of one cotangent at a time: `jacobian_row_by_row` calls `ad.grad` once
# per row, so it **reruns the forward pass** every time; HIPS autograd's `jacobian`
# records the forward pass **once** (`make_vjp`) and loops only the backward sweep
# over the rows, as `jacobian_forward_once` does. The same three ways for the
# Hessian, where the "forward pass" is itself a recorded gradient:

# %% tags=["nbval-check-output"]
n = 50
A1, A2 = rng.normal(size=(2, n, n)) / np.sqrt(n)
forward_passes = [0]

def f(x):
    forward_passes[0] += 1
    return ad.tanh(A2 @ ad.tanh(A1 @ x))

def jacobian_row_by_row(f, x):
    return np.array([ad.grad(lambda x: f(x)[i])(x) for i in range(len(x))])

def jacobian_forward_once(f, x):  # HIPS autograd's jacobian
    x = ad.Tensor(x)
    y = f(x)                       # recorded once
    return np.array([ad.value_of(ad.diff(y[i], x)) for i in range(len(y))])

def scalar(x):
    return ad.sum(f(x) ** 2)

def hessian_row_by_row(g, x):
    return np.array([ad.grad(lambda x: ad.sum(ad.grad(g)(x) * e))(x)
                     for e in np.eye(len(x))])

def hessian_forward_once(g, x):   # HIPS autograd's hessian: jacobian(jacobian(g))
    x = ad.Tensor(x)
    gradient = ad.diff(g(x), x)    # the gradient, recorded once as a graph
    return np.array([ad.value_of(ad.diff(gradient[i], x)) for i in range(len(x))])

x0 = rng.normal(size=n)
experiments = {
    "Jacobian, batched": lambda: ad.jacobian(f)(x0),
    "Jacobian, row by row": lambda: jacobian_row_by_row(f, x0),
    "Jacobian, forward once": lambda: jacobian_forward_once(f, x0),
    "Hessian, batched": lambda: ad.hessian(scalar)(x0),
    "Hessian, row by row": lambda: hessian_row_by_row(scalar, x0),
    "Hessian, forward once": lambda: hessian_forward_once(scalar, x0),
}
results = {name: run() for name, run in experiments.items()}
print("same Jacobians:", all(np.allclose(results[k], results["Jacobian, batched"])
                             for k in results if k.startswith("Jacobian")),
      " same Hessians:", all(np.allclose(results[k], results["Hessian, batched"])
                             for k in results if k.startswith("Hessian")))
print(f"{'':<23} {'forward passes of f':>19} {'rule evaluations':>16}")
for name, run in experiments.items():
    forward_passes[0] = 0
    with ad.count_operations() as ops:
        run()
    print(f"{name:<23} {forward_passes[0]:19d} {ops.rule_evaluations:16d}")

# %% tags=["nbval-ignore-output"]
for name, run in experiments.items():
    print(f"{name:<23} {1e3 * best_time(run, 3):8.2f} ms")

# %% [markdown]
# The rule evaluations of the loops grow like $m$ times one sweep's; the batched
# sweep evaluates each rule once, on $m$ cotangents at a time, so its arithmetic is
# the loops' (each of its rules multiplies an $m$-row batch) but its per-rule
# overhead is paid once. Recording the forward pass once saves the $m - 1$ repeated
# forward passes; for the Hessian that repeated "forward pass" is a whole gradient.
#
# *Where.* **JAX**: `jax.jacrev` is `vmap` of the VJP over the basis, `jax.jacfwd`
# `vmap` of the JVP, and `jax.hessian` is `jacfwd(jacrev(f))`; `vmap` batches any
# function, not just derivatives. **PyTorch**: `torch.func.jacrev`, `torch.func.vmap`,
# and `torch.autograd.functional.jacobian(..., vectorize=True)` (which uses `vmap`;
# without it, one backward pass per row). **autograd**: `jacobian` maps the VJP over
# the standard basis, a Python loop of backward passes, like `jacobian_row_by_row`.
#
# ## 7. GPU execution
#
# A GPU has thousands of arithmetic units and several times the memory bandwidth of
# a CPU, but every operation is a *kernel launch* that costs microseconds, and data
# must first be copied to the GPU's own memory. Where the time goes, on a CPU first:
# fit $\text{time}(n) = \text{overhead} + n \cdot \text{time per element}$ to
# measured calls of `np.tanh`:

# %% tags=["nbval-ignore-output"]
sizes = [10 ** k for k in range(8)]
cpu = []
for n in sizes:
    x = rng.normal(size=n)
    out = np.empty_like(x)
    cpu.append(best_time(lambda: np.tanh(x, out=out), 5 if n < 10 ** 7 else 2))
cpu = np.array(cpu)
# least squares on relative errors: each size counts alike
design = np.stack([np.ones(len(sizes)), np.array(sizes, float)], axis=1) / cpu[:, None]
overhead, per_element = np.linalg.lstsq(design, np.ones(len(sizes)), rcond=None)[0]
print(f"CPU, one core: overhead {1e6 * overhead:.2f} us per call, "
      f"{1e9 * per_element:.2f} ns per element")

# %% [markdown]
# The CPU here is **one core**: the first cell of this lecture pins numpy (and its
# BLAS) to one thread, so that timings are not a race between threads. A server CPU
# has tens of cores, and an elementwise operation spread over all of them runs up to
# that many times faster (until memory bandwidth limits it), so every CPU-against-GPU
# ratio below is against one core.
#
# No GPU is needed to run this course, so the GPU curves below are a **model**, not a
# measurement, with round numbers of the kind vendors publish for a current data
# center GPU (assumptions, change them): a launch overhead of 5 µs; 2 TB/s of memory
# bandwidth, so reading and writing 16 bytes per element take 8 ps per element; and,
# when the data start in the CPU's memory, a copy each way over PCIe. A copy costs a
# fixed **latency** (about 10 µs: the driver call, pinning or staging the pages, the
# DMA set-up) plus its bytes over the link's bandwidth: PCIe 4.0 ×16 moves about
# 25 GB/s in practice (32 GB/s on paper), PCIe 5.0 ×16, the link of an H100 PCIe
# card, about 50 (64 on paper). The model uses PCIe 5.0:

# %% tags=["nbval-ignore-output"]
launch, bandwidth = 5e-6, 2e12               # assumed, not measured
copy_latency, pcie = 10e-6, 50e9             # per copy; PCIe 5.0 x16 in practice
n = np.array(sizes, float)
gpu_resident = launch + 16 * n / bandwidth
gpu_with_copies = gpu_resident + 2 * (copy_latency + 8 * n / pcie)  # there and back
plot_growth(sizes, {"CPU, one core (measured)": cpu,
                    "GPU, data on the GPU (model)": gpu_resident,
                    "GPU, copied there and back (model)": gpu_with_copies},
            "elements", "seconds per tanh", logx=True)
plt.show()
for label, gpu in [("on the GPU", gpu_resident), ("with copies", gpu_with_copies)]:
    faster = n[gpu < cpu]
    print(f"in this model the GPU ({label}) wins from about {faster.min():.0e} "
          f"elements, by {cpu[-1] / gpu[-1]:.0f}x at {n[-1]:.0e}"
          if faster.size else f"in this model the GPU ({label}) never wins here")

# %% [markdown]
# Small arrays: the launch overhead (and each copy's latency) dominates, and the CPU
# wins. Large arrays: the GPU's throughput wins, by the factor printed above
# (hundreds or more against one core; divide by the cores of a whole CPU), *if* the data
# stay on the GPU; a copy per operation gives most of it back, since PCIe moves
# data 40 times slower than the GPU's own memory. Hence what frameworks do: keep
# tensors on the device for the whole training loop, launch fewer and bigger
# kernels (fusion, section 2), batch (section 6), and launch asynchronously so the
# Python program runs ahead of the GPU.
#
# *Where.* **PyTorch**: tensors live on a device (`x.to("cuda")`), kernels are queued
# on CUDA streams while Python continues, and CUDA graphs
# (`torch.cuda.CUDAGraph`, or `torch.compile(mode="reduce-overhead")`) replay a
# whole step's launches at once. **JAX**: arrays live on the default device (GPU or
# TPU when present), operations are dispatched asynchronously, and `jax.jit` compiles
# a step into a few fused XLA kernels. **autograd**: numpy only, on the CPU; its
# successor for accelerators is JAX.
#
# ## What this lecture showed
#
# | optimization | what it saves | autodiff_lib | PyTorch | JAX | autograd |
# | --- | --- | --- | --- | --- | --- |
# | fusion | overhead, passes over memory | primitives written by hand (`matvec`) | `torch.compile`, fused operators | XLA under `jax.jit` | by hand |
# | CSE, constant folding | repeated work | by hand; constants skip the sweep | `torch.compile` (FX passes), `torch.export` then its passes | XLA passes | by hand |
# | JIT compilation | Python overhead | none (trace and replay above) | `torch.compile` (guards, graph breaks); `torch.export` ahead of time | `jax.jit` | none |
# | memory reuse | allocations, peak memory | reference counting frees the graph | caching allocator, saved tensors freed early | buffer planning, donation | reference counting |
# | checkpointing | peak memory | by hand (above) | `torch.utils.checkpoint` | `jax.checkpoint` | `autograd.checkpoint` |
# | batched cotangents | per-row overhead | `jacobian`, `hessian`, `diff` | `torch.func.vmap`, `vectorize=True` | `vmap`, `jacrev` | a loop |
# | GPU | arithmetic time | none | CUDA, streams, CUDA graphs | XLA on GPU and TPU | none |
#
# Lecture 11 looks at the other way to remove Python's overhead: porting the library
# to C++.
