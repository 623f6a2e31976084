"""What part 04 claims, asserted on its reference solution (the source notebook's answers).

Work is counted (derivative-rule evaluations, nodes visited, floats held by the graph), never
timed: the same on every machine and every run. The notebook's timing cells show the seconds.
"""

import numpy as np
import pytest
from coursekit import reference_namespace

import autodiff_lib as ad

PART = "04_autodiff_optimization"
SINGLE = ["setup", "graph_helpers", "my_matvec"]  # up to the one-vector operator
BATCHED = [*SINGLE, "batched_matvec", "count_matvec", "loader", "constant_data_loss",
           "fused_loss", "count_training_step"]  # fmt: skip


@pytest.fixture(scope="module")
def single():
    return reference_namespace(PART, SINGLE)


@pytest.fixture(scope="module")
def nb():
    return reference_namespace(PART, BATCHED)


def random_problems(seed, shapes):
    rng = np.random.default_rng(seed)
    for m, n in shapes:
        yield rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=m)


# -- the generic composition ------------------------------------------------------------------
def test_the_generic_product_keeps_every_term_in_its_graph(nb):
    A, x = np.arange(12.0).reshape(3, 4), ad.Tensor([1.0, 2.0, 3.0, 4.0])
    y = nb["generic_matvec"](A, x)
    np.testing.assert_allclose(y.value, A @ x.value)
    assert nb["rules_in_backward"](y) == {"getitem": 1, "multiply": 1, "sum": 1}
    assert nb["graph_floats"](y) == 4 + 4 + 12 + 3  # x, x as a row, the 3x4 terms, y
    assert any(node.shape == (3, 4) for node in ad.topological_order(y))


# -- exercise 1: one vector -------------------------------------------------------------------
def test_the_one_vector_operator_has_the_values_and_gradient_of_the_generic_one(single):
    my_matvec, generic_matvec = single["my_matvec"], single["generic_matvec"]
    for A, x, g in random_problems(1, [(1, 5), (7, 1), (6, 4), (4, 6), (3, 3)]):
        np.testing.assert_allclose(my_matvec(A, ad.Tensor(x)).value, A @ x)
        np.testing.assert_allclose(single["matvec_rule"](g, A @ x, A, x), A.T @ g)
        fused = lambda x, A=A, g=g: ad.sum(ad.tanh(my_matvec(A, x)) * g)
        generic = lambda x, A=A, g=g: ad.sum(ad.tanh(generic_matvec(A, x)) * g)
        np.testing.assert_allclose(ad.grad(fused)(x), ad.grad(generic)(x))
        np.testing.assert_allclose(ad.grad(fused)(x), A.T @ (g * (1 - np.tanh(A @ x) ** 2)))
        ad.check_grad(fused, x)


def test_with_the_one_vector_forward_a_square_jacobian_comes_out_transposed(single):
    """The notebook's demonstration: nothing fails, the Jacobian is silently Aᵀ."""
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    J = ad.jacobian(lambda x: single["my_matvec"](A, x))(np.array([1.0, 1.0]))
    np.testing.assert_allclose(J, A.T)
    assert not np.allclose(J, A)


# -- exercise 2: a batch of vectors, derivatives of every order ---------------------------------
def test_the_batched_operator_multiplies_every_vector_in_the_last_axis(nb):
    rng = np.random.default_rng(2)
    A = rng.normal(size=(4, 3))
    for shape in [(3,), (1, 3), (6, 3), (2, 5, 3)]:
        x = rng.normal(size=shape)
        expected = np.einsum("mn,...n->...m", A, x)
        np.testing.assert_allclose(nb["batched_matvec_forward"](A, x), expected)
        np.testing.assert_allclose(nb["my_matvec"](A, ad.Tensor(x)).value, expected)


def test_the_batched_operator_has_derivatives_of_every_order(nb):
    my_matvec, generic_matvec = nb["my_matvec"], nb["generic_matvec"]
    rng = np.random.default_rng(3)
    A, X = rng.normal(size=(4, 3)), rng.normal(size=(2, 3))
    np.testing.assert_allclose(ad.jacobian(lambda x: my_matvec(A, x))(X[0]), A)
    np.testing.assert_allclose(ad.jacobian(lambda x: my_matvec(A, x))(X),
                               ad.jacobian(lambda x: generic_matvec(A, x))(X))  # fmt: skip
    fused = lambda x: ad.sum(ad.tanh(my_matvec(A, x)) ** 2)
    generic = lambda x: ad.sum(ad.tanh(generic_matvec(A, x)) ** 2)
    library = lambda x: ad.sum(ad.tanh(ad.matvec(A, x)) ** 2)
    np.testing.assert_allclose(ad.hessian(fused)(X), ad.hessian(generic)(X), atol=1e-12)
    np.testing.assert_allclose(ad.grad(fused)(X), ad.grad(library)(X))
    ad.check_grad(fused, X, order=3)
    x = ad.Tensor(X[1])
    third = ad.diff(ad.diff(ad.diff(ad.sum(ad.sin(my_matvec(A, x))), x), x), x)
    expected = -np.einsum("m,mi,mj,mk->ijk", np.cos(A @ X[1]), A, A, A)
    np.testing.assert_allclose(third.value, expected, atol=1e-12)


def test_a_closed_form_rule_holds_only_under_its_assumption(nb):
    """my_matvec drops the derivative w.r.t. a variable A (grad warns: the output does not
    depend on A); ad.matvec refuses it."""
    rng = np.random.default_rng(4)
    A, x = rng.normal(size=(3, 2)), rng.normal(size=2)
    with pytest.warns(ad.AutodiffWarning, match="does not depend"):
        through_mine = ad.grad(lambda A: ad.sum(nb["my_matvec"](A, x)))(A)
    assert np.all(through_mine == 0)
    true = ad.grad(lambda A: ad.sum(ad.matmul(A, x)))(A)
    assert np.abs(true).max() > 0.1
    with pytest.raises(TypeError, match="matvec: the matrix A must be a constant"):
        ad.matvec(ad.Tensor(A), x)


# -- the fused operator, counted ----------------------------------------------------------------
def test_the_fused_operator_evaluates_fewer_rules_at_every_size(nb):
    assert nb["rules"]["generic"] == [5] * len(nb["sizes"])
    assert nb["rules"]["fused"] == [3] * len(nb["sizes"])
    for n in nb["sizes"]:  # counted here again, by the engine
        A, X = nb["matvec_problem"](n)
        counts = {}
        for name, operator in nb["operators"].items():
            with ad.count_operations() as ops:
                ad.grad(nb["matvec_loss"](operator, A))(X)
            counts[name] = ops.rule_evaluations, ops.nodes_visited
        assert counts["fused"][0] < counts["generic"][0]
        assert counts["fused"][1] < counts["generic"][1]


def test_the_generic_graph_holds_the_b_n2_terms_the_fused_one_only_vectors(nb):
    B = nb["batch"]
    for n, generic, fused in zip(nb["sizes"], nb["floats"]["generic"], nb["floats"]["fused"]):
        assert generic == B * n * n + 4 * B * n + 1
        assert fused == 3 * B * n + 1
    # a slope of 2 against a slope of 1 on the log-log plot
    sizes, floats = np.log(nb["sizes"]), {k: np.log(v) for k, v in nb["floats"].items()}
    assert 1.8 < np.polyfit(sizes, floats["generic"], 1)[0] < 2.0
    assert 0.99 < np.polyfit(sizes, floats["fused"], 1)[0] < 1.01


# -- the constant hint ----------------------------------------------------------------------------
def test_loaded_data_are_variables_and_the_sweep_goes_through_their_standardization(nb):
    X, y = nb["load_batch"](64, 4)
    assert X.requires_grad and y.requires_grad and X.primitive is not None
    w = np.zeros(4)
    rules = nb["rules_in_backward"](nb["data_loss"](ad.Tensor(w), X, y))
    assert {"sqrt", "divide"} <= set(rules) and rules["mean"] == 3  # the loss's and 2 of the data
    value, gradient = ad.value_and_grad(nb["data_loss"])(w, X, y)
    assert isinstance(gradient, ad.Tensor) and isinstance(value, ad.Tensor)  # recorded
    # the recorded sweep computed a differential as large as the batch (dL/dX)
    assert max(node.value.size for node in ad.topological_order(gradient)) >= 64 * 4


def test_constant_data_cost_nothing_behind_them_and_give_the_same_gradient(nb):
    for B, n, seed in [(64, 4, 0), (10, 3, 7), (50, 6, 8)]:
        X, y = nb["load_batch"](B, n, seed)
        w = np.random.default_rng(seed).normal(size=n)
        Xp, yp = X.value, y.value
        counted = {}
        for name, data in [("variables", (X, y)), ("plain", (Xp, yp))]:
            with ad.count_operations() as ops:
                value, gradient = ad.value_and_grad(nb["constant_data_loss"])(w, *data)
            assert isinstance(gradient, np.ndarray) and not isinstance(value, ad.Tensor)
            np.testing.assert_allclose(gradient, 2 / B * Xp.T @ (Xp @ w - yp))
            np.testing.assert_allclose(value, np.mean((Xp @ w - yp) ** 2))
            counted[name] = ops.rule_evaluations, ops.nodes_visited
        assert counted["variables"] == counted["plain"]
        rules = nb["rules_in_backward"](nb["constant_data_loss"](ad.Tensor(w), X, y))
        assert not {"sqrt", "divide"} & set(rules)


def test_each_trick_does_strictly_less_work_at_every_size(nb):
    step_rules = nb["step_rules"]
    loaded, constant, fused = (step_rules[name] for name in nb["losses"])
    n_sizes = len(nb["feature_sizes"])
    assert loaded == [18] * n_sizes and constant == [7] * n_sizes and fused == [5] * n_sizes
    for n, (X, y) in nb["batches"].items():
        work = {}
        for name, loss in nb["losses"].items():
            with ad.count_operations() as ops:
                w_new, _ = nb["training_step"](loss, np.zeros(n), X, y)
            work[name] = (ops.rule_evaluations, ops.nodes_visited, w_new)
        (r0, n0, w0), (r1, n1, w1), (r2, n2, w2) = work.values()
        assert r1 < r0 and n1 < n0  # the constant hint
        assert (r1 - r2, n1 - n2) == (2, 2)  # fused: one node and rule; matmul: three of each
        np.testing.assert_allclose(w1, w0)
        np.testing.assert_allclose(w2, w0)


def test_the_per_primitive_breakdown_shows_where_the_two_rules_go(nb):
    """The printed breakdown: matmul of a vector is a reshape, the product and a reshape."""
    X, y = nb["batches"][4]
    graphs = {name: nb["losses"][name](ad.Tensor(np.zeros(4)), X, y)
              for name in ["constant data", "constant data, fused"]}  # fmt: skip
    constant, fused = (nb["rules_in_backward"](g) for g in graphs.values())
    assert constant == {"matmul": 1, "mean": 1, "multiply": 2, "reshape": 2, "subtract": 1}
    assert fused == {"mean": 1, "multiply": 2, "my_matvec": 1, "subtract": 1}
    assert sum(constant.values()) - sum(fused.values()) == 2


def test_the_timed_columns_do_the_same_work_however_the_data_were_marked(nb):
    """The timing cell marks the data constant before the clock: the constant columns then
    count the same as on the data as loaded, and a student's other way of marking (the raw
    arrays) counts the same too. The ordering is asserted by counting, never by timing."""

    def raw_arrays_loss(w, X, y):
        residual = ad.matmul(ad.value_of(X), w) - ad.value_of(y)
        return ad.mean(residual * residual)

    for n, (X, y) in nb["batches"].items():
        counts = {}
        for name, loss, data in [
            ("constant", nb["constant_data_loss"], (X, y)),
            ("constant, marked before", nb["constant_data_loss"], (ad.constant(X), ad.constant(y))),
            ("raw arrays", raw_arrays_loss, (X, y)),
            ("fused", nb["fused_loss"], (X, y)),
            ("fused, marked before", nb["fused_loss"], (ad.constant(X), ad.constant(y))),
        ]:
            with ad.count_operations() as ops:
                nb["training_step"](loss, np.zeros(n), *data)
            counts[name] = (ops.rule_evaluations, ops.nodes_visited)
        assert counts["constant"] == counts["constant, marked before"] == counts["raw arrays"]
        assert counts["fused"] == counts["fused, marked before"]
        assert counts["fused"][0] < counts["constant"][0]


def test_with_a_forward_written_x_at_a_transposed_the_jacobian_is_right_at_once(single):
    """Exercise 1 answered with the batch-aware x @ A.T: "equals A: True" (the claim about a
    transposed Jacobian holds for the forward A @ x only)."""
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    for forward, expected in [(lambda A, x: A @ x, A.T), (lambda A, x: x @ A.T, A)]:
        op = ad.primitive(forward, "op")
        ad.defvjp(op, None, lambda g, ans, A, x, op=op: op(A.T, g))
        J = ad.jacobian(lambda x, op=op: op(A, x))(np.array([1.0, 1.0]))
        np.testing.assert_allclose(J, expected)
