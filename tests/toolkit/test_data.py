"""Teacher-student data (autodiff_lib.data): seeded samples of a known MLP, plus noise."""

import numpy as np
import pytest

from autodiff_lib.data import teacher_student
from autodiff_lib.networks import layer_sizes, mlp


def test_the_samples_come_from_the_teacher_plus_noise_of_the_given_level():
    data = teacher_student([2, 6, 3], n_samples=20_000, noise=0.3, seed=1)
    assert data.x.shape == (20_000, 2) and data.y.shape == (20_000, 3)
    assert layer_sizes(data.true_params) == [2, 6, 3]
    np.testing.assert_array_equal(data.clean, mlp(data.true_params, data.x))
    residual = data.y - data.clean
    assert residual.std() == pytest.approx(0.3, rel=0.02) and abs(residual.mean()) < 0.01
    assert data.noise == 0.3


def test_inputs_are_uniform_in_the_range():
    data = teacher_student([1, 4, 1], n_samples=5000, seed=2, input_range=3.0)
    assert data.x.min() >= -3.0 and data.x.max() <= 3.0
    assert data.x.min() < -2.9 and data.x.max() > 2.9


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    a, b = (teacher_student([1, 8, 8, 1], 50, seed=3) for _ in range(2))
    c = teacher_student([1, 8, 8, 1], 50, seed=4)
    for first, second in [(a.x, b.x), (a.y, b.y), *zip(a.true_params, b.true_params)]:
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(a.y, c.y) and not np.array_equal(a.true_params[0], c.true_params[0])


def test_the_teacher_bends_and_its_gain_sets_how_much():
    flat = teacher_student([1, 8, 8, 1], 400, noise=0.0, seed=2, gain=0.1)
    bent = teacher_student([1, 8, 8, 1], 400, noise=0.0, seed=2, gain=2.0)

    def misfit_of_a_line(data):  # how far the teacher is from the best straight line
        design = np.hstack([data.x, np.ones_like(data.x)])
        coef, *_ = np.linalg.lstsq(design, data.y, rcond=None)
        return np.std(data.y - design @ coef) / np.std(data.y)

    assert misfit_of_a_line(flat) < 0.05 < 0.2 < misfit_of_a_line(bent)


def test_without_noise_the_targets_are_the_teacher():
    data = teacher_student([3, 4, 2], 30, noise=0.0, seed=5)
    np.testing.assert_array_equal(data.y, data.clean)


@pytest.mark.parametrize("kwargs", [{"n_samples": 0}, {"n_samples": 10, "noise": -0.1}])
def test_impossible_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        teacher_student([1, 2, 1], **kwargs)
