"""Bad input gets a clear error at the user's line, naming the operation and what was wrong.

Users of autodiff libraries complain about errors that surface far from their cause, or in
the library's internal vocabulary ('ArrayBox' has no attribute 'exp'). Each message below is
asserted by content (the operation, the shapes, the suggested fix), and one test checks that
the error comes from the forward call itself, not later from the backward sweep.
"""

from __future__ import annotations

import numpy as np
import pytest

import autodiff_lib as ad


def t(*shape):
    return ad.Tensor(np.ones(shape))


# -- shapes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, call, shapes",
    [
        ("add", lambda: t(3) + t(4), ["(3,)", "(4,)"]),
        ("subtract", lambda: t(2, 3) - np.ones((3, 2)), ["(2, 3)", "(3, 2)"]),
        ("multiply", lambda: np.ones(3) * t(4), ["(3,)", "(4,)"]),  # numpy on the left
        ("divide", lambda: 1.0 / t(2, 3) / t(2), ["(2, 3)", "(2,)"]),
        ("maximum", lambda: ad.maximum(t(3, 2), t(3)), ["(3, 2)", "(3,)"]),
        ("where", lambda: ad.where(np.ones(3) > 0, t(3), t(4)), ["(3,)", "(4,)"]),
        ("stack", lambda: ad.stack([t(3), t(4)]), ["(3,)", "(4,)"]),
        ("concatenate", lambda: ad.concatenate([t(2, 3), t(2, 4)]), ["(2, 3)", "(2, 4)"]),
        ("matvec", lambda: ad.matvec(np.ones((3, 3)), t(4)), ["(3, 3)", "(4,)"]),
    ],
)
def test_mismatched_shapes_name_the_operation_and_both_shapes(name, call, shapes):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert message.startswith(name), message
    for shape in shapes:
        assert shape in message, message


@pytest.mark.parametrize(
    "a, b", [((2, 3), (4, 2)), ((2, 3), (4,)), ((5,), (4, 2)), ((2, 2, 3), (2, 2))]
)
def test_matmul_inner_dimension_mismatch(a, b):
    with pytest.raises(ValueError, match="matmul: inner dimensions do not match") as error:
        t(*a) @ t(*b)
    assert str(a) in str(error.value) and str(b) in str(error.value)


def test_matmul_of_a_scalar_suggests_multiplication():
    with pytest.raises(ValueError, match=r"matmul: .*at least one axis.*use \*"):
        ad.matmul(t(), t(3))


def test_dot_of_stacks_suggests_matmul():
    with pytest.raises(ValueError, match=r"dot: .*\(2, 2, 3\).*use matmul"):
        ad.dot(t(2, 2, 3), t(3))


def test_sum_over_a_missing_axis_names_sum():
    with pytest.raises(ValueError, match="sum: axis 3"):
        ad.sum(t(2, 3), axis=3)


def test_shape_arguments_are_reported_as_shapes():
    """broadcast_to and reshape: the requested shape appears as itself, not as np.shape of it.

    Fails while registry._input_error describes every argument by ``np.shape(arg)``: the
    target shape (2, 4) is then reported as "(2,)" (the shape of the tuple).
    """
    with pytest.raises(ValueError, match="broadcast_to") as error:
        ad.broadcast_to(t(3), (2, 4))
    assert "(3,)" in str(error.value) and "(2, 4)" in str(error.value), str(error.value)
    with pytest.raises(ValueError, match="reshape") as error:
        t(2, 3, 4).reshape(5, 5)
    assert "(2,)" not in str(error.value), str(error.value)


# -- grad of a non-scalar -------------------------------------------------------------------------
def test_grad_of_a_non_scalar_suggests_jacobian():
    with pytest.raises(TypeError, match=r"grad: .*shape \(3,\).*use jacobian"):
        ad.grad(lambda x: x * 2)(np.ones(3))


# -- numpy functions without a primitive -----------------------------------------------------------
def test_numpy_ufunc_without_a_primitive_names_the_function():
    with pytest.raises(TypeError, match=r"numpy\.arctan") as error:
        np.arctan(t(3))
    assert "t.value" in str(error.value)  # and says how to compute without derivatives


def test_numpy_function_without_a_primitive_names_the_function():
    with pytest.raises(TypeError, match=r"\bsolve\b.*not differentiable"):
        np.linalg.solve(t(2, 2), np.ones(2))


def test_numpy_function_that_has_a_primitive_names_it():
    """For a ufunc used with arguments the primitive does not take, the hint names it."""
    with pytest.raises(TypeError, match=r"autodiff_lib\.tanh takes no keyword argument 'where'"):
        np.tanh(t(3), where=np.ones(3, dtype=bool))


def test_numpy_functions_on_constants_just_compute():
    """On constants no derivative is lost, so numpy computes the values."""
    c = ad.constant([0.5, 2.0])
    np.testing.assert_allclose(np.arctan(c), np.arctan([0.5, 2.0]))
    np.testing.assert_allclose(np.linalg.solve(ad.constant(np.eye(2)), c), [0.5, 2.0])


# -- in-place assignment --------------------------------------------------------------------------
def test_item_assignment_is_refused():
    x = t(3)
    with pytest.raises(TypeError, match="in-place assignment"):
        x[0] = 1.0
    np.testing.assert_array_equal(x.value, np.ones(3))


def test_numpy_out_argument_into_a_tensor_is_refused():
    x = t(3)
    with pytest.raises(TypeError, match=r"numpy\.add\(\.\.\., out=\.\.\.\).*in place"):
        np.add(np.ones(3), np.ones(3), out=x)
    np.testing.assert_array_equal(x.value, np.ones(3))


def test_tensor_values_are_read_only():
    """Writing into .value would change a value that rules have saved."""
    x = t(3)
    with pytest.raises(ValueError, match="read-only"):
        x.value[0] = 5.0


# -- domains and types ----------------------------------------------------------------------------
@pytest.mark.parametrize("op", [ad.log, ad.sqrt])
@pytest.mark.parametrize(
    "wrap", [ad.Tensor, ad.constant, np.asarray], ids=["var", "const", "array"]
)
def test_log_and_sqrt_of_negative_inputs_name_the_operation(op, wrap):
    with pytest.raises(ValueError, match=rf"^{op.__name__}: .*-2"):
        op(wrap([1.0, -2.0]))


def test_complex_input_is_rejected():
    with pytest.raises(TypeError, match="complex"):
        ad.Tensor([1.0 + 2.0j])
    with pytest.raises(TypeError, match="grad: can only differentiate w.r.t. real.*complex"):
        ad.grad(lambda z: ad.sum(z * z))(np.array([1.0 + 1.0j]))


def test_matvec_with_a_variable_matrix_is_rejected():
    with pytest.raises(TypeError, match=r"matvec: the matrix A must be a constant.*matmul"):
        ad.matvec(t(3, 3), t(3))
    ad.matvec(ad.constant(np.ones((3, 3))), t(3))  # a constant Tensor is fine


def test_tensor_index_is_rejected():
    with pytest.raises(TypeError, match="getitem: .*not Tensors"):
        t(3)[ad.Tensor([0])]


def test_diff_wrt_a_non_tensor_is_rejected():
    with pytest.raises(TypeError, match="diff: x must be a Tensor"):
        ad.diff(ad.sum(t(3)), np.ones(3))


# -- where the error is raised --------------------------------------------------------------------
def test_the_error_is_raised_at_the_forward_call():
    """grad(f) fails inside f, at the bad line, before f returns and before any sweep.

    The innermost frame of the user's code in the traceback is the offending statement.
    """
    reached = []

    def f(x):
        reached.append("before")
        y = x + np.ones(4)  # the bad line: (3,) + (4,)
        reached.append("after")
        return ad.sum(y)

    shapes = "add: .*\\(3,\\).*\\(4,\\)"
    with ad.count_operations() as ops, pytest.raises(ValueError, match=shapes) as error:
        ad.grad(f)(np.ones(3))
    assert reached == ["before"]
    assert ops.rule_evaluations == 0 and ops.nodes_visited == 0
    user_frames = [entry for entry in error.traceback if entry.name == "f"]
    assert "x + np.ones(4)" in str(user_frames[-1].statement)
    assert error.value.__cause__ is None  # no chained internal exception to read through


def test_a_list_of_variables_is_not_silently_turned_into_a_new_leaf():
    """Tensor([a, b]) would drop the derivatives of a and b: the message points to stack."""
    with pytest.raises(TypeError, match="stack"):
        ad.Tensor([ad.Tensor([1.0]), ad.Tensor([2.0])])
    np.testing.assert_array_equal(ad.Tensor([ad.constant(1.0), 2.0]).value, [1.0, 2.0])
