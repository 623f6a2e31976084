"""The engine: reverse-mode automatic differentiation on numpy, and nothing else.

Everything that differentiates is here; nothing here trains, plots or times. In the order of
the course:

* ``tensor``: the graph node, a numpy array that remembers the primitive and the inputs it came
  from (``Tensor``, ``variable``, ``constant``, ``value_of``);
* ``registry``: primitives and their derivative rules (``primitive``, ``defvjp``): the rules
  are data, kept beside the functions they differentiate;
* ``primitives``: the calculus, every numpy-named primitive with its one-line rule, and
  ``unbroadcast``, the one place broadcasting is undone;
* ``differentiation``: the backward sweep and the differential cache; ``grad``,
  ``value_and_grad``, ``jacobian``, ``hessian``, ``diff``; counting what a sweep does;
* ``fused``: operators with a closed-form rule (``matvec``);
* ``stable``: formulas that neither overflow nor cancel (``logsumexp``, ``softmax``,
  ``logcosh``);
* ``forward``: forward mode (``jvp``) and ``hvp``, forward over reverse;
* ``interop``: numpy's own functions and operators on a Tensor call the primitives above;
* ``checking``: derivatives against central differences (``check_grad``).

``import autodiff_lib as ad`` gives all of their public names (``ad.grad``, ``ad.tanh``); the
modules around this package (``autodiff_lib.training``, ``networks``, ``plotting`` ...) are
the toolkit the course builds with it. The C++ port (``cpp/``) translates this package, file for
file.
"""

# Importing them all wires the engine together: primitives fills in Tensor's operators and
# interop numpy's hooks (see the end of tensor.py).
from . import (  # noqa: F401
    checking,
    differentiation,
    forward,
    fused,
    interop,
    primitives,
    registry,
    stable,
    tensor,
)
