// The engine: the differential cache and its counters, constants, higher order, and the calling
// conventions of grad, value_and_grad, jacobian, hessian and diff (tests/test_engine.py in C++).
//
// The counting claim of the course: on the chain x_{k+1} = tanh(x_k)·x_k, where every level uses
// its input twice, the textbook chain rule follows every path from the output to x, 2^k of them:
// 3(2^k − 1) rule evaluations; backpropagation with the cache evaluates each rule once per edge:
// 3k. The C++ port counts exactly what the Python library counts.
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

#include "helpers.hpp"

using namespace autodiff;
using testing::shared_chain;
using testing::shared_chain_derivative;

TEST_CASE("rule evaluations: linear with the cache, exponential without") {
    for (int k = 1; k <= 8; ++k) {
        CAPTURE(k);
        const auto f = [k](const Tensor& x) { return shared_chain(x, k); };
        double cached_gradient = 0.0;
        double textbook_gradient = 0.0;
        auto cached = count_operations();
        {
            cached_gradient = grad(f)(0.7);
        }
        OperationCounts with_cache = cached;
        auto textbook = count_operations();
        {
            auto off = differential_cache(false);
            textbook_gradient = grad(f)(0.7);
        }
        const auto K = static_cast<std::uint64_t>(k);
        CHECK(with_cache.rule_evaluations == 3 * K);
        CHECK(textbook.rule_evaluations == 3 * ((1u << K) - 1));
        CHECK(with_cache.nodes_visited == 2 * K + 1);  // x, k tanh, k products: each once
        CHECK(textbook_gradient == doctest::Approx(cached_gradient).epsilon(1e-12));
        CHECK(cached_gradient == doctest::Approx(shared_chain_derivative(0.7, k)).epsilon(1e-12));
    }
}

TEST_CASE("a batched Jacobian is one sweep: the count does not grow with the rows") {
    const auto f = [](const Tensor& x) { return shared_chain(x, 5); };
    auto small = count_operations();
    jacobian(f)(Array{0.1, -0.4});
    const std::uint64_t small_rules = small.rule_evaluations;
    auto large = count_operations();
    jacobian(f)(Array(xt::linspace(-1.0, 1.0, 50)));
    CHECK(small_rules == 15);
    CHECK(large.rule_evaluations == 15);
}

namespace {
Tensor mlp_loss(const std::vector<Tensor>& p, const Array& X, const Array& y) {
    const Tensor h = tanh(matmul(X, p[0]) + p[1]);
    return mean(power(matmul(h, p[2]) + p[3] - y, 2.0));
}

const Array DATA = {{0.2, -0.4, 0.9}, {1.1, 0.3, -0.5}, {-0.7, 0.8, 0.1}, {0.4, 0.4, -1.2}};
const std::vector<Array> PARAMS = {
    {{0.5, -0.3, 0.8, 0.1, -0.6}, {0.2, 0.7, -0.4, 0.9, 0.3}, {-0.8, 0.1, 0.6, -0.2, 0.4}},
    {0.1, -0.2, 0.05, 0.3, -0.1},
    testing::column({0.6, -0.4, 0.2, 0.9, -0.7}),
    {0.25}};

Tensor reuse_with_broadcasting(const Tensor& x) {
    const Tensor s = reshape(x, {-1, 1}) * x;  // an outer product, read three times below
    return sum(s * s, 0) + getitem(tanh(s), {1}) * sum(s);
}
}  // namespace

TEST_CASE("jacobian and hessian agree with the cache on and off, and with finite differences") {
    const std::vector<std::pair<std::string, Function>> graphs = {
        {"shared chain", [](const Tensor& x) { return shared_chain(x, 6); }},
        {"mlp loss",
         [](const Tensor& W1) {
             return mlp_loss({W1, PARAMS[1], PARAMS[2], PARAMS[3]}, DATA, testing::column({1.0, 1.0, 1.0, 1.0}));
         }},
        {"reuse with broadcasting", reuse_with_broadcasting},
    };
    const std::vector<Array> points = {Array{{0.3, -0.5, 0.9}, {-0.2, 0.6, 0.4}}, PARAMS[0],
                                       Array{0.4, -0.8, 0.6}};
    for (std::size_t i = 0; i < graphs.size(); ++i) {
        INFO(graphs[i].first);
        const Function& f = graphs[i].second;
        const Array J = jacobian(f)(points[i]);
        const Array H = jacobian(jacobian(f))(points[i]);
        auto off = differential_cache(false);
        CHECK_CLOSE(jacobian(f)(points[i]), J, 1e-11, 1e-12);
        CHECK_CLOSE(jacobian(jacobian(f))(points[i]), H, 1e-11, 1e-12);
        GradCheckOptions options;
        options.order = 2;
        CHECK_NOTHROW(check_grad(f, points[i], options, graphs[i].first));
    }
}

TEST_CASE("the cache switch is restored when its scope ends, also by an exception") {
    try {
        auto off = differential_cache(false);
        CHECK_FALSE(differential_cache_enabled());
        throw std::runtime_error("leaving the scope");
    } catch (const std::runtime_error&) {
    }
    CHECK(differential_cache_enabled());
    auto counts = count_operations();
    grad([](const Tensor& x) { return shared_chain(x, 6); })(0.3);
    CHECK(counts.rule_evaluations == 18);
}

TEST_CASE("counters nest: an outer counter sees what an inner one counts") {
    auto outer = count_operations();
    {
        auto inner = count_operations();
        grad([](const Tensor& x) { return shared_chain(x, 2); })(0.3);
        CHECK(inner.rule_evaluations == 6);
    }
    grad([](const Tensor& x) { return shared_chain(x, 1); })(0.3);
    CHECK(outer.rule_evaluations == 9);
}

TEST_CASE("constant data prunes rule evaluations: one edge fewer, the same gradient") {
    const Array W0 = {{0.3, -0.2}, {0.5, 0.8}, {-0.6, 0.1}};
    const Array Y = {{0.1, 0.2}, {0.3, -0.4}, {0.5, 0.6}, {-0.7, 0.8}};
    std::map<std::string, std::uint64_t> counts;
    std::map<std::string, Array> gradients;
    for (const auto& [kind, data] : std::vector<std::pair<std::string, Tensor>>{
             {"variable", variable(DATA)}, {"constant", constant(DATA)}, {"array", DATA}}) {
        const Tensor w = variable(W0);
        const Tensor L = mean(power(tanh(matmul(data, w)) - Y, 2.0));
        auto ops = count_operations();
        gradients[kind] = diff(L, w).value();
        counts[kind] = ops.rule_evaluations;
    }
    CHECK(counts["variable"] - counts["constant"] == 1);  // the one edge into X: matmul's rule
    CHECK(counts["constant"] == counts["array"]);
    CHECK_CLOSE(gradients["constant"], gradients["variable"], 0.0, 0.0);
}

TEST_CASE("a graph of constants needs no rules, and detach stops derivatives") {
    const Tensor c = constant(Array{1.0, 2.0});
    const Tensor y = sum(tanh(c) * c);
    CHECK_FALSE(y.requires_grad());
    const Tensor x = variable(Array{0.5, 0.5});
    auto ops = count_operations();
    CHECK_CLOSE(diff(y, x).value(), (Array{0.0, 0.0}), 0.0, 0.0);
    CHECK(ops.rule_evaluations == 0);
    const Tensor z = variable(Array{1.5, -2.0});
    CHECK_CLOSE(diff(sum(z * z.detach()), z).value(), (Array{1.5, -2.0}), 0.0, 0.0);
}

TEST_CASE("no state leaks between calls: gradients do not accumulate") {
    const auto loss = [](const std::vector<Tensor>& p) {
        return mlp_loss(p, DATA, testing::column({1.0, 0.0, 1.0, 0.0}));
    };
    const auto first = grad(loss)(PARAMS);
    const auto second = grad(loss)(PARAMS);
    REQUIRE(first.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(first[i].shape() == PARAMS[i].shape());
        CHECK_CLOSE(second[i], first[i], 0.0, 0.0);
    }
}

TEST_CASE("a list of weights: one gradient per array, each right by finite differences") {
    const Array targets = testing::column({1.0, 0.0, 1.0, 0.0});
    const auto [value, gradients] =
        value_and_grad([&](const std::vector<Tensor>& p) { return mlp_loss(p, DATA, targets); })(PARAMS);
    CHECK(value == doctest::Approx(mlp_loss({PARAMS[0], PARAMS[1], PARAMS[2], PARAMS[3]}, DATA, targets).value()()));
    for (std::size_t n = 0; n < 4; ++n) {
        CAPTURE(n);
        const Function of_part = [&, n](const Tensor& w) {
            std::vector<Tensor> p(PARAMS.begin(), PARAMS.end());
            p[n] = w;
            return mlp_loss(p, DATA, targets);
        };
        CHECK_CLOSE(gradients[n], grad(of_part)(PARAMS[n]), 1e-14, 1e-15);
        CHECK_NOTHROW(check_grad(of_part, PARAMS[n]));
    }
}

TEST_CASE("arrays in, arrays out, and Tensors in, Tensors out that differentiate again") {
    const auto f = [](const Tensor& x) { return sum(power(tanh(x), 2.0)); };
    const Array x0 = {0.3, -0.6};
    const Array g = grad(f)(x0);
    const Tensor x = variable(x0);
    const Tensor g_t = grad(f)(x);
    CHECK(g_t.requires_grad());
    CHECK_CLOSE(g_t.value(), g, 1e-15, 0.0);
    const Array H = hessian(f)(x0);
    CHECK_CLOSE(diff(g_t, x).value(), H, 1e-13, 0.0);
    CHECK_CLOSE(diff(diff(f(x), x), x).value(), H, 1e-13, 0.0);
    // the Hessian of Σ tanh²x is diagonal: 2 (1 − t²)(1 − 3t²)
    const Array t = xt::tanh(x0);
    CHECK_CLOSE(H, Array(xt::diag(2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t))), 1e-13, 1e-15);
    const auto [value, gradient] = value_and_grad(f)(x);
    CHECK(value.requires_grad());
    CHECK_CLOSE(diff(value, x).value(), g, 1e-15, 0.0);
    CHECK_CLOSE(gradient.value(), g, 1e-15, 0.0);
}

TEST_CASE("third derivatives: the Jacobian of the Hessian") {
    // f(x) = Σ x³/6 + x₀ x₁ x₂: its third derivative is 1 on the diagonal and 1 off it where all
    // three indices differ
    const auto f = [](const Tensor& x) {
        return sum(power(x, 3.0)) / 6.0 + getitem(x, {0}) * getitem(x, {1}) * getitem(x, {2});
    };
    const Array third = jacobian(hessian(f))(Array{0.3, -0.2, 0.9});
    for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            for (std::size_t k = 0; k < 3; ++k) {
                const bool diagonal = i == j && j == k;
                const bool distinct = i != j && j != k && i != k;
                CHECK(third(i, j, k) == doctest::Approx(diagonal || distinct ? 1.0 : 0.0));
            }
        }
    }
}

TEST_CASE("an independent variable gets zeros of its shape") {
    const Tensor t = variable(Array{0.5, 1.0});
    const Tensor u = variable(Array(xt::ones<double>({2, 3})));
    const Tensor d = diff(tanh(t), u);
    CHECK(d.shape() == Array::shape_type{2, 2, 3});
    CHECK(xt::all(xt::equal(d.value(), 0.0)));
    const Array H = hessian([](const Tensor&) { return sum(constant(Array{1.0, 2.0})); })(Array(xt::ones<double>({2, 3})));
    CHECK(H.shape() == Array::shape_type{2, 3, 2, 3});
}

TEST_CASE("a gradient that reads an outer variable stays differentiable w.r.t. it") {
    // f(z) = Σ w·z³: ∂f/∂z = 3w·z², so d/dw Σ ∂f/∂z = 3z²
    const Array z0 = {0.0, 1.0, 2.0};
    const Tensor w = variable(Array{1.0, 1.0, 1.0});
    const Tensor gradient = grad([&w](const Tensor& z) { return sum(w * power(z, 3.0)); })(constant(z0));
    CHECK(gradient.requires_grad());
    CHECK_CLOSE(diff(sum(gradient), w).value(), Array(3.0 * z0 * z0), 1e-15, 0.0);
}

TEST_CASE("the textbook chain rule keeps an explicit stack: a deep chain still works") {
    const auto nested_tanh = [](Tensor x) {
        for (int i = 0; i < 20000; ++i) x = tanh(x);
        return x;
    };
    const double cached = grad(nested_tanh)(0.5);
    auto off = differential_cache(false);
    CHECK(grad(nested_tanh)(0.5) == doctest::Approx(cached).epsilon(1e-12));
}

TEST_CASE("topological order: every input comes before the node that uses it") {
    const Tensor x = variable(Array{0.5, -1.0, 2.0});
    const Tensor y = sum(power(tanh(x), 3.0));
    const Tensor hessian_graph = diff(diff(y, x), x);  // rules applied to rules
    const auto order = topological_order(hessian_graph);
    CHECK(order.size() > 10);
    for (const Tensor& node : order) {
        for (const Tensor& input : node.inputs()) {
            if (input.requires_grad()) CHECK(input.seq() < node.seq());
        }
    }
}
