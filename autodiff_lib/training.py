"""Training the MLP of part 03 by gradient descent, for the parts that vary what it fixed.

Part 03 writes the training loop; parts 06 to 09 vary its settings (step size, batch size,
starting weights, number of samples) and need the same loop, so it is written once here:

    loss(params, x, y) = mse(mlp(params, x), y),
    params ← params − η ∇loss(params, x[batch], y[batch])   for each mini-batch.

``train`` counts **steps** (one step per mini-batch), so runs with different batch sizes can be
compared step for step. Each epoch visits every sample once, in a fresh random order. A batch
size of ``None`` (or at least the number of samples) is the full batch: plain gradient descent,
the same step every run. ``flatten``/``unflatten`` turn the list of weight arrays into one
vector and back (differentiably), for tools that want a function of one vector, such as
``hessian`` or an optimizer of part 01.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine.differentiation import value_and_grad
from .engine.primitives import reshape
from .engine.registry import flagged
from .engine.tensor import value_of
from .metrics import mse
from .networks import mlp

__all__ = ["TrainingRun", "epoch_batches", "flatten", "loss", "train", "unflatten"]


def loss(params, x, y):
    """The mean squared error of the MLP with weights ``params`` on the samples ``(x, y)``."""
    return mse(mlp(params, x), y)


def epoch_batches(n_samples, batch_size, rng):
    """The index arrays of one epoch: a fresh random order of ``range(n_samples)``, cut into
    pieces of ``batch_size`` (the last one holds the rest). A ``batch_size`` of ``n_samples`` or
    more gives one batch of all, shuffled too (as part 03's ``minibatches`` does). ``None``:
    full-batch gradient descent, one batch of all in their order, drawing nothing from ``rng``."""
    if batch_size is None:
        return [np.arange(n_samples)]
    if batch_size < 1:
        raise ValueError(f"epoch_batches: the batch size must be at least 1, got {batch_size}")
    shuffled = rng.permutation(n_samples)
    return np.array_split(shuffled, np.arange(batch_size, n_samples, batch_size))


class NotKept(KeyError):
    """Weights asked for at a step that ``train`` did not keep (printed as plain text)."""

    def __str__(self):
        return str(self.args[0])


class Snapshots(dict):
    """The weights ``train`` kept, by step: asking for a step it did not keep says which it did."""

    def __missing__(self, step):
        kept = ", ".join(str(k) for k in sorted(self)) or "none"
        raise flagged(NotKept(
            f"no weights kept at step {step!r}: train kept them at steps {kept} "
            "(its snapshot_steps)"
        ))  # fmt: skip


@dataclass
class TrainingRun:
    """What ``train`` did: the final weights; the loss on all training samples at the steps in
    ``recorded`` (``losses[0]`` before the first step); weights kept at ``snapshot_steps``;
    ``diverged`` if the loss left the finite numbers or grew past ``blow_up`` times its start
    (training stopped there, and the last loss recorded is ``inf``)."""

    params: list
    recorded: np.ndarray
    losses: np.ndarray
    snapshots: dict = field(default_factory=dict)
    diverged: bool = False

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])


def train(params, x, y, step_size, steps, batch_size=None, seed=0, record_every=1,
          snapshot_steps=(), blow_up=1e6, progress=None):  # fmt: skip
    """``steps`` steps of (mini-batch) gradient descent on ``loss`` from ``params``.

    ``seed`` draws the order of the samples in each epoch. The loss on all of ``(x, y)`` is
    recorded before the first step and after every ``record_every``-th step (and the last);
    the weights after each step in ``snapshot_steps`` (0: the start) are kept. ``progress``, a
    tqdm bar or None, is advanced by one per step.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rng = np.random.default_rng(seed)
    loss_and_gradient = value_and_grad(loss)
    weights = [np.array(value_of(p), dtype=float) for p in params]
    keep = set(snapshot_steps)
    start = _full_loss(weights, x, y)
    recorded, losses = [0], [start]
    snapshots = Snapshots({0: list(weights)} if 0 in keep else {})
    limit = blow_up * max(start, np.finfo(float).tiny)
    step, diverged = 0, False
    while step < steps and not diverged:
        for batch in epoch_batches(len(x), batch_size, rng):
            _, gradients = loss_and_gradient(weights, x[batch], y[batch])
            weights = [w - step_size * g for w, g in zip(weights, gradients)]
            step += 1
            if progress is not None:
                progress.update(1)
            if step % record_every == 0 or step == steps:
                current = _full_loss(weights, x, y)
                diverged = not current <= limit  # also catches inf and nan
                recorded.append(step)
                losses.append(np.inf if diverged else current)
            if step in keep:
                snapshots[step] = list(weights)
            if step == steps or diverged:
                break
    return TrainingRun(weights, np.array(recorded), np.array(losses), snapshots, diverged)


def _full_loss(weights, x, y):
    with np.errstate(over="ignore", invalid="ignore"):
        value = float(loss(weights, x, y))
    return value if np.isfinite(value) else np.inf


def flatten(params):
    """The weight arrays ``params`` as one vector (concatenated in order, each raveled)."""
    return np.concatenate([np.ravel(value_of(p)) for p in params])


def unflatten(theta, like):
    """The vector ``theta`` cut back into arrays of the shapes of ``like`` (a list of arrays).

    Written with the library's primitives: a function of ``unflatten(theta, like)`` can be
    differentiated with respect to ``theta``, twice as well (``hessian``).
    """
    shapes = [np.shape(value_of(p)) for p in like]
    sizes = [int(np.prod(shape)) for shape in shapes]
    if np.shape(value_of(theta)) != (sum(sizes),):
        raise ValueError(
            f"unflatten: a vector of {sum(sizes)} entries is needed for arrays of shapes "
            f"{shapes}, got shape {np.shape(value_of(theta))}"
        )
    arrays, offset = [], 0
    for shape, size in zip(shapes, sizes):
        arrays.append(reshape(theta[offset:offset + size], shape))
        offset += size
    return arrays

