"""Teacher-student data: samples from a known "true" network, plus noise.

A *teacher* MLP with random weights plays the unknown law of nature; the samples are its
outputs at random inputs plus Gaussian noise,

    y = mlp(true_params, x) + noise · ε,   ε ~ N(0, 1),

and a *student* MLP of the same architecture learns from ``(x, y)``. Because the true weights
are known, the student's error can be compared with the error of the truth itself on the same
samples (``metrics.rmae``), which is not zero: the noise cannot be predicted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .networks import init_mlp, mlp

__all__ = ["TeacherStudentData", "teacher_student"]


@dataclass(frozen=True)
class TeacherStudentData:
    """Samples ``x`` (n, n_0) and targets ``y`` (n, n_L) of the teacher ``true_params``."""

    x: np.ndarray
    y: np.ndarray
    true_params: list
    noise: float

    def teacher(self, x) -> np.ndarray:
        """The true function at inputs ``x`` (shape (m, n_0)): ``mlp(true_params, x)``."""
        return mlp(self.true_params, x)

    @property
    def clean(self) -> np.ndarray:
        """The teacher's outputs at the samples, without noise."""
        return self.teacher(self.x)


def teacher_student(sizes, n_samples, noise=0.1, seed=0, input_range=2.0, gain=2.0):
    """``n_samples`` noisy samples of a random teacher MLP with layer sizes ``sizes``.

    Inputs are uniform in ``[-input_range, input_range]`` in each coordinate. The teacher's
    weights come from ``init_mlp(sizes, weight_scale=gain, bias_scale=gain / 2)``: a gain above
    1 puts its tanh units into their curved range, so the function it computes has bends.
    Everything is drawn from one generator seeded with ``seed``: the same seed, the same data.
    """
    if n_samples < 1:
        raise ValueError(f"teacher_student: need at least one sample, got {n_samples}")
    if noise < 0:
        raise ValueError(f"teacher_student: the noise level must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    true_params = init_mlp(sizes, rng, weight_scale=gain, bias_scale=gain / 2)
    x = rng.uniform(-input_range, input_range, size=(n_samples, sizes[0]))
    clean = np.asarray(mlp(true_params, x))
    y = clean + noise * rng.normal(size=clean.shape)
    return TeacherStudentData(x, y, true_params, float(noise))
