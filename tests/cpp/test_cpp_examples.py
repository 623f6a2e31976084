"""The C++ examples (cpp/examples/) redo parts 01 and 03 and print the notebooks' figures.

``cpp/examples/make_data.py`` writes the data with numpy as the notebooks draw them; the programs
(built by ``make test-cpp`` in ``$AUTODIFF_CPP_BUILD/examples``) read it, print the notebooks'
lines and write every figure with all its digits to a file. Here the same computations run with
autodiff_lib, and the figures must agree: counts and step numbers exactly, values to relative
1e-10 (one gradient) or 1e-8 (after 10 000 steps of training, where rounding differences in the
last bits compound), and the trained network must reach the course's RMAE < 0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from coursekit import ROOT

import autodiff_lib as ad
from autodiff_lib.landscapes import quadratic
from autodiff_lib.metrics import rmae
from autodiff_lib.networks import mlp

sys.path.insert(0, str(ROOT / "cpp" / "examples"))
import make_data  # noqa: E402  (the one place the examples' data are made)

BUILD = os.environ.get("AUTODIFF_CPP_BUILD", str(ROOT / "cpp" / "build" / "release"))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cpp-examples")
    make_data.write(folder)
    return folder


def run_example(name, data, tmp_path):
    """The program's printout and its figures ``{name: value}`` (lines ``name value ...``)."""
    figures_file = tmp_path / f"{name}.txt"
    printed = subprocess.run(
        [os.path.join(BUILD, "examples", name), str(data), str(figures_file)],
        capture_output=True, text=True, check=True, timeout=300,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    ).stdout  # fmt: skip
    return printed, figures_file.read_text().splitlines()


def words(line):
    """``"name 1 rules 35 ..."`` as ``{"name": 1.0, "rules": 35.0}`` after the leading label."""
    parts = line.split()
    return {key: float(value) for key, value in zip(parts[::2], parts[1::2])}


def test_part01_newton_against_gradient_descent(data, tmp_path):
    printed, lines = run_example("part01_newton_vs_gd", data, tmp_path)
    f = quadratic(make_data.A, make_data.X_STAR)
    x0 = make_data.X0
    assert "rules/step" in printed and "time/step" in printed
    assert float(lines[0].split()[1]) == pytest.approx(float(f(x0)), rel=1e-14)
    for line, eta in zip(lines[1:4], [0.2, 0.01, 0.15], strict=True):
        fixed = words(line)
        r = ad.gradient_descent(f, x0, step_size=eta, tol=1e-6, max_steps=200, adaptive=False)
        assert (fixed["fixed"], fixed["steps"]) == (pytest.approx(eta), r.steps)
        assert fixed["loss"] == pytest.approx(r.losses[-1], rel=1e-10)
    runs = {
        "Newton": lambda: ad.newton(f, x0, tol=1e-8),
        "gradient descent": lambda: ad.gradient_descent(f, x0, step_size=0.01, tol=1e-8),
    }
    for line, (name, run) in zip(lines[4:], runs.items(), strict=True):
        assert line.startswith(name)
        ours = words(line[len(name) + 1 :])
        with ad.count_operations() as ops:
            result = run()
        assert ours["steps"] == result.steps and ours["converged"] == result.converged == 1
        assert ours["rules"] == ops.rule_evaluations, f"{name}: rule evaluations differ"
        np.testing.assert_allclose([ours["x0"], ours["x1"]], result.x, rtol=1e-10, atol=1e-12)
        assert ours["seconds_per_step"] > 0
    assert "Newton                 1" in printed  # one step on a quadratic, as in the notebook


def test_part03_trains_to_the_noise_floor_as_the_notebook_does(data, tmp_path):
    printed, lines = run_example("part03_deep_learning", data, tmp_path)
    figures = {line.split()[0]: float(line.split()[1]) for line in lines}
    part03 = data / "part03"
    x, y, clean = (np.load(part03 / f"{name}.npy") for name in ("x", "y", "clean"))
    initial = [np.load(part03 / f"{name}.npy") for name in make_data.NAMES]
    true_params = [np.load(part03 / f"true_{name}.npy") for name in make_data.NAMES]
    batches = np.load(part03 / "batches.npy")

    def loss(params, x, y):  # the notebook's loss: mse of its forward, which is networks.mlp
        return ad.mean((mlp(params, x) - y) ** 2)

    value_and_grad_loss = ad.value_and_grad(loss)
    params, losses = initial, []
    per_epoch = make_data.SAMPLES // make_data.BATCH_SIZE
    for step, batch in enumerate(batches, start=1):
        _, grads = value_and_grad_loss(params, x[batch], y[batch])
        params = [p - make_data.STEP_SIZE * g for p, g in zip(params, grads, strict=True)]
        if step % per_epoch == 0:
            losses.append(float(loss(params, x, y)))
    assert figures["steps"] == len(batches) and figures["epochs"] == len(losses) == 1000
    assert figures["initial_loss"] == pytest.approx(float(loss(initial, x, y)), rel=1e-12)
    assert figures["true_loss"] == pytest.approx(float(loss(true_params, x, y)), rel=1e-12)
    assert figures["first_epoch_loss"] == pytest.approx(losses[0], rel=1e-10)
    assert figures["last_epoch_loss"] == pytest.approx(losses[-1], rel=1e-8)
    assert figures["rmae_before"] == pytest.approx(rmae(mlp(initial, x), clean, y), rel=1e-10)
    after = rmae(mlp(params, x), clean, y)
    assert figures["rmae_after"] == pytest.approx(after, rel=1e-6, abs=1e-8)
    assert figures["rmae_after"] < 0.1, "the course's claim: training reaches RMAE < 0.1"
    assert f"RMAE: {figures['rmae_before']:.2f} before training" in printed
