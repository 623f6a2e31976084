// Bad input gets a clear exception that names the operation and the shapes, raised where the
// mistake is made (tests/test_errors.py in C++): never a silent wrong number.
#include <xtensor/xbuilder.hpp>

#include "helpers.hpp"

using namespace autodiff;

namespace {
const Tensor A = variable(Array(xt::ones<double>({2, 3})));
const Tensor B = variable(Array(xt::ones<double>({4, 5})));
}  // namespace

TEST_CASE("mismatched shapes in elementwise operations") {
    CHECK_THROWS_WITH_AS(A * B, "multiply: shapes cannot be broadcast together (got shape (2, 3), shape (4, 5))",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(where(constant(Array{1.0, 0.0}), A, 1.0),
                         "where: shapes cannot be broadcast together (got shape (2,), shape (2, 3), shape ())",
                         std::invalid_argument);
}

TEST_CASE("matmul: inner dimensions, scalars, stacks that do not broadcast") {
    CHECK_THROWS_WITH_AS(matmul(A, B), "matmul: inner dimensions do not match: (2, 3) @ (4, 5) (3 != 4)",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(matmul(A, 2.0),
                         "matmul: operands must have at least one axis, got shapes (2, 3) and (); use * "
                         "to multiply by a scalar",
                         std::invalid_argument);
    const Tensor stack2 = variable(Array(xt::ones<double>({2, 3, 3})));
    const Tensor stack3 = variable(Array(xt::ones<double>({3, 3, 3})));
    CHECK_THROWS_WITH_AS(matmul(stack2, stack3),
                         "matmul: shapes cannot be broadcast together (got shape (2, 3, 3), shape (3, 3, 3))",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(dot(stack2, A), doctest::Contains("dot: supported for up to two axes"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(matvec(A, Array{1.0, 2.0}),
                         "matvec: the matrix A must be a constant (autodiff::constant(A) or a plain "
                         "array); use matmul to differentiate w.r.t. the matrix",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(matvec(A.value(), Array{1.0, 2.0}),
                         "matvec: expected A of shape (m, n) and x of shape (..., n), got (2, 3) and (2,)",
                         std::invalid_argument);
}

TEST_CASE("log and sqrt of negative numbers") {
    const Tensor x = variable(Array{0.5, -2.0, 1.0});
    CHECK_THROWS_WITH_AS(log(x), "log: input must be non-negative, got a minimum of -2 (shape (3,))",
                         std::domain_error);
    CHECK_THROWS_WITH_AS(sqrt(x), "sqrt: input must be non-negative, got a minimum of -2 (shape (3,))",
                         std::domain_error);
    CHECK(std::isinf(log(constant(Array{0.0})).value()(0)));  // log 0 = -inf, as numpy gives
}

TEST_CASE("shapes: reshape, transpose, axes out of range") {
    CHECK_THROWS_WITH_AS(reshape(A, {4, 2}),
                         "reshape: cannot reshape a tensor of shape (2, 3) (size 6) into shape (4, 2)",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(reshape(A, {-1, 4}),
                         "reshape: cannot reshape a tensor of shape (2, 3) (size 6) into shape (-1, 4)",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(transpose(A, {0, 0}),
                         "transpose: the order of the axes is not a permutation of the tensor's axes (got "
                         "shape (2, 3))",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sum(A, 2), "sum: axis 2 is out of bounds for a tensor of 2 axes (got shape (2, 3))",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(mean(A, {0, -3}),
                         "mean: axis -3 is out of bounds for a tensor of 2 axes (got shape (2, 3))",
                         std::invalid_argument);
}

TEST_CASE("indexing out of bounds, or with too many indices") {
    CHECK_THROWS_WITH_AS(getitem(A, {2}),
                         "getitem: index 2 is out of bounds for axis 0 with size 2 (indexing a tensor of "
                         "shape (2, 3))",
                         std::out_of_range);
    CHECK_THROWS_WITH_AS(getitem(A, {0, -4}),
                         "getitem: index -4 is out of bounds for axis 1 with size 3 (indexing a tensor of "
                         "shape (2, 3))",
                         std::out_of_range);
    CHECK_THROWS_WITH_AS(getitem(A, {0, 0, 0}),
                         "getitem: too many indices (indexing a tensor of shape (2, 3))", std::out_of_range);
}

TEST_CASE("differentiating: non-scalar grad, a constant in diff") {
    const auto identity = [](const Tensor& x) { return x * 1.0; };
    CHECK_THROWS_WITH_AS(grad(identity)(Array{1.0, 2.0}),
                         "grad: f must return a scalar, got an output of shape (2,); use jacobian for "
                         "non-scalar outputs",
                         std::invalid_argument);
    const Tensor c = constant(Array{1.0, 2.0});
    CHECK_THROWS_WITH_AS(diff(sum(A), c),
                         "diff: x is a constant (shape (2,)), so nothing is computed w.r.t. it; make it a "
                         "variable: autodiff::variable(x)",
                         std::invalid_argument);
}

TEST_CASE("an error inside a rule names the rule's operation, and the graph stays usable") {
    // the power rule takes log of where(x > 0, x, 1): never negative, so this differentiates
    const Tensor x = variable(Array{-0.5, 2.0});
    CHECK_NOTHROW(diff(sum(power(x, 2.0)), x));
    // a gradient check passes on a smooth function, and one that fails says which order is off
    const Function linear = [](const Tensor& z) { return z * 1.0 + Array{0.0, 0.0}; };
    CHECK_NOTHROW(check_grad(linear, Array{0.1, 0.2}));
    const Function not_smooth = [](const Tensor& z) { return abs(z); };
    GradCheckOptions options;
    options.eps = 0.5;  // a step across the kink: finite differences see the average slope
    CHECK_THROWS_WITH_AS(check_grad(not_smooth, Array{0.1, -0.2}, options, "abs"),
                         doctest::Contains("check_grad: order-1 derivative of abs is off"),
                         GradientCheckError);
}
