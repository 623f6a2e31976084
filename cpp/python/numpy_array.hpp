// Arrays between numpy and the port, copied in and out: the one conversion of the Python module
// (bindings.cpp) and the benchmark modules (cpp/benchmarks/workloads.cpp).
#pragma once

#include <algorithm>
#include <vector>

#include <pybind11/numpy.h>

#include "autodiff/autodiff.hpp"

namespace autodiff::python {

// Any real dtype and layout converts on the way in (forcecast): the port holds C-ordered doubles.
using NumpyArray = pybind11::array_t<double, pybind11::array::c_style | pybind11::array::forcecast>;

inline Array to_array(const NumpyArray& a) {
    Array out = Array::from_shape(std::vector<std::size_t>(a.shape(), a.shape() + a.ndim()));
    std::copy(a.data(), a.data() + a.size(), out.data());
    return out;
}

inline NumpyArray to_numpy(const Array& a) {
    NumpyArray out(std::vector<pybind11::ssize_t>(a.shape().begin(), a.shape().end()));
    std::copy(a.begin(), a.end(), out.mutable_data());
    return out;
}

}  // namespace autodiff::python
