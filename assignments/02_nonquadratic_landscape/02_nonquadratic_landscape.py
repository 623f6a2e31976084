# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,title,-nbgrader
#     formats: source///ipynb,assignments///py:percent
#     notebook_metadata_filter: -kernelspec,-jupytext.text_representation
# ---

# %% [markdown]
# # Part 02 — A landscape that is not quadratic
#
# In part 01, Newton's method reached the minimum of a quadratic in one step, and
# gradient descent needed hundreds. Losses met in learning are not quadratic. Here
# you build one that is not, and find out what that does to both methods:
#
# 1. you write the landscape, a sum of **log-cosh** terms (Exercise 1);
# 2. you watch Newton's method **diverge** on it, from every starting point we give;
# 3. you give Newton's method a **step size**, chosen by a line search (Exercise 2),
#    and explain why this landscape needs it and a quadratic does not;
# 4. you compare damped Newton and gradient descent again: steps, work and time.
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
from autodiff_lib.plotting import (
    plot_losses,
    plot_quadratic_model,
    plot_trajectories,
)
from autodiff_lib.timing import best_time  # the fastest of a few runs

np.set_printoptions(precision=4, suppress=True)


# %% [markdown]
# ## The landscape: a sum of log-cosh
#
# The function $\log\cosh u$ is a smooth absolute value: near $0$ it is
# $\tfrac12 u^2 + O(u^4)$, a parabola; far from $0$ it is $|u| - \log 2$, a straight
# line. As a loss ("log-cosh loss") it is used in robust regression, because a far-off
# sample pulls on the fit with a bounded force. Its derivatives are
#
# $$\frac{d}{du}\log\cosh u = \tanh u, \qquad
#   \frac{d^2}{du^2}\log\cosh u = \frac{1}{\cosh^2 u},$$
#
# so the slope never exceeds $1$ and the **curvature vanishes** away from the minimum.
# (The slope is the $\tanh$ that part 03 uses inside a neural network.)
#
# In $n$ variables we stretch and turn it with an invertible $n\times n$ matrix $M$
# and move its minimum to $x^\star$:
#
# $$f(x) = \sum_{i} \log\cosh u_i, \qquad u = M\,(x - x^\star),$$
# $$\nabla f(x) = M^\top \tanh(u), \qquad
#   H(x) = M^\top \operatorname{diag}\!\Big(\frac{1}{\cosh^2 u}\Big)\, M .$$
#
# Near $x^\star$, $f(x) \approx \tfrac12 (x-x^\star)^\top M^\top M\,(x-x^\star)$: the
# quadratic of part 01 with $A = M^\top M$. Far from it, $f$ grows only linearly.
#
# ### Exercise 1 (2 points): the landscape
#
# Write `log_cosh_landscape(M, x_star)`, which returns the function $f$ above (a
# function of one argument, the vector $x$), as `quadratic(A, x_star)` does in part 01.
# Write $f$ with `autodiff_lib`'s functions (`ad.matmul`, `ad.cosh`, `ad.log`,
# `ad.sum`; numpy's `np.log`, `np.cosh` also work on the library's Tensors), so that
# `ad.grad` and `ad.hessian` can differentiate it. (The library also has
# `ad.logcosh`, which never overflows; write $f$ from `ad.log` and `ad.cosh` here: the
# notebook shows below what the overflow does.)

# %% answer log_cosh_landscape
def log_cosh_landscape(M, x_star):
    """f(x) = sum_i log cosh(u_i) with u = M (x - x_star), for a vector x."""
    ### BEGIN SOLUTION
    M = np.array(M, dtype=float)
    x_star = np.array(x_star, dtype=float)

    def f(x):
        u = ad.matmul(M, x - x_star)
        return ad.sum(ad.log(ad.cosh(u)))

    return f
    ### END SOLUTION


# %% tests test_log_cosh_values (1 point)
# Values: here with M = I in two variables; hidden tests: other M, x_star and points.
f_identity = log_cosh_landscape(np.eye(2), np.zeros(2))
assert np.isclose(float(f_identity(np.zeros(2))), 0.0), "f(x_star) must be 0"
assert np.isclose(float(f_identity(np.array([1.0, -2.0]))),
                  np.log(np.cosh(1.0)) + np.log(np.cosh(2.0))), \
    "with M = I, f([1, -2]) must be log cosh(1) + log cosh(2)"
### BEGIN HIDDEN TESTS
import numpy as np

rng_values = np.random.default_rng(2024)
for n in [1, 3, 4]:
    M_v = rng_values.normal(size=(n, n)) + 2.0 * np.eye(n)
    x_star_v = rng_values.normal(size=n)
    f_v = log_cosh_landscape(M_v, x_star_v)
    for scale in [0.3, 2.0, 8.0]:
        x_v = x_star_v + scale * rng_values.normal(size=n)
        expected = np.sum(np.log(np.cosh(M_v @ (x_v - x_star_v))))
        assert np.isclose(float(f_v(x_v)), expected, rtol=1e-10, atol=1e-12), \
            f"wrong value in {n} variables with a non-symmetric M"
    assert np.isclose(float(f_v(x_star_v)), 0.0, atol=1e-12), \
        f"f(x_star) is not 0 in {n} variables"
M_o = np.array([[2.0, 0.0], [1.0, 1.0]])  # u = M (x - x_star), not M^T (x - x_star)
f_o = log_cosh_landscape(M_o, np.array([0.5, 0.0]))
assert np.isclose(float(f_o(np.array([1.5, 0.0]))),
                  np.log(np.cosh(2.0)) + np.log(np.cosh(1.0))), \
    "u must be M @ (x - x_star): the matrix is applied from the left"
### END HIDDEN TESTS

# %% tests test_log_cosh_derivatives (1 point)
# Derivatives: at the minimum, the Hessian is M^T M; hidden tests: gradient and
# Hessian at points you do not see.
M_d = np.array([[1.0, 2.0], [0.0, 1.0]])
f_d = log_cosh_landscape(M_d, np.array([1.0, 1.0]))
assert np.allclose(ad.grad(f_d)(np.array([1.0, 1.0])), 0.0), \
    "the gradient at x_star is not 0"
assert np.allclose(ad.hessian(f_d)(np.array([1.0, 1.0])), M_d.T @ M_d), \
    "ad.hessian(f) at x_star is not M^T M (the curvature of log cosh at 0 is 1; " \
    "ad.abs has derivative 0 at 0, so a form with abs(u) loses it there)"
### BEGIN HIDDEN TESTS
import numpy as np

import autodiff_lib as ad

rng_derivatives = np.random.default_rng(7)
for n in [2, 5]:
    M_h = rng_derivatives.normal(size=(n, n)) + 2.0 * np.eye(n)
    x_star_h = rng_derivatives.normal(size=n)
    f_h = log_cosh_landscape(M_h, x_star_h)
    for _ in range(3):
        x_h = x_star_h + rng_derivatives.normal(size=n)
        u_h = M_h @ (x_h - x_star_h)
        assert np.allclose(ad.grad(f_h)(x_h), M_h.T @ np.tanh(u_h), atol=1e-10), \
            f"the gradient in {n} variables is not M^T tanh(u)"
        expected_H = M_h.T @ np.diag(1.0 / np.cosh(u_h) ** 2) @ M_h
        assert np.allclose(ad.hessian(f_h)(x_h), expected_H, atol=1e-10), \
            f"the Hessian in {n} variables is not M^T diag(1/cosh^2 u) M"
### END HIDDEN TESTS

# %% [markdown]
# Our landscape for the rest of the notebook: two variables, a minimum at
# $x^\star = (1, -1)$, and three starting points. The last column says how far out each
# start lies in $u = M(x - x^\star)$: well past the parabolic middle of log-cosh.

# %% given landscape tags=["nbval-check-output"]
M = np.array([[1.5, 0.5],
              [-0.5, 1.0]])
x_star = np.array([1.0, -1.0])
starts = [np.array([-2.0, 2.0]), np.array([3.0, 1.0]), np.array([-1.5, -3.0])]
tol = 1e-6


def f(x):
    """Our landscape: your log_cosh_landscape(M, x_star), evaluated at x."""
    return log_cosh_landscape(M, x_star)(x)


for x0 in starts:
    u0 = M @ (x0 - x_star)
    print(f"x0 = {x0}   f(x0) = {float(f(x0)):.4f}   u = M (x0 - x_star) = {u0}")


# %% [markdown]
# ## Newton's method without a step size
#
# Take one variable first: $f(u) = \log\cosh u$. The Newton step divides the slope by
# the curvature:
#
# $$u \;\leftarrow\; u - \frac{\tanh u}{1/\cosh^2 u} \;=\; u - \tfrac12\sinh(2u).$$
#
# Near $0$, $\tfrac12\sinh 2u = u + \tfrac23 u^3 + \dots$, so the step lands at about
# $-\tfrac23 u^3$: the error is *cubed*, faster than on most functions. Far from $0$,
# $\sinh$ grows exponentially and the step flies past the minimum, further out on the
# other side than where it started. The turning point is where a step lands exactly
# at $-u$, that is $\sinh 2u = 4u$: $|u| \approx 1.09$. Start beyond it and every step
# overshoots more than the last.
#
# The cell below runs plain Newton steps (with `ad.grad` and `ad.hessian`, as in part
# 01) and records where they go. Unlike `ad.newton`, which raises an error as soon as
# the loss is no longer a finite number, it stops quietly there, so that we can look
# at the path.

# %% given undamped_newton tags=["nbval-check-output"]
def undamped_newton(f, x0, max_steps=20, tol=1e-6):
    """Full Newton steps x <- x - H(x)^-1 grad f(x) from x0, recorded until
    |grad f| <= tol, max_steps, or a point where f or its derivatives overflow."""
    x = np.array(x0, dtype=float)
    trajectory, losses = [x], [float(f(x))]
    with np.errstate(all="ignore"):  # far out, cosh overflows: that is where we stop
        for _ in range(max_steps):
            g, H = ad.grad(f)(x), ad.hessian(f)(x)
            if np.linalg.norm(g) <= tol or not np.all(np.isfinite(H)):
                break
            try:
                x = x - np.linalg.solve(H, g)
            except np.linalg.LinAlgError:  # the curvature rounded to 0: no Newton step
                break
            trajectory.append(x)
            losses.append(float(f(x)))
            if not np.isfinite(losses[-1]):
                break
        converged = bool(np.linalg.norm(ad.grad(f)(x)) <= tol)
    step_sizes = np.ones(len(losses) - 1)  # always the full step
    return OptimizationResult(x, trajectory, losses, step_sizes, converged)



def f_1d(u):
    """log cosh u in one variable (a number or an array of one): your landscape
    with M = I and x_star = 0."""
    return log_cosh_landscape(np.eye(1), np.zeros(1))(ad.reshape(u, (1,)))


for u0 in [0.5, 1.0, 1.1, 1.5]:
    result = undamped_newton(f_1d, [u0], max_steps=6)
    print(f"u0 = {u0}: converged {result.converged!s:<5}  u =", result.trajectory[:, 0])

# %% [markdown]
# Newton's method minimizes the **quadratic model** of $f$ at the current point. At
# $u = 0.5$ the model is a good guide; at $u = 1.5$ the curvature is so small that the
# model is a very flat parabola whose minimum lies far away, where $f$ is *higher*
# than where we started:

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
plot_quadratic_model(f_1d, 0.5, ax=left)
left.set_title("at u = 0.5: the model is a good guide")
plot_quadratic_model(f_1d, 1.5, ax=right)
right.set_title("at u = 1.5: the model's minimum is far away")
plt.show()

# %% [markdown]
# Back to two variables. With $u = M(x - x^\star)$, the matrices cancel in the Newton
# step: $\Delta x = -H^{-1}\nabla f = -M^{-1}\operatorname{diag}(\cosh^2 u)\tanh u$, so
# each $u_i$ moves exactly as in one variable, $u_i \leftarrow u_i - \tfrac12\sinh 2u_i$.
# Every start above has a coordinate of $u$ beyond $1.09$. `ad.newton` (the library's
# Newton's method, a full step each time) from each start:

# %% tags=["nbval-check-output"]
for x0 in starts:
    try:
        result = ad.newton(f, x0, tol=tol)
        print(f"from {x0}: converged {result.converged} after {result.steps} steps")
    except (ad.DivergenceError, np.linalg.LinAlgError) as error:
        print(f"from {x0}: {type(error).__name__}: {error}")

# %% [markdown]
# The first step lands so far out ($|u|$ in the hundreds or more) that the method
# cannot go on, in one of two ways, depending on how $f$ is written: written as
# `log(cosh(u))`, as above, $\cosh$ overflows and the loss is `inf` (a
# `DivergenceError`); written without overflow (for example
# `ad.logaddexp(u, -u) - np.log(2)`, or the library's `ad.logcosh`), the loss stays
# finite but the curvature $1/\cosh^2 u$ rounds to $0$, the Hessian is singular and
# the next step fails (a `LinAlgError`). Below, "blew up" stands for either.
#
# **Would a smaller, fixed step help?** `ad.newton(..., step_size=eta)` takes the step
# $x \leftarrow x - \eta\,H^{-1}\nabla f$ with a fixed $\eta$:

# %% tags=["nbval-check-output"]
for eta in [0.5, 0.1, 0.02, 0.001]:
    outcomes = []
    for x0 in starts:
        try:
            result = ad.newton(f, x0, tol=tol, step_size=eta, max_steps=200)
            converged = result.converged
            outcomes.append("converged" if converged else "not converged in 200 steps")
        except (ad.DivergenceError, np.linalg.LinAlgError):
            # f overflowed or the Hessian became singular: which comes first
            # depends on rounding, so both read the same
            outcomes.append("blew up")
    print(f"eta = {eta:<6} " + " | ".join(outcomes))


# %% [markdown]
# No. The overshoot $\tfrac12\sinh 2u$ grows exponentially with the distance, so a
# fixed fraction of it is still too much far enough out; and $\eta = 0.001$, small
# enough not to blow up, makes every step tiny, also near the minimum, where the full
# step would be right.
#
# ## A step size that adapts: backtracking line search
#
# Keep Newton's **direction** $p = -H(x)^{-1}\nabla f(x)$ and choose how far to go
# along it. Here $H$ is positive definite everywhere, so $p$ always points downhill
# ($\nabla f^\top p = -\nabla f^\top H^{-1}\nabla f < 0$): a short enough step along
# it lowers $f$. Backtracking finds one:
#
# * try the **full** step, $\eta = 1$;
# * while $f(x + \eta p) \ge f(x)$, halve: $\eta = \tfrac12, \tfrac14, \dots$ down to
#   $2^{-\text{max\_halvings}}$, which is tried too (`max_halvings + 1` trials in
#   all);
# * take the first step that lowers $f$, by any amount: plain decrease,
#   $f(x + \eta p) < f(x)$. (A *sufficient*-decrease rule such as Armijo's,
#   $f(x + \eta p) \le f(x) + c\,\eta\,\nabla f^\top p$, is common in textbooks, but
#   it halves more often; this exercise asks for plain decrease, and the tests check
#   that no step was halved once more than needed.)
# * If none of them lowers $f$, stop: record nothing for this step, and return where
#   you are, with `converged` saying whether $\lVert\nabla f(x)\rVert \le$ `tol`
#   (it is not, or you would not have stepped).
#
# Near the minimum the model is good and the full step is accepted at once: Newton's
# fast convergence is kept. Far away, the step is cut down to what the model can be
# trusted for.
#
# ### Exercise 2 (3 points): Newton's method with a line search
#
# Write `damped_newton(f, x0, tol, max_steps, max_halvings)`, for $f$ of a vector:
#
# 1. Start at `x0`. Before each step, stop if $\lVert\nabla f(x)\rVert \le$ `tol`
#    (converged). Never take more than `max_steps` steps.
# 2. Compute the Newton direction $p$ (`np.linalg.solve(hessian_f(x), -g)`). If the
#    Hessian is singular, `np.linalg.solve` raises a `LinAlgError`: let it propagate
#    (there is no Newton direction to search along; do not catch it).
# 3. Backtrack as above. Each trial point costs one call of `value_and_grad_f`: its
#    gradient is the one you need next if the step is accepted. A trial point can be
#    so far out that $\cosh$ overflows: $f$ is then `inf` (or `nan`), which is not
#    lower, so the step is halved; evaluate trial points inside
#    `with np.errstate(over="ignore", invalid="ignore"):` to silence numpy's warnings.
# 4. Record, for every step, the new point, its loss and the accepted $\eta$; return
#    `OptimizationResult(x, trajectory, losses, step_sizes, converged)` as in part 01
#    (`trajectory` and `losses` start with `x0` and $f(x_0)$).
#
# Write the loop yourself: the library's `ad.newton` may not be used in it (in the
# tests, it raises when your function calls it).

# %% answer damped_newton
def damped_newton(f, x0, tol=1e-6, max_steps=100, max_halvings=50):
    """Minimize f from x0 by Newton's method with a backtracking line search."""
    value_and_grad_f = ad.value_and_grad(f)
    hessian_f = ad.hessian(f)
    ### BEGIN SOLUTION
    x = np.array(x0, dtype=float)
    value, g = value_and_grad_f(x)
    loss = float(value)
    points, losses, step_sizes = [x], [loss], []
    for _ in range(max_steps):
        if np.linalg.norm(g) <= tol:
            break
        p = np.linalg.solve(hessian_f(x), -g)  # the Newton direction
        eta = 1.0
        for _ in range(max_halvings + 1):
            with np.errstate(over="ignore", invalid="ignore"):
                trial_loss, trial_g = value_and_grad_f(x + eta * p)
            if float(trial_loss) < loss:  # downhill: accept this step size
                break
            eta /= 2
        else:  # no step size lowers f: stop where we are
            break
        x, loss, g = x + eta * p, float(trial_loss), trial_g
        points.append(x)
        losses.append(loss)
        step_sizes.append(eta)
    converged = np.linalg.norm(g) <= tol
    return OptimizationResult(x, points, losses, step_sizes, converged)
    ### END SOLUTION


# %% [markdown]
# The tests below use a landscape of their own, $\sum_i \sqrt{1 + u_i^2}$ (the
# "pseudo-Huber" loss, also linear far out and quadratic near the minimum; plain
# Newton maps $u$ to $-u^3$ on it), so that they do not depend on your answer to
# Exercise 1.

# %% given pseudo_huber
def pseudo_huber(M, x_star):
    """f(x) = sum_i sqrt(1 + u_i^2), u = M (x - x_star): minimum n at x_star."""
    M, x_star = np.array(M, dtype=float), np.array(x_star, dtype=float)
    return lambda x: ad.sum(ad.sqrt(1.0 + ad.matmul(M, x - x_star) ** 2))


# %% tests test_damped_newton_converges (1 point)
# Your own Newton's method: in every test of it, the library's ad.newton raises if your
# function calls it, and it must return a plain OptimizationResult.
from autodiff_lib.testing import own_work
damped_newton = own_work(damped_newton, "newton")
# Converges where plain Newton diverges; hidden tests: more landscapes and starts.
f_ph = pseudo_huber(M, x_star)
result = damped_newton(f_ph, starts[0], tol=1e-6)
assert isinstance(result, OptimizationResult), "return an OptimizationResult"
n = result.steps
assert result.trajectory.shape == (n + 1, 2), "trajectory: x0, then one point per step"
assert result.losses.shape == (n + 1,) and result.step_sizes.shape == (n,), \
    "losses: f(x0), then one per step; step_sizes: one per step"
assert result.converged and np.allclose(result.x, x_star, atol=1e-5), \
    "did not converge to the minimum of the pseudo-Huber landscape from starts[0]"
### BEGIN HIDDEN TESTS
import numpy as np

import autodiff_lib as ad

def hidden_log_cosh(M_c, x_star_c):
    return lambda x: ad.sum(ad.log(ad.cosh(ad.matmul(M_c, x - x_star_c))))

rng_converges = np.random.default_rng(11)
for make in [pseudo_huber, hidden_log_cosh]:
    for n_c in [2, 3, 6]:
        M_c = rng_converges.normal(size=(n_c, n_c)) + 2.5 * np.eye(n_c)
        x_star_c = rng_converges.normal(size=n_c)
        f_c = make(M_c, x_star_c)
        for reach in [2.0, 6.0]:  # starts with every |u_i| up to reach
            u0_c = rng_converges.uniform(-reach, reach, size=n_c)
            x0_c = x_star_c + np.linalg.solve(M_c, u0_c)
            r = damped_newton(f_c, x0_c, tol=1e-6, max_steps=100)
            assert np.all(np.isfinite(r.losses)), "a recorded loss is inf or NaN"
            assert r.converged, \
                f"did not converge in {n_c} variables from a start far from the minimum"
            assert np.linalg.norm(ad.grad(f_c)(r.x)) <= 1e-6, \
                "reports convergence although |grad f| > tol"
### END HIDDEN TESTS

# %% tests test_damped_newton_step_sizes (1 point)
from autodiff_lib.testing import own_work  # the library's newton raises in yours
damped_newton = own_work(damped_newton, "newton")
# Step sizes: 1, 1/2, 1/4, ... and the loss goes down every step; hidden tests:
# the largest such step is taken, full steps near the minimum and on a quadratic.
result = damped_newton(pseudo_huber(M, x_star), starts[1], tol=1e-6)
assert np.all((result.step_sizes > 0) & (result.step_sizes <= 1)), \
    "step sizes must lie in (0, 1]"
assert np.all(np.diff(result.losses) < 0), "every accepted step must lower the loss"
halvings = -np.log2(result.step_sizes)
assert np.allclose(halvings, np.round(halvings)), \
    "every step size must be a power of 1/2: 1, 1/2, 1/4, ... (halve it each time)"
f_visible = pseudo_huber(M, x_star)
for k in np.flatnonzero(result.step_sizes < 1):
    x_k, eta_k = result.trajectory[k], result.step_sizes[k]
    twice = x_k + 2 * (result.trajectory[k + 1] - x_k)
    assert float(f_visible(twice)) >= result.losses[k], (
        f"step {k + 1} was halved once too often: twice its step size lowers f too "
        "(take the first of 1, 1/2, 1/4, ... that lowers f)")
### BEGIN HIDDEN TESTS
import numpy as np

import autodiff_lib as ad
from autodiff_lib.landscapes import quadratic, random_quadratic

rng_steps = np.random.default_rng(12)
M_s = rng_steps.normal(size=(3, 3)) + 2.5 * np.eye(3)
x_star_s = rng_steps.normal(size=3)
f_s = pseudo_huber(M_s, x_star_s)
r = damped_newton(f_s, x_star_s + 3.0, tol=1e-6)
halvings = -np.log2(r.step_sizes)
assert np.allclose(halvings, np.round(halvings)), \
    "every step size must be a power of 1/2: 1, 1/2, 1/4, ..."
assert np.any(r.step_sizes < 1), "far from the minimum, some step must be shortened"
assert np.all(r.step_sizes[-2:] == 1.0), \
    "near the minimum the full Newton step (step size 1) must be taken"
for k in range(r.steps):  # the first step size that lowers f, of 1, 1/2, ... in order
    x_k, eta_k = r.trajectory[k], r.step_sizes[k]
    p_k = np.linalg.solve(ad.hessian(f_s)(x_k), -ad.grad(f_s)(x_k))
    assert np.allclose(r.trajectory[k + 1], x_k + eta_k * p_k), \
        f"step {k + 1} does not move along the Newton direction by the step size"
    if eta_k < 1:
        assert float(f_s(x_k + 2 * eta_k * p_k)) >= r.losses[k], \
            f"step {k + 1} was halved once too often: twice its step size lowers f too"
f_q, _, x_star_q = random_quadratic(4, condition=50.0, seed=13)
r = damped_newton(f_q, x_star_q + 5.0, tol=1e-6)
assert r.steps == 1 and r.step_sizes[0] == 1.0 and r.converged, \
    "on an exact quadratic, the full Newton step must be taken: one step, step size 1"
### END HIDDEN TESTS

# %% tests test_damped_newton_stops (1 point)
from autodiff_lib.testing import own_work  # the library's newton raises in yours
damped_newton = own_work(damped_newton, "newton")
# Starting at the minimum, no step; hidden tests: stops at tol and after max_steps.
result = damped_newton(pseudo_huber(M, x_star), x_star)
assert result.steps == 0 and result.converged, \
    "starting at the minimum, no step is needed"
### BEGIN HIDDEN TESTS
import numpy as np

import autodiff_lib as ad

f_t = pseudo_huber(np.array([[2.0, 1.0], [0.0, 1.0]]), np.array([0.5, 0.5]))
grad_t = ad.grad(f_t)
r = damped_newton(f_t, np.array([4.0, -3.0]), tol=1e-3)
norms = [np.linalg.norm(grad_t(x)) for x in r.trajectory]
assert r.converged and norms[-1] <= 1e-3, "did not stop with |grad f| <= tol"
assert all(norm > 1e-3 for norm in norms[:-1]), \
    "took another step after |grad f| was already <= tol"
r = damped_newton(f_t, np.array([4.0, -3.0]), tol=1e-14, max_steps=2)
assert r.steps == 2 and len(r.trajectory) == 3, \
    "must take exactly max_steps steps when the tolerance is not reached before"
assert not r.converged, "converged must be False when max_steps ran out first"
### END HIDDEN TESTS
print('These visible tests passed. They are not your grade: when your notebook is '
      'graded, hidden tests run in every test cell as well, on other inputs.')

# %% [markdown]
# ### Question (2 points, graded by hand)
#
# Why does Newton's method need a step size on this landscape, and not on a quadratic?
# Why is a fixed step size (damping) not enough here, and why does the line search not
# cost Newton its fast convergence near the minimum?

# %% written why_a_step_size (2 points) [markdown]
# ### BEGIN SOLUTION
# Newton's method jumps to the minimum of the quadratic model of $f$ at the current
# point. On a quadratic the model is $f$ itself, so the full step lands on the minimum
# from anywhere and no step size is needed. On log-cosh the model is only good near
# the minimum. Far from it the curvature $1/\cosh^2 u$ is almost zero while the slope
# stays near $\pm 1$: the model is a very flat parabola whose minimum lies far beyond
# the true one ($u \mapsto u - \tfrac12\sinh 2u$). The step overshoots to where $f$ is
# higher; beyond $|u| \approx 1.09$ each overshoot is larger than the last and the
# iteration diverges.
#
# A fixed damping factor $\eta$ does not cure this: the overshoot grows exponentially
# with the distance, so for any fixed $\eta$ a start far enough out still diverges,
# and an $\eta$ small enough for our starts (0.001) makes every step, also near the
# minimum, a thousandth of the right one: 200 steps do not reach the tolerance.
#
# The line search adapts the step to where we are: it keeps the Newton direction,
# which is a descent direction because $H$ is positive definite, and halves the step
# until $f$ decreases, so the method cannot diverge. Near the minimum the quadratic
# model is accurate, the full step $\eta = 1$ already lowers $f$ and is accepted
# first, so the final steps are plain Newton steps and converge as fast as before.
# ### END SOLUTION

# %% [markdown]
# ## Comparison: damped Newton against gradient descent
#
# Both methods now run from the three starts to the same tolerance. Gradient descent
# is the one of part 01, with its bold-driver step size (your answer there is
# `ad.gradient_descent`). To see what the non-quadratic landscape changes, both also
# run on the quadratic that log-cosh looks like near its minimum,
# $q(x) = \tfrac12 (x - x^\star)^\top M^\top M\, (x - x^\star)$: the same curvature at
# the minimum, without the flat, linear far field.

# %% tags=["nbval-check-output"]
landscapes = {"log-cosh": f, "quadratic model": quadratic(M.T @ M, x_star)}
methods = {
    "damped Newton": lambda g, x0: damped_newton(g, x0, tol=tol),
    "gradient descent":
        lambda g, x0: ad.gradient_descent(g, x0, step_size=0.01, tol=tol),
}
runs = {}  # (landscape, start, method) -> OptimizationResult


def result(name, k, method):
    """`method` run on landscape `name` from starts[k] (once, then kept)."""
    if (name, k, method) not in runs:
        runs[name, k, method] = methods[method](landscapes[name], starts[k])
    return runs[name, k, method]


for name in landscapes:
    for k in range(len(starts)):
        newton = result(name, k, "damped Newton")
        descent = result(name, k, "gradient descent")
        assert newton.converged and descent.converged
        ratio = descent.steps / newton.steps
        print(f"{name:<15} start {k}: steps: damped Newton {newton.steps:2d}, "
              f"gradient descent {descent.steps:3d}  (ratio {ratio:4.1f})")

# %% [markdown]
# The step sizes the line search accepted, step by step: cut down far from the
# minimum, full steps ($\eta = 1$) near it. (On the quadratic model the first, full
# step lands on the minimum.)

# %% tags=["nbval-check-output"]
for name in landscapes:
    for k in range(len(starts)):
        accepted = result(name, k, "damped Newton").step_sizes
        halvings = ", ".join("1" if eta == 1 else f"2^-{round(-np.log2(eta))}"
                             for eta in accepted)
        print(f"{name:<15} start {k}: {halvings}")

# %% [markdown]
# The three paths on the log-cosh landscape: plain Newton's first step leaves the
# picture (each title says where it lands: hundreds to thousands away), damped Newton
# shortens its first steps, then takes full steps.

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
for k, (x0, ax) in enumerate(zip(starts, axes)):
    plain = undamped_newton(f, x0, max_steps=1)
    x1 = np.array2string(plain.trajectory[-1], precision=0, separator=", ")
    paths = {
        "plain Newton (off the picture)": plain,
        "damped Newton": result("log-cosh", k, "damped Newton"),
        "gradient descent": result("log-cosh", k, "gradient descent"),
    }
    plot_trajectories(f, paths, ax=ax, bounds=((-3.5, 4.5), (-4.0, 3.5)))
    ax.set_title(f"start {k}: x0 = {x0}\nplain Newton's first step: {x1}",
                 fontsize="medium")
plt.show()

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
for name, ax in zip(landscapes, (left, right)):
    runs_from_start_0 = {method: result(name, 0, method) for method in methods}
    plot_losses(runs_from_start_0, f_min=0.0, ax=ax)
    ax.set_title(f"{name}, start 0: loss per step")
plt.show()

# %% [markdown]
# Steps are not the whole cost: a Newton step needs a Hessian and a linear solve, and
# here also the trial points of the line search. `ad.count_operations()` counts the
# derivative rules the engine evaluates, the same on every machine; time is what you
# wait for, and depends on the machine (your numbers will differ, their ratios less
# so).

# %% tags=["nbval-ignore-output"]
columns = f"{'Newton':>9}{'descent':>9}{'ratio':>8}"
print(f"{'':<22}{'rule evaluations':>26}   {'time (ms)':>26}")
print(f"{'':<22}{columns}   {columns}")
for name, g in landscapes.items():
    for k, x0 in enumerate(starts):
        work, seconds = {}, {}
        for method, run in methods.items():
            with ad.count_operations() as ops:
                run(g, x0)
            work[method] = ops.rule_evaluations
            seconds[method] = best_time(lambda: run(g, x0))  # noqa: B023
        n_work, d_work = work["damped Newton"], work["gradient descent"]
        n_ms, d_ms = 1e3 * seconds["damped Newton"], 1e3 * seconds["gradient descent"]
        print(f"{name:<15} start {k}{n_work:9d}{d_work:9d}{d_work / n_work:8.2f}"
              f"   {n_ms:9.2f}{d_ms:9.2f}{d_ms / n_ms:8.2f}")

# %% [markdown]
# The three starts above lie a few units out in $u$. Start further out, where the
# curvature $1/\cosh^2 u$ is tiny: the Newton direction becomes enormous, the line
# search needs dozens of halvings per step, and at last no step size it tries lowers
# $f$, or the Hessian is singular in floating point. Gradient descent, whose steps
# depend on the slope (bounded by 1), hardly notices:

# %% tags=["nbval-check-output"]
far_starts = [np.array([-6.0, 9.0]), np.array([-12.0, 18.0])]
for x0 in far_starts:
    print(f"x0 = {x0}, u = M (x0 - x_star) = {M @ (x0 - x_star)}")
    with ad.count_operations() as ops:
        descent = ad.gradient_descent(f, x0, step_size=0.01, tol=tol)
    print(f"    gradient descent: converged {descent.converged} in {descent.steps} "
          f"steps, {ops.rule_evaluations} rule evaluations")
    with ad.count_operations() as ops:
        try:
            newton = damped_newton(f, x0, tol=tol)
            outcome = (f"converged {newton.converged} in {newton.steps} steps "
                       f"(first step size {newton.step_sizes[0]:.1e})"
                       if newton.steps else "stopped: no step size lowers f")
        except np.linalg.LinAlgError:
            outcome = "failed: the Hessian is singular"
    print(f"    damped Newton:    {outcome}, {ops.rule_evaluations} rule evaluations")

# %% [markdown]
# ## What the comparison shows
#
# * **Plain Newton fails** from every start: its first step overshoots so far that
#   $f$ overflows or the Hessian is singular, and a fixed step size does not help.
# * **Damped Newton converges** from the three starts. Its first steps are cut down
#   by the line search (several trial points each); once it is near the minimum, it
#   takes full steps and converges in a few more. From further out it loses its
#   advantage (more rule evaluations than gradient descent) and then fails: the
#   line search can save Newton's method only where its direction is of a sensible
#   length.
# * **Gradient descent converges** too, and hardly notices the difference: it needs
#   about as many steps as on the quadratic model, because the slope of log-cosh is
#   bounded and the bold driver keeps its step size near what the curvature allows.
# * **Newton's advantage shrinks**: on the quadratic model gradient descent needs
#   about 30 times as many steps as Newton's one step, and about 7 times its work in
#   rule evaluations; on log-cosh it needs only 6 to 7 times as many steps, and its
#   work is about the same as Newton's, less from one start (Newton pays for Hessians
#   and rejected trial points). In time, the ratio depends on the machine, so look
#   at your table.
#
# A Newton step is worth its price where the quadratic model is good; far from the
# minimum of a non-quadratic loss, it is an expensive way to choose a direction whose
# length must be cut down anyway. In high dimensions the Hessian costs $n^2$ entries
# and a solve $O(n^3)$: one reason why deep learning (part 03) uses gradient descent.
