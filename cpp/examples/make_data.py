"""The data of the C++ examples, made once, with numpy and autodiff_lib, as the notebooks make it.

xtensor's random numbers are not numpy's (another generator, other streams), so the examples
do not draw their own: this script writes every number they need as .npy files, which
``xt::load_npy`` reads. ``python cpp/examples/make_data.py FOLDER`` writes

* ``FOLDER/part01/``: the quadratic of part 01 (``A``, ``x_star``) and the start ``x0``;
* ``FOLDER/part03/``: part 03's teacher-student samples (``teacher_student([1, 8, 8, 1], 200,
  noise=0.1, seed=2)``: ``x``, ``y``, the teacher's noise-free outputs ``clean`` and its
  weights ``true_W1`` ... ``true_b3``), the student's initial weights (``init_mlp(SIZES, seed=0)``:
  ``W1`` ... ``b3``), and ``batches``: the sample indices of every mini-batch of the 1000 epochs,
  drawn as the notebook's ``train`` draws them (``default_rng(0).permutation(200)`` per epoch,
  cut into batches of 20), and the ``step_size`` of every step (0.05).

``tests/cpp/test_cpp_examples.py`` runs the programs on these files and checks their figures
against autodiff_lib's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from autodiff_lib.data import teacher_student
from autodiff_lib.networks import init_mlp

# part 01: the landscape cell of the notebook
A = np.array([[10.0, 4.0], [4.0, 1.8]])
X_STAR = np.array([1.0, -1.0])
X0 = np.array([-2.0, 2.0])

# part 03: the data, initial weights and training settings of the notebook
SIZES = [1, 8, 8, 1]
SAMPLES, NOISE, DATA_SEED = 200, 0.1, 2
INIT_SEED, TRAIN_SEED = 0, 0
EPOCHS, BATCH_SIZE, STEP_SIZE = 1000, 20, 0.05
NAMES = ["W1", "b1", "W2", "b2", "W3", "b3"]


def minibatch_indices(n_samples, batch_size, epochs, seed):
    """Every epoch's shuffled order cut into batches, as rows of (epochs · batches, batch_size)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(epochs):
        order = rng.permutation(n_samples)
        rows += [order[start : start + batch_size] for start in range(0, n_samples, batch_size)]
    return np.array(rows, dtype=np.int64)


def write(folder: Path) -> None:
    part01 = folder / "part01"
    part01.mkdir(parents=True, exist_ok=True)
    for name, array in {"A": A, "x_star": X_STAR, "x0": X0}.items():
        np.save(part01 / f"{name}.npy", array)

    part03 = folder / "part03"
    part03.mkdir(parents=True, exist_ok=True)
    if SAMPLES % BATCH_SIZE:
        raise ValueError("the batches file holds equal batches: BATCH_SIZE must divide SAMPLES")
    data = teacher_student(SIZES, n_samples=SAMPLES, noise=NOISE, seed=DATA_SEED)
    arrays = {"x": data.x, "y": data.y, "clean": np.asarray(data.clean)}
    arrays |= {f"true_{name}": p for name, p in zip(NAMES, data.true_params, strict=True)}
    arrays |= dict(zip(NAMES, init_mlp(SIZES, seed=INIT_SEED), strict=True))
    for name, array in arrays.items():
        np.save(part03 / f"{name}.npy", np.asarray(array, dtype=np.float64))
    np.save(part03 / "batches.npy", minibatch_indices(SAMPLES, BATCH_SIZE, EPOCHS, TRAIN_SEED))
    np.save(part03 / "step_size.npy", np.array(STEP_SIZE))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python cpp/examples/make_data.py FOLDER")
    write(Path(sys.argv[1]))
