"""The C++ port against autodiff_lib on the same random expression graphs (issue 16, point 4).

The graphs are tests/random_programs.py's (the property tests' too): a Hypothesis strategy draws
a small program (variables x and y and two constants whose shapes broadcast against each other,
then steps that apply random operations to any earlier nodes, so subexpressions are shared), and
its ``evaluate`` runs the program with a numpy-like module. Here the module is once
``autodiff_lib`` and once ``autodiff_cpp`` (the port's Python module, cpp/python/bindings.cpp),
so both libraries build the same graph, node for node. On each of at least 1000 programs they
must agree on

* the value, and the gradients w.r.t. x and y: relative 1e-12, absolute 1e-13 · scale;
* the Jacobian of the (non-scalar) sum of all steps, a batched sweep: the same tolerance;
* the Hessian w.r.t. x (``hessian`` = jacobian of jacobian, a recorded sweep): relative 1e-10,
  absolute 1e-11 · scale;
* the counts of rule evaluations and nodes visited, with the differential cache and without it
  (the textbook chain rule), for the gradient and for the Hessian: exactly.

``scale`` is 1 + the largest magnitude of the reference. The tolerances allow for the last bits
of the transcendental functions (glibc's in C++, numpy's own in Python) and of the BLAS
products: the two libraries run the same operations in the same order, so agreement is near
machine precision; the largest differences seen are printed by the last test.
"""

from __future__ import annotations

import autodiff_cpp as cpp
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from random_programs import evaluate, inputs, programs, scalar, scale_of, well_scaled

import autodiff_lib as ad

EXAMPLES = 1000
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
GRADIENT_TOLERANCE = (1e-12, 1e-13)  # relative, absolute (times the scale)
HESSIAN_TOLERANCE = (1e-10, 1e-11)
checked = []  # one entry per program that went through every comparison
largest = {"gradient": 0.0, "hessian": 0.0}  # the largest relative differences seen


def agree(what, ours, reference, tolerance):
    rtol, atol = tolerance
    ours, reference = np.asarray(ours), np.asarray(reference)
    assert ours.shape == reference.shape, f"{what}: shape {ours.shape} != {reference.shape}"
    scale = scale_of(reference)
    np.testing.assert_allclose(ours, reference, rtol=rtol, atol=atol * scale, err_msg=what)
    key = "hessian" if "Hessian" in what else "gradient"
    largest[key] = max(largest[key], float(np.max(np.abs(ours - reference), initial=0.0)) / scale)


def python_gradient(program, x, y):
    return ad.grad(lambda x, y: scalar(ad, program, x, y), argnum=(0, 1))(x, y)


def cpp_gradient(program, x, y):
    tx, ty = cpp.variable(x), cpp.variable(y)
    out = scalar(cpp, program, tx, ty)
    gx, gy = cpp.diff(out, [tx, ty])
    return out.value, gx.value, gy.value


def counted(library, run, cache=True):
    """``run()``'s result and the (rule evaluations, nodes visited) of its sweeps."""
    with library.differential_cache(cache), library.count_operations() as ops:
        result = run()
    return result, (ops.rule_evaluations, ops.nodes_visited)


@SETTINGS
@given(programs())
def test_gradients_hessians_and_counts_agree_with_autodiff_lib(program):
    assume(well_scaled(program))
    x, y = inputs(program)
    value = ad.value_of(scalar(ad, program, x, y))
    for cache in (True, False):
        (gx, gy), python_counts = counted(ad, lambda: python_gradient(program, x, y), cache)
        (cpp_value, cx, cy), cpp_counts = counted(cpp, lambda: cpp_gradient(program, x, y), cache)
        assert cpp_counts == python_counts, f"gradient counts, cache={cache}"
        agree("value", cpp_value, value, GRADIENT_TOLERANCE)
        agree(f"gradient w.r.t. x, cache={cache}", cx, gx, GRADIENT_TOLERANCE)
        agree(f"gradient w.r.t. y, cache={cache}", cy, gy, GRADIENT_TOLERANCE)

    jacobian = ad.jacobian(lambda x: evaluate(ad, program, x, y))(x)
    agree("Jacobian", cpp.jacobian(lambda x: evaluate(cpp, program, x, y), x), jacobian,
          GRADIENT_TOLERANCE)  # fmt: skip

    for cache in (True, False):
        hessian, python_counts = counted(
            ad, lambda: ad.hessian(lambda x: scalar(ad, program, x, y))(x), cache
        )
        cpp_hessian, cpp_counts = counted(
            cpp, lambda: cpp.hessian(lambda x: scalar(cpp, program, x, y), x), cache
        )
        assert cpp_counts == python_counts, f"Hessian counts, cache={cache}"
        agree(f"Hessian, cache={cache}", cpp_hessian, hessian, HESSIAN_TOLERANCE)
    checked.append(program)


def test_at_least_1000_programs_were_compared():
    """Hypothesis discards programs whose values leave a moderate range: count those compared."""
    assert len(checked) >= EXAMPLES, f"only {len(checked)} programs went through the comparison"
    print(f"\n{len(checked)} programs; largest differences relative to scale: {largest}")
