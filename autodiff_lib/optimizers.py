"""Minimizing a scalar function of one array: Newton's method and gradient descent.

Both methods walk downhill from ``x0`` and stop when the gradient is small, ``‖∇f(x)‖ ≤ tol``
(converged), or after ``max_steps`` steps (not converged). They return an
``OptimizationResult`` holding every point visited, so that a notebook can count, time and
plot them side by side.

* Newton's method jumps to the minimizer of the local quadratic model of ``f``:
  ``x ← x − η H(x)⁻¹ ∇f(x)``. On an exact quadratic, one full step (η = 1) lands on the minimum.
* Gradient descent follows the slope: ``x ← x − η ∇f(x)``. A fixed η must be small enough
  for the steepest direction (η < 2/λ_max on a quadratic) and is then slow along the flattest
  one. The adaptive scheme here (the "bold driver") grows η after a step that lowered ``f``
  and, after one that did not, undoes the step and shrinks η.

An optimizer never hands back NaN silently: a non-finite loss, gradient or step raises
``DivergenceError`` naming the step and what to try instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine.differentiation import hessian, value_and_grad
from .engine.tensor import value_of

__all__ = ["DivergenceError", "OptimizationResult", "gradient_descent", "newton"]


class DivergenceError(ArithmeticError):
    """The optimizer produced a non-finite loss, gradient or step."""


@dataclass
class OptimizationResult:
    """What an optimizer did, step by step.

    ``trajectory[k]`` is the point after step ``k`` (``trajectory[0]`` is ``x0``), ``losses[k]``
    is ``f(trajectory[k])`` and ``step_sizes[k]`` the η tried in step ``k + 1``. A rejected
    gradient step leaves the point unchanged, so the trajectory repeats it.
    """

    x: np.ndarray
    trajectory: np.ndarray
    losses: np.ndarray
    step_sizes: np.ndarray
    converged: bool
    message: str = ""

    def __post_init__(self):
        self.x = np.asarray(self.x, dtype=float)
        self.trajectory = np.asarray(self.trajectory, dtype=float)
        self.losses = np.asarray(self.losses, dtype=float)
        self.step_sizes = np.asarray(self.step_sizes, dtype=float)
        self.converged = bool(self.converged)

    @property
    def steps(self) -> int:
        """Number of steps taken (each costs one gradient; a Newton step also a Hessian)."""
        return len(self.losses) - 1


def _evaluate(value_and_grad_f, x):
    """``f(x)`` as a float and ``∇f(x)`` as an array (overflow is checked by the caller)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss, g = value_and_grad_f(x)
    return float(value_of(loss)), np.asarray(value_of(g), dtype=float)


def _norm(g):
    """‖g‖ (inf when it overflows: a diverging gradient is caught by the finiteness checks)."""
    with np.errstate(over="ignore"):
        return np.linalg.norm(g)


def _check_finite(method, step, hint="", **values):
    for name, value in values.items():
        if not np.all(np.isfinite(value)):
            where = "at the starting point" if step == 0 else f"at step {step}"
            raise DivergenceError(f"{method}: the {name} is not finite {where}{hint}")


def newton(f, x0, tol=1e-8, max_steps=100, step_size=1.0) -> OptimizationResult:
    """Minimize ``f`` by Newton's method: ``x ← x − step_size · H(x)⁻¹ ∇f(x)``.

    Each step evaluates the gradient and the Hessian (shape ``x.shape + x.shape``, flattened
    to a matrix) and solves one linear system. A ``step_size`` below 1 damps the step.
    """
    value_and_grad_f, hessian_f = value_and_grad(f), hessian(f)
    x = np.array(x0, dtype=float)
    loss, g = _evaluate(value_and_grad_f, x)
    _check_finite("newton", 0, loss=loss, gradient=g)
    trajectory, losses, step_sizes = [x], [loss], []
    for step in range(1, max_steps + 1):
        if _norm(g) <= tol:
            break
        H = np.asarray(value_of(hessian_f(x)), dtype=float).reshape(x.size, x.size)
        _check_finite("newton", step, Hessian=H)
        try:
            direction = np.linalg.solve(H, g.ravel()).reshape(x.shape)
        except np.linalg.LinAlgError as error:
            raise np.linalg.LinAlgError(
                f"newton: the Hessian is singular at step {step}, so the Newton step is "
                "undefined; use gradient_descent, or start elsewhere"
            ) from error
        x = x - step_size * direction
        loss, g = _evaluate(value_and_grad_f, x)
        hint = (
            f": the Newton step (step_size={step_size:g}) jumped where f is not finite, as it "
            "does far from a minimum or where the Hessian is not positive definite; try a "
            "smaller step_size (a damped step), a starting point closer to the minimum, or "
            "gradient_descent, whose adaptive step size backs off (a line search)"
        )
        _check_finite("newton", step, hint, loss=loss, gradient=g, point=x)
        trajectory.append(x)
        losses.append(loss)
        step_sizes.append(step_size)
    return _result(x, g, tol, trajectory, losses, step_sizes, max_steps)


def gradient_descent(
    f, x0, step_size=0.1, tol=1e-8, max_steps=10_000, adaptive=True, grow=1.2, shrink=0.5
) -> OptimizationResult:
    """Minimize ``f`` by gradient descent: ``x ← x − η ∇f(x)``, starting from η = ``step_size``.

    With ``adaptive=True`` (the bold driver), a step that lowers ``f`` is taken and η is
    multiplied by ``grow`` (> 1); a step that does not (or lands where ``f`` is not finite) is
    undone and η is multiplied by ``shrink`` (< 1). Each step costs one gradient. With
    ``adaptive=False`` every step is taken with the same η, whatever it does to ``f``.
    """
    if adaptive and not (grow >= 1.0 and 0.0 < shrink < 1.0):
        raise ValueError(f"gradient_descent: need grow >= 1 and 0 < shrink < 1, got "
                         f"grow={grow}, shrink={shrink}")  # fmt: skip
    if not step_size > 0:
        raise ValueError(f"gradient_descent: step_size must be positive, got {step_size}")
    value_and_grad_f = value_and_grad(f)
    x = np.array(x0, dtype=float)
    loss, g = _evaluate(value_and_grad_f, x)
    _check_finite("gradient_descent", 0, loss=loss, gradient=g)
    trajectory, losses, step_sizes = [x], [loss], []
    eta = float(step_size)
    for step in range(1, max_steps + 1):
        if _norm(g) <= tol:
            break
        x_new = x - eta * g
        if adaptive and np.array_equal(x_new, x):
            message = (
                f"gradient_descent: stalled after {step - 1} steps: the step size {eta:.3g} "
                "no longer moves x, so f cannot decrease further in floating point (tol below "
                "f's precision, or a gradient inconsistent with f)"
            )
            return _result(x, g, tol, trajectory, losses, step_sizes, max_steps, message)
        loss_new, g_new = _evaluate(value_and_grad_f, x_new)
        step_sizes.append(eta)
        if not adaptive:
            hint = (
                f": the fixed step size {eta:.3g} is too large for this function; "
                "use a smaller step_size, or adaptive=True"
            )
            _check_finite(
                "gradient_descent", step, hint, loss=loss_new, gradient=g_new, point=x_new
            )
            x, loss, g = x_new, loss_new, g_new
        elif loss_new < loss and np.all(np.isfinite(g_new)):  # downhill: take it, be bolder
            x, loss, g = x_new, loss_new, g_new
            eta *= grow
        else:  # not downhill (or not finite): stay, be more careful
            eta *= shrink
        trajectory.append(x)
        losses.append(loss)
    return _result(x, g, tol, trajectory, losses, step_sizes, max_steps)


def _result(x, g, tol, trajectory, losses, step_sizes, max_steps, message=None):
    norm = _norm(g)
    converged = bool(norm <= tol)
    if message is None:
        steps = len(losses) - 1
        message = (f"converged in {steps} steps: |grad f| = {norm:.3g} <= tol = {tol:.3g}"
                   if converged else
                   f"not converged after max_steps = {max_steps} steps: "
                   f"|grad f| = {norm:.3g} > tol = {tol:.3g}")  # fmt: skip
    return OptimizationResult(x, trajectory, losses, step_sizes, converged, message)
