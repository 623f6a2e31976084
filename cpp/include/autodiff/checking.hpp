// Checking derivatives against central differences (autodiff_lib/engine/checking.py).
//
// For random directions v and cotangents u, reverse mode gives uᵀJv through one vector-Jacobian
// product; central differences give uᵀ(f(x + εv) − f(x − εv)) / 2ε with an error of order ε².
// Higher orders apply the same check to the Jacobian itself.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include "autodiff/tensor.hpp"

namespace autodiff {

// Reverse-mode and finite-difference derivatives disagree beyond the tolerance.
class GradientCheckError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The largest errors seen over all directions and orders checked.
struct GradCheckReport {
    double max_abs_error = 0.0;
    double max_rel_error = 0.0;
    int order = 1;
};

struct GradCheckOptions {
    int order = 1;
    int directions = 3;
    double eps = 1e-6;
    double rtol = 1e-5;
    double atol = 1e-7;
    unsigned seed = 0;
};

using Function = std::function<Tensor(const Tensor&)>;

// Check the derivatives of f at x up to options.order; throw GradientCheckError if one is off.
GradCheckReport check_grad(const Function& f, const Array& x, const GradCheckOptions& options = {},
                           const std::string& name = "f");

}  // namespace autodiff
