"""What part 05 claims, asserted on its reference solution (the source notebook's answers).

The counts are exact: on x_{k+1} = tanh(x_k)·x_k (two uses of x_k per level, so the number of
paths doubles per level) the textbook recursion evaluates 3(2^k − 1) rules and the cached one
3k, as the library's engine does with its differential cache switched off and on. On
x_{k+1} = tanh(x_k)·x_k + x_k (three uses per level) they are 3(3^k − 1) and 5k.
"""

import gc
import sys
import weakref

import numpy as np
import pytest
from coursekit import ROOT, cell_source, reference_namespace

import autodiff_lib as ad

PART = "05_differential_cache"
RELEASE = ROOT / "release" / "05_differential_cache" / "05_differential_cache.ipynb"
REFERENCE_CELLS = ["setup", "chain_rule", "chain", "cached_chain_rule", "count_chain",
                   "chain_plus", "predicted_rules"]  # fmt: skip
HIDDEN_DEPTHS = [13, 14]  # depths the notebook does not show (the hidden tests use others)


@pytest.fixture(scope="module")
def nb():
    """The namespace of the notebook's given cells and its reference answer."""
    return reference_namespace(PART, REFERENCE_CELLS)


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


def test_the_cached_count_is_the_number_of_edges_and_the_linear_plot_loses_the_other(nb):
    assert nb["graph_edges"] == nb["counts"]["cached"] == [3 * k for k in nb["depths"]]
    top = 1.6 * max(nb["counts"]["cached"])  # the linear panel's upper limit
    textbook = nb["counts"]["textbook"]
    assert textbook[3] < top < textbook[4]  # "it leaves the plot after four levels"


def chain_plus_counts(nb, k):
    """(textbook_grad's rules, the engine's without and with its cache) on chain_plus."""
    f = lambda x: nb["chain_plus"](x, k)
    engine = [engine_counts(f, 0.5, cache)[1] for cache in (False, True)]
    return nb["textbook_grad"](f, 0.5)[1], *engine


@pytest.mark.parametrize("k", range(1, 9))
def test_three_uses_per_level_triple_the_paths_and_the_cache_counts_five_per_level(nb, k):
    textbook, engine_textbook, engine = chain_plus_counts(nb, k)
    assert textbook == 3 * (3**k - 1)
    assert nb["cached_grad"](lambda x: nb["chain_plus"](x, k), 0.5)[1] == engine == 5 * k
    assert tuple(nb["predicted_rules"](k)) == (textbook, engine)
    # the engine's textbook mode groups paths by their last edge: fewer rules, the same growth
    assert engine_textbook == 5 * (3**k - 1) // 2 < textbook


def test_the_prediction_holds_at_depths_too_deep_to_count(nb):
    for k in [10, 25, 60]:
        assert tuple(nb["predicted_rules"](k)) == (3 * (3**k - 1), 5 * k)


def test_one_cache_serves_two_outputs_only_when_keyed_by_the_pair(nb):
    """The notebook's z = x_2 and y = x_5 (computed from z), one cache for both: right with the
    pair as key; a cache that drops y from the key hands dy/dx back as dz/dx."""

    class KeyedByXOnly(dict):
        def __contains__(self, key):
            return super().__contains__(key[1])

        def __getitem__(self, key):
            return super().__getitem__(key[1])

        def __setitem__(self, key, value):
            super().__setitem__(key[1], value)

    chain, cached, users_of = nb["chain"], nb["cached_chain_rule"], nb["users_of"]
    expected = [ad.grad(lambda x, k=k: chain(x, k))(0.5) for k in (5, 2)]
    for cache, right in [({}, True), (KeyedByXOnly(), False)]:
        x = ad.Tensor(0.5)
        z = chain(x, 2)
        y = chain(z, 3)
        counts = ad.OperationCounts()
        dy_dx = cached(y, x, users_of(y), counts, cache)
        dz_dx = cached(z, x, users_of(z), counts, cache)
        np.testing.assert_allclose(dy_dx, expected[0])
        assert np.isclose(dz_dx, expected[1]) == right
        assert (len(cache), counts.rule_evaluations) == ((11 + 5, 15 + 6) if right else (11, 15))


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


def test_a_rule_that_captures_its_own_node_makes_a_cycle_that_only_gc_frees(nb):
    """The model answer of question 2: node -> grad_inputs -> rule's closure -> node."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        x = ad.Tensor(0.5)
        y = nb["chain"](x, 3)
        rule, parent = y.grad_inputs[0]
        y.grad_inputs[0] = (lambda g, *args, node=y, **kwargs: rule(g, *args, **kwargs), parent)
        np.testing.assert_allclose(ad.diff(y, x).value, ad.grad(lambda x: nb["chain"](x, 3))(0.5))
        alive = [weakref.ref(node) for node in ad.topological_order(y) if node is not x]
        del y, parent
        assert all(r() is not None for r in alive)  # reference counting cannot free a cycle
        gc.collect()
        assert all(r() is None for r in alive)  # the cycle collector can
    finally:
        if was_enabled:
            gc.enable()


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


KEYED_BY_X_ALONE = '''
def cached_chain_rule(y, x, users, counts, cache):
    if x.seq not in cache:
        if x is y:
            cache[x.seq] = np.ones(y.shape)
        else:
            dy_dx = np.zeros(x.shape)
            for c, rule in users[x.seq]:
                dy_dx = dy_dx + local_differential(
                    rule, cached_chain_rule(y, c, users, counts, cache), c, x, counts)
            cache[x.seq] = dy_dx
    return cache[x.seq]
'''


def test_a_cache_keyed_by_x_alone_fails_the_visible_test_and_the_reference_passes_it(nb):
    """It passes every test of one output (depth 3, the counts, the gradients): the visible
    test shares one cache between two outputs, which it answers wrongly."""
    visible = cell_source(RELEASE, "test_cache_counts")
    exec(visible, dict(nb))  # the reference answer
    wrong = dict(nb)
    exec(KEYED_BY_X_ALONE, wrong)
    gradient, rules = wrong["cached_grad"](lambda x: wrong["chain"](x, 3), 0.5)
    assert rules == 9 and np.isclose(gradient, ad.grad(lambda x: nb["chain"](x, 3))(0.5))
    with pytest.raises(AssertionError, match=r"pair \(y.seq, x.seq\)"):
        exec(visible, wrong)
