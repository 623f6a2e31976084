// Reverse-mode differentiation: the backward sweep and the operators built on it
// (autodiff_lib/engine/differentiation.py).
//
// The chain rule for dy/dx sums, over every path from x to y, the product of the local
// derivatives along the path. Computed path by path (the textbook recursion), a graph with
// shared subexpressions has exponentially many paths. Backpropagation visits the graph once in
// reverse topological order and keeps, for every node, its differential dy/dnode: the
// *differential cache*. Each rule then runs once per edge.
//
// Differentials may carry leading *batch* axes. diff(y, x) seeds the sweep with the identity of
// shape y.shape + y.shape, so that all rows of the Jacobian flow through one sweep (rules are
// linear in the differential); jacobian and hessian build on it.
//
// grad, value_and_grad, jacobian and hessian take a function and return a function. Arrays in,
// arrays out (plain numbers, no graph); Tensors in, Tensors out, differentiable again when the
// argument is a variable. An argument may be a std::vector of arrays or Tensors (the weights of
// a network): the gradient is a vector of the same shapes.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "autodiff/tensor.hpp"

namespace autodiff {

// -- counting what the engine does ----------------------------------------------------------------
struct OperationCounts {
    std::uint64_t rule_evaluations = 0;  // rules evaluated
    std::uint64_t nodes_visited = 0;     // graph nodes taken from the sweep's queue or stack
};

// Counts the work of every backward sweep on this thread while it lives:
//     auto ops = count_operations();  ...  ops.rule_evaluations
class OperationCounter : public OperationCounts {
public:
    OperationCounter();
    ~OperationCounter();
    OperationCounter(const OperationCounter&) = delete;
    OperationCounter& operator=(const OperationCounter&) = delete;
};

// Python's `with count_operations() as ops:` (C++17 builds the counter in place: no copy).
[[nodiscard]] inline OperationCounter count_operations() { return {}; }

// -- the switch between backpropagation and the textbook chain rule -------------------------------
// While it lives, the differential cache is on (backpropagation) or off (the textbook recursion);
// the previous setting comes back when it goes: { auto off = differential_cache(false); ... }
class CacheSwitch {
public:
    explicit CacheSwitch(bool enabled);
    ~CacheSwitch();
    CacheSwitch(const CacheSwitch&) = delete;
    CacheSwitch& operator=(const CacheSwitch&) = delete;

private:
    bool previous_;
};

[[nodiscard]] inline CacheSwitch differential_cache(bool enabled) { return CacheSwitch(enabled); }
bool differential_cache_enabled();

// -- the sweep ------------------------------------------------------------------------------------
// The variables y depends on, each after all of its inputs (sorted by creation number).
std::vector<Tensor> topological_order(const Tensor& y);

// dy/dx as a Tensor of shape y.shape + x.shape, itself differentiable: diff(diff(y, x), x) is
// the Hessian. x must be a variable.
Tensor diff(const Tensor& y, const Tensor& x);
std::vector<Tensor> diff(const Tensor& y, const std::vector<Tensor>& xs);

namespace detail {
using ListFunction = std::function<Tensor(const std::vector<Tensor>&)>;

struct Differentiated {
    Tensor value;
    std::vector<Tensor> derivatives;  // one per variable, shape value.shape + variable.shape
};

std::uint64_t new_trace();  // numbers calls of grad and jacobian (user's variables: trace 0)

// Call f on `variables` (fresh leaves of `trace`, or the caller's own variables: then `outer`)
// and sweep back. The sweep is recorded (derivatives differentiable again) only if `may_record`
// and someone outside can differentiate it: an argument was already a variable, or f read
// variables older than this call's own.
Differentiated differentiate(const ListFunction& f, const std::vector<Tensor>& variables,
                             std::uint64_t trace, bool outer, bool may_record, const char* name,
                             bool scalar);

// Each kind of argument: a fresh leaf for plain values, the variable itself for a variable.
inline Tensor as_variable(const Tensor& x, std::uint64_t trace, bool& outer) {
    if (x.requires_grad()) {
        outer = true;
        return x;
    }
    return Tensor::leaf(x.value(), trace);
}

template <class F>
Differentiated of_one(const F& f, const Tensor& x, bool may_record, const char* name, bool scalar) {
    const std::uint64_t trace = new_trace();
    bool outer = false;
    const std::vector<Tensor> variables{as_variable(x, trace, outer)};
    return differentiate([&f](const std::vector<Tensor>& v) -> Tensor { return f(v[0]); },
                         variables, trace, outer, may_record, name, scalar);
}

template <class F>
Differentiated of_list(const F& f, const std::vector<Tensor>& xs, bool may_record, const char* name) {
    const std::uint64_t trace = new_trace();
    bool outer = false;
    std::vector<Tensor> variables;
    variables.reserve(xs.size());
    for (const Tensor& x : xs) variables.push_back(as_variable(x, trace, outer));
    return differentiate([&f](const std::vector<Tensor>& v) -> Tensor { return f(v); }, variables,
                         trace, outer, may_record, name, true);
}

inline std::vector<Tensor> as_tensors(const std::vector<Array>& xs) {
    return std::vector<Tensor>(xs.begin(), xs.end());
}

inline std::vector<Array> values(const std::vector<Tensor>& ts) {
    std::vector<Array> out;
    out.reserve(ts.size());
    for (const Tensor& t : ts) out.push_back(t.value());
    return out;
}

inline double scalar_value(const Tensor& t) { return t.value()(); }

// The four calling conventions of grad and value_and_grad, by the argument's type.
template <class F>
std::pair<double, double> value_and_grad_of(const F& f, double x) {
    auto r = of_one(f, Tensor(x), false, "grad", true);
    return {scalar_value(r.value), scalar_value(r.derivatives[0])};
}
template <class F>
std::pair<double, Array> value_and_grad_of(const F& f, const Array& x) {
    auto r = of_one(f, Tensor(x), false, "grad", true);
    return {scalar_value(r.value), r.derivatives[0].value()};
}
template <class F>
std::pair<Tensor, Tensor> value_and_grad_of(const F& f, const Tensor& x) {
    auto r = of_one(f, x, true, "grad", true);
    return {r.value, r.derivatives[0]};
}
template <class F>
std::pair<double, std::vector<Array>> value_and_grad_of(const F& f, const std::vector<Array>& xs) {
    auto r = of_list(f, as_tensors(xs), false, "grad");
    return {scalar_value(r.value), values(r.derivatives)};
}
template <class F>
std::pair<Tensor, std::vector<Tensor>> value_and_grad_of(const F& f, const std::vector<Tensor>& xs) {
    auto r = of_list(f, xs, true, "grad");
    return {r.value, r.derivatives};
}

template <class F>
Array jacobian_of(const F& f, const Array& x) {
    return of_one(f, Tensor(x), false, "jacobian", false).derivatives[0].value();
}
template <class F>
Tensor jacobian_of(const F& f, const Tensor& x) {
    return of_one(f, x, true, "jacobian", false).derivatives[0];
}
}  // namespace detail

// -- the differential operators -------------------------------------------------------------------
// A function returning (f(x), gradient of f at x) for scalar f.
template <class F>
auto value_and_grad(F f) {
    return [f](const auto& x) { return detail::value_and_grad_of(f, x); };
}

// The gradient of scalar f, as a function.
template <class F>
auto grad(F f) {
    return [f](const auto& x) { return detail::value_and_grad_of(f, x).second; };
}

// The Jacobian of f: shape f(x).shape + x.shape.
template <class F>
auto jacobian(F f) {
    return [f](const auto& x) { return detail::jacobian_of(f, x); };
}

// The Hessian of scalar f: the Jacobian of its gradient, shape x.shape + x.shape.
template <class F>
auto hessian(F f) {
    return jacobian(jacobian(std::move(f)));
}

}  // namespace autodiff
