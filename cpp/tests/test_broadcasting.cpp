// Broadcasting, and the one place that undoes it: every operand's derivative has the operand's
// shape, summed over the axes broadcasting added or stretched (a wrong reduction here is a silent
// wrong gradient, so each case is checked against the sum it must be).
#include <algorithm>
#include <numeric>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xmanipulation.hpp>

#include "helpers.hpp"

using namespace autodiff;

TEST_CASE("unbroadcast sums added and stretched axes and keeps batch axes") {
    const Array g = xt::reshape_view(xt::arange(24.0), {2, 3, 4});
    SUBCASE("an axis added in front") {
        const Tensor out = unbroadcast(g, {3, 4});
        CHECK_CLOSE(out.value(), Array(xt::sum(g, {0})), 0.0, 0.0);
    }
    SUBCASE("an axis of length 1") {
        const Tensor out = unbroadcast(g, {2, 1, 4});
        CHECK_CLOSE(out.value(), Array(xt::sum(g, {1}, xt::keep_dims)), 0.0, 0.0);
    }
    SUBCASE("to a scalar") {
        const Tensor out = unbroadcast(g, {});
        CHECK_CLOSE(out.value(), Array(xt::sum(g)), 0.0, 0.0);
    }
    SUBCASE("with one batch axis kept") {
        const Tensor out = unbroadcast(g, {1, 4}, 1);
        CHECK_CLOSE(out.value(), Array(xt::sum(g, {1}, xt::keep_dims)), 0.0, 0.0);
        CHECK(out.shape() == Array::shape_type{2, 1, 4});
    }
    SUBCASE("nothing to undo") {
        CHECK_CLOSE(unbroadcast(g, {2, 3, 4}).value(), g, 0.0, 0.0);
    }
}

// The forward computations walk broadcast operands with loops of their own (primitives.cpp: the
// broadcasting loops), not with xtensor's assignment: they must give xtensor's numbers exactly,
// whatever the shapes: numbers, rows, columns, axes of length 1 in the middle, empty arrays.
TEST_CASE("the broadcasting loops give xtensor's results on every kind of shape") {
    const std::vector<Array::shape_type> shapes = {
        {}, {1}, {4}, {3, 1}, {1, 4}, {3, 4}, {2, 1, 4}, {2, 3, 1}, {1, 3, 4}, {2, 3, 4}, {0}, {3, 0}};
    int compared = 0;
    for (const auto& a_shape : shapes) {
        for (const auto& b_shape : shapes) {
            Array a = Array::from_shape(a_shape);
            Array b = Array::from_shape(b_shape);
            std::iota(a.begin(), a.end(), 1.0);
            std::iota(b.begin(), b.end(), -2.5);
            Array expected;
            try {
                expected = a * b;
            } catch (const xt::broadcast_error&) {
                CHECK_THROWS_AS(constant(a) * constant(b), std::invalid_argument);
                continue;
            }
            CAPTURE(shape_string(a_shape));
            CAPTURE(shape_string(b_shape));
            CHECK_CLOSE((constant(a) * constant(b)).value(), expected, 0.0, 0.0);
            CHECK_CLOSE((constant(a) - constant(b)).value(), Array(a - b), 0.0, 0.0);
            CHECK_CLOSE((constant(b) + constant(a)).value(), Array(b + a), 0.0, 0.0);
            CHECK_CLOSE((constant(a) / constant(b)).value(), Array(a / b), 0.0, 0.0);
            CHECK_CLOSE(power(constant(a), constant(b)).value(), Array(xt::pow(a, b)), 0.0, 0.0);
            ++compared;
        }
    }
    CHECK(compared > 60);
    const Array x = xt::reshape_view(xt::arange(120.0), {2, 3, 4, 5});
    std::vector<std::size_t> order = {0, 1, 2, 3};
    do {  // every order of four axes, against xtensor's transpose
        CAPTURE(order[0] * 1000 + order[1] * 100 + order[2] * 10 + order[3]);
        CHECK_CLOSE(transpose(constant(x), order).value(), Array(xt::transpose(x, order)), 0.0, 0.0);
    } while (std::next_permutation(order.begin(), order.end()));
    const Array column = testing::column({1.0, 2.0, 3.0});
    CHECK_CLOSE(transpose(constant(column)).value(), Array(xt::transpose(column)), 0.0, 0.0);
    CHECK_CLOSE(power(constant(column), 2.0).value(), Array(column * column), 0.0, 0.0);
}

TEST_CASE("the gradients of broadcast operands have the operands' shapes") {
    const Array column = testing::column({1.0, 2.0});  // (2, 1)
    const Array row = {10.0, 20.0, 30.0};         // (3,)
    const Tensor c = variable(column);
    const Tensor r = variable(row);
    const Tensor s = variable(Array(3.0));        // a 0-d variable
    const Tensor y = sum(c * r * s);              // (2, 3) in the middle
    const auto d = diff(y, std::vector<Tensor>{c, r, s});
    CHECK(d[0].shape() == c.shape());
    CHECK(d[1].shape() == r.shape());
    CHECK(d[2].shape() == s.shape());
    CHECK_CLOSE(d[0].value(), testing::column({180.0, 180.0}), 0.0, 0.0);// 3 · (10 + 20 + 30)
    CHECK_CLOSE(d[1].value(), (Array{9.0, 9.0, 9.0}), 0.0, 0.0);     // 3 · (1 + 2)
    CHECK_CLOSE(d[2].value(), Array(180.0), 0.0, 0.0);               // (1 + 2)(10 + 20 + 30)
}

TEST_CASE("broadcasting inside a Jacobian: batch axes in front of broadcast axes") {
    // y = x[:, None] * w (an outer product), differentiated w.r.t. both: shape y.shape + x.shape
    const Array x0 = {0.5, -1.0};
    const Array w0 = {2.0, 3.0, 4.0};
    const Tensor x = variable(x0);
    const Tensor w = variable(w0);
    const Tensor y = reshape(x, {2, 1}) * w;
    const Tensor dx = diff(y, x);
    const Tensor dw = diff(y, w);
    CHECK(dx.shape() == Array::shape_type{2, 3, 2});
    CHECK(dw.shape() == Array::shape_type{2, 3, 3});
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            for (std::size_t k = 0; k < 2; ++k) CHECK(dx.value()(i, j, k) == (i == k ? w0(j) : 0.0));
            for (std::size_t k = 0; k < 3; ++k) CHECK(dw.value()(i, j, k) == (j == k ? x0(i) : 0.0));
        }
    }
}

TEST_CASE("shapes that do not broadcast are refused, naming the operation") {
    const Tensor a = variable(Array(xt::ones<double>({2, 3})));
    const Tensor b = variable(Array(xt::ones<double>({4})));
    CHECK_THROWS_WITH_AS(a + b, "add: shapes cannot be broadcast together (got shape (2, 3), shape (4,))",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(broadcast_to(a, {3, 3}),
                         "broadcast_to: cannot broadcast a tensor of shape (2, 3) to shape (3, 3)",
                         std::invalid_argument);
}
