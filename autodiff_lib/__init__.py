"""autodiff_lib: reverse-mode automatic differentiation on numpy, small enough to read.

>>> import autodiff_lib as ad
>>> f = lambda x: ad.sum(ad.tanh(x) ** 2)
>>> ad.grad(f)(np.array([0.5, 1.0]))        # plain arrays in, plain arrays out
>>> x = ad.Tensor([0.5, 1.0]); y = f(x)
>>> ad.diff(ad.diff(y, x), x)               # dy/dx is a Tensor: differentiate it again

Adding a primitive takes two statements: the forward computation in numpy, then one rule
per argument, written with the library's own functions so that it can be differentiated
again (``g`` is the differential of the output, ``ans`` the output)::

    from autodiff_lib import primitive, defvjp
    softplus = primitive(lambda x: np.logaddexp(0.0, x), "softplus")
    defvjp(softplus, lambda g, ans, x: g * -ad.expm1(-ans))  # not 1 - exp(-ans): it cancels

The primitives (each with its rule in its docstring: ``help(ad.tanh)``), by kind:

* arithmetic: add, subtract, multiply, divide, power, negative (and the operators);
* elementwise: exp, log, sqrt, square, reciprocal, log1p, expm1, tanh, sin, cos, tan, sinh,
  cosh, abs, sign, maximum, minimum, clip, logaddexp, where;
* reductions: sum, mean, max, min, prod, var, std;
* shapes: reshape, ravel, squeeze, expand_dims, transpose, broadcast_to, getitem (``x[i]``),
  stack (also of nested lists, like ``np.array([[a, b], [c, d]])``), concatenate;
* linear algebra: matmul (``@``), dot, outer, diagonal, trace, diag, matvec.

The package has two layers. ``autodiff_lib.engine`` is the automatic differentiation itself,
in the order of the course: ``tensor`` (the graph node), ``registry`` (primitives and rules),
``primitives`` (the calculus), ``differentiation`` (the sweep, the differential cache,
grad/jacobian/hessian/diff), ``fused`` (closed-form operators), ``stable`` (logsumexp, softmax,
logcosh: formulas that neither overflow nor cancel), ``forward`` (forward mode: ``jvp``, and
``hvp`` forward-over-reverse), ``interop`` (numpy's functions on Tensors), ``checking`` (finite
differences). Its public names are the package's: ``ad.grad``, ``ad.tanh``, ``ad.Tensor``.

Around it, the toolkit the course trains, plots and teaches with, built on the engine:
``optimizers`` (gradient descent, Newton: ``ad.newton``), ``networks`` (an MLP whose weights
are a list of arrays), ``data`` (teacher-student samples), ``metrics`` (mse, mae, rmae),
``training`` (the training loop of parts 06 to 09, written once), ``memory`` (keeping freed
heap for reuse), ``landscapes`` and ``plotting`` (figures and sliders), ``progress``,
``timing``, ``testing`` (the notebooks' grading guard) and ``porting`` (what a C++ port needs
of numpy).
"""

from . import data, engine, memory, metrics, networks, training
from .engine.checking import GradCheckReport, GradientCheckError, check_grad
from .engine.differentiation import (
    AutodiffWarning,
    OperationCounts,
    ValueAndGrad,
    count_operations,
    diff,
    differential_cache,
    grad,
    hessian,
    jacobian,
    topological_order,
    value_and_grad,
)
from .engine.forward import hvp, jvp
from .engine.fused import matvec
from .engine.primitives import (
    abs,
    add,
    broadcast_to,
    clip,
    concatenate,
    cos,
    cosh,
    diag,
    diagonal,
    divide,
    dot,
    exp,
    expand_dims,
    expm1,
    getitem,
    log,
    log1p,
    logaddexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    multiply,
    negative,
    outer,
    power,
    prod,
    ravel,
    reciprocal,
    reshape,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    subtract,
    sum,
    tan,
    tanh,
    trace,
    transpose,
    unbroadcast,
    var,
    where,
)
from .engine.registry import defvjp, defvjp_argnum, primitive
from .engine.stable import log_softmax, logcosh, logsumexp, softmax
from .engine.tensor import Tensor, constant, value_of, variable
from .optimizers import DivergenceError, OptimizationResult, gradient_descent, newton

__version__ = "0.1.0"

memory.configure_from_environment()  # reuse freed pages between training steps
