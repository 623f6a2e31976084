// Every primitive's rule against central differences, to second order (rules of rules), and the
// forward values against what numpy computes (tests/test_primitives.py in C++).
#include <cmath>
#include <limits>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "helpers.hpp"

using namespace autodiff;

namespace {

const Array X = {{0.3, -0.7, 1.1}, {0.5, 0.9, -1.3}};     // (2, 3)
const Array POSITIVE = {{0.3, 0.7, 1.1}, {0.5, 1.9, 1.3}};  // (2, 3), away from 0
const Array ROW = {0.4, -0.2, 0.8};                         // (3,): broadcasts against X
const Array COLUMN = testing::column({1.5, -0.5});                   // (2, 1): broadcasts against X

// Check f's first and second derivatives at x; report under `name`.
void check(const std::string& name, const Function& f, const Array& x) {
    INFO(name);
    GradCheckOptions options;
    options.order = 2;
    CHECK_NOTHROW(check_grad(f, x, options, name));
}

}  // namespace

TEST_CASE("arithmetic: each argument, with broadcasting, to second order") {
    check("x + row", [](const Tensor& x) { return x + ROW; }, X);
    check("column + x", [](const Tensor& x) { return COLUMN + x; }, X);
    check("x - row", [](const Tensor& x) { return x - ROW; }, X);
    check("row - x", [](const Tensor& x) { return ROW - x; }, X);
    check("x * x * column", [](const Tensor& x) { return x * x * COLUMN; }, X);
    check("x / column", [](const Tensor& x) { return x / COLUMN; }, X);
    check("row / x", [](const Tensor& x) { return ROW / x; }, POSITIVE);
    check("-x", [](const Tensor& x) { return -x; }, X);
}

TEST_CASE("power: the base, the exponent, and both") {
    check("x ** 3", [](const Tensor& x) { return power(x, 3.0); }, X);
    check("x ** 0", [](const Tensor& x) { return power(x, 0.0) * x; }, X);
    check("x ** row", [](const Tensor& x) { return power(x, ROW); }, POSITIVE);
    check("row ** x", [](const Tensor& x) { return power(Array(ROW + 1.0), x); }, X);
    check("x ** x", [](const Tensor& x) { return power(x, x); }, POSITIVE);
    // y·x^(y−1) at x = 0 with y = 0 is 0, not 0·inf
    const Array at_zero = {0.0, 1.0};
    CHECK_CLOSE(grad([](const Tensor& x) { return sum(power(x, 0.0)); })(at_zero),
                (Array{0.0, 0.0}), 0.0, 0.0);
    // d/dy (−2)^y has no real value: nan, not −0.0 (0^y still has slope 0 in y)
    const Array bases = {-2.0, 0.0, 2.0};
    const Array slope = grad([&](const Tensor& y) { return sum(power(bases, y)); })(Array{3.0, 3.0, 3.0});
    CHECK(std::isnan(slope(0)));
    CHECK(slope(1) == 0.0);
    CHECK(slope(2) == doctest::Approx(8.0 * std::log(2.0)).epsilon(1e-14));
}

TEST_CASE("tanh far from 0: sech² without cancellation, its derivative too") {
    // 1 − tanh²(20) is exactly 0 in doubles; sech²(20) = 1.6993417021166355e-17
    const Array u = {20.0, -35.0, 800.0};
    const Array first = grad([](const Tensor& x) { return sum(tanh(x)); })(u);
    CHECK(first(0) == doctest::Approx(1.6993417021166355e-17).epsilon(1e-13));
    CHECK(first(1) == doctest::Approx(1.5901798902e-30).epsilon(1e-9));
    CHECK(first(2) == 0.0);
    const Array second = hessian([](const Tensor& x) { return sum(tanh(x)); })(Array{20.0});
    CHECK(second(0, 0) == doctest::Approx(-3.398683404233271e-17).epsilon(1e-13));
    // near 0 and far from it in one array: each entry from its own formula, the near ones as
    // 1 − tanh², the far one from x
    const Array mixed = grad([](const Tensor& x) { return sum(tanh(x)); })(Array{0.5, 20.0, -1.0});
    CHECK(mixed(0) == doctest::Approx(1.0 - std::tanh(0.5) * std::tanh(0.5)).epsilon(1e-15));
    CHECK(mixed(1) == doctest::Approx(1.6993417021166355e-17).epsilon(1e-13));
    CHECK(mixed(2) == doctest::Approx(1.0 - std::tanh(-1.0) * std::tanh(-1.0)).epsilon(1e-15));
}

TEST_CASE("elementwise functions to second order") {
    check("exp", [](const Tensor& x) { return exp(x); }, X);
    check("log", [](const Tensor& x) { return log(x); }, POSITIVE);
    check("sqrt", [](const Tensor& x) { return sqrt(x); }, POSITIVE);
    check("tanh", [](const Tensor& x) { return tanh(x); }, X);
    check("sin", [](const Tensor& x) { return sin(x); }, X);
    check("cos", [](const Tensor& x) { return cos(x); }, X);
    check("sinh", [](const Tensor& x) { return sinh(x); }, X);
    check("cosh", [](const Tensor& x) { return cosh(x); }, X);
    check("abs", [](const Tensor& x) { return abs(x) * x; }, X);
    check("maximum", [](const Tensor& x) { return maximum(x, constant(ROW)) * x; }, X);
    check("where", [](const Tensor& x) { return where(x > 0.0, x * x, sin(x)); }, X);
    check("where, constant branch", [](const Tensor& x) { return where(constant(ROW) > 0.0, 2.0, x); }, X);
}

TEST_CASE("the forward values are numpy's") {
    const Tensor x = variable(X);
    CHECK_CLOSE(tanh(x).value(), xt::tanh(X), 1e-15, 0.0);  // libmvec's kernels: a few ulp
    CHECK_CLOSE(sign(x).value(), (Array{{1.0, -1.0, 1.0}, {1.0, 1.0, -1.0}}), 0.0, 0.0);
    CHECK_CLOSE(maximum(x, 0.0).value(), (Array{{0.3, 0.0, 1.1}, {0.5, 0.9, 0.0}}), 0.0, 0.0);
    CHECK_CLOSE(sum(x).value(), Array(1.1 + 0.5 + 0.9 - 0.7 - 1.3 + 0.3), 1e-15, 1e-15);
    CHECK_CLOSE(sum(x, 0).value(), (Array{0.8, 0.2, -0.2}), 1e-15, 1e-15);
    CHECK_CLOSE(sum(x, -1, true).value(), testing::column({0.7, 0.1}), 1e-15, 1e-15);
    CHECK_CLOSE(mean(x, {0, 1}).value(), Array(0.8 / 6.0), 1e-14, 1e-15);
    CHECK(sum(x, {0, 1}, true).value().shape() == Array::shape_type{1, 1});
    CHECK_CLOSE(transpose(x).value(), xt::transpose(X), 0.0, 0.0);
    CHECK_CLOSE(getitem(x, {1, xt::range(0, 2)}).value(), (Array{0.5, 0.9}), 0.0, 0.0);
    CHECK_CLOSE(getitem(x, {-1, -1}).value(), Array(-1.3), 0.0, 0.0);
    CHECK_CLOSE(reshape(x, {3, -1}).value(), (Array{{0.3, -0.7}, {1.1, 0.5}, {0.9, -1.3}}), 0.0, 0.0);
    // a comparison is a constant of 0.0 and 1.0
    const Tensor positive = x > 0.0;
    CHECK_FALSE(positive.requires_grad());
    CHECK_CLOSE(positive.value(), (Array{{1.0, 0.0, 1.0}, {1.0, 1.0, 0.0}}), 0.0, 0.0);
}

TEST_CASE("elementwise functions: a plain loop on a few elements, xtensor's beyond, the same values") {
    // Up to 16 elements take the plain loop, more take xtensor's expression (xsimd's kernels in
    // that build): both shapes, and the sizes on either side of the switch.
    for (std::size_t n : {std::size_t{1}, std::size_t{16}, std::size_t{17}, std::size_t{100}}) {
        Array v = Array::from_shape({2, n});
        for (std::size_t i = 0; i < v.size(); ++i) {
            v.flat(i) = 0.05 + 0.9 * static_cast<double>(i) / static_cast<double>(v.size());
        }
        const Tensor x = variable(v);
        CHECK_CLOSE(exp(x).value(), xt::exp(v), 1e-15, 0.0);
        CHECK_CLOSE(log(x).value(), xt::log(v), 1e-15, 0.0);
        CHECK_CLOSE(sqrt(x).value(), xt::sqrt(v), 1e-15, 0.0);
        CHECK_CLOSE(sin(x).value(), xt::sin(v), 1e-15, 0.0);
        CHECK_CLOSE(cos(x).value(), xt::cos(v), 1e-15, 0.0);
        CHECK_CLOSE(sinh(x).value(), xt::sinh(v), 1e-15, 0.0);
        CHECK_CLOSE(cosh(x).value(), xt::cosh(v), 1e-15, 0.0);
        CHECK(sin(x).value().shape() == v.shape());
    }
}

TEST_CASE("tanh: the vectorized kernels give libm's values, infinities, zeros and NaN") {
    // 1000 numbers from 1e-9 to 40 in size, both signs: every length of the tail after the
    // vectors of 4 or 8, small numbers where tanh x ≈ x, large ones where it is ±1
    Array x = Array::from_shape({1003});
    for (std::size_t i = 0; i < x.size(); ++i) {
        x(i) = (i % 2 == 0 ? 1.0 : -1.0) * std::pow(10.0, -9.0 + 10.6 * static_cast<double>(i) / 1003.0);
    }
    for (std::size_t n : {std::size_t{1}, std::size_t{5}, std::size_t{11}, x.size()}) {
        const Array part = xt::view(x, xt::range(0, n));
        CHECK_CLOSE(tanh(constant(part)).value(), Array(xt::tanh(part)), 1e-15, 0.0);  // 4 ulp
    }
    const double inf = std::numeric_limits<double>::infinity();
    const Array special = {inf, -inf, 0.0, -0.0, std::nan(""), 1e-300, 800.0, -800.0, 0.5};
    const Array out = tanh(constant(special)).value();
    CHECK(out(0) == 1.0);
    CHECK(out(1) == -1.0);
    CHECK((out(2) == 0.0 && !std::signbit(out(2))));
    CHECK((out(3) == 0.0 && std::signbit(out(3))));
    CHECK(std::isnan(out(4)));
    CHECK(out(5) == 1e-300);
    CHECK(out(6) == 1.0);
    CHECK(out(7) == -1.0);
}

TEST_CASE("reductions with axes, keepdims and the mean's weights") {
    check("sum", [](const Tensor& x) { return sum(x * x); }, X);
    check("sum axis 0", [](const Tensor& x) { return sum(x * x, 0); }, X);
    check("sum axis -1 keepdims", [](const Tensor& x) { return sum(x * x, -1, true); }, X);
    check("sum axes (0, 1) keepdims", [](const Tensor& x) { return sum(x * x, {0, 1}, true); }, X);
    check("mean", [](const Tensor& x) { return mean(x * x); }, X);
    check("mean axis 1", [](const Tensor& x) { return mean(x * x, 1); }, X);
    check("mean axis 0 keepdims", [](const Tensor& x) { return mean(x * x, 0, true); }, X);
    CHECK_CLOSE(grad([](const Tensor& x) { return mean(x); })(X), Array(xt::ones_like(X) / 6.0),
                1e-15, 0.0);
}

TEST_CASE("shapes: reshape, transpose, broadcast_to, indexing by ranges") {
    check("reshape", [](const Tensor& x) { return reshape(x * x, {3, 2}); }, X);
    check("reshape -1", [](const Tensor& x) { return reshape(x * x, {-1}); }, X);
    check("transpose", [](const Tensor& x) { return transpose(x * x); }, X);
    const Array cube = xt::reshape_view(xt::linspace(-1.0, 1.2, 24), {2, 3, 4});
    check("transpose (1, 2, 0)", [](const Tensor& x) { return transpose(x * x, {1, 2, 0}); }, cube);
    check("broadcast_to", [](const Tensor& x) { return broadcast_to(x * x, {4, 2, 3}); }, X);
    check("getitem row", [](const Tensor& x) { return getitem(x * x, {1}); }, X);
    check("getitem ranges",
          [](const Tensor& x) { return getitem(x * x, {xt::all(), xt::range(1, 3)}); }, X);
    check("getitem stepped", [](const Tensor& x) { return getitem(x * x, {xt::range(0, 3, 2)}); },
          ROW);
    check("getitem integers", [](const Tensor& x) { return getitem(x * x, {-1, 0}); }, X);
    // the derivative of x[1:3] puts the differential back in place, zeros elsewhere
    CHECK_CLOSE(grad([](const Tensor& x) { return sum(getitem(x, {xt::range(1, 3)})); })(ROW),
                (Array{0.0, 1.0, 1.0}), 0.0, 0.0);
}

TEST_CASE("matmul: matrices, vectors and stacks, w.r.t. each side") {
    const Array A = {{0.5, -1.0, 0.3}, {0.2, 0.4, -0.6}};  // (2, 3)
    const Array B = {{0.1, 0.7}, {-0.3, 0.2}, {0.9, -0.4}};  // (3, 2)
    const Array v3 = {0.3, -0.8, 0.5};
    const Array stack = xt::reshape_view(xt::linspace(-1.0, 1.0, 12), {2, 2, 3});  // (2, 2, 3)
    check("A @ x", [&](const Tensor& x) { return matmul(A, tanh(x)); }, B);
    check("x @ B", [&](const Tensor& x) { return matmul(tanh(x), B); }, A);
    check("A @ v", [&](const Tensor& x) { return matmul(A, tanh(x)); }, v3);
    check("v @ B", [&](const Tensor& x) { return matmul(tanh(x), B); }, v3);
    check("v @ v", [&](const Tensor& x) { return matmul(tanh(x), x); }, v3);
    check("stack @ B", [&](const Tensor& x) { return matmul(tanh(x), B); }, stack);
    check("stack @ x", [&](const Tensor& x) { return matmul(stack, tanh(x)); }, B);
    check("A @ stack", [&](const Tensor& x) { return matmul(transpose(constant(A)), tanh(x)); }, stack);
    check("stack @ stack", [&](const Tensor& x) { return matmul(x, transpose(tanh(x), {0, 2, 1})); },
          stack);
    check("dot", [&](const Tensor& x) { return dot(x, x); }, v3);
    check("dot scalar", [&](const Tensor& x) { return dot(sum(x), x); }, v3);
    check("matvec", [&](const Tensor& x) { return matvec(A, tanh(x)); }, v3);
    check("matvec batch", [&](const Tensor& x) { return matvec(A, tanh(x)); }, Array(xt::transpose(B)));
    // the values are BLAS's products
    CHECK_CLOSE(matmul(A, B).value(), (Array{{0.62, 0.03}, {-0.64, 0.46}}), 1e-14, 1e-15);
    CHECK_CLOSE(matmul(v3, B).value(), (Array{0.72, -0.15}), 1e-14, 1e-15);
    CHECK_CLOSE(matvec(A, v3).value(), matmul(A, v3).value(), 1e-15, 0.0);
    const Array products = matmul(stack, B).value();                    // one tall product
    const Array left = matmul(constant(B), stack).value();                // side by side
    const Array both = matmul(stack, transpose(constant(stack), {0, 2, 1})).value();  // a loop
    CHECK(left.shape() == Array::shape_type{2, 3, 3});
    for (std::size_t i = 0; i < 2; ++i) {
        const Array matrix = xt::view(stack, i);
        CHECK_CLOSE(Array(xt::view(products, i)), matmul(matrix, B).value(), 1e-15, 1e-15);
        CHECK_CLOSE(Array(xt::view(left, i)), matmul(B, matrix).value(), 1e-15, 1e-15);
        CHECK_CLOSE(Array(xt::view(both, i)), matmul(matrix, Array(xt::transpose(matrix))).value(),
                    1e-15, 1e-15);
    }
}
