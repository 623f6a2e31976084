"""What part 05 claims, asserted on its reference solution (the source notebook's answers).

The counts are exact: on x_{k+1} = tanh(x_k)·x_k (two uses of x_k per level, so the number of
paths doubles per level) the textbook recursion evaluates 3(2^k − 1) rules and the cached one
3k, as the library's engine does with its differential cache switched off and on.
"""

import gc
import sys
import weakref

import nbformat
import numpy as np
import pytest
from coursekit import ROOT

import autodiff_lib as ad

NOTEBOOK = ROOT / "source" / "05_differential_cache" / "05_differential_cache.ipynb"
HIDDEN_DEPTHS = [13, 14]  # depths the notebook does not show (the hidden tests use others)


@pytest.fixture(scope="module")
def nb():
    """The namespace of the notebook's given cells and its reference answer."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in notebook.cells}
    namespace = {}
    for grade_id in ["setup", "chain_rule", "chain", "cached_chain_rule", "count_chain"]:
        exec(compile(cells[grade_id], f"<{grade_id}>", "exec"), namespace)
    return namespace


def engine_counts(f, x0, cache):
    with ad.differential_cache(cache), ad.count_operations() as ops:
        gradient = ad.grad(f)(x0)
    return gradient, ops.rule_evaluations


def layered(x):
    W = np.random.default_rng(1).normal(size=(5, 3))
    s = ad.sum(ad.tanh(W * x) * x, axis=0)
    return ad.sum(s * s) + ad.mean(x**3) - ad.sum(ad.exp(-x * x))


def squares(x):
    for _ in range(4):
        x = x * x + ad.sin(x)
    return ad.sum(x)


def with_a_constant(x):
    u = ad.tanh(x) + ad.constant(np.arange(3.0))
    return ad.sum(u * u * x) / ad.sum(ad.cosh(x))


GRAPHS = [(layered, [0.3, -1.2, 0.8]), (squares, [0.1, -0.2, 0.3]),
          (with_a_constant, [0.5, 1.5, -0.5])]  # fmt: skip


def test_the_textbook_recursion_is_the_chain_rule(nb):
    f = lambda x: ad.tanh(x) * x
    gradient, rules = nb["textbook_grad"](f, 0.5)
    assert rules == 3
    np.testing.assert_allclose(gradient, ad.grad(f)(0.5))
    for f, x0 in GRAPHS:
        x0 = np.array(x0)
        np.testing.assert_allclose(nb["textbook_grad"](f, x0)[0], ad.grad(f)(x0))


def test_without_the_cache_the_count_doubles_per_level(nb):
    depths = nb["depths"] + HIDDEN_DEPTHS
    hidden = [nb["textbook_grad"](lambda x, k=k: nb["chain"](x, k), 0.5)[1] for k in HIDDEN_DEPTHS]
    textbook = nb["counts"]["textbook"] + hidden
    assert textbook == [3 * (2**k - 1) for k in depths]
    assert all(b == 2 * a + 3 for a, b in zip(textbook, textbook[1:]))
    assert nb["counts"]["engine, no cache"] == nb["counts"]["textbook"][: len(nb["depths"])]


def test_each_differential_is_recomputed_once_per_path_to_it(nb):
    """chain_rule(y, x_j) runs once for every path from x_0 to x_j: 2^j of them."""
    calls = {}
    plain = nb["chain_rule"]

    def counting(y, x, users, counts):
        calls[x.seq] = calls.get(x.seq, 0) + 1
        return plain(y, x, users, counts)

    x = ad.Tensor(0.5)
    levels, y = [x], x
    for _ in range(6):
        y = ad.tanh(y) * y
        levels.append(y)
    nb["chain_rule"] = counting  # the recursion calls the name: every call is counted
    try:
        counting(y, x, nb["users_of"](y), ad.OperationCounts())
    finally:
        nb["chain_rule"] = plain
    assert [calls[level.seq] for level in levels] == [2**j for j in range(7)]


@pytest.mark.parametrize("depth", [*range(1, 13), 13, 15, 24, 40, 100])
def test_with_the_cache_three_rules_per_level_as_the_engine(nb, depth):
    f = lambda x: nb["chain"](x, depth)
    gradient, rules = nb["cached_grad"](f, 0.5)
    expected, engine_rules = engine_counts(f, 0.5, cache=True)
    assert rules == engine_rules == 3 * depth
    np.testing.assert_allclose(gradient, expected)
    if depth <= 12:
        assert nb["counts"]["cached"][depth - 1] == nb["counts"]["engine"][depth - 1] == rules


def test_the_cache_evaluates_each_rule_once_on_other_graphs_and_agrees_with_grad(nb):
    for f, x0 in GRAPHS:
        x0 = np.array(x0)
        gradient, rules = nb["cached_grad"](f, x0)
        expected, engine_rules = engine_counts(f, x0, cache=True)
        np.testing.assert_allclose(gradient, expected)
        assert rules == engine_rules
        assert rules < nb["textbook_grad"](f, x0)[1]


def test_the_recursive_version_hits_pythons_recursion_limit_the_engine_does_not(nb):
    depth = sys.getrecursionlimit()  # two frames per level: past the limit
    with pytest.raises(RecursionError):
        nb["cached_grad"](lambda x: nb["chain"](x, depth), 0.5)
    gradient = ad.grad(lambda x: nb["chain"](x, 50_000))(0.5)  # 100 000 operations
    assert np.isfinite(gradient)


def test_reference_counting_alone_frees_the_graph_and_its_recorded_derivative(nb):
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        x = ad.Tensor(0.5)
        y = nb["chain"](x, 10)
        dy_dx = ad.diff(y, x)
        alive = [weakref.ref(node) for node in ad.topological_order(y) if node is not x]
        assert len(alive) == 20 and all(r() is not None for r in alive)
        np.testing.assert_allclose(dy_dx.value, ad.grad(lambda x: nb["chain"](x, 10))(0.5))
        del y, dy_dx
        assert sum(r() is not None for r in alive) == 0
    finally:
        if was_enabled:
            gc.enable()
