// The Tensor handle and its leaves (autodiff_lib/engine/tensor.py). Nodes made by primitives
// come from registry.cpp; their destructor is in memory.cpp.
#include "autodiff/tensor.hpp"

#include <atomic>
#include <ostream>
#include <sstream>

#include <xtensor/xio.hpp>

#include "autodiff/registry.hpp"

namespace autodiff {

namespace {
std::atomic<std::uint64_t> creation_order{0};  // numbers every variable, in order of creation

std::shared_ptr<Node> as_leaf(std::shared_ptr<Node> node, bool requires_grad, std::uint64_t trace) {
    node->requires_grad = requires_grad;
    if (requires_grad) {
        node->seq = next_seq();
        node->trace = trace;
    }
    return node;
}

std::shared_ptr<Node> make_leaf(Array value, bool requires_grad, std::uint64_t trace) {
    return as_leaf(make_node([&value] { return std::move(value); }), requires_grad, trace);
}

template <class S>
std::string shape_text(const S& shape) {
    std::ostringstream out;
    out << '(';
    for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    out << (shape.size() == 1 ? ",)" : ")");
    return out.str();
}
}  // namespace

std::uint64_t next_seq() { return ++creation_order; }

void Inputs::clear() {
    for (std::size_t i = 0; i < size_; ++i) items_[i].node_.reset();
    size_ = 0;
}

Tensor::Tensor(double value)
    : node_(as_leaf(make_node([value] { return Array(value); }), false, 0)) {}

Tensor::Tensor(Array value) : node_(make_leaf(std::move(value), false, 0)) {}

Tensor Tensor::leaf(Array value, std::uint64_t trace) {
    return Tensor(make_leaf(std::move(value), true, trace));
}

Tensor Tensor::detach() const { return constant(value()); }

Tensor variable(Array value) { return Tensor(make_leaf(std::move(value), true, 0)); }

Tensor constant(Array value) { return Tensor(std::move(value)); }

std::string shape_string(const Array::shape_type& shape) { return shape_text(shape); }
std::string shape_string(const Shape& shape) { return shape_text(shape); }

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) {
    out << "Tensor(" << tensor.value();
    if (tensor.primitive() != nullptr) {
        out << ", op=" << tensor.primitive()->name;
    } else if (!tensor.requires_grad()) {
        out << ", constant";
    }
    return out << ')';
}

}  // namespace autodiff
