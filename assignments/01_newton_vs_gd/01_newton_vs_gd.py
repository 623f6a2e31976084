# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,title,-nbgrader
#     formats: source///ipynb,assignments///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Part 01 — Newton's method against gradient descent
#
# Training a model means minimizing a loss function $f(x)$. This part compares two
# ways downhill:
#
# * **Newton's method** uses the gradient $\nabla f$ *and* the curvature (the Hessian
#   $H$). It is given, written with `autodiff_lib`'s `grad` and `hessian`.
# * **Gradient descent** uses the gradient only. You implement it, with a step size
#   that adapts as it goes, and explain why a fixed step size is not enough.
#
# Then you compare both on a quadratic landscape: number of steps, time per step and
# total time.
#
# *How this notebook is graded.* Write your code where it says `YOUR CODE HERE` (and
# delete the `raise NotImplementedError()`). The cell after each answer tests it;
# when your notebook is graded, more tests (hidden here) run in those cells. Run the
# notebook top to bottom (*Kernel → Restart Kernel and Run All Cells*) before you
# submit.

# %% given setup
import matplotlib.pyplot as plt
import numpy as np

import autodiff_lib as ad
from autodiff_lib import OptimizationResult
from autodiff_lib.landscapes import quadratic
from autodiff_lib.plotting import plot_losses, plot_trajectories
from autodiff_lib.timing import best_time  # the fastest of a few runs

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## The landscape: a quadratic
#
# We minimize
#
# $$f(x) = \tfrac12\,(x - x^\star)^\top A\,(x - x^\star),
#   \qquad \nabla f(x) = A\,(x - x^\star), \qquad H = A,$$
#
# with $A$ symmetric positive definite, so that the minimum is $f(x^\star) = 0$.
# The level sets are ellipses with axes along the eigenvectors of $A$. The
# **condition number** $\kappa = \lambda_{\max} / \lambda_{\min}$ says how stretched
# they are: a long, narrow valley is steep across and almost flat along.
#
# `quadratic(A, x_star)` from `autodiff_lib.landscapes` writes $f$ with the
# library's own functions (`0.5 * ad.sum(d * ad.matmul(A, d))` with $d = x - x^\star$),
# so `ad.grad` and `ad.hessian` can differentiate it.

# %% given landscape tags=["nbval-check-output"]
A = np.array([[10.0, 4.0],
              [4.0, 1.8]])
x_star = np.array([1.0, -1.0])
f = quadratic(A, x_star)
x0 = np.array([-2.0, 2.0])

eigenvalues = np.linalg.eigvalsh(A)
print("eigenvalues of A:", eigenvalues)
print(f"condition number: {eigenvalues[-1] / eigenvalues[0]:.1f}")
print(f"f(x0) = {float(f(x0)):.4f}")


# %% [markdown]
# ## Newton's method (given)
#
# Near $x$, $f$ is approximated by its second-order Taylor model
# $m(p) = f(x) + \nabla f(x)^\top p + \tfrac12\, p^\top H(x)\, p$. Setting
# $\nabla m(p) = 0$ gives the **Newton step**: solve $H(x)\,p = -\nabla f(x)$ and
# move to $x + p$. On a quadratic the model *is* $f$, so one step lands on the
# minimum, from anywhere.

# %% tags=["nbval-check-output"]
def newton_step(f, x):
    """One Newton step: solve H(x) p = -grad f(x), return x + p."""
    g = ad.grad(f)(x)
    H = ad.hessian(f)(x)
    return x + np.linalg.solve(H, -g)

x1 = newton_step(f, x0)
print("after one Newton step:", x1)
print("at the minimum:", np.allclose(x1, x_star))

# %% [markdown]
# `ad.newton(f, x0, tol, max_steps)` repeats this step until
# $\lVert\nabla f(x)\rVert \le$ `tol` and returns an `OptimizationResult`: the final
# point `x`, the `trajectory` of points visited (`x0` first), the `losses` there,
# the number of `steps` and whether it `converged`.

# %% tags=["nbval-check-output"]
newton_result = ad.newton(f, x0, tol=1e-8)
print("steps:", newton_result.steps, " converged:", newton_result.converged)
print("trajectory:")
print(newton_result.trajectory)

# %% [markdown]
# ## Gradient descent, and why the step size matters
#
# Gradient descent needs no Hessian: $x \leftarrow x - \eta\,\nabla f(x)$ with a
# **step size** $\eta$. On our quadratic, each step multiplies the error
# $x - x^\star$ along the $i$-th eigenvector of $A$ by $(1 - \eta\lambda_i)$. So
#
# * the steep direction ($\lambda_{\max}$) blows up unless $\eta < 2/\lambda_{\max}$;
# * the flat direction ($\lambda_{\min}$) shrinks by only $(1 - \eta\lambda_{\min})$
#   per step, so even the best fixed $\eta$ needs a number of steps that grows with
#   the condition number.
#
# `ad.gradient_descent(..., adaptive=False)` keeps $\eta$ fixed. Here $2/\lambda_{\max}
# \approx 0.17$. Four fixed step sizes, each with the same budget of 2000 steps and
# the same tolerance, $\lVert\nabla f\rVert \le 10^{-8}$; the last line is the
# library's adaptive step size (the rule you write below), started from $\eta = 0.01$:

# %% tags=["nbval-check-output"]
tol, budget = 1e-8, 2000


def outcome(eta, adaptive, g=f):
    """What gradient descent from x0 with step size eta does on g, in words."""
    try:
        r = ad.gradient_descent(g, x0, step_size=eta, tol=tol, max_steps=budget,
                                adaptive=adaptive)
    except ad.DivergenceError:  # the loss overflowed: the steps blew up
        return "blew up"
    if r.converged:
        return f"converged in {r.steps} steps"
    return f"not converged, f(x) = {r.losses[-1]:.1e}"


for eta in [0.2, 0.01, 0.15, 0.16]:
    print(f"fixed    eta = {eta:<5} {outcome(eta, adaptive=False)}")
print(f"adaptive eta0 = 0.01 {outcome(0.01, adaptive=True)}")

# %% [markdown]
# So a fixed step size *can* do as well as an adaptive one: a well-tuned $\eta$
# (0.16, close to the best constant step $2/(\lambda_{\min} + \lambda_{\max}) \approx
# 0.17$) even converges in fewer steps. Just above it, $\eta = 0.2$ makes the loss
# grow by a factor $(1 - 0.2\,\lambda_{\max})^2 \approx 1.8$ per step until it
# overflows. The catch is in *well-tuned*: the right $\eta$ depends on
# $\lambda_{\max}$, which we do not know for a real loss (and which changes from place
# to place when $f$ is not quadratic). Scale the landscape, $f_c = c\,f$, which scales
# every eigenvalue by $c$ and moves nothing else: the $\eta$ tuned for $c = 1$ crawls
# on the flatter landscape and blows up on the steeper one, while the adaptive step,
# told nothing, converges on all three:

# %% tags=["nbval-check-output"]
for c in [0.1, 1.0, 10.0]:
    f_c = quadratic(c * A, x_star)
    print(f"c = {c:<4}  2/lambda_max = {2 / (c * eigenvalues[-1]):.3f}   "
          f"fixed eta = 0.16: {outcome(0.16, False, f_c):<32}"
          f"adaptive: {outcome(0.01, True, f_c)}")


# %% [markdown]
# ## An adaptive step size: the bold driver
#
# Instead of choosing $\eta$ in advance, let the optimizer find it by trial:
#
# * after a step that **lowered** the loss, keep the new point and be bolder:
#   $\eta \leftarrow \text{grow}\cdot\eta$ (e.g. grow $= 1.2$);
# * after a step that did **not** lower the loss, undo it (stay at the old point) and
#   be more careful: $\eta \leftarrow \text{shrink}\cdot\eta$ (e.g. shrink $= 0.5$).
#
# ### Exercise 1 (1 point): the step-size rule
#
# Write `next_step_size`, which returns the step size for the next step.

# %% answer next_step_size
def next_step_size(step_size, improved, grow=1.2, shrink=0.5):
    """The step size after one step of the bold driver.

    improved: whether the step just taken lowered the loss.
    Returns step_size * grow if it did, step_size * shrink if it did not.
    """
    ### BEGIN SOLUTION
    return step_size * grow if improved else step_size * shrink
    ### END SOLUTION


# %% tests test_next_step_size (1 point)
from autodiff_lib.testing import own_work  # what you return must be a plain number
next_step_size = own_work(next_step_size)
assert next_step_size(0.1, True) == 0.1 * 1.2
assert next_step_size(0.1, False) == 0.1 * 0.5
### BEGIN HIDDEN TESTS
import numpy as np

assert next_step_size(2.0, True, grow=3.0, shrink=0.25) == 6.0, \
    "next_step_size must multiply by `grow` after a step that lowered the loss"
assert next_step_size(2.0, False, grow=3.0, shrink=0.25) == 0.5, \
    "next_step_size must multiply by `shrink` after a step that did not lower the loss"
assert next_step_size(1.0, np.float64(0.5) < 1.0) == 1.2, \
    "next_step_size must also work when `improved` is a numpy bool"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 (5 points): gradient descent with an adaptive step size
#
# Write `gradient_descent(f, x0, step_size, tol, max_steps, grow, shrink)`:
#
# 1. Start at `x0` with $\eta$ = `step_size`.
# 2. Before each step, stop if $\lVert\nabla f(x)\rVert \le$ `tol` (`np.linalg.norm`):
#    the method has **converged**. Never take more than `max_steps` steps: after
#    the last one, `converged` says whether $\lVert\nabla f(x)\rVert \le$ `tol` at the
#    point you end at (so a run that reaches the tolerance on its last allowed step
#    has converged).
# 3. A step tries $x_{\text{new}} = x - \eta\,\nabla f(x)$. If
#    $f(x_{\text{new}}) < f(x)$, move there; otherwise stay at $x$. Then update
#    $\eta$ with your `next_step_size`.
# 4. Record, for every step, the point after it, the loss there and the $\eta$ that
#    was tried, and return
#    `OptimizationResult(x, trajectory, losses, step_sizes, converged)`:
#    `trajectory` and `losses` start with `x0` and `f(x0)` (so they have one entry
#    more than `step_sizes`); lists are fine, they are turned into arrays.
#
# `value_and_grad_f(x)` returns $f(x)$ and $\nabla f(x)$ from one backward sweep. Call
# it once per step, **at the trial point** $x_{\text{new}}$: its value decides whether
# the step is taken, and if it is, its gradient is the one the next step needs (after
# a step that is undone, you still have the gradient at $x$). That is what
# `ad.gradient_descent` does. Evaluating only `f(x_new)` (a forward pass, no
# derivative rules) and the gradient only after a step is taken is also correct, and
# does a little less work when many steps are undone; the tests check the path you
# take, not how you evaluate it. Write the loop yourself: the library's
# `ad.gradient_descent` may not be used in it (in the tests, it raises when your
# function calls it).

# %% answer gradient_descent
def gradient_descent(f, x0, step_size=0.01, tol=1e-6, max_steps=10_000,
                     grow=1.2, shrink=0.5):
    """Minimize f from x0 by gradient descent with the bold-driver step size."""
    value_and_grad_f = ad.value_and_grad(f)
    ### BEGIN SOLUTION
    x = np.array(x0, dtype=float)
    loss, g = value_and_grad_f(x)
    loss = float(loss)
    trajectory, losses, step_sizes = [x], [loss], []
    for _ in range(max_steps):
        if np.linalg.norm(g) <= tol:
            break
        x_new = x - step_size * g
        loss_new, g_new = value_and_grad_f(x_new)
        step_sizes.append(step_size)
        improved = float(loss_new) < loss
        if improved:  # downhill: take the step
            x, loss, g = x_new, float(loss_new), g_new
        step_size = next_step_size(step_size, improved, grow, shrink)
        trajectory.append(x)
        losses.append(loss)
    converged = np.linalg.norm(g) <= tol
    return OptimizationResult(x, trajectory, losses, step_sizes, converged)
    ### END SOLUTION


# %% [markdown]
# The next cell checks the shape of what you return on our 2-D quadratic. Each of the
# four cells after it checks one case you can see, and holds hidden tests of the same
# kind: other dimensions, ill-conditioned quadratics, a step size that must adapt,
# and the stopping rules.

# %% tests test_gradient_descent_2d (1 point)
# Your own gradient descent: in every test of it, the library's ad.gradient_descent
# raises if your function calls it, and it must return a plain OptimizationResult.
from autodiff_lib.testing import own_work
gradient_descent = own_work(gradient_descent, "gradient_descent")
result = gradient_descent(f, x0, step_size=0.01, tol=1e-6, max_steps=2000)
assert isinstance(result, OptimizationResult), "return an OptimizationResult"
n = result.steps
assert result.trajectory.shape == (n + 1, 2), "trajectory: x0, then one point per step"
assert result.losses.shape == (n + 1,), "losses: f(x0), then one loss per step"
assert result.step_sizes.shape == (n,), "step_sizes: one per step"
assert np.array_equal(result.trajectory[0], x0), "the trajectory starts at x0"
assert result.converged, "gradient descent should converge on this quadratic"
assert np.linalg.norm(A @ (result.x - x_star)) <= 1e-6, "converged, but |grad f| > tol"
bold_driver = ad.gradient_descent(f, x0, step_size=0.01, tol=1e-6, max_steps=2000)
assert np.allclose(result.step_sizes[:20], bold_driver.step_sizes[:20]), (
    "step_sizes: record the eta each step tried (before next_step_size updates it)")
same_path = n == bold_driver.steps and np.allclose(result.trajectory,
                                                   bold_driver.trajectory)
assert same_path, (
    "the path differs from the bold driver's: a step that does not lower f is undone "
    "(x stays where it was) and eta shrinks")
print(f"converged in {n} steps")

# %% tests test_gradient_descent_dimensions (1 point)
from autodiff_lib.testing import own_work  # the library's gradient_descent raises
gradient_descent = own_work(gradient_descent, "gradient_descent")
# One variable here; hidden tests: quadratics in 1, 5 and 20 variables.
r = gradient_descent(quadratic([[2.0]], [1.0]), np.zeros(1), step_size=0.1, tol=1e-8)
assert r.converged and np.allclose(r.x, [1.0]), "misses the minimum of (x - 1)^2"
### BEGIN HIDDEN TESTS
import numpy as np
from autodiff_lib.landscapes import random_quadratic

for n, seed in [(1, 11), (5, 12), (20, 13)]:
    f_n, A_n, x_star_n = random_quadratic(n, condition=10.0, seed=seed)
    r = gradient_descent(f_n, np.zeros(n), step_size=0.01, tol=1e-6, max_steps=5000)
    assert np.shape(r.trajectory) == (r.steps + 1, n), \
        f"with {n} variables, the trajectory is not one point of {n} values per step"
    assert r.converged, \
        f"did not converge on a well-conditioned quadratic in {n} variables"
    assert np.linalg.norm(A_n @ (r.x - x_star_n)) <= 1e-6, \
        f"with {n} variables, reports convergence although |grad f(x)| > tol"
### END HIDDEN TESTS

# %% tests test_gradient_descent_ill_conditioned (1 point)
from autodiff_lib.testing import own_work  # the library's gradient_descent raises
gradient_descent = own_work(gradient_descent, "gradient_descent")
# Condition number 100 here; hidden tests: more ill-conditioned quadratics.
r = gradient_descent(quadratic(np.diag([1.0, 100.0]), [1.0, 1.0]), np.zeros(2),
                     tol=1e-6)
assert r.converged, "did not converge in a long, narrow valley (condition number 100)"
### BEGIN HIDDEN TESTS
import numpy as np
from autodiff_lib.landscapes import random_quadratic

for condition, seed in [(100.0, 21), (300.0, 22)]:
    f_c, A_c, x_star_c = random_quadratic(8, condition=condition, seed=seed)
    r = gradient_descent(f_c, np.ones(8), step_size=1e-3, tol=1e-6, max_steps=20_000)
    assert np.all(np.isfinite(r.losses)), "the losses contain inf or NaN"
    assert np.all(np.diff(r.losses) <= 0), \
        "the recorded loss went up: a step that does not lower the loss must be undone"
    assert r.converged, \
        f"did not converge within the step budget at condition number {condition:g}"
    assert np.linalg.norm(A_c @ (r.x - x_star_c)) <= 1e-6, \
        f"at condition number {condition:g}, reports convergence but |grad f(x)| > tol"
### END HIDDEN TESTS

# %% tests test_gradient_descent_adapts (1 point)
from autodiff_lib.testing import own_work  # the library's gradient_descent raises
gradient_descent = own_work(gradient_descent, "gradient_descent")
# A step size far too large here; hidden tests: the step size grows and shrinks.
r = gradient_descent(f, x0, step_size=1.0, tol=1e-6)  # a fixed step above 0.17 diverges
assert r.converged, "from step_size=1, the step size must shrink until steps work"
### BEGIN HIDDEN TESTS
import numpy as np
from autodiff_lib.landscapes import random_quadratic

# largest eigenvalue 10: a fixed step size above 0.2 diverges
f_a, A_a, x_star_a = random_quadratic(3, condition=10.0, seed=31)
r = gradient_descent(f_a, np.ones(3), step_size=5.0, tol=1e-6, max_steps=2000)
assert r.step_sizes[0] == 5.0, "step_sizes[0] must be the step size passed in"
assert r.converged, "starting with a step size far too large, the step size must shrink"
r = gradient_descent(f_a, np.ones(3), step_size=1e-6, tol=1e-6, max_steps=2000)
assert r.converged, "starting with a tiny step size, the step size must grow"
r = gradient_descent(f_a, np.ones(3), step_size=0.05, tol=1e-8, max_steps=500,
                     grow=2.0, shrink=0.1)
improved = np.diff(r.losses)[:-1] < 0
ratios = np.asarray(r.step_sizes)[1:] / np.asarray(r.step_sizes)[:-1]
assert improved.any() and (~improved).any(), \
    "with grow=2, some steps should fail and some succeed"
assert np.allclose(ratios[improved], 2.0), \
    "after a step that lowered the loss, the step size must be times `grow`"
assert np.allclose(ratios[~improved], 0.1), \
    "after a step that did not lower the loss, the step size must be times `shrink`"
### END HIDDEN TESTS

# %% tests test_gradient_descent_stops (1 point)
from autodiff_lib.testing import own_work  # the library's gradient_descent raises
gradient_descent = own_work(gradient_descent, "gradient_descent")
# A step budget here; hidden tests: stops as soon as |grad f| <= tol, and in budget.
r = gradient_descent(f, x0, step_size=0.01, tol=1e-12, max_steps=10)
assert r.steps == 10 and not r.converged, "must stop after max_steps, not converged"
### BEGIN HIDDEN TESTS
import numpy as np
from autodiff_lib.landscapes import random_quadratic

f_s, A_s, x_star_s = random_quadratic(4, condition=20.0, seed=41)
r = gradient_descent(f_s, np.zeros(4), step_size=0.01, tol=1e-3, max_steps=5000)
norms = [np.linalg.norm(A_s @ (x - x_star_s)) for x in r.trajectory]
assert r.converged and norms[-1] <= 1e-3, "did not stop with |grad f| <= tol"
assert all(norm > 1e-3 for norm in norms[:-1]), \
    "took another step after |grad f| was already <= tol"
r = gradient_descent(f_s, np.zeros(4), step_size=0.01, tol=1e-12, max_steps=25)
assert r.steps == 25 and len(r.trajectory) == 26, \
    "must take exactly max_steps steps when the tolerance is not reached before"
assert not r.converged, "converged must be False when max_steps ran out first"
r = gradient_descent(f_s, x_star_s, step_size=0.01, tol=1e-6, max_steps=100)
assert r.steps == 0 and r.converged, "starting at the minimum, no step is needed"
### END HIDDEN TESTS
print('These visible tests passed. They are not your grade: when your notebook is '
      'graded, hidden tests run in every test cell as well, on other inputs.')

# %% [markdown]
# ### Question (2 points, graded by hand)
#
# Why does gradient descent with a fixed step size fail on landscapes like this one,
# and why is an adaptive step size needed, although a well-tuned fixed step converges
# as fast? Use what you saw in the runs above.

# %% written fixed_vs_adaptive (2 points) [markdown]
# ### BEGIN SOLUTION
# A fixed step size must suit the steepest direction: on a quadratic each step
# multiplies the error along an eigenvector of $A$ by $(1 - \eta\lambda_i)$, so the
# iteration is stable only if $\eta < 2/\lambda_{\max}$. With $\eta = 0.2$ the steep
# direction overshoots further on every step and the loss explodes. A step small
# enough for the steep direction removes only about $\eta\lambda_{\min}$ of the error
# along the flat direction per step: $\eta = 0.01$ has not converged after 2000 steps,
# and the number of steps of even the best fixed step grows with the condition number.
# A fixed step tuned close to the best value, $2/(\lambda_{\min} + \lambda_{\max})$,
# converges as fast as the adaptive one (0.16: 646 steps), but tuning it requires
# $\lambda_{\max}$, which is unknown for a real loss and changes from place to place on
# a non-quadratic landscape: the same $\eta = 0.16$ blows up on $10 f$ and crawls on
# $0.1 f$.
#
# An adaptive step finds a workable size by trial: it grows while steps keep lowering
# the loss and shrinks (undoing the step) as soon as one does not. So it cannot
# diverge, it starts from any guess, and it keeps $\eta$ close to the largest stable
# value without knowing the curvature.
# ### END SOLUTION

# %% [markdown]
# ## Comparison: steps, time per step, total time
#
# Both methods now run on the same quadratic, from the same start, to the same
# tolerance. `ad.count_operations()` counts the derivative rules the engine evaluates:
# a measure of work that, unlike a stopwatch, gives the same answer on every run.

# %% tags=["nbval-check-output"]
tol = 1e-8
methods = {
    "Newton": lambda: ad.newton(f, x0, tol=tol),
    "gradient descent": lambda: gradient_descent(f, x0, step_size=0.01, tol=tol),
}
results = {}
for name, run in methods.items():
    results[name] = result = run()
    print(f"{name:<17} steps: {result.steps:4d}  converged: {result.converged}")

# %% [markdown]
# The timings in the next cell depend on the machine: your numbers will differ, their
# ratios less so. The rule counts depend on the version of the library, and count
# operations, not their size: the Hessian's rules work on arrays $n$ times larger.

# %% tags=["nbval-ignore-output"]
print(f"{'':<17} {'steps':>6} {'rules/step':>11} {'time/step':>11} {'total time':>11}")
for name, run in methods.items():
    with ad.count_operations() as ops:
        steps = run().steps
    total = best_time(run)
    print(f"{name:<17} {steps:6d} {ops.rule_evaluations / steps:11.1f} "
          f"{1e3 * total / steps:8.3f} ms {1e3 * total:8.3f} ms")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
plot_trajectories(f, results, ax=left)
left.set_title("paths to the minimum")
plot_losses(results, f_min=0.0, ax=right)
right.set_title("loss per step (log scale)")
plt.show()

# %% [markdown]
# In two variables a Newton step costs a few times a gradient step. The rule counts
# do not grow with $n$ (each rule works on a whole array), but the arrays do: the
# Hessian has $n^2$ entries and the solve costs $O(n^3)$, against $O(n^2)$ for the
# gradient of a quadratic. Time per step on random quadratics of growing dimension
# (machine-dependent, like every timing):

# %% tags=["nbval-ignore-output"]
from functools import partial

from autodiff_lib.landscapes import random_quadratic
from autodiff_lib.plotting import plot_growth

dimensions = [2, 32, 128, 256, 512]
per_step = {"gradient descent": [], "Newton": []}
for n in dimensions:
    f_n, _, x_star_n = random_quadratic(n, condition=10.0, seed=n)
    start_n = x_star_n + 1.0
    ten_steps = partial(ad.gradient_descent, f_n, start_n, step_size=0.01, tol=0.0,
                        max_steps=10, adaptive=False)
    per_step["gradient descent"].append(best_time(ten_steps) / 10)
    per_step["Newton"].append(best_time(partial(ad.newton, f_n, start_n, tol=0.0,
                                                max_steps=1)))
for n, descent, newton in zip(dimensions, *per_step.values()):
    print(f"n = {n:3d}: gradient step {1e3 * descent:6.3f} ms, "
          f"Newton step {1e3 * newton:7.3f} ms, ratio {newton / descent:6.1f}")

# %%
ax = plot_growth(dimensions, {name: 1e3 * np.array(t) for name, t in per_step.items()},
                 xlabel="dimension n", ylabel="time per step (ms)", logx=True)
ax.set_title("a Newton step gets dearer with n, a gradient step hardly")
plt.show()

# %% [markdown]
# ## What the comparison shows
#
# * A **gradient-descent step is cheaper**: one gradient, against a gradient, a
#   Hessian and a linear solve for Newton. The gap widens with the dimension $n$
#   (the sweep above): the Hessian has $n^2$ entries and the solve costs $O(n^3)$.
# * Yet gradient descent takes **far more steps**, and so **more time overall**. Its
#   path zig-zags across the narrow valley, and its loss falls by a roughly constant
#   factor per step (a straight line on the log scale), a factor that gets worse as
#   the condition number grows.
# * **Newton's method converges in one step** on a quadratic: its model of $f$ is
#   exact. Any smooth function looks almost quadratic near its minimum, so once
#   Newton's method is close, it converges almost at once (the error is squared on
#   every step).
#
# Try it: make the valley narrower (a larger condition number) or start elsewhere, and
# rerun the comparison. Part 02 turns to landscapes that are *not* quadratic, where
# Newton's method needs more care.
