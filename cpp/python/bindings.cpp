// autodiff_cpp: the C++ port seen from Python, for checking it against autodiff_lib (and nothing
// else: it is not a second user API). Arrays are copied in and out; numbers and numpy arrays
// passed where a Tensor is expected become constants, as plain arrays do in autodiff_lib. The
// names mirror autodiff_lib's, so that one Python program (tests/random_programs.py's random
// expression graphs) runs through both libraries: tests/cpp/test_cpp_crosscheck.py.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <sstream>

#include "autodiff/autodiff.hpp"
#include "numpy_array.hpp"

namespace py = pybind11;
using namespace autodiff;
using autodiff::python::NumpyArray;
using autodiff::python::to_array;
using autodiff::python::to_numpy;

namespace {

// A Tensor as it is, anything else (a number, a list, a numpy array of any real dtype, booleans
// included) as a constant.
Tensor as_tensor(const py::handle& object) {
    if (py::isinstance<Tensor>(object)) return object.cast<Tensor>();
    return constant(to_array(NumpyArray::ensure(object)));
}

Axes as_axes(const py::object& axis) {
    if (axis.is_none()) return Axes();
    if (py::isinstance<py::int_>(axis)) return Axes(axis.cast<int>());
    return Axes(axis.cast<std::vector<std::ptrdiff_t>>());
}

Function as_function(const py::function& f) {
    return [f](const Tensor& x) { return as_tensor(f(x)); };
}

py::tuple shape_tuple(const Tensor& t) { return py::cast(std::vector<std::size_t>(t.shape().begin(), t.shape().end())); }

// `with count_operations() as ops:` and `with differential_cache(False):` around the C++ guards.
struct Counting {
    std::unique_ptr<OperationCounter> counter;
    OperationCounts final_counts;
    const OperationCounts& counts() const { return counter ? *counter : final_counts; }
};

struct CacheSetting {
    bool enabled;
    std::unique_ptr<CacheSwitch> guard;
};

}  // namespace

PYBIND11_MODULE(autodiff_cpp, m) {
    m.doc() = "The C++ port of autodiff_lib (cpp/), bound for the cross-check and benchmarks.";

    py::class_<Tensor>(m, "Tensor")
        .def_property_readonly("value", [](const Tensor& t) { return to_numpy(t.value()); })
        .def_property_readonly("shape", &shape_tuple)
        .def_property_readonly("ndim", &Tensor::ndim)
        .def_property_readonly("size", &Tensor::size)
        .def_property_readonly("requires_grad", &Tensor::requires_grad)
        .def_property_readonly("seq", &Tensor::seq)
        .def_property_readonly("op", [](const Tensor& t) -> py::object {
            if (t.primitive() == nullptr) return py::none();
            return py::str(t.primitive()->name);
        })
        .def("__add__", [](const Tensor& a, const py::object& b) { return a + as_tensor(b); })
        .def("__radd__", [](const Tensor& a, const py::object& b) { return as_tensor(b) + a; })
        .def("__sub__", [](const Tensor& a, const py::object& b) { return a - as_tensor(b); })
        .def("__rsub__", [](const Tensor& a, const py::object& b) { return as_tensor(b) - a; })
        .def("__mul__", [](const Tensor& a, const py::object& b) { return a * as_tensor(b); })
        .def("__rmul__", [](const Tensor& a, const py::object& b) { return as_tensor(b) * a; })
        .def("__truediv__", [](const Tensor& a, const py::object& b) { return a / as_tensor(b); })
        .def("__rtruediv__", [](const Tensor& a, const py::object& b) { return as_tensor(b) / a; })
        .def("__pow__", [](const Tensor& a, const py::object& b) { return power(a, as_tensor(b)); })
        .def("__rpow__", [](const Tensor& a, const py::object& b) { return power(as_tensor(b), a); })
        .def("__matmul__", [](const Tensor& a, const py::object& b) { return matmul(a, as_tensor(b)); })
        .def("__rmatmul__", [](const Tensor& a, const py::object& b) { return matmul(as_tensor(b), a); })
        .def("__neg__", [](const Tensor& a) { return -a; })
        .def("__gt__", [](const Tensor& a, const py::object& b) { return a > as_tensor(b); })
        .def("__lt__", [](const Tensor& a, const py::object& b) { return a < as_tensor(b); })
        .def("__repr__", [](const Tensor& t) {
            std::ostringstream out;
            out << t;
            return out.str();
        });
    // numpy defers to the Tensor's reflected operators (ndarray + Tensor calls Tensor.__radd__)
    // instead of looping over the array with the Tensor as an object.
    m.attr("Tensor").attr("__array_ufunc__") = py::none();

    m.def("variable", [](const NumpyArray& x) { return variable(to_array(x)); });
    m.def("constant", [](const NumpyArray& x) { return constant(to_array(x)); });

    // -- the primitives -------------------------------------------------------------------------
#define UNARY(name) m.def(#name, [](const py::object& x) { return autodiff::name(as_tensor(x)); })
#define BINARY(name)                                                           \
    m.def(#name, [](const py::object& x, const py::object& y) {                \
        return autodiff::name(as_tensor(x), as_tensor(y));                     \
    })
    BINARY(add);
    BINARY(subtract);
    BINARY(multiply);
    BINARY(divide);
    BINARY(power);
    BINARY(maximum);
    BINARY(matmul);
    BINARY(dot);
    BINARY(matvec);
    UNARY(negative);
    UNARY(exp);
    UNARY(log);
    UNARY(sqrt);
    UNARY(tanh);
    UNARY(sin);
    UNARY(cos);
    UNARY(sinh);
    UNARY(cosh);
    UNARY(sign);
    UNARY(abs);
#undef UNARY
#undef BINARY
    m.def("where", [](const py::object& c, const py::object& x, const py::object& y) {
        return where(as_tensor(c), as_tensor(x), as_tensor(y));
    });
    m.def(
        "sum",
        [](const py::object& x, const py::object& axis, bool keepdims) {
            return sum(as_tensor(x), as_axes(axis), keepdims);
        },
        py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false);
    m.def(
        "mean",
        [](const py::object& x, const py::object& axis, bool keepdims) {
            return mean(as_tensor(x), as_axes(axis), keepdims);
        },
        py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false);
    m.def("reshape", [](const py::object& x, const std::vector<std::ptrdiff_t>& shape) {
        return reshape(as_tensor(x), shape);
    });
    m.def(
        "transpose",
        [](const py::object& x, const std::optional<std::vector<std::size_t>>& axes) {
            return axes ? transpose(as_tensor(x), *axes) : transpose(as_tensor(x));
        },
        py::arg("x"), py::arg("axes") = py::none());
    m.def("broadcast_to", [](const py::object& x, const Shape& shape) {
        return broadcast_to(as_tensor(x), shape);
    });

    // -- differentiation ------------------------------------------------------------------------
    m.def("diff", [](const Tensor& y, const Tensor& x) { return diff(y, x); });
    m.def("diff", [](const Tensor& y, const std::vector<Tensor>& xs) { return diff(y, xs); });
    m.def("grad", [](const py::function& f, const NumpyArray& x) {
        return to_numpy(grad(as_function(f))(to_array(x)));
    });
    m.def("jacobian", [](const py::function& f, const NumpyArray& x) {
        return to_numpy(jacobian(as_function(f))(to_array(x)));
    });
    m.def("hessian", [](const py::function& f, const NumpyArray& x) {
        return to_numpy(hessian(as_function(f))(to_array(x)));
    });

    py::class_<Counting>(m, "count_operations")
        .def(py::init<>())
        .def("__enter__", [](Counting& c) -> Counting& {
            c.counter = std::make_unique<OperationCounter>();
            return c;
        }, py::return_value_policy::reference)
        .def("__exit__", [](Counting& c, const py::args&) {
            c.final_counts = *c.counter;
            c.counter.reset();
        })
        .def_property_readonly("rule_evaluations", [](const Counting& c) { return c.counts().rule_evaluations; })
        .def_property_readonly("nodes_visited", [](const Counting& c) { return c.counts().nodes_visited; });

    py::class_<CacheSetting>(m, "differential_cache")
        .def(py::init([](bool enabled) { return CacheSetting{enabled, nullptr}; }))
        .def("__enter__", [](CacheSetting& s) { s.guard = std::make_unique<CacheSwitch>(s.enabled); })
        .def("__exit__", [](CacheSetting& s, const py::args&) { s.guard.reset(); });
    // C++ exceptions reach Python as autodiff_lib's: pybind11 turns std::invalid_argument and
    // std::domain_error into ValueError, std::out_of_range into IndexError.
}
