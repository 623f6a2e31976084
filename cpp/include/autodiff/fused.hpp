// Fused operators: one primitive, one closed-form rule, instead of a chain of generic ones
// (autodiff_lib/engine/fused.py).
//
// matvec(A, x) computes A @ x for a constant matrix A and a vector (or a batch of vectors in the
// last axis) x. Its derivative w.r.t. x is known in closed form, d(Ax)/dx = A, so the rule is one
// product with Aᵀ; the generic sum(A * x, -1) instead builds an (m, n) intermediate forward and
// backward.
#pragma once

#include "autodiff/tensor.hpp"

namespace autodiff {

// A @ x for a constant matrix A of shape (m, n) and x of shape (..., n): shape (..., m).
Tensor matvec(const Tensor& A, const Tensor& x);

}  // namespace autodiff
