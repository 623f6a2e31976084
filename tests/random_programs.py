"""Random expression graphs for the property tests (engine/test_properties.py, against HIPS
autograd) and the C++ cross-check (cpp/test_cpp_crosscheck.py): a Hypothesis strategy draws a
small program, and ``evaluate`` runs it with any numpy-like module.

A program has leaves (the variables x and y, and constants) whose shapes broadcast against each
other, then a few steps, each applying a random operation to earlier nodes, so subexpressions
are shared. Domains are safe by construction (log(z²+1), sqrt(z²+1), division by z²+1, powers
of z²+1); ``well_scaled`` discards programs whose values grow large.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from hypothesis import strategies as st


def _matrix(d, seed):
    """A fixed (d, d) matrix for the matmul step: deterministic in the program."""
    return 0.7 * np.cos(np.arange(d * d, dtype=float).reshape(d, d) + seed)


def _matmul_step(m, z, seed):
    if np.ndim(z) == 0:
        return z
    return m.matmul(z, _matrix(np.shape(z)[-1], seed))


def _reduce_step(m, z, seed, reduce):
    if np.ndim(z) == 0:
        return reduce(z)
    return reduce(z, axis=seed % np.ndim(z), keepdims=True)  # keeps shapes broadcastable


def _where_step(m, c, a, b):
    if m is anp:
        # autograd's VJP for where does not undo broadcasting (numpy_vjps.py returns
        # where(c, g, 0) of the broadcast shape), so autograd gets operands broadcast by `+`.
        zeros = np.zeros(np.broadcast_shapes(np.shape(c), np.shape(a), np.shape(b)))
        a, b = a + zeros, b + zeros
    return m.where(c > 0, a, b)


# op name -> (number of operands, function of the numpy-like module m, the operands, a seed)
OPS = {
    "tanh": (1, lambda m, s, z: m.tanh(z)),
    "sin": (1, lambda m, s, z: m.sin(z)),
    "cos": (1, lambda m, s, z: m.cos(z)),
    "exp": (1, lambda m, s, z: m.exp(m.tanh(z))),
    "log": (1, lambda m, s, z: m.log(z * z + 1.0)),
    "sqrt": (1, lambda m, s, z: m.sqrt(z * z + 1.0)),
    "cosh": (1, lambda m, s, z: m.cosh(0.5 * z)),
    "square": (1, lambda m, s, z: z**2),
    "cube": (1, lambda m, s, z: z**3),
    "negative": (1, lambda m, s, z: -z),
    "sum": (1, lambda m, s, z: _reduce_step(m, z, s, m.sum)),
    "mean": (1, lambda m, s, z: _reduce_step(m, z, s, m.mean)),
    "matmul": (1, lambda m, s, z: _matmul_step(m, z, s)),
    "add": (2, lambda m, s, a, b: a + b),
    "subtract": (2, lambda m, s, a, b: a - b),
    "multiply": (2, lambda m, s, a, b: a * b),
    "divide": (2, lambda m, s, a, b: a / (b * b + 1.0)),
    "power": (2, lambda m, s, a, b: (a * a + 1.0) ** b),
    "where": (3, lambda m, s, c, a, b: _where_step(m, c, a, b)),
}

FRAMES = [(), (3,), (2, 3), (2, 1, 2)]


@st.composite
def broadcastable_shape(draw, frame):
    """A shape that broadcasts into ``frame``: a suffix of it, some axes set to 1."""
    ndim = draw(st.integers(0, len(frame)))
    suffix = frame[len(frame) - ndim :]
    return tuple(draw(st.sampled_from([n, 1])) for n in suffix)


@st.composite
def programs(draw):
    frame = draw(st.sampled_from(FRAMES))
    shapes = [draw(broadcastable_shape(frame)) for _ in range(4)]  # x, y, two constants
    values = [
        np.array(draw(st.lists(st.floats(-1.2, 1.2), min_size=n, max_size=n))).reshape(shape)
        for shape in shapes
        for n in [int(np.prod(shape))]
    ]
    steps = []
    n_nodes = len(values)
    for k in range(draw(st.integers(2, 8))):
        name = draw(st.sampled_from(sorted(OPS)))
        arity = OPS[name][0]
        # Operands are any earlier nodes: subexpressions are shared between steps.
        operands = [draw(st.integers(0, n_nodes - 1)) for _ in range(arity)]
        if name == "where":  # the condition reads a constant: no jump under a perturbation
            operands[0] = draw(st.sampled_from([2, 3]))
        if k == 0:  # the first step reads x, so that the output depends on it
            operands[-1] = 0
        steps.append((name, draw(st.integers(0, 5)), operands))
        n_nodes += 1
    return values, steps


def evaluate(m, program, x, y):
    """Run ``program`` with the numpy-like module ``m``: the sum of all its steps."""
    values, steps = program
    nodes = [x, y] + values[2:]
    for name, seed, operands in steps:
        nodes.append(OPS[name][1](m, seed, *[nodes[i] for i in operands]))
    out = nodes[len(values)]
    for node in nodes[len(values) + 1 :]:
        out = out + node
    return out


def scalar(m, program, x, y):
    out = evaluate(m, program, x, y)
    return m.sum(out * out) * 0.5


def well_scaled(program):
    """Discard programs whose values leave a moderate range (finite differences degrade)."""
    values, steps = program
    nodes = list(values)
    for name, seed, operands in steps:
        with np.errstate(all="ignore"):
            nodes.append(np.asarray(OPS[name][1](np, seed, *[nodes[i] for i in operands])))
        if not np.all(np.isfinite(nodes[-1])) or np.max(np.abs(nodes[-1]), initial=0) > 30:
            return False
    return True


def inputs(program):
    values, _ = program
    return values[0], values[1]


def scale_of(x):
    return 1.0 + float(np.max(np.abs(x), initial=0.0))
