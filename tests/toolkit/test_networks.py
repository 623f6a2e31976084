"""The MLP of autodiff_lib.networks: initialization, the forward pass and its gradient."""

import numpy as np
import pytest
from numeric import central_jacobian

import autodiff_lib as ad
from autodiff_lib.metrics import mse
from autodiff_lib.networks import init_mlp, layer_sizes, mlp


def numpy_mlp(params, x):
    """The forward pass by hand: tanh after every layer but the last."""
    h = x
    for k in range(0, len(params), 2):
        h = h @ params[k] + params[k + 1]
        if k < len(params) - 2:
            h = np.tanh(h)
    return h


def numpy_mse_gradient(params, x, y):
    """Backpropagation by hand for mean((mlp(params, x) - y)^2): the reference gradient."""
    activations = [x]
    for k in range(0, len(params), 2):
        z = activations[-1] @ params[k] + params[k + 1]
        activations.append(np.tanh(z) if k < len(params) - 2 else z)
    delta = 2.0 * (activations[-1] - y) / y.size
    grads = [None] * len(params)
    for k in range(len(params) - 2, -1, -2):
        layer_input = activations[k // 2]
        grads[k], grads[k + 1] = layer_input.T @ delta, delta.sum(axis=0)
        if k > 0:
            delta = (delta @ params[k].T) * (1.0 - layer_input**2)
    return grads


def test_init_gives_the_shapes_of_the_layer_sizes():
    params = init_mlp([3, 5, 4, 2], seed=0)
    assert [p.shape for p in params] == [(3, 5), (5,), (5, 4), (4,), (4, 2), (2,)]
    assert all(isinstance(p, np.ndarray) and p.dtype == np.float64 for p in params)
    assert layer_sizes(params) == [3, 5, 4, 2]
    assert all(np.all(b == 0) for b in params[1::2])  # biases start at zero by default


def test_init_is_seeded_and_scaled_by_the_fan_in():
    same = init_mlp([4, 6, 1], seed=7), init_mlp([4, 6, 1], seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(*same))
    other = init_mlp([4, 6, 1], seed=8)
    assert not np.array_equal(same[0][0], other[0][0])
    generator = np.random.default_rng(3)  # a Generator is accepted and advanced
    first, second = init_mlp([2, 2], generator), init_mlp([2, 2], generator)
    assert not np.array_equal(first[0], second[0])
    W, b = init_mlp([400, 300], seed=1, weight_scale=2.0, bias_scale=0.5)
    assert W.std() == pytest.approx(2.0 / np.sqrt(400), rel=0.02)
    assert abs(W.mean()) < 0.01 and b.std() == pytest.approx(0.5, rel=0.15)


@pytest.mark.parametrize("sizes", [[3], [3, 0, 1], []])
def test_init_refuses_impossible_layer_sizes(sizes):
    with pytest.raises(ValueError, match="layer sizes"):
        init_mlp(sizes)


def test_layer_sizes_names_the_layer_whose_shapes_do_not_fit():
    params = init_mlp([3, 5, 2], seed=0)
    with pytest.raises(ValueError, match="even"):
        layer_sizes(params[:3])
    params[2] = np.zeros((4, 2))
    with pytest.raises(ValueError, match="layer 2"):
        layer_sizes(params)


@pytest.mark.parametrize("sizes", [[2, 1], [1, 8, 8, 1], [3, 5, 4, 2], [2, 3, 3, 3, 2]])
def test_forward_is_tanh_hidden_layers_and_a_linear_output(sizes):
    params = init_mlp(sizes, seed=1, weight_scale=2.0, bias_scale=1.0)
    x = np.random.default_rng(2).normal(size=(7, sizes[0]))
    out = mlp(params, x)
    assert isinstance(out, np.ndarray) and out.shape == (7, sizes[-1])  # plain arrays in and out
    np.testing.assert_allclose(out, numpy_mlp(params, x), rtol=1e-13, atol=1e-14)


def test_the_output_layer_is_linear():
    params = [np.ones((1, 2)), np.zeros(2), np.ones((2, 1)), np.array([5.0])]
    np.testing.assert_allclose(mlp(params, np.array([[0.0], [100.0]])), [[5.0], [7.0]])


@pytest.mark.parametrize("sizes", [[1, 8, 8, 1], [3, 5, 4, 2]])
def test_the_gradient_w_r_t_every_weight_is_backpropagation(sizes):
    params = init_mlp(sizes, seed=4, weight_scale=1.5, bias_scale=0.5)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(11, sizes[0])), rng.normal(size=(11, sizes[-1]))
    loss, grads = ad.value_and_grad(lambda p, x, y: mse(mlp(p, x), y))(params, x, y)
    assert isinstance(grads, list) and all(isinstance(g, np.ndarray) for g in grads)
    assert float(loss) == pytest.approx(np.mean((numpy_mlp(params, x) - y) ** 2), rel=1e-13)
    for got, expected in zip(grads, numpy_mse_gradient(params, x, y)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)


def test_the_gradient_agrees_with_central_differences():
    params = init_mlp([2, 4, 1], seed=6, weight_scale=1.5, bias_scale=0.5)
    x, y = np.random.default_rng(7).normal(size=(5, 2)), np.ones((5, 1))
    grads = ad.grad(lambda p: mse(mlp(p, x), y))(params)
    for k in range(len(params)):
        def loss_of_k(w, k=k):
            return mse(mlp(params[:k] + [w] + params[k + 1 :], x), y)

        np.testing.assert_allclose(grads[k], central_jacobian(loss_of_k, [params[k]]), atol=1e-8)


def test_data_passed_as_plain_arrays_costs_no_derivative_work():
    params = init_mlp([1, 8, 8, 1], seed=0)
    x, y = np.linspace(-1, 1, 20).reshape(-1, 1), np.zeros((20, 1))
    loss = lambda p, x, y: mse(mlp(p, x), y)  # noqa: E731
    with ad.count_operations() as weights_only:
        ad.grad(loss)(params, x, y)
    with ad.count_operations() as with_the_data:
        ad.grad(loss, argnum=(0, 1))(params, x, y)
    assert weights_only.rule_evaluations < with_the_data.rule_evaluations
    with ad.count_operations() as bigger_batch:
        ad.grad(loss)(params, np.tile(x, (10, 1)), np.tile(y, (10, 1)))
    assert bigger_batch.rule_evaluations == weights_only.rule_evaluations  # one rule per edge


def test_forward_on_tensors_is_differentiable_twice():
    params = init_mlp([1, 3, 1], seed=2, weight_scale=1.5, bias_scale=0.5)
    f = lambda x: ad.sum(mlp(params, ad.reshape(x, (-1, 1))))  # noqa: E731
    ad.check_grad(f, np.array([0.3, -0.7]), order=2)
