// The primitives (autodiff_lib/engine/primitives.py): each forward computation is defined in
// primitives.cpp with its derivative rule right below it. Binary operations broadcast as numpy
// does; unbroadcast, the one place that undoes it, is declared here because the engine calls it.
// Errors name the operation and the shapes (std::invalid_argument; std::domain_error for log and
// sqrt of negative numbers; std::out_of_range for an index).
#pragma once

#include "autodiff/tensor.hpp"

namespace autodiff {

// -- arithmetic (numpy broadcasting) --------------------------------------------------------------
Tensor add(const Tensor& x, const Tensor& y);
Tensor subtract(const Tensor& x, const Tensor& y);
Tensor multiply(const Tensor& x, const Tensor& y);
Tensor divide(const Tensor& x, const Tensor& y);
Tensor negative(const Tensor& x);
Tensor power(const Tensor& x, const Tensor& y);  // x ** y (C++ has no ** operator)

Tensor operator-(const Tensor& x);

// Comparisons give constants of 0.0 and 1.0: they have no derivative (Python gives plain
// boolean arrays). xtensor's own == on arrays compares whole arrays to one bool, so elementwise
// equality is a function here as there: equal and not_equal.
Tensor less(const Tensor& x, const Tensor& y);
Tensor less_equal(const Tensor& x, const Tensor& y);
Tensor greater(const Tensor& x, const Tensor& y);
Tensor greater_equal(const Tensor& x, const Tensor& y);
Tensor equal(const Tensor& x, const Tensor& y);
Tensor not_equal(const Tensor& x, const Tensor& y);

// The operators, for every mix of Tensors, plain arrays and numbers. The mixed overloads take the
// Tensor and the array by value on purpose: xtensor's operator templates accept any type as a
// scalar beside an xexpression, and `tensor * array` would otherwise become an xtensor expression
// of Tensors; an argument passed by value converts exactly as well as one bound to the template's
// forwarding reference, and then C++ prefers the function that is not a template.
#define AUTODIFF_OPERATOR(op, function)                                                         \
    inline Tensor operator op(const Tensor& x, const Tensor& y) { return function(x, y); }      \
    inline Tensor operator op(Tensor x, Array y) { return function(x, Tensor(std::move(y))); }  \
    inline Tensor operator op(Array x, Tensor y) { return function(Tensor(std::move(x)), y); }  \
    inline Tensor operator op(const Tensor& x, double y) { return function(x, Tensor(y)); }     \
    inline Tensor operator op(double x, const Tensor& y) { return function(Tensor(x), y); }

AUTODIFF_OPERATOR(+, add)
AUTODIFF_OPERATOR(-, subtract)
AUTODIFF_OPERATOR(*, multiply)
AUTODIFF_OPERATOR(/, divide)
AUTODIFF_OPERATOR(<, less)
AUTODIFF_OPERATOR(<=, less_equal)
AUTODIFF_OPERATOR(>, greater)
AUTODIFF_OPERATOR(>=, greater_equal)
#undef AUTODIFF_OPERATOR

// -- elementwise functions ------------------------------------------------------------------------
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);   // refuses negative inputs (std::domain_error)
Tensor sqrt(const Tensor& x);  // refuses negative inputs (std::domain_error)
Tensor tanh(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor sinh(const Tensor& x);
Tensor cosh(const Tensor& x);
Tensor sign(const Tensor& x);  // piecewise constant: its derivative is zero
Tensor abs(const Tensor& x);
Tensor maximum(const Tensor& x, const Tensor& y);  // ties share the derivative half and half
// condition ? x : y elementwise; the condition (nonzero is true) gets no derivative.
Tensor where(const Tensor& condition, const Tensor& x, const Tensor& y);

// -- reductions -----------------------------------------------------------------------------------
Tensor sum(const Tensor& x, Axes axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, Axes axes = {}, bool keepdims = false);

// -- shapes ---------------------------------------------------------------------------------------
// One entry may be -1: that axis takes what is left, as in numpy.
Tensor reshape(const Tensor& x, const std::vector<std::ptrdiff_t>& shape);
Tensor transpose(const Tensor& x);  // axes reversed
Tensor transpose(const Tensor& x, const std::vector<std::size_t>& order);
Tensor broadcast_to(const Tensor& x, const Shape& shape);

// x[index] for integers, ranges and all(): getitem(x, {1, xt::range(0, 2), xt::all()}).
Tensor getitem(const Tensor& x, const Index& index);
// Zeros of `shape` with g added at `index`: getitem's derivative (and getitem is its own).
Tensor scatter_add(const Tensor& g, const Index& index, const Shape& shape);

// -- linear algebra -------------------------------------------------------------------------------
// a @ b with numpy's rules: stacks of matrices broadcast; vectors are promoted to matrices (a
// reshape before, another after), as numpy.matmul does.
Tensor matmul(const Tensor& a, const Tensor& b);
// numpy.dot for up to two axes (a scalar operand multiplies); use matmul for stacks.
Tensor dot(const Tensor& a, const Tensor& b);

// -- undoing broadcasting: the one place it is done -----------------------------------------------
// Sum g down to batch + shape: the first batch_ndim axes of g carry several differentials at once
// and are kept; axes that broadcasting added in front of shape, and axes where shape has length 1,
// are summed.
Tensor unbroadcast(const Tensor& g, const Array::shape_type& shape, std::size_t batch_ndim = 0);

// The product of two arrays' last two axes with numpy's matmul rules (BLAS, one matrix product
// per matrix of the stack): the arithmetic of matmul and of the fused matvec.
Array matmul_values(const Array& a, const Array& b);

}  // namespace autodiff
