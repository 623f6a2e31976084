# ---
# jupyter:
#   jupytext:
#     formats: notebooks///ipynb,lectures///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Lecture 11 — Porting autodiff_lib to C++
#
# Lecture 10 found that for small arrays most of the time goes into overhead: Python
# calling numpy, and the library's bookkeeping per node, a microsecond or more each.
# A port to C++ removes the interpreter from that loop, and lets a C++ program
# differentiate its own computations. The port exists: `cpp/` holds `autodiff_lib` on
# [xtensor](https://github.com/xtensor-stack/xtensor), a C++ library modelled on numpy,
# file for file beside the Python modules, and `make test-cpp` builds and tests it
# (`cpp/README.md`). This lecture reads it:
#
# 1. what the library uses of numpy, found by reading the library's source;
# 2. the xtensor equivalents, where the port uses each, and what xtensor lacks;
# 3. the graph, the rules and the sweep in C++, read from `cpp/`;
# 4. memory: why reference counting frees every intermediate, and the destructor a
#    deep graph needs;
# 5. how we know the port computes what the Python library computes, and how fast.
#
# Nothing here compiles: the excerpts are read from the files in `cpp/` when the
# notebook runs, and the timings from the committed output of `make benchmark-cpp`.

# %%
import gc
import re
import weakref
from collections import Counter
from pathlib import Path

import numpy as np
from IPython.display import Markdown

import autodiff_lib as ad
from autodiff_lib import porting

CPP = Path(ad.__file__).resolve().parents[1] / "cpp"  # the port, beside the package
assert (CPP / "CMakeLists.txt").is_file(), f"the C++ port is not at {CPP}"
SOURCES = [*sorted(CPP.glob("src/*.cpp")), *sorted(CPP.glob("include/autodiff/*.hpp")),
           *sorted(CPP.glob("examples/*.cpp"))]  # the library first, then its users


def excerpt(path, start, last):
    """The lines of cpp/path from the first that contains `start` to the next
    that begins with `last`, under the file's name (an error if one is missing)."""
    lines = (CPP / path).read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if start in line)
    last = next(i for i in range(first, len(lines)) if lines[i].startswith(last))
    print(f"// cpp/{path}\n" + "\n".join(lines[first:last + 1]))


# %% [markdown]
# ## 1. What the library uses of numpy
#
# `porting.numpy_usage()` parses every module of `autodiff_lib` with Python's `ast`
# module and collects four kinds of use:
#
# * **numpy**: names reached through `np`: functions (`np.tanh`), methods of ufuncs
#   (`np.add.reduce`, `np.add.at`), submodules (`np.linalg.solve`), types
#   (`np.float64`);
# * **Generator**: methods of the random generator `np.random.default_rng` returns;
# * **ndarray**: attributes and methods called on values (`x.shape`, `x.astype`);
# * **operator**: Python operators (`+`, `@`, `x[i]`, `<`), which on arrays call
#   ndarray's special methods (`__add__`, `__matmul__`, `__getitem__`, `__lt__`).
#
# Python has no static types, so the last two over-approximate: `x.shape` counts
# whether `x` is an array or a Tensor (whose shape is its array's), and `%` counts
# even where it only acts on integers. Modules a port would not translate are left
# out, with the reason:

# %% tags=["nbval-check-output"]
for module, reason in porting.NOT_PORTED.items():
    print(f"{module:<18} {reason}")

# %%
usage = porting.numpy_usage()
print(Counter(kind for kind, _ in usage))
for key in [("numpy", "np.add.at"), ("numpy", "np.matmul"), ("ndarray", "astype"),
            ("Generator", "standard_normal"), ("operator", "__matmul__")]:
    print(f"{key[1]:<16} used in {', '.join(usage[key])}")

# %% [markdown]
# ## 2. The table: numpy, xtensor, and where the port uses it
#
# `porting.TABLE` keeps, for every name found, its xtensor equivalent (some are in
# xtensor-blas, xtensor's companion library over BLAS and LAPACK), a note, and what
# xtensor lacks. A test (`tests/toolkit/test_porting.py`) fails when the source uses a name
# the table lacks, or the table lists one the source no longer uses, so the table
# stays true as the library changes:

# %% tags=["nbval-check-output"]
table = {(entry.kind, entry.numpy) for entry in porting.TABLE}
print("used but not in the table:", sorted(set(usage) - table))
print("in the table but not used:", sorted(table - set(usage)))

# %% [markdown]
# The column *in cpp/* below is found the same way, by reading the port's source: the
# files of `cpp/` (library and examples) that call the xtensor function of the row,
# with the line of the first call. Arithmetic operators (and `pow`) are found where the
# port's forward computations apply them to two values: in the port's own broadcasting
# loop, which takes the operation as a functor (`std::plus<>()`), because xtensor's
# assignment of a broadcast expression is slow without xsimd (section 7). Rows without
# a file are what the port needs from nowhere: random numbers (the port's examples
# read data that numpy made), `linalg.solve` and `qr` for the library's optimizers
# and landscapes (the part 01 example solves its Newton step with
# `xt::linalg::solve` itself), and the Python-only types and tools.

# %%
# an operator on two values, or its functor handed to the port's broadcasting loop
OPERATORS = {"operator+": r"value\(\) \+ |value\(\), std::plus<>",
             "operator-": r"value\(\) - |value\(\), std::minus<>",
             "operator*": r"value\(\) \* |value\(\), std::multiplies<>",
             "operator/": r"value\(\) / |value\(\), std::divides<>",
             "unary operator-": r"return -x\[0\]\.value\(\)"}
OWN_LOOPS = {"xt::pow": r"std::pow\("}  # power runs in the same loop


def used_in_cpp(entry):
    """'file:line' of the port's first use of the row's xtensor function, and how
    many files use it ('' if none)."""
    names = re.findall(r"xt::[\w:]+", entry.xtensor)
    # a call, not the slice xt::all() nor a mention in a comment
    patterns = [re.escape(name) + r"\b(?!\(\))" for name in names]
    if entry.xtensor in OPERATORS:
        patterns = [OPERATORS[entry.xtensor]]
    if entry.xtensor in OWN_LOOPS:
        patterns.append(OWN_LOOPS[entry.xtensor])
    hits = [(path, number) for path in SOURCES
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
            if patterns and any(re.search(p, line.split("//")[0]) for p in patterns)]
    if not hits:
        return ""
    files = sorted({path for path, _ in hits})
    path, number = hits[0]
    where = f"{path.relative_to(CPP)}:{number}"
    return where + (f" (+{len(files) - 1} files)" if len(files) > 1 else "")


def as_markdown(entries):
    """Rows of the table in markdown (< escaped: C++ templates are not HTML)."""
    cell = lambda text: text.replace("<", "&lt;").replace("|", "\\|")
    code = lambda text: f"`{text}`" if text else "—"
    lines = ["| numpy | xtensor | in cpp/ | notes | xtensor lacks |",
             "|---|---|---|---|---|"]
    for e in entries:
        lines.append(f"| {code(e.numpy)} | {code(e.xtensor)} | {code(used_in_cpp(e))} "
                     f"| {cell(e.notes)} | {cell(e.lacks)} |")
    return "\n".join(lines)


Markdown("\n\n".join(
    f"**{kind}**\n\n" + as_markdown([e for e in porting.TABLE if e.kind == kind])
    for kind in ["numpy", "Generator", "ndarray", "operator"]))

# %% tags=["nbval-check-output"]
used = [e for e in porting.TABLE if used_in_cpp(e)]
print(f"the port uses {len(used)} of the {len(porting.TABLE)} rows, for example:")
for name in ["np.tanh", "np.add.reduce", "np.matmul", "np.broadcast_to", "np.eye"]:
    entry = next(e for e in porting.TABLE if e.numpy == name)
    print(f"  {name:<16} {entry.xtensor:<34} {used_in_cpp(entry)}")

# %% [markdown]
# ## 3. What xtensor lacks, and the traps the port met
#
# Most rows translate one to one: xtensor has numpy's elementwise functions,
# reductions with axes, broadcasting, views for slicing and transposing, `xt::eye`,
# `xt::zeros`, random arrays. The gaps:

# %%
Markdown(as_markdown([e for e in porting.TABLE if e.lacks]))

# %% [markdown]
# * **Batched matrix products.** xtensor has no `matmul`, and xtensor-blas's
#   `xt::linalg::dot` follows `numpy.dot`, not `numpy.matmul`: given two stacks of
#   matrices, of shapes $(B, m, k)$ and $(B, k, n)$, it does not refuse them but
#   returns shape $(B, m, B, n)$, every matrix of one stack times every matrix of the
#   other. The batched sweep of `jacobian` multiplies stacks (a batch axis in front),
#   so the port's `matmul_values` broadcasts the stack axes itself and calls BLAS once
#   per matrix, or once in all when the right operand is a single matrix (the stack
#   on the left is then one tall matrix).
# * **Scatter-add.** The derivative of indexing adds the cotangent back at the
#   indices, repeated indices accumulating (`np.add.at`); in C++ that is a loop. The
#   port indexes by integers and ranges only (`xt::strided_view`), where no index
#   repeats, so its `scatter_add` assigns into a view of zeros.
# * **numpy's indexing rules.** Slices, integers and masks have equivalents
#   (`xt::strided_view`, `xt::filter`), but numpy's rule for several integer arrays
#   broadcast together (and where it moves their axes) must be written out. xtensor
#   does not check integer indices either: the port checks them, as numpy does.
# * **Lists of arrays.** `xt::stack` and `xt::concatenate` take a tuple whose length
#   is fixed at compile time; `ad.stack(tensors)` takes a list known only at run time.
# * **Random numbers.** The same seed gives different numbers (numpy's PCG64 against
#   `std::mt19937`): the port's examples read data files written by numpy.
# * **Laziness.** `a + b` in xtensor is an *expression* that computes on demand. A
#   node must store an evaluated `xt::xarray` (assign it, or `xt::eval`): otherwise
#   every read recomputes it. An expression holds its operands by reference when they
#   are variables (*lvalues*) and moves temporaries into itself: so it is an `auto`
#   expression of a *local variable*, returned from the function that owns the
#   variable, that dangles, not one of temporaries. Every forward computation of the
#   port returns an `xt::xarray`.
# * **Operator templates.** xtensor's `operator*` accepts any type as a scalar beside
#   an xtensor expression: `tensor * array` would build an xtensor expression *of
#   Tensors* (and fail to compile far away). The port's mixed operators take the
#   Tensor and the array by value, which converts as well as a forwarding reference,
#   and then C++ prefers the function that is not a template:

# %% tags=["nbval-check-output"]
excerpt("include/autodiff/primitives.hpp", "#define AUTODIFF_OPERATOR",
        "    inline Tensor operator op(double x")

# %% [markdown]
# * **Argument-dependent lookup.** A call `sum(array)`, `tanh(array)` or `norm(g)`
#   with an `xt::xarray` argument also finds xtensor's function of that name, a
#   template that matches better than the port's `const Tensor&`: the result is an
#   xtensor expression, not a Tensor. The port's examples name their own gradient
#   norm `gradient_norm` for that reason; users pass `constant(array)` or write
#   `autodiff::sum`. It never computes a wrong number; it fails to compile.
# * **Python's integer arithmetic.** `axis % ndim` turns a negative axis into a
#   positive one in Python; in C++ `-1 % 3` is `-1`. The port adds `ndim` instead.
#
# ## 4. The graph, the rules and the sweep in C++
#
# The Python design carries over almost word for word. A `Tensor` is a handle, a
# `std::shared_ptr` to a node that owns its value and shares ownership of its inputs:

# %% tags=["nbval-check-output"]
excerpt("include/autodiff/tensor.hpp", "struct Node {", "};")

# %% [markdown]
# A rule gets the differential `g`, the output `ans` and the inputs as *Tensors*,
# handles to graph nodes: when the sweep is recorded (for a Hessian), what a rule
# computes from them becomes new nodes of the graph, which the next sweep
# differentiates. A rule that received the node itself (`const Node& ans`) could read
# its value but not put it into the graph: tanh's rule `g * sech_squared(x, ans)` needs
# `ans` as a node (the derivative of sech² is −2 sech² tanh), or the Hessian loses the
# path through it. And a rule is a plain
# function pointer, not a `std::function`: a lambda that captures anything does not
# convert to it, so no rule can hold a handle to its own output, which would be a
# cycle.

# %% tags=["nbval-check-output"]
excerpt("include/autodiff/registry.hpp", "using Rule =",
        "                        const Attributes&")

# %% [markdown]
# Each primitive is its forward computation in xtensor and one rule per argument,
# written with the port's own operations, as `defvjp` pairs them in Python:

# %% tags=["nbval-check-output"]
excerpt("src/primitives.cpp", "const Primitive sech_squared_primitive",
        "    nullptr);")
excerpt("src/primitives.cpp", "const Primitive tanh_primitive",
        "    [](G g, Ans ans, Args x, Attr) { return g * apply(sech_squared_primitive")
excerpt("src/primitives.cpp", "Tensor lowered(",
        "    [](G g, Ans ans, Args x, Attr) { return g * ans * log(")

# %% [markdown]
# The sweep is Python's loop: a `std::priority_queue` of creation numbers (latest
# first, so a node is taken only when every node that consumes it is done), and a
# map from creation number to the differential so far, the cache. A differential with
# a shape that broadcasting stretched is summed back in one place, `unbroadcast`:

# %% tags=["nbval-check-output"]
excerpt("src/differentiation.cpp", "Found backpropagate(", "}")

# %% tags=["nbval-check-output"]
excerpt("src/primitives.cpp", "Tensor unbroadcast(", "}")

# %% [markdown]
# When nobody will differentiate the result again, Python hands its rules plain
# arrays; the port runs them under `NoRecording`, which makes every result a constant.
# The counters (`count_operations`) and the switch to the textbook chain rule
# (`differential_cache(false)`) are scoped objects, C++'s `with`.
#
# ## 5. Why reference counting frees everything
#
# A node is created *after* its inputs and refers only to them; a rule receives the
# node and its inputs as arguments instead of capturing them. When the sweep is
# recorded (for a Hessian), its new nodes again refer to existing ones. So every
# reference points from a newer node to an older one, and a cycle would need a
# reference to something newer: there are no cycles. Without cycles, reference
# counting alone frees each node as soon as the last reference to it goes: no
# garbage collector is needed, in Python or, with `std::shared_ptr`, in C++.
#
# The claim, checked on the graph of a Hessian (rules applied to rules):

# %% tags=["nbval-check-output"]
x = ad.Tensor([0.5, -1.0, 2.0])
y = ad.sum(ad.tanh(x) ** 3)
hessian_graph = ad.diff(ad.diff(y, x), x)
older = all(arg.seq < node.seq
            for node in ad.topological_order(hessian_graph)
            for arg in node.inputs if isinstance(arg, ad.Tensor) and arg.requires_grad)
print("every input is older than the node using it:", older)

# %% [markdown]
# And what it means: with Python's cycle collector switched off (`gc.disable()`),
# only reference counting can free anything. The intermediate tensors of a loss are
# freed as soon as `ad.grad` has returned (a `weakref` sees its object die without
# keeping it alive); a recorded derivative keeps the graph it was computed from,
# until it goes too. The port's tests check the same with `std::weak_ptr`
# (`cpp/tests/test_memory.cpp`).

# %% tags=["nbval-check-output"]
gc.collect()
gc.disable()  # from here on, only reference counting frees objects

intermediates = []

def loss(w):
    h = ad.tanh(w * 2.0)
    z = h * h + w
    intermediates.extend(weakref.ref(t) for t in (h, z))
    return ad.sum(z)

gradient = ad.grad(loss)(np.arange(3.0))
print("after ad.grad, intermediates alive:",
      sum(r() is not None for r in intermediates), "of", len(intermediates))

w = ad.Tensor(np.arange(3.0))
y = loss(w)
dy_dw = ad.diff(y, w)  # recorded: its graph refers to y's nodes
alive = [weakref.ref(node) for node in ad.topological_order(y) if node is not w]
print("while y and dy/dw exist:", sum(r() is not None for r in alive), "of", len(alive))
del y
print("after del y:", sum(r() is not None for r in alive) > 0, "(dy/dw holds them)")
del dy_dw
print("after del dy/dw:", sum(r() is not None for r in alive))
print("objects only the cycle collector could free:", gc.collect())
gc.enable()

# %% [markdown]
# ### Deep chains: a destructor that does not recurse
#
# Releasing the last `shared_ptr` to the end of a chain destroys that node, whose
# vector of inputs releases the node before it, whose destructor releases the one
# before that: one nested destructor call per node, and a long enough chain overflows
# the stack (on an 8 MB stack, at about 300 000 nodes). A destructor that moves its
# inputs into a local vector and releases them in a loop does *not* help: releasing an
# input runs that input's destructor inside the loop, which starts its own loop, and
# so on down the chain: the same depth. What works is to never let a node die inside
# another node's destructor. The outermost dying node keeps one worklist; every node
# that dies while it is being worked off moves each input of which it holds the last
# reference (`use_count() == 1`) onto that worklist and returns. PyTorch frees its
# autograd graph the same way (`deleteNode` in `torch/csrc/autograd/function.cpp`);
# CPython's "trashcan" does it for deeply nested objects, which is why a long chain
# is freed without trouble here:

# %% tags=["nbval-check-output"]
x = ad.Tensor(1.0)
y = x
for _ in range(100_000):
    y = y * 1.0
last = weakref.ref(y)
del y
print("a 100000-node chain freed:", last() is None)

# %% tags=["nbval-check-output"]
excerpt("src/memory.cpp", "Node::~Node() {", "}")

# %% [markdown]
# An input held twice by the same node (`x * x`) has `use_count() == 2` while both
# entries exist; they are looked at one at a time, the first is released (a
# decrement that cannot reach zero), and then the second holds the last reference.
# The port's tests build, differentiate and free a chain of 1 000 000 operations on a
# thread with a 1 MiB stack (an eighth of the usual 8 MiB), a chain of `y = y * y`,
# and the recorded graph of a Hessian; and they watch a chain of 1 000 000 plain
# `std::shared_ptr` links, freed by the destructors the compiler writes, overflow
# that stack in a child process.
#
# ## 6. How we know the port computes what the Python library computes
#
# `make test-cpp` runs three kinds of test (`cpp/README.md`):
#
# * the C++ unit tests (doctest, each case run by `ctest`): every primitive's rule
#   against central differences to second order, broadcasting, the counters,
#   constants, third derivatives, memory, and bad input;
# * the same tests built with AddressSanitizer, LeakSanitizer and UBSan: no invalid
#   access, no leak, no undefined behaviour;
# * `tests/cpp/test_cpp_crosscheck.py`: the random expression graphs of
#   `tests/random_programs.py` (shared subexpressions, broadcasting) run through both
#   libraries, 1000 of them: values, gradients and Jacobians agree to a relative
#   $10^{-12}$ and Hessians to $10^{-10}$ (the largest difference seen is about
#   $10^{-15}$ of the values' scale: the last bits of the transcendental functions),
#   and the counts of rule evaluations and nodes visited, with the cache and without
#   it, for gradients and for Hessians, are *equal*: the port builds the same graph,
#   node for node, and runs the same rules on it. `tests/cpp/test_cpp_examples.py`
#   checks that the C++ programs of parts 01 and 03 print the notebooks' figures.
#
# The C++ test cases, read from `cpp/tests/`:

# %% tags=["nbval-check-output"]
for path in sorted((CPP / "tests").glob("test_*.cpp")):
    cases = re.findall(r'TEST_CASE\("(.*)"\)', path.read_text(encoding="utf-8"))
    print(f"{path.name} ({len(cases)}):")
    for case in cases:
        print(f"  {case}")

# %% [markdown]
# ## 7. How fast
#
# The benchmarks of lecture 10 (`benchmarks/`), with the port beside autodiff_lib,
# hand-written numpy (the floor: the derivative written out by hand) and PyTorch
# eager, in one run; each C++ workload runs its whole gradient in C++ per call.
# The numbers below are the committed output of `make benchmark-cpp`, with the
# machine and its load at the time: timings depend on the machine, the ratios less.

# %% tags=["nbval-check-output"]
results = (CPP / "benchmarks" / "results.txt").read_text(encoding="utf-8")
print(results)

# %% [markdown]
# What the tables show (read the ratios: they are timed side by side, one loop of each
# column in turn, while the absolute times carry the machine's load):
#
# * Where the arithmetic is nothing (one-element arrays, the first tables), the port is
#   several times cheaper per operation than the Python library and than PyTorch
#   eager: what is left per operation is a node, a rule, and an `xt::xarray` for every
#   result, about 2 700 instructions (counted by callgrind, which the load does not
#   change). It was 5 200 until a node's value was built in place (moving an
#   `xt::xarray` copies its shape and strides element by element), freed nodes' memory
#   was kept for the next node, and small results were copied from an operand instead
#   of made from a shape. On a machine shared with other jobs the wall-clock time
#   carries their load too, so the target is judged on the CPU time of the
#   benchmark's thread, the second table.
# * On the chain of 16-vectors the port needs well under the time of hand-written
#   numpy, whose every operation pays a call from Python.
# * Where the arithmetic is everything (large matrices), every column calls BLAS for
#   the products, and the elementwise loops (`tanh`, the rules' products) decide. Two
#   things made the port's loops several times numpy's on the MLP 64/256 until they
#   were fixed: xtensor assigns a broadcast sum like `x W1 + b1` element by element
#   through generic iterators (unless built with xsimd), and libm's `tanh` takes one
#   number at a time where numpy's is vectorized. The port now walks broadcast
#   operands with numpy's kind of loop and calls glibc's vectorized `tanh`, and is level
#   with numpy there in all three builds; on the largest MLP it is still slower, as
#   its copies (transposes, a new array per result) outgrow the caches.
# * The Hessian is computed as the Jacobian of the gradient, a sweep over the recorded
#   sweep: far from the closed form `A + diag(1 - tanh²x)` in every library, and the
#   port no faster than the Python library there, because the time goes into the
#   products with $100 \times 100$ arrays, not into the bookkeeping.
#
# Lecture 10 lists what comes after that: fusion, compilation, GPUs.
