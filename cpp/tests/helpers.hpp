// What the C++ tests share: comparing arrays, and a few functions of the course.
#pragma once

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xio.hpp>

#include "autodiff/autodiff.hpp"

namespace testing {

using autodiff::Array;

// numpy.testing.assert_allclose: same shape, |a - b| <= atol + rtol |b| everywhere.
inline std::string mismatch(const Array& actual, const Array& expected, double rtol, double atol) {
    std::ostringstream out;
    if (actual.shape() != expected.shape()) {
        out << "shapes differ: " << autodiff::shape_string(actual.shape()) << " and "
            << autodiff::shape_string(expected.shape());
        return out.str();
    }
    auto a = actual.begin();
    for (auto b = expected.begin(); b != expected.end(); ++a, ++b) {
        if (!(std::abs(*a - *b) <= atol + rtol * std::abs(*b))) {
            out << "got\n" << actual << "\nexpected\n" << expected;
            return out.str();
        }
    }
    return "";
}

// A column (n, 1): {{1.0}, {2.0}} is ambiguous to xtensor's nested initializer lists.
inline Array column(std::initializer_list<double> values) {
    Array out = xt::zeros<double>({values.size(), std::size_t{1}});
    std::copy(values.begin(), values.end(), out.begin());
    return out;
}

#define CHECK_CLOSE(actual, expected, rtol, atol)                                          \
    do {                                                                                   \
        const std::string problem = testing::mismatch((actual), (expected), (rtol), (atol)); \
        CHECK_MESSAGE(problem.empty(), problem);                                           \
    } while (false)

// x_{k+1} = tanh(x_k) · x_k, k times: each level reads x_k twice (autodiff_lib's shared_chain).
inline autodiff::Tensor shared_chain(autodiff::Tensor x, int k) {
    for (int i = 0; i < k; ++i) x = autodiff::tanh(x) * x;
    return x;
}

// Its derivative by forward mode, by hand: d/dx [tanh(x) x] = (1 − tanh²x) x + tanh x, chained.
inline double shared_chain_derivative(double x, int k) {
    double d = 1.0;
    for (int i = 0; i < k; ++i) {
        const double t = std::tanh(x);
        d *= (1 - t * t) * x + t;
        x = t * x;
    }
    return d;
}

}  // namespace testing
