"""What a C++ port of autodiff_lib needs (lecture 11, issue 7 point 3).

The table in ``autodiff_lib.porting`` lists exactly the numpy functions, random-generator
methods, ndarray attributes and operators the library's source uses, each with its xtensor
equivalent or what xtensor lacks. And the graph is acyclic, so reference counting alone frees
every intermediate tensor of a finished backward pass, as ``std::shared_ptr`` would in C++.
"""

import ast
import gc
import weakref

import numpy as np
import pytest

import autodiff_lib as ad
from autodiff_lib import porting

KINDS = ("numpy", "Generator", "ndarray", "operator")


def test_the_table_lists_exactly_what_the_library_uses():
    used = porting.numpy_usage()
    table = {(entry.kind, entry.numpy) for entry in porting.TABLE}
    missing = [f"{kind} {name} (used in {', '.join(used[kind, name])})"
               for kind, name in sorted(set(used) - table)]  # fmt: skip
    stale = sorted(table - set(used))
    assert not missing, (
        "autodiff_lib uses numpy names that autodiff_lib/porting.py's TABLE lacks; add a row "
        "with the xtensor equivalent for each: " + "; ".join(missing)
    )
    assert not stale, f"TABLE lists names autodiff_lib no longer uses; remove them: {stale}"


def test_every_row_names_an_equivalent_or_what_xtensor_lacks():
    keys = [(entry.kind, entry.numpy) for entry in porting.TABLE]
    assert len(keys) == len(set(keys)), "a name is listed twice"
    for entry in porting.TABLE:
        assert entry.kind in KINDS, entry
        assert entry.xtensor or entry.lacks, f"{entry.numpy}: neither an equivalent nor a gap"
    gaps = {entry.numpy for entry in porting.TABLE if entry.lacks}
    # the gaps the lecture discusses: no batched matmul, no scatter-add, numpy's fancy indexing
    assert {"np.matmul", "np.add.at", "__getitem__"} <= gaps


def test_modules_left_out_of_the_port_exist():
    for name in porting.NOT_PORTED:
        assert (porting.PACKAGE / name).is_file(), f"NOT_PORTED names a missing module {name}"
    # every module is read, the engine's too: they are named by their path in the package
    read = {m for uses in porting.numpy_usage().values() for m in uses}
    modules = {p.relative_to(porting.PACKAGE).as_posix() for p in porting.PACKAGE.rglob("*.py")}
    assert {"engine/primitives.py", "training.py"} <= read <= modules - set(porting.NOT_PORTED)


def test_the_extraction_reads_numpy_names_generators_arrays_and_operators():
    source = """
import math
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(size=3) + np.random.default_rng(1).uniform()
total = np.add.reduce(x * 2.0, axis=0)
first = x.T[0]
count = math.prod([1, 2]) - node.trace
"""
    found = porting._module_usage(ast.parse(source))
    assert found == {
        ("numpy", "np.random.default_rng"),
        ("numpy", "np.add.reduce"),  # the whole chain, not np.add as well
        ("Generator", "normal"),
        ("Generator", "uniform"),
        ("ndarray", "T"),  # math.prod is a module's function; trace is a Tensor's attribute
        ("operator", "__add__"),
        ("operator", "__mul__"),
        ("operator", "__sub__"),
        ("operator", "__getitem__"),
    }


def test_the_library_uses_what_its_primitives_are_built_on():
    used = set(porting.numpy_usage())
    for name in ["np.tanh", "np.matmul", "np.add.reduce", "np.add.at", "np.eye"]:
        assert ("numpy", name) in used
    assert ("ndarray", "astype") in used and ("Generator", "standard_normal") in used
    assert not any(name.startswith("np.") and kind != "numpy" for kind, name in used)
    modules = {m for uses in porting.numpy_usage().values() for m in uses}
    assert modules.isdisjoint(porting.NOT_PORTED) and "engine/primitives.py" in modules


# -- reference counting frees the graph ---------------------------------------------------------
@pytest.fixture
def only_reference_counting():
    """The cycle collector off: whatever is freed is freed by reference counts alone."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def loss_keeping_refs(refs):
    def loss(w):
        h = ad.tanh(w * 2.0)
        z = h * h + w
        refs.extend(weakref.ref(t) for t in (h, z))
        return ad.sum(z)

    return loss


def test_intermediates_of_a_finished_backward_pass_are_freed(only_reference_counting):
    refs = []
    g = ad.grad(loss_keeping_refs(refs))(np.arange(3.0))
    assert g.shape == (3,) and len(refs) == 2
    assert all(r() is None for r in refs), "an intermediate tensor outlived grad"


def test_a_graph_lives_as_long_as_its_output_and_recorded_derivatives(only_reference_counting):
    x = ad.Tensor(np.arange(3.0))
    y = loss_keeping_refs([])(x)
    dy_dx = ad.diff(y, x)  # recorded: its own graph refers to y's nodes
    refs = [weakref.ref(node) for node in ad.topological_order(y) if node is not x]
    assert len(refs) == 5 and all(r() is not None for r in refs)
    del y
    assert any(r() is not None for r in refs), "the recorded derivative still needs them"
    del dy_dx
    assert all(r() is None for r in refs)


def test_every_reference_points_to_an_older_node():
    """Why nothing is left for the cycle collector: inputs are created before their uses."""
    x = ad.Tensor(np.arange(3.0))
    y = loss_keeping_refs([])(x)
    hessian_graph = ad.diff(ad.diff(y, x), x)  # rules applied to rules: still acyclic
    for node in ad.topological_order(hessian_graph):
        for arg in node.inputs:
            if isinstance(arg, ad.Tensor) and arg.requires_grad:
                assert arg.seq < node.seq


def test_nothing_is_left_for_the_cycle_collector(only_reference_counting):
    f = loss_keeping_refs([])
    ad.grad(f)(np.arange(3.0))
    ad.hessian(f)(np.arange(3.0))
    x = ad.Tensor(np.arange(3.0))
    d2 = ad.diff(ad.diff(f(x), x), x)
    del x, d2
    assert gc.collect() == 0, "some objects were freed only by the cycle collector"
