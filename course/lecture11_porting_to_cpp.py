"""Lecture 11: what a port of autodiff_lib to C++ needs (ungraded).

The numpy functions, random-generator methods, ndarray attributes and operators the library
uses, read from its source with ``ast`` (``autodiff_lib.porting``), beside their xtensor
equivalents and what xtensor lacks; the design of the graph in C++; and why reference counting
(``std::shared_ptr``) frees every intermediate tensor, shown with ``weakref``.
``python -m course.build`` writes it.
"""

from .cells import code, markdown

NOTEBOOK = "notebooks/11_porting_to_cpp.ipynb"


def cells():
    # fmt: off  (each cell reads as its text, then what it is)
    return [
        markdown(r"""
            # Lecture 11 — Porting autodiff_lib to C++

            Lecture 10 found that for small arrays most of the time goes into overhead: Python
            calling numpy, and the library's bookkeeping per node, a microsecond or more each.
            A port to C++ removes the interpreter from that loop, and lets a C++ program
            differentiate its own computations. This lecture works out what such a port needs:

            1. an n-dimensional array library with what the library uses of numpy, found by
               reading the library's source, not by guessing;
            2. the equivalents in [xtensor](https://github.com/xtensor-stack/xtensor), a C++
               library modelled on numpy, and what it lacks;
            3. the graph, the rules and the sweep in C++;
            4. memory: why every intermediate tensor can be freed by reference counting,
               `std::shared_ptr` in C++, as Python does already.
        """),
        code("""
            import gc
            import weakref
            from collections import Counter

            import numpy as np
            from IPython.display import Markdown

            import autodiff_lib as ad
            from autodiff_lib import porting
        """),
        markdown(r"""
            ## 1. What the library uses of numpy

            `porting.numpy_usage()` parses every module of `autodiff_lib` with Python's `ast`
            module and collects four kinds of use:

            * **numpy**: names reached through `np`: functions (`np.tanh`), methods of ufuncs
              (`np.add.reduce`, `np.add.at`), submodules (`np.linalg.solve`), types
              (`np.float64`);
            * **Generator**: methods of the random generator `np.random.default_rng` returns;
            * **ndarray**: attributes and methods called on values (`x.shape`, `x.astype`);
            * **operator**: Python operators (`+`, `@`, `x[i]`, `<`), which on arrays call
              ndarray's special methods (`__add__`, `__matmul__`, `__getitem__`, `__lt__`).

            Python has no static types, so the last two over-approximate: `x.shape` counts
            whether `x` is an array or a Tensor (whose shape is its array's), and `%` counts
            even where it only acts on integers. Modules a port would not translate are left
            out, with the reason:
        """),
        code("""
            for module, reason in porting.NOT_PORTED.items():
                print(f"{module:<12} {reason}")
        """, check_output=True),
        code("""
            usage = porting.numpy_usage()
            print(Counter(kind for kind, _ in usage))
            for key in [("numpy", "np.add.at"), ("numpy", "np.matmul"), ("ndarray", "astype"),
                        ("Generator", "standard_normal"), ("operator", "__matmul__")]:
                print(f"{key[1]:<16} used in {', '.join(usage[key])}")
        """),
        markdown(r"""
            ## 2. The table: numpy and xtensor

            `porting.TABLE` keeps, for every name found, its xtensor equivalent (some are in
            xtensor-blas, xtensor's companion library over BLAS and LAPACK), a note, and what
            xtensor lacks. A test (`tests/test_porting.py`) fails when the source uses a name
            the table lacks, or the table lists one the source no longer uses, so the table
            stays true as the library changes:
        """),
        code("""
            table = {(entry.kind, entry.numpy) for entry in porting.TABLE}
            print("used but not in the table:", sorted(set(usage) - table))
            print("in the table but not used:", sorted(table - set(usage)))
        """, check_output=True),
        code("""
            def as_markdown(entries):
                \"\"\"Rows of the table in markdown (< escaped: C++ templates are not HTML).\"\"\"
                cell = lambda text: text.replace("<", "&lt;").replace("|", "\\\\|")
                code = lambda text: f"`{text}`" if text else "—"
                lines = ["| numpy | xtensor | notes | xtensor lacks |", "|---|---|---|---|"]
                for e in entries:
                    lines.append(f"| {code(e.numpy)} | {code(e.xtensor)} | {cell(e.notes)} | "
                                 f"{cell(e.lacks)} |")
                return "\\n".join(lines)

            Markdown("\\n\\n".join(
                f"**{kind}**\\n\\n" + as_markdown([e for e in porting.TABLE if e.kind == kind])
                for kind in ["numpy", "Generator", "ndarray", "operator"]))
        """),
        markdown(r"""
            ## 3. What xtensor lacks, and other traps

            Most rows translate one to one: xtensor has numpy's elementwise functions,
            reductions with axes, broadcasting, views for slicing and transposing, `xt::eye`,
            `xt::zeros`, random arrays. The gaps:
        """),
        code("""
            Markdown(as_markdown([e for e in porting.TABLE if e.lacks]))
        """),
        markdown(r"""
            * **Batched matrix products.** xtensor has no `matmul`; xtensor-blas's
              `xt::linalg::dot` multiplies matrices but does not broadcast over stacks. The
              batched sweep of `jacobian` multiplies stacks (a batch axis in front), so the
              port loops over `xt::view(g, i, xt::all(), xt::all())` or calls a batched BLAS.
            * **Scatter-add.** The derivative of indexing adds the cotangent back at the
              indices, repeated indices accumulating (`np.add.at`); in C++ that is a loop.
            * **numpy's indexing rules.** Slices, integers and masks have equivalents
              (`xt::view`, `xt::filter`), but numpy's rule for several integer arrays broadcast
              together (and where it moves their axes) must be written out.
            * **Lists of arrays.** `xt::stack` and `xt::concatenate` take a tuple whose length
              is fixed at compile time; `ad.stack(tensors)` takes a list known only at run time.
            * **Random numbers.** The same seed gives different numbers (numpy's PCG64 against
              `std::mt19937`): tests that compare the two implementations must share data
              files, not seeds.
            * **Laziness.** `a + b` in xtensor is an *expression* that computes on demand,
              holding on to its operands. A node must store an evaluated `xt::xarray` (assign
              it, or `xt::eval`): otherwise every read recomputes it, and an `auto` expression
              can outlive the temporaries it refers to.
            * **Python's integer arithmetic.** `axis % ndim` turns a negative axis into a
              positive one in Python; in C++ `-1 % 3` is `-1`. The same for `//`.

            ## 4. The graph, the rules and the sweep in C++

            The Python design carries over almost word for word. A node owns its value and
            shares ownership of its inputs; a rule is a function of the incoming differential,
            the node and its inputs, and captures nothing:

            ```cpp
            struct Node;
            using NodePtr = std::shared_ptr<const Node>;
            // g: the differential of the output; ans: the node; returns the input's differential
            using Rule = std::function<Tensor(const Tensor& g, const Node& ans)>;

            struct Node {
                xt::xarray<double> value;           // evaluated, never a lazy expression
                const Primitive* primitive;         // nullptr for a leaf
                std::vector<NodePtr> inputs;        // older nodes only
                std::vector<std::pair<const Rule*, std::size_t>> grad_inputs;  // rule, input
                std::uint64_t seq;                  // creation order: a topological order
            };
            ```

            `Tensor` wraps a `NodePtr` and overloads the operators, which call the primitives;
            rules written with `Tensor` operations build graph nodes when the sweep is
            recorded, which is where higher derivatives come from, as in Python. The sweep is
            the same loop: a `std::priority_queue` ordered by `seq` (latest first) and a
            `std::unordered_map` from `seq` to the differential so far (the cache).
            `unbroadcast` sums the broadcast axes with `xt::sum` over a list of axes.

            ## 5. Why reference counting frees everything

            A node is created *after* its inputs and refers only to them; a rule receives the
            node and its inputs as arguments instead of capturing them. When the sweep is
            recorded (for a Hessian), its new nodes again refer to existing ones. So every
            reference points from a newer node to an older one, and a cycle would need a
            reference to something newer: there are no cycles. Without cycles, reference
            counting alone frees each node as soon as the last reference to it goes: no
            garbage collector is needed, in Python or, with `std::shared_ptr`, in C++.

            The claim, checked on the graph of a Hessian (rules applied to rules):
        """),
        code("""
            x = ad.Tensor([0.5, -1.0, 2.0])
            y = ad.sum(ad.tanh(x) ** 3)
            hessian_graph = ad.diff(ad.diff(y, x), x)
            older = all(arg.seq < node.seq
                        for node in ad.topological_order(hessian_graph)
                        for arg in node.inputs if isinstance(arg, ad.Tensor) and arg.requires_grad)
            print("every input is older than the node using it:", older)
        """, check_output=True),
        markdown(r"""
            And what it means: with Python's cycle collector switched off (`gc.disable()`),
            only reference counting can free anything. The intermediate tensors of a loss are
            freed as soon as `ad.grad` has returned (a `weakref` sees its object die without
            keeping it alive); a recorded derivative keeps the graph it was computed from,
            until it goes too:
        """),
        code("""
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
        """, check_output=True),
        markdown(r"""
            Two things a C++ port must still get right:

            * **Deep chains.** Releasing the last `shared_ptr` to the end of a chain destroys
              its input, which destroys *its* input, and so on: one nested destructor call
              per node, so a long enough chain overflows the stack. A careful port gives
              `Node` a destructor that moves its inputs into a local vector and releases them
              in a loop. CPython has the same problem and solves it the same way (its
              "trashcan" defers deep deallocations), so here a long chain is freed without
              trouble:
        """),
        code("""
            x = ad.Tensor(1.0)
            y = x
            for _ in range(100_000):
                y = y * 1.0
            last = weakref.ref(y)
            del y
            print("a 100000-node chain freed:", last() is None)
        """, check_output=True),
        markdown(r"""
            * **Rules that capture.** If a C++ rule were a lambda capturing a `NodePtr` to its
              own node (`[self] (auto g) { ... }`) and stored in that node, the node would own
              itself: a cycle, and a leak. Our rules take the node and its inputs as
              arguments; keep it so.

            ## A plan for the port

            1. Arrays: `xt::xarray<double>`, with the table above; `unbroadcast` first, since
               every rule depends on it.
            2. `Node`, `Tensor` and the primitives with their rules, one at a time, each tested
               against the Python library on shared data files (values and derivatives).
            3. The sweep with batch axes (`jacobian`, `hessian`, `diff`), then the textbook
               chain rule for comparison.
            4. Memory: an iterative destructor and a test that a long chain is freed.

            Lecture 10 lists what comes after that: fusion, compilation, GPUs.
        """),
    ]
