# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,title,-nbgrader
#     formats: source///ipynb,assignments///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Part 06 — The step size
#
# Part 03 trained the network with the step size $\eta = 0.05$, and part 01 warned
# that a fixed step size must be small enough for the steepest direction. How small,
# and what happens on either side? This part answers with an old friend from the
# chapter on integrating differential equations. Gradient descent,
#
# $$x_{k+1} = x_k - \eta\,\nabla f(x_k),$$
#
# is the **explicit Euler method** with time step $\eta$ for the *gradient flow*
#
# $$\frac{dx}{dt} = -\nabla f(x),$$
#
# the path a ball would take downhill through honey. Along the flow, $f$ only
# decreases, and the flow ends at a minimum. The integrator is what can go wrong:
# too small a time step and it takes forever to get anywhere; too large and it
# overshoots, oscillates, and finally blows up, like explicit Euler on a stiff
# equation.
#
# 1. A slider runs gradient descent on a quadratic with a step size you choose.
# 2. You compute the largest stable step, $2/\lambda_{\max}$ (Exercise 1).
# 3. You write step-size **schedules** (Exercise 2) and gradient descent that
#    **stops by itself** when it has converged or diverged (Exercise 3), check the
#    limit with them, and see that a schedule must be told the limit while the
#    adaptive step of part 01 finds it.
# 4. The same slider on the network of part 03, and your schedule training it.
#
# *How this notebook is graded.* Write your code where it says `YOUR CODE HERE` (and
# delete the `raise NotImplementedError()`). The cell after each answer tests it;
# when your notebook is graded, more tests (hidden here) run in those cells. Run the
# notebook top to bottom (*Kernel → Restart Kernel and Run All Cells*) before you
# submit. The sliders redraw results computed ahead of time, so moving them is quick.

# %% given setup
import matplotlib.pyplot as plt
import numpy as np

import autodiff_lib as ad
from autodiff_lib import OptimizationResult
from autodiff_lib.data import teacher_student
from autodiff_lib.landscapes import quadratic
from autodiff_lib.networks import init_mlp, mlp
from autodiff_lib.plotting import (
    log_ticks,
    plot_fit,
    plot_loss_curve,
    plot_losses,
    plot_trajectories,
    slider,
)
from autodiff_lib.progress import progress_bar
from autodiff_lib.training import flatten, loss, train, unflatten

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## A quadratic and a slider
#
# The landscape of part 01, $f(x) = \tfrac12 (x - x^\star)^\top A\,(x - x^\star)$,
# with a matrix $A$ whose eigenvalues we choose: $\lambda = 1$ along one axis of the
# valley and $\lambda = 10$ across it, turned by 30°.

# %% given landscape tags=["nbval-check-output"]
turn = np.deg2rad(30)
R = np.array([[np.cos(turn), -np.sin(turn)],
              [np.sin(turn), np.cos(turn)]])
A = R @ np.diag([1.0, 10.0]) @ R.T  # eigenvalues 1 and 10
x_star = np.array([1.0, -1.0])
f = quadratic(A, x_star)
x0 = np.array([-2.0, 2.0])
print(f"f(x0) = {float(f(x0)):.4f}")

# %% [markdown]
# Move the slider: it runs 50 steps of gradient descent with a **constant** step size
# $\eta$ from $x_0$ (left: the path over the contours of $f$; right: $f(x_k)$, on a log
# scale). All the runs were computed once, in the cells below, before the slider was
# drawn, and each gets a verdict from what it did in its 50 steps. Find the step size
# where the path starts to zigzag across the valley, the one where it no longer
# reaches the minimum, the one where it flies off, and the one that ends lowest.

# %% given quadratic_runs tags=["nbval-check-output"]
QUADRATIC_ETAS = [0.002, 0.01, 0.03, 0.06, 0.1, 0.14, 0.18, 0.19, 0.2, 0.21, 0.23]
quadratic_runs = {
    eta: ad.gradient_descent(f, x0, step_size=eta, adaptive=False, max_steps=50,
                             tol=1e-12)
    for eta in QUADRATIC_ETAS
}


def pace(run):
    """The factor by which the error |x_k - x_star| shrank per step over the last
    10 steps."""
    error = np.linalg.norm(run.trajectory[[-11, -1]] - x_star, axis=1)
    return (error[1] / error[0]) ** (1 / 10)


def verdict(run):
    """What a run of constant steps did, read from its path and its losses."""
    moves = np.diff(run.trajectory, axis=0)
    zigzag = np.any(np.sum(moves[1:4] * moves[:3], axis=1) < 0)  # it turned back
    if pace(run) > 1.001:
        return "diverges: each swing wider than the last"
    if pace(run) > 0.999:
        return "swings back and forth for ever"
    if run.losses[-1] < 1e-6 * run.losses[0]:
        return "converges, " + ("zigzagging" if zigzag else "straight down the valley")
    if zigzag:
        return "converges slowly: the zigzag sets the pace"
    return "stagnates: creeping straight down the valley"


for eta, run in quadratic_runs.items():
    print(f"eta = {eta:5}: f(x_50) / f(x_0) = {run.losses[-1] / run.losses[0]:7.2g}, "
          f"error x {pace(run):.3f} per step, {verdict(run)}")

# %% tags=["nbval-ignore-output"]
window = ((-3.0, 5.0), (-5.0, 3.0))  # a diverging path is cut at its edge


def f_plain(x):  # the same f, on plain arrays: quick enough to redraw the contours
    d = x - x_star
    return 0.5 * d @ A @ d


def draw_quadratic_run(eta):
    run = quadratic_runs[eta]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    plot_trajectories(f_plain, {f"eta = {eta}": run}, ax=left, bounds=window, grid=50)
    plot_losses({f"eta = {eta}": run}, ax=right)
    if max(run.losses) < 10 * min(run.losses):  # less than a decade: a linear axis
        right.set_yscale("linear")
    else:
        log_ticks(right)
    ratio = run.losses[-1] / run.losses[0]
    fig.suptitle(f"constant step size {eta}: f(x_50) / f(x_0) = {ratio:.2g}, error x "
                 f"{pace(run):.3f} per step\n{verdict(run)}")


slider(draw_quadratic_run, QUADRATIC_ETAS, "step size eta", value=0.1)


# %% [markdown]
# ## Why $2/\lambda_{\max}$: explicit Euler on a linear equation
#
# On the quadratic, $\nabla f(x) = A\,(x - x^\star)$, so the error $e_k = x_k - x^\star$
# obeys $e_{k+1} = (I - \eta A)\,e_k$. Along an eigenvector of $A$ with eigenvalue
# $\lambda$, each step multiplies the error by the same number,
#
# $$e_{k+1} = (1 - \eta\lambda)\, e_k .$$
#
# * $0 < \eta < 1/\lambda$: the factor is in $(0, 1)$, the error shrinks
#   monotonically;
# * $1/\lambda < \eta < 2/\lambda$: the factor is in $(-1, 0)$, the error changes sign
#   each step (the zigzag across the valley) but still shrinks;
# * $\eta = 2/\lambda$: the factor is $-1$, the error jumps back and forth for ever;
# * $\eta > 2/\lambda$: $|1 - \eta\lambda| > 1$, the error grows geometrically.
#
# Every direction must shrink, so gradient descent converges exactly when
# $\eta < 2/\lambda_{\max}$. This is the stability condition of the explicit Euler
# method for $y' = \mu y$: the step $h$ must keep $|1 + h\mu| < 1$, and here
# $\mu = -\lambda$. Meanwhile the flattest direction shrinks by $1 - \eta\lambda_{\min}$
# per step, which is close to $1$: with $\eta$ just below $2/\lambda_{\max}$, about
# $\lambda_{\max}/(2\lambda_{\min}) = \kappa/2$ steps shrink its error by a factor $e$.
# Too small a step makes it worse: that is **stagnation**. A large condition number
# $\kappa$ is what the integration chapter calls a **stiff** equation: the fastest
# mode limits the step, the slowest sets how long to go.
#
# In between lies the **best constant step**. The flattest direction shrinks by
# $1 - \eta\lambda_{\min}$ per step and the steepest by $|1 - \eta\lambda_{\max}|$;
# the slower of the two sets the pace, and it is fastest where both are equal:
# $\eta^\star = 2/(\lambda_{\min} + \lambda_{\max})$, which shrinks every direction
# by at least the factor $(\kappa - 1)/(\kappa + 1)$ per step. Here
# $\eta^\star = 2/11 \approx 0.18$ (factor $9/11$): the value on the slider that ended
# lowest. It needs both eigenvalues, which for a network nobody knows.
#
# The verdicts printed above the slider follow this. The path turns back at every
# step from $1/\lambda_{\max} = 0.1$ on (from 0.14), and not below. The error's
# factor per step over the last ten steps is the theory's
# $\max(1 - \eta\lambda_{\min}, |1 - \eta\lambda_{\max}|) = \max(1 - \eta,
# |1 - 10\eta|)$: 0.94 at 0.06, 0.86 at 0.14, 0.9 at 0.19, 1 at 0.2, 1.1 at 0.21.
# (Two runs are not there yet after 50 steps: at 0.18 the zigzag's 0.8 still shows
# beside the flat direction's 0.82, and at 0.002 the part of the error across the
# valley, shrinking by 0.98 per step, has not yet died out beside the flat part's
# 0.998.) Below $\eta^\star$ the flat direction sets the pace, and a smaller step
# only slows it down, towards stagnation; above $\eta^\star$ the zigzag sets it: 0.19
# converges as slowly as 0.1, and at 0.2 the zigzag never dies out.
#
# ### Exercise 1 (1 point): the largest stable step
#
# Write `stability_limit(H)`: for the Hessian `H` of a quadratic with a minimum (a
# symmetric matrix whose eigenvalues are all positive), the step size
# $2/\lambda_{\max}(H)$ above which gradient descent on the quadratic diverges.

# %% answer stability_limit
def stability_limit(H):
    """2 / (largest eigenvalue of H, a symmetric positive definite matrix)."""
    ### BEGIN SOLUTION
    largest = np.linalg.eigvalsh(np.asarray(H, dtype=float))[-1]
    return 2.0 / largest
    ### END SOLUTION


# %% tests test_stability_limit (1 point)
from autodiff_lib.testing import own_work  # what you return must be a plain number
stability_limit = own_work(stability_limit)
# A diagonal matrix by hand; hidden tests: turned, larger matrices.
assert np.isclose(stability_limit(np.diag([1.0, 10.0])), 0.2), \
    "for eigenvalues 1 and 10 the limit is 2 / 10"
### BEGIN HIDDEN TESTS
import numpy as np

from autodiff_lib.landscapes import random_spd

for size, condition, seed in [(2, 5.0, 3), (6, 40.0, 4), (9, 1.0, 5)]:
    H_hidden = 3.0 * random_spd(size, condition, seed)
    steepest = 3.0 * condition  # random_spd's eigenvalues run from 1 to condition
    assert np.isclose(stability_limit(H_hidden), 2 / steepest), \
        f"wrong limit for a {size}x{size} matrix that is not diagonal: use the " \
        "largest eigenvalue, not a diagonal entry"
### END HIDDEN TESTS

# %% given limit tags=["nbval-check-output"]
limit = stability_limit(ad.hessian(f)(x0))
print(f"2 / lambda_max = {limit:.4f}")


# %% [markdown]
# ## Schedules: a step size that changes as training goes
#
# The slider showed the trade-off: a large step makes quick progress until it
# oscillates, a small one is stable but slow. A **schedule** $\eta_k$, the step size
# of step $k = 0, 1, 2, \dots$, can start large and shrink. Two common ones:
#
# * **exponential decay**: $\eta_k = \eta_0\, r^k$ with $0 < r < 1$;
# * **step decay**: $\eta_k = \eta_0\, \gamma^{\lfloor k / m \rfloor}$, the step
#   size multiplied by $\gamma$ every $m$ steps (constant in between).
#
# ### Exercise 2 (2 points): two schedules
#
# Write `exponential_decay(eta0, rate)` and `step_decay(eta0, factor, every)`. Each
# returns a **function** of the step number `k` (an int, from 0) that gives
# $\eta_k$, so that `exponential_decay(0.5, 0.9)(2)` is $0.5 \cdot 0.9^2$. A constant
# step size is the schedule `lambda k: eta`.

# %% answer schedules
def exponential_decay(eta0, rate):
    """The schedule k -> eta0 * rate**k."""
    ### BEGIN SOLUTION
    def schedule(k):
        return eta0 * rate ** k

    return schedule
    ### END SOLUTION


def step_decay(eta0, factor, every):
    """The schedule k -> eta0 * factor**(k // every), cut every `every` steps."""
    ### BEGIN SOLUTION
    def schedule(k):
        completed = k // every  # how many times the step size was cut so far
        return eta0 * factor ** completed

    return schedule
    ### END SOLUTION


# %% tests test_exponential_decay (1 point)
# The first values by hand; hidden tests: other parameters, far into training.
shrinking = exponential_decay(0.5, 0.9)
assert callable(shrinking), \
    "exponential_decay(0.5, 0.9) must return a function of the step number k"
assert np.isclose(shrinking(0), 0.5) and np.isclose(shrinking(2), 0.5 * 0.81), \
    "exponential_decay(0.5, 0.9) must give 0.5 at k = 0 and 0.405 at k = 2"
### BEGIN HIDDEN TESTS
import numpy as np

for start, r in [(1.0, 0.5), (0.03, 0.999)]:
    decayed = exponential_decay(start, r)
    for k in [0, 1, 7, 1000]:
        assert np.isclose(decayed(k), start * np.exp(k * np.log(r))), \
            f"exponential_decay({start}, {r}) is wrong at step {k}"
### END HIDDEN TESTS

# %% tests test_step_decay (1 point)
# Constant for `every` steps, then cut; hidden tests: other parameters, later steps.
stairs = step_decay(0.4, 0.5, 3)
assert callable(stairs), "step_decay(0.4, 0.5, 3) must return a function of k"
expected = [0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1]
assert [round(stairs(k), 6) for k in range(7)] == expected, \
    "step_decay(0.4, 0.5, 3) must give 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1 for k = 0..6"
### BEGIN HIDDEN TESTS
import numpy as np

for start, cut, length in [(1.0, 0.1, 1), (0.6, 0.5, 250)]:
    staircase = step_decay(start, cut, length)
    for k in [0, length - 1, length, 3 * length + 1, 10 * length]:
        level = sum(1 for boundary in range(length, k + 1, length))
        assert np.isclose(staircase(k), start * cut ** level), \
            f"step_decay({start}, {cut}, {length}) is wrong at step {k}"
### END HIDDEN TESTS

# %% [markdown]
# ## Stopping by itself
#
# A fixed number of steps is either too many (the minimum was reached long ago) or too
# few. An optimizer should stop by itself, and say why:
#
# * **converged**: $\lVert\nabla f(x_k)\rVert \le$ `tol`, checked at every point,
#   $x_0$ included (before taking a step from it);
# * **diverged**: $f(x_k)$ is not a finite number, or $f(x_0) > 0$ and $f(x_k)$ is
#   larger than `blow_up` $\cdot f(x_0)$: no point in going on. (The rule is made
#   for losses, which are never negative; from a start where $f(x_0) \le 0$, only a
#   value that is not finite counts, and `blow_up = np.inf` turns the comparison
#   off everywhere.) The point where the run diverged is kept: it is recorded like
#   every other point and counts as a step, so the run shows how it blew up;
# * **max_steps**: neither happened within `max_steps` steps.
#
# ### Exercise 3 (3 points): gradient descent with a schedule and a stopping rule
#
# Write `descend(f, x0, schedule, tol, max_steps, blow_up)`. Step $k$ (from $0$) is
# $x_{k+1} = x_k - \eta_k \nabla f(x_k)$ with $\eta_k$ = `schedule(k)`; use
# `value_and_grad_f` for $f$ and its gradient, one call per point. Return
# `OptimizationResult(x, trajectory, losses, step_sizes, converged, message)` as in
# part 01 (`trajectory` and `losses` start with $x_0$ and $f(x_0)$, `step_sizes` holds
# the $\eta_k$ used), with `message` one of `"converged"`, `"diverged"`,
# `"max_steps"` and `converged` true exactly for `"converged"`. Far out, $f$ may
# overflow: evaluate it inside `with np.errstate(over="ignore", invalid="ignore"):`
# (the visible tests include such a run). Write the loop yourself: the library's
# `ad.gradient_descent` may not be used in it (in the tests, it raises when your
# function calls it).

# %% answer descend
def descend(f, x0, schedule, tol=1e-6, max_steps=1000, blow_up=1e6):
    """Gradient descent with step sizes schedule(0), schedule(1), ... until it has
    converged or diverged, or after max_steps steps."""
    value_and_grad_f = ad.value_and_grad(f)
    ### BEGIN SOLUTION
    x = np.array(x0, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        value, gradient = value_and_grad_f(x)
    first = float(value)
    visited, values, etas = [x], [first], []
    status = "max_steps"
    for k in range(max_steps + 1):
        if np.linalg.norm(gradient) <= tol:
            status = "converged"
            break
        if k == max_steps:
            break
        eta = schedule(k)
        x = x - eta * gradient
        with np.errstate(over="ignore", invalid="ignore"):
            value, gradient = value_and_grad_f(x)
        visited.append(x)
        values.append(float(value))
        etas.append(eta)
        if not np.isfinite(values[-1]) or (first > 0 and values[-1] > blow_up * first):
            status = "diverged"
            break
    return OptimizationResult(x, visited, values, etas, status == "converged", status)
    ### END SOLUTION


# %% tests test_descend (3 points)
# Your own loop: while it runs in these tests, the library's ad.gradient_descent
# raises, and it must return a plain OptimizationResult.
from autodiff_lib.testing import own_work
descend = own_work(descend, "gradient_descent")
# f(x) = x^2 from x0 = 1: the error is multiplied by 1 - 2 eta each step. Hidden
# tests: the schedule is followed, where each run stops and what it records.
halving = descend(lambda x: ad.sum(x ** 2), np.array([1.0]), lambda k: 0.25, tol=1e-3)
assert halving.message == "converged" and halving.converged, \
    "eta = 0.25 on x^2 must converge"
assert np.allclose(halving.trajectory[:3, 0], [1.0, 0.5, 0.25]), \
    "x^2 with eta = 0.25: x must go 1, 0.5, 0.25, ..."
with np.errstate(over="ignore"):  # exp(x^2) overflows after one step of size 1
    overflowing = descend(lambda x: ad.sum(ad.exp(x * x)), np.array([3.0]),
                          lambda k: 1.0, max_steps=50, blow_up=np.inf)
assert overflowing.message == "diverged" and overflowing.steps == 1, \
    "a loss that overflows to inf must stop the run as 'diverged', at that step"
### BEGIN HIDDEN TESTS
import numpy as np

import autodiff_lib as ad

def bowl(point):
    return ad.sum(point * point)

exact = descend(bowl, np.array([2.0, -1.0]), lambda k: 0.25, tol=1e-3)
assert exact.steps == 13 and np.isclose(np.max(np.abs(exact.x)), 2.0 ** -12), \
    "stop at the first point where the gradient norm is at most tol, no later"
assert len(exact.losses) == len(exact.trajectory) == len(exact.step_sizes) + 1, \
    "record x0 and f(x0), then one point, loss and step size per step"
assert np.isclose(exact.losses[1], float(bowl(exact.trajectory[1]))), \
    "losses[k] must be f(trajectory[k])"
already = descend(bowl, np.zeros(2), lambda k: 0.25)
assert already.converged and already.steps == 0, \
    "at a point where the gradient is already 0, take no step"
varying = descend(bowl, np.array([1.0]), lambda k: 0.1 * (k + 1), max_steps=3)
assert np.allclose(varying.step_sizes, [0.1, 0.2, 0.3]), \
    "step k must use schedule(k), with k counted from 0"
assert np.isclose(varying.x[0], 0.8 * 0.6 * 0.4), \
    "each step must be x - schedule(k) * gradient"
assert varying.message == "max_steps" and not varying.converged, \
    "after max_steps steps without converging, the message is 'max_steps'"
growing = descend(bowl, np.array([1.0]), lambda k: 1.5, max_steps=100, blow_up=1e4)
assert growing.message == "diverged" and not growing.converged, \
    "eta = 1.5 on x^2 multiplies x by -2 each step: that must stop as 'diverged'"
assert growing.steps == 7, \
    "stop at the first loss above blow_up * f(x0), not before and not later"
below_zero = descend(lambda point: bowl(point) - 1.0, np.array([0.5]), lambda k: 0.25)
assert below_zero.message == "converged", \
    "with f(x0) <= 0, only a loss that is not finite counts as diverged"
### END HIDDEN TESTS
print('These visible tests passed. They are not your grade: when your notebook is '
      'graded, hidden tests run in every test cell as well, on other inputs.')

# %% [markdown]
# ## The limit, checked
#
# With your `descend`, constant step sizes around the limit on our quadratic (at most
# 2000 steps, `tol` $=10^{-6}$):

# %% tags=["nbval-check-output"]
for fraction in [0.5, 0.99, 1.0, 1.01, 1.5]:
    run = descend(f, x0, lambda k: fraction * limit, max_steps=2000)
    where = "" if run.converged else f", f = {run.losses[-1]:.3g}"
    print(f"eta = {fraction:4} x 2/lambda_max: {run.message:9} "
          f"after {run.steps:4} steps{where}")

# %% [markdown]
# Just below the limit it converges, if slowly (the steep direction shrinks by only
# $|1 - 0.99 \cdot 2| = 0.98$ per step); exactly at it, it swings for ever; just
# above, it diverges. And far below, it stagnates: a hundredth of the limit moves
# the flat direction by only $1 - 0.002 = 0.998$ per step.

# %% tags=["nbval-check-output"]
slow = descend(f, x0, lambda k: 0.01 * limit, max_steps=2000)
print(f"eta = 0.01 x 2/lambda_max: {slow.message} after {slow.steps} steps, "
      f"f = {slow.losses[-1]:.3g} (from f(x0) = {slow.losses[0]:.3g})")
gradient_norm = np.linalg.norm(ad.grad(f)(slow.x))
more = np.log(gradient_norm / 1e-6) / -np.log(1 - 0.01 * limit * 1.0)  # lambda_min = 1
print(f"gradient norm {gradient_norm:.3g} > tol = 1e-06: about {more:.0f} more steps")

# %% [markdown]
# $f$ fell from 84.6 to 0.0002, which looks like success; but the stopping rule says
# `max_steps`: the gradient is still twenty thousand times `tol`. Near the minimum
# only the flat direction is left, and its gradient shrinks by $0.998$ per step, so
# meeting `tol` takes about 4 950 more steps, some 6 950 in all: fifty times the 133
# steps of half the limit. That is the price of a step a hundred times too small.
#
# ## Schedules need the limit; an adaptive step finds it
#
# A schedule fixes every $\eta_k$ in advance, and only ever shrinks it. Started above
# the limit, it must get below it before the steep direction blows up, and on our
# quadratic it does not: $0.3 \cdot 0.99^k$ stays above $0.2$ for 40 steps,
# $0.3 \cdot 0.5^{\lfloor k/10 \rfloor}$ for 10, while the steep error doubles in each
# of them ($|1 - 0.3 \cdot 10| = 2$). The bold driver of part 01
# (`ad.gradient_descent`, adaptive) is told nothing about $\lambda_{\max}$: it undoes a
# step that raised $f$ and halves $\eta$, and after a step that lowered $f$ it
# multiplies $\eta$ by $1.2$. Both schedules, and the bold driver from a step size far
# below the limit, above it, and ten times above it:

# %% tags=["nbval-ignore-output"]
schedule_runs_quadratic = {
    "0.3 * 0.99^k": descend(f, x0, exponential_decay(0.3, 0.99), max_steps=2000),
    "0.3 * 0.5^(k // 10)": descend(f, x0, step_decay(0.3, 0.5, 10), max_steps=2000),
}
bold_runs = {f"bold driver from {eta0}": ad.gradient_descent(f, x0, step_size=eta0,
                                                            tol=1e-6, max_steps=2000)
             for eta0 in [0.002, 0.5, 2.0]}
for name, run in schedule_runs_quadratic.items():
    print(f"{name:24} {run.message} after {run.steps} steps, f = {run.losses[-1]:.3g}")
for name, run in bold_runs.items():
    undone = int(np.sum(np.all(np.diff(run.trajectory, axis=0) == 0, axis=1)))
    settled = np.median(run.step_sizes[run.steps // 2:])
    print(f"{name:24} converged: {run.converged} after {run.steps} steps "
          f"({undone} undone), median step size in the second half {settled:.3f}")

fig, (losses_axes, steps_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
plot_losses({**schedule_runs_quadratic, **bold_runs}, ax=losses_axes)
losses_axes.set_title("the schedules blow up, the bold driver converges")
for name, run in {**schedule_runs_quadratic, **bold_runs}.items():
    steps_axes.semilogy(np.arange(run.steps), run.step_sizes, ".-", markersize=3,
                        linewidth=1, label=name)
steps_axes.axhline(limit, color="k", linestyle="--", linewidth=1,
                   label=r"$2/\lambda_{\max}$")
log_ticks(steps_axes)
steps_axes.set_xlabel("step $k$")
steps_axes.set_ylabel(r"step size $\eta_k$ (tried)")
steps_axes.set_title("the bold driver's steps settle around the limit")
steps_axes.grid(True, which="major", alpha=0.3)
steps_axes.legend(fontsize="small")
plt.show()

# %% [markdown]
# The schedules blow up within a dozen steps. The bold driver converges from every
# start, in under 100 steps, its step size settling around the limit (a median of
# about $0.2$ over the second half of each run): it crosses the limit now and then,
# and each time the step is undone and $\eta$ halved. Its price is those undone
# steps, a gradient wasted on each. A schedule still has its use: started below the
# limit, it shrinks the step where precision matters, as on the network below; but
# someone has to know where the limit is.

# %% [markdown]
# ## The network of part 03
#
# The loss of a network is not a quadratic, but near any point it looks like one, with
# the Hessian as $A$. The data, architecture and initial weights of part 03 (seed 0),
# trained by plain gradient descent on all 200 samples (`autodiff_lib.training.train`,
# part 03's loop with one batch of everything). `sharpness(params)`, the largest
# eigenvalue of the Hessian of the loss with respect to all 97 weights, gives the
# local limit $2/\lambda_{\max}$.

# %% given network tags=["nbval-check-output"]
SIZES = [1, 8, 8, 1]
data = teacher_student(SIZES, n_samples=200, noise=0.1, seed=2)
x, y = data.x, data.y
start = init_mlp(SIZES, seed=0)
floor = float(loss(data.true_params, x, y))  # the loss of the true weights


def sharpness(params):
    """lambda_max of the Hessian of the loss w.r.t. all weights (one vector)."""
    curvature = ad.hessian(lambda theta: loss(unflatten(theta, params), x, y))
    return float(np.linalg.eigvalsh(curvature(flatten(params)))[-1])


print(f"lambda_max at the start: {sharpness(start):.2f}, "
      f"so 2/lambda_max = {2 / sharpness(start):.3f}")

# %% [markdown]
# 300 steps for each step size on the slider, computed ahead of time (a few seconds):

# %% tags=["nbval-ignore-output"]
NETWORK_ETAS = [0.003, 0.03, 0.1, 0.3, 0.5, 0.6, 0.65, 0.8]
network_runs, end_sharpness = {}, {}
for eta in progress_bar(NETWORK_ETAS, desc="step sizes"):
    network_runs[eta] = train(start, x, y, step_size=eta, steps=300)
    if not network_runs[eta].diverged:
        end_sharpness[eta] = sharpness(network_runs[eta].params)


def went_up(losses, last=100):
    """In how many of the last steps the loss rose: swings a log plot hides."""
    return int(np.sum(np.diff(losses[-last - 1:]) > 0))


for eta, run in network_runs.items():
    if run.diverged:
        print(f"eta = {eta:5}: diverged at step {run.recorded[-1]}")
    else:
        print(f"eta = {eta:5}: loss {run.final_loss / floor:5.2f} x the floor, "
              f"up in {went_up(run.losses):2} of the last 100 steps; lambda_max at "
              f"the end {end_sharpness[eta]:5.2f}, 2/eta = {2 / eta:.2f}")


def draw_network_run(eta):
    run = network_runs[eta]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    plot_loss_curve(run.losses, floor=floor, ax=left, steps=run.recorded, xlabel="step",
                    label=f"eta = {eta}")
    left.set_ylim(5e-3, 10)
    log_ticks(left)
    if run.diverged:
        left.set_title(f"diverged at step {run.recorded[-1]}")
        right.set_axis_off()
        return
    left.set_title(f"after 300 steps: {run.final_loss / floor:.2f} x the floor, "
                   f"up in {went_up(run.losses)} of the last 100")
    plot_fit(x, y, {"teacher": data.teacher,
                    "network": lambda inputs: mlp(run.params, inputs)},
             ax=right)  # fmt: skip
    right.set_title(f"lambda_max at the end {end_sharpness[eta]:.2f}; "
                    f"2/eta = {2 / eta:.2f}")


slider(draw_network_run, NETWORK_ETAS, "step size eta", value=0.1)


# %% [markdown]
# The same three regimes. The smallest step stagnates far above the noise floor
# ($\eta = 0.003$ ends at 17 times it); $\eta = 0.1$ and $0.3$ end within 15 % of
# it. $\eta = 0.5$ and $0.6$ train too, but end at three times the floor, their loss
# still going up in about half of the last 100 steps. The edge lies between $0.6$
# and $0.65$: from $0.65$ on, the loss explodes within a dozen steps. Two things differ
# from the quadratic. First, $\eta = 0.3$ to $0.6$ lie *above* $2/\lambda_{\max}$ at
# the start and still train: the loss jumps up for a few steps, and the weights move
# to where the landscape is flatter. Look at $\lambda_{\max}$ at the end: for the large
# step sizes it settles near $2/\eta$, the edge of stability (a behaviour of gradient
# descent on networks described by Cohen et al., 2021). Second, at the edge the loss
# keeps oscillating instead of settling. At $0.3$ the swings are too small to see on
# the log scale, but the loss still goes up in about a third of the last 100 steps.
#
# ## Your schedule on the network
#
# `descend` needs a function of one vector: `unflatten` cuts a vector of 97 numbers
# back into the weight arrays (differentiably). Runs of at most 1000 steps each,
# stopping at a gradient norm of $10^{-3}$: first a large and a small constant step,

# %% tags=["nbval-ignore-output"]
def network_loss(theta):
    return loss(unflatten(theta, start), x, y)


def report(name, run):
    print(f"{name:32} {run.message:9} after {run.steps:4} steps: loss at step 100 "
          f"{run.losses[100]:.4f}, at the end {run.losses[-1]:.4f} "
          f"({run.losses[-1] / floor:.2f} x the floor), up in "
          f"{went_up(run.losses):2} of the last 100 steps")


constant_runs = {}
for eta in progress_bar([0.6, 0.1], desc="constant step sizes"):
    constant_runs[f"constant {eta}"] = descend(network_loss, flatten(start),
                                               lambda k: eta, tol=1e-3, max_steps=1000)
for name, run in constant_runs.items():
    report(name, run)

# %% [markdown]
# then your two schedules, both starting at the large step:

# %% tags=["nbval-ignore-output"]
schedules = {
    "exponential decay 0.6 * 0.999^k": exponential_decay(0.6, 0.999),
    "step decay 0.6 * 0.5^(k // 250)": step_decay(0.6, 0.5, 250),
}
schedule_runs = {name: descend(network_loss, flatten(start), schedule, tol=1e-3,
                               max_steps=1000)
                 for name, schedule in progress_bar(schedules.items(),
                                                    desc="schedules")}
for name, run in schedule_runs.items():
    report(name, run)

fig, ax = plt.subplots(figsize=(7, 4.2))
for name, run in {**constant_runs, **schedule_runs}.items():
    plot_loss_curve(run.losses, ax=ax, label=name, steps=np.arange(run.steps + 1),
                    xlabel="step")
ax.axhline(floor, color="k", linestyle="--", linewidth=1,
           label="loss of the true weights")
ax.set_ylim(8e-3, 0.5)
log_ticks(ax)
ax.set_title("gradient descent on the network: constant steps and schedules")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# The large constant step gets down faster at first (at step 100 its loss is 0.023,
# the small step's 0.032), then swings at the edge of stability: from step 119 on it
# stays above the small step, and it ends at 1.6 times the floor without meeting the
# stopping rule. The small step is smooth and, from step 120 to about 400, the lowest
# of the four, but it has not met the stopping rule after 1000 steps either. The
# decaying schedules take the large steps while they help and small ones at the end:
# they end lowest, within 3 % of the floor, and the exponential decay stops by itself
# after 793 steps.
#
# ### Question (2 points, graded by hand)
#
# Gradient descent is the explicit Euler method for the gradient flow
# $dx/dt = -\nabla f(x)$. Use this to explain (a) why a constant step size must stay
# below $2/\lambda_{\max}$ on a quadratic, and why a step far below it stagnates; how
# many steps does the condition number force on gradient descent? (b) What would the
# *implicit* Euler method, $x_{k+1} = x_k - \eta\nabla f(x_{k+1})$, do on a
# quadratic, and what would each of its steps cost? (c) Why did a decaying schedule
# beat both constant step sizes on the network, and what does the stopping rule add?

# %% written why_the_limit (2 points) [markdown]
# ### BEGIN SOLUTION
# (a) Explicit Euler on $x' = -A(x - x^\star)$ multiplies the error along an
# eigenvector by $1 - \eta\lambda$ per step. It is stable only while
# $|1 - \eta\lambda| < 1$ for every eigenvalue, i.e. $\eta < 2/\lambda_{\max}$: the
# stability region of explicit Euler is the disc $|1 + h\mu| < 1$, and $\mu = -\lambda$.
# Beyond it, the steepest direction's error grows geometrically (diverges); between
# $1/\lambda_{\max}$ and $2/\lambda_{\max}$ it alternates in sign (oscillates). The
# flattest direction shrinks by $1 - \eta\lambda_{\min}$ per step; even at the largest
# stable step this is $1 - 2/\kappa$, so reducing its error by a factor $\varepsilon$
# takes about $\tfrac{\kappa}{2}\ln(1/\varepsilon)$ steps, and a step $c$ times smaller
# takes $c$ times as many: stagnation. A large $\kappa$ is a stiff system: the fast
# mode limits the step, the slow mode sets the time to integrate.
#
# (b) Implicit Euler solves $(I + \eta A)\,e_{k+1} = e_k$: the factor
# $1/(1 + \eta\lambda)$ lies in $(0, 1)$ for every $\eta > 0$, so it is stable for any
# step size (A-stable), and for $\eta \to \infty$ one step lands on $x^\star$: it
# becomes Newton's step of part 01. The price is a linear system with the Hessian in
# every step, as for Newton's method (the proximal-point method is its name in
# optimization).
#
# (c) On the network, a large step makes fast progress early but near the minimum it
# sits at the edge of stability ($\lambda_{\max} \approx 2/\eta$) and oscillates; a
# small step is stable but stagnates in the flat directions. A decaying schedule takes
# large steps while they help and small ones near the end, where precision matters, so
# it reaches a lower loss in the same number of steps. The stopping rule ends the run
# as soon as the gradient is small (no wasted steps) or the loss explodes (no wasted
# time, and a clear message instead of NaNs), without choosing a number of steps in
# advance.
# ### END SOLUTION

# %% [markdown]
# ## What the step size does
#
# * Gradient descent is explicit Euler on the gradient flow. On a quadratic it
#   converges exactly for $\eta < 2/\lambda_{\max}$, oscillates between
#   $1/\lambda_{\max}$ and $2/\lambda_{\max}$, and diverges above; far below, it
#   stagnates in the flat directions, and the condition number sets the pace.
# * On a network, $\lambda_{\max}$ changes with the weights; large steps drive the
#   weights to where $\lambda_{\max} \approx 2/\eta$ and oscillate there.
# * The best constant step on a quadratic, $2/(\lambda_{\min} + \lambda_{\max})$,
#   needs both eigenvalues; a schedule only shrinks the step and blows up if it
#   starts above the limit; an adaptive step (the bold driver) finds the limit by
#   itself, at the price of the steps it undoes.
# * A schedule that starts large and decays gets the speed of large steps and the
#   precision of small ones; a stopping rule ends a run when it has converged or
#   diverged. Part 07 adds the other source of oscillation: mini-batches.
