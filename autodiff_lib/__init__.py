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
    defvjp(softplus, lambda g, ans, x: g * (1 - ad.exp(-ans)))

Modules, in the order of the course: ``tensor`` (the graph node), ``registry`` (primitives
and rules), ``primitives`` (the calculus), ``differentiation`` (the sweep, the differential
cache, grad/jacobian/hessian/diff), ``fused`` (closed-form operators), ``checking``
(finite differences). For training a network (part 03 on): ``networks`` (an MLP whose weights
are a list of arrays), ``data`` (teacher-student samples) and ``metrics`` (mse, mae, rmae);
for varying how it is trained (parts 06 to 09): ``training`` (the training loop, written once).
"""

from . import (
    data,
    interop,  # noqa: F401  (plugs numpy's hooks into Tensor)
    memory,
    metrics,
    networks,
    training,
)
from .checking import GradCheckReport, GradientCheckError, check_grad
from .differentiation import (
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
from .fused import matvec
from .optimizers import DivergenceError, OptimizationResult, gradient_descent, newton
from .primitives import (
    abs,
    add,
    broadcast_to,
    concatenate,
    cos,
    cosh,
    divide,
    dot,
    exp,
    getitem,
    log,
    matmul,
    maximum,
    mean,
    multiply,
    negative,
    power,
    reshape,
    sign,
    sin,
    sinh,
    sqrt,
    stack,
    subtract,
    sum,
    tanh,
    transpose,
    unbroadcast,
    where,
)
from .registry import defvjp, defvjp_argnum, primitive
from .tensor import Tensor, constant, value_of, variable

__version__ = "0.1.0"

memory.configure_from_environment()  # reuse freed pages between training steps
