// The benchmark workloads of benchmarks/ in C++, each loop driven from C++: Python makes a
// workload once from numpy data, then times run(repeats), which evaluates the gradient `repeats`
// times without returning to Python (a Python call per operation would measure the binding, not
// the port). result() hands the last gradient back, so that every column is checked against the
// numpy floor before it is timed. This file is compiled into one module per build flavour
// (AUTODIFF_BENCH_MODULE: -O2, -O3 -march=native, and the same with xsimd).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "../python/numpy_array.hpp"

namespace py = pybind11;
using namespace autodiff;
using autodiff::python::NumpyArray;
using autodiff::python::to_array;
using autodiff::python::to_numpy;

namespace {

// benchmarks/per_op.py: value and gradient of 1000 alternating sin(x), x * 1.1 on a size-1 array.
struct PerOperation {
    Array x;
    int operations;
    double value = 0.0;
    Array gradient;

    void run(int repeats) {
        const int half = operations / 2;
        const auto f = [half](const Tensor& start) {
            Tensor x = start;
            for (int i = 0; i < half; ++i) x = sin(x) * 1.1;
            return sum(x);
        };
        for (int r = 0; r < repeats; ++r) std::tie(value, gradient) = value_and_grad(f)(x);
    }
};

// benchmarks/chain.py: x ← tanh(x)·x + x, k steps, gradient of sum(x_k).
struct Chain {
    Array x;
    int steps;
    Array gradient;

    void run(int repeats) {
        const int k = steps;
        const auto f = [k](const Tensor& start) {
            Tensor x = start;
            for (int i = 0; i < k; ++i) x = tanh(x) * x + x;
            return sum(x);
        };
        for (int r = 0; r < repeats; ++r) gradient = grad(f)(x);
    }
};

// benchmarks/mlp.py: loss mean((tanh(x W1 + b1) W2 + b2 − y)²) and its gradient w.r.t. all four.
struct MLP {
    std::vector<Array> params;
    Array x;
    Array y;
    double loss = 0.0;
    std::vector<Array> gradients;

    void run(int repeats) {
        const Tensor inputs = constant(x);
        const Tensor targets = constant(y);
        const auto f = [&inputs, &targets](const std::vector<Tensor>& p) {
            const Tensor residual = matmul(tanh(matmul(inputs, p[0]) + p[1]), p[2]) + p[3] - targets;
            return mean(power(residual, 2.0));
        };
        for (int r = 0; r < repeats; ++r) std::tie(loss, gradients) = value_and_grad(f)(params);
    }
};

// benchmarks/hessian.py: the Hessian of ½ xᵀAx + bᵀx + Σ log cosh x.
struct Hessian {
    Array A;
    Array b;
    Array x;
    Array result;

    void run(int repeats) {
        const Tensor A_ = constant(A);
        const Tensor b_ = constant(b);
        const auto f = [&A_, &b_](const Tensor& x) {
            return 0.5 * dot(x, matmul(A_, x)) + dot(b_, x) + sum(log(cosh(x)));
        };
        for (int r = 0; r < repeats; ++r) result = hessian(f)(x);
    }
};

}  // namespace

PYBIND11_MODULE(AUTODIFF_BENCH_MODULE, m) {
    m.doc() = "The C++ port's benchmark workloads, built with: " AUTODIFF_BENCH_FLAGS;
    m.attr("flags") = AUTODIFF_BENCH_FLAGS;

    py::class_<PerOperation>(m, "PerOperation")
        .def(py::init([](const NumpyArray& x, int operations) {
            return PerOperation{to_array(x), operations, 0.0, {}};
        }))
        .def("run", &PerOperation::run, py::arg("repeats") = 1)
        .def("result", [](const PerOperation& w) { return py::make_tuple(w.value, to_numpy(w.gradient)); });

    py::class_<Chain>(m, "Chain")
        .def(py::init([](const NumpyArray& x, int steps) { return Chain{to_array(x), steps, {}}; }))
        .def("run", &Chain::run, py::arg("repeats") = 1)
        .def("result", [](const Chain& w) { return to_numpy(w.gradient); });

    py::class_<MLP>(m, "MLP")
        .def(py::init([](const std::vector<NumpyArray>& params, const NumpyArray& x, const NumpyArray& y) {
            std::vector<Array> p;
            for (const auto& a : params) p.push_back(to_array(a));
            return MLP{p, to_array(x), to_array(y), 0.0, {}};
        }))
        .def("run", &MLP::run, py::arg("repeats") = 1)
        .def("result", [](const MLP& w) {
            py::list gradients;
            for (const Array& g : w.gradients) gradients.append(to_numpy(g));
            return py::make_tuple(w.loss, gradients);
        });

    py::class_<Hessian>(m, "Hessian")
        .def(py::init([](const NumpyArray& A, const NumpyArray& b, const NumpyArray& x) {
            return Hessian{to_array(A), to_array(b), to_array(x), {}};
        }))
        .def("run", &Hessian::run, py::arg("repeats") = 1)
        .def("result", [](const Hessian& w) { return to_numpy(w.result); });

    m.def("nothing", [](int) {}, "an empty call: what one call from Python costs");
}
