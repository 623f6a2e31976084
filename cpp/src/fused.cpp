// The fused matvec: one primitive and one closed-form rule (autodiff_lib/engine/fused.py).
#include "autodiff/fused.hpp"

#include <stdexcept>

#include <xtensor/xmanipulation.hpp>

#include "autodiff/primitives.hpp"
#include "autodiff/registry.hpp"

namespace autodiff {

using namespace signature;

namespace {
// x @ Aᵀ on the last axis of x: every vector of the batch times the matrix, in one product.
Array matvec_forward(const Array& A, const Array& x) {
    const Array At = xt::transpose(A);
    if (x.dimension() == 1) {  // (n,) as a row (1, n), and back
        Array row = x;
        row.reshape({std::size_t{1}, x.size()});
        Array out = matmul_values(row, At);
        out.reshape({A.shape()[0]});
        return out;
    }
    return matmul_values(x, At);
}

const Primitive matvec_primitive = defvjp(
    primitive("matvec",
              [](Args x, Attr) -> Array { return matvec_forward(x[0].value(), x[1].value()); }),
    nullptr,  // A is a constant: no rule
    [](G g, Ans, Args x, Attr) { return matvec(transpose(x[0]), g); });
}  // namespace

Tensor matvec(const Tensor& A, const Tensor& x) {
    if (A.requires_grad()) {
        throw std::invalid_argument(
            "matvec: the matrix A must be a constant (autodiff::constant(A) or a plain array); "
            "use matmul to differentiate w.r.t. the matrix");
    }
    if (A.ndim() != 2 || x.ndim() == 0 || x.shape().back() != A.shape()[1]) {
        throw std::invalid_argument("matvec: expected A of shape (m, n) and x of shape (..., n), got " +
                                    shape_string(A.shape()) + " and " + shape_string(x.shape()));
    }
    return apply(matvec_primitive, {A, x});
}

}  // namespace autodiff
