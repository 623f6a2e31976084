// autodiff: reverse-mode automatic differentiation on xtensor, the C++ port of autodiff_lib.
//
//     #include <autodiff/autodiff.hpp>
//     using namespace autodiff;
//     auto f = [](const Tensor& x) { return sum(power(tanh(x), 2.0)); };
//     Array g = grad(f)(Array{0.5, 1.0});       // plain arrays in, plain arrays out
//     Array H = hessian(f)(Array{0.5, 1.0});    // Hessian, for Newton's method
//     Tensor x = variable(Array{0.5, 1.0});
//     Tensor d2 = diff(diff(f(x), x), x);       // dy/dx is itself differentiable
//
// Files, in the order of the course, each beside its Python module: tensor (the graph node),
// registry (primitives and rules), primitives (the calculus), differentiation (the sweep, the
// differential cache, grad/jacobian/hessian/diff), fused (closed-form operators), checking
// (finite differences), and memory.cpp (how reference counting frees a graph of any depth).
#pragma once

#include "autodiff/checking.hpp"
#include "autodiff/differentiation.hpp"
#include "autodiff/fused.hpp"
#include "autodiff/primitives.hpp"
#include "autodiff/registry.hpp"
#include "autodiff/tensor.hpp"
