"""mse, mae and the relative mean absolute error (autodiff_lib.metrics)."""

import numpy as np
import pytest

import autodiff_lib as ad
from autodiff_lib.metrics import mae, mse, rmae

TARGET = np.array([[1.0], [2.0], [4.0]])


def test_mse_and_mae_values():
    prediction = np.array([[2.0], [2.0], [1.0]])
    assert mse(prediction, TARGET) == pytest.approx((1 + 0 + 9) / 3)
    assert mae(prediction, TARGET) == pytest.approx((1 + 0 + 3) / 3)
    assert isinstance(mse(prediction, TARGET), (float, np.floating))


def test_mse_is_differentiable():
    prediction = np.array([[2.0], [2.0], [1.0]])
    np.testing.assert_allclose(ad.grad(mse)(prediction, TARGET), 2 * (prediction - TARGET) / 3)
    np.testing.assert_allclose(ad.grad(mae)(prediction, TARGET), np.sign(prediction - TARGET) / 3)


@pytest.mark.parametrize("metric", [mse, mae, lambda p, t: rmae(p, t + 1.0, t)])
def test_shapes_must_match_instead_of_broadcasting(metric):
    with pytest.raises(ValueError, match=r"\(3,\)"):  # (3, 1) against (3,) is 3 x 3 pairs
        metric(np.zeros((3, 1)), np.zeros(3))


def test_rmae_is_zero_for_the_truth_one_for_twice_its_error_and_can_be_negative():
    rng = np.random.default_rng(0)
    clean = rng.normal(size=(50, 1))
    y = clean + 0.1 * rng.normal(size=(50, 1))
    assert rmae(clean, clean, y) == 0.0
    twice_as_far = y + 2 * (clean - y)
    assert rmae(twice_as_far, clean, y) == pytest.approx(1.0)
    halfway_to_the_samples = clean + 0.5 * (y - clean)  # follows the noise: beats the truth
    assert rmae(halfway_to_the_samples, clean, y) == pytest.approx(-0.5)
    assert isinstance(rmae(ad.Tensor(clean), clean, y), float)  # Tensors are accepted


def test_rmae_needs_a_truth_with_an_error():
    with pytest.raises(ValueError, match="undefined"):
        rmae(TARGET + 1, TARGET, TARGET)
