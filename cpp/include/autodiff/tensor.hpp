// The Tensor: a float64 array that remembers how it was computed (autodiff_lib/engine/tensor.py).
//
// A Tensor is a handle to a node of the computational graph. A *variable* is something we may
// differentiate with respect to; a *constant* (constant(x), or any plain number or xt::xarray,
// which convert to constants implicitly, as plain arrays are constants in Python) is not, and
// the engine computes no derivative along paths that reach only constants. A node computed by
// a primitive owns its value and shares ownership of its inputs: that is all the reverse sweep
// needs, and all that keeps the graph alive (see memory.cpp for how it is freed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xstrided_view.hpp>

namespace autodiff {

using Array = xt::xarray<double>;     // numpy's ndarray of float64: the rank is known at run time
using Shape = std::vector<std::size_t>;
// x[1, 0:2, :] is getitem(x, {1, xt::range(0, 2), xt::all()}): xtensor's own slices.
using Index = xt::xstrided_slice_vector;

class Tensor;
class Inputs;
struct Node;
struct Primitive;

// Which axes a reduction runs over: all of them by default (Python's axis=None), one axis, or a
// list; negative axes count from the end, as in numpy.
class Axes {
public:
    Axes() = default;
    Axes(int axis) : all_(false), axes_{axis} {}  // NOLINT: sum(x, 1) as in numpy
    Axes(std::initializer_list<std::ptrdiff_t> axes) : all_(false), axes_(axes) {}
    explicit Axes(std::vector<std::ptrdiff_t> axes) : all_(false), axes_(std::move(axes)) {}
    bool all() const { return all_; }
    const std::vector<std::ptrdiff_t>& list() const { return axes_; }

private:
    bool all_ = true;
    std::vector<std::ptrdiff_t> axes_;
};

// The arguments of a primitive that are not tensors (keyword arguments in Python). Each
// primitive reads the fields it needs; rules see them too.
struct Attributes {
    Axes axes;                       // sum, mean
    bool keepdims = false;           // sum, mean
    Shape shape;                     // reshape, broadcast_to, scatter_add: the shape made
    std::vector<std::size_t> order;  // transpose: the permutation of the axes
    Index index;                     // getitem, scatter_add
};

class Tensor {
public:
    Tensor(double value);        // NOLINT(google-explicit-constructor): numbers are constants
    Tensor(Array value);         // NOLINT(google-explicit-constructor): so are plain arrays
    Tensor(const Tensor&) = default;
    Tensor(Tensor&&) noexcept = default;
    Tensor& operator=(const Tensor&) = default;
    Tensor& operator=(Tensor&&) noexcept = default;

    const Array& value() const;
    const Array::shape_type& shape() const;
    std::size_t ndim() const;
    std::size_t size() const;
    bool requires_grad() const;  // false for constants
    // The primitive that computed this node, or nullptr for leaves (variables, constants).
    const Primitive* primitive() const;
    const Inputs& inputs() const;
    const Attributes& attributes() const;
    std::uint64_t seq() const;    // creation order of variables: a topological order for free
    std::uint64_t trace() const;  // the oldest differentiation the value depends on
    std::shared_ptr<const Node> node() const { return node_; }
    long use_count() const { return node_.use_count(); }  // handles sharing this node

    Tensor detach() const;  // the same values as a constant: derivatives stop here

    // A variable over `value` made by grad for differentiation number `trace`.
    static Tensor leaf(Array value, std::uint64_t trace);
    // A node made by a primitive (registry.cpp decides what it records).
    explicit Tensor(std::shared_ptr<Node> node) : node_(std::move(node)) {}

private:
    friend struct Node;    // its destructor takes over inputs (memory.cpp)
    friend class Inputs;   // holds empty handles in its unused places
    Tensor() = default;    // an empty handle: only Inputs makes them
    std::shared_ptr<Node> node_;
};

// The inputs of a node, kept in the node itself: no primitive has more than three (where has
// three), and a vector would cost an allocation per operation. Read like a vector: x[0], size(),
// a range-for.
class Inputs {
public:
    static constexpr std::size_t capacity = 3;
    Inputs() = default;
    // apply(p, {x, y}): each input copied once, straight into its place (an initializer_list
    // would copy it twice, and each copy of a handle is an atomic increment and decrement).
    template <class... T, class = std::enable_if_t<(std::is_convertible_v<T&&, Tensor> && ...)>>
    Inputs(T&&... inputs)  // NOLINT(google-explicit-constructor): {x, y}
        : items_{Tensor(std::forward<T>(inputs))...}, size_(sizeof...(T)) {
        static_assert(sizeof...(T) <= capacity, "a primitive takes at most three tensors");
    }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const Tensor& operator[](std::size_t i) const { return items_[i]; }
    Tensor& operator[](std::size_t i) { return items_[i]; }
    const Tensor* begin() const { return items_; }
    const Tensor* end() const { return items_ + size_; }
    Tensor* begin() { return items_; }
    Tensor* end() { return items_ + size_; }
    void clear();

private:
    Tensor items_[capacity];
    std::size_t size_ = 0;
};

// A node of the graph. Immutable once made: rules and sweeps only read it.
struct Node {
    Array value;  // evaluated, never a lazy xtensor expression
    bool requires_grad = false;
    const Primitive* primitive = nullptr;  // nullptr for leaves and constants
    Inputs inputs;                         // older nodes only: the graph has no cycles
    Attributes attributes;
    std::uint64_t seq = 0;
    std::uint64_t trace = 0;

    // Made with its value: a default xt::xarray is 0-d and holds one element, which would be
    // allocated only to be replaced. The value is built in place, from what compute() returns
    // (C++17 elides that copy): moving an xt::xarray is not free, xtensor 0.24 swaps its shape,
    // strides and backstrides element by element, zeroing them first, about 400 instructions.
    struct InPlace {};
    template <class Compute>
    Node(InPlace, Compute&& compute) : value(compute()) {}
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    ~Node();  // memory.cpp: frees a chain of any length without recursion

private:
    static void take_last_references(Inputs& inputs, std::vector<Tensor>& worklist);
};

// Nodes are made and freed by the thousand in a sweep, most of them a few hundred bytes, a size
// that glibc's malloc keeps only seven of at hand (its tcache): every other one went through its
// slower bins. Each thread keeps a cache of freed node blocks instead (memory.cpp); make_node
// builds a node there, with its value in place.
namespace detail {
void* node_block(std::size_t bytes);
void free_node_block(void* block, std::size_t bytes) noexcept;

template <class T>
struct NodeAllocator {
    using value_type = T;
    NodeAllocator() = default;
    template <class U>
    NodeAllocator(const NodeAllocator<U>&) {}  // NOLINT: rebinding, as std::allocate_shared does
    T* allocate(std::size_t n) { return static_cast<T*>(node_block(n * sizeof(T))); }
    void deallocate(T* block, std::size_t n) noexcept { free_node_block(block, n * sizeof(T)); }
    template <class U>
    bool operator==(const NodeAllocator<U>&) const { return true; }
    template <class U>
    bool operator!=(const NodeAllocator<U>&) const { return false; }
};
}  // namespace detail

// A new node whose value is what compute() returns, built in place.
template <class Compute>
std::shared_ptr<Node> make_node(Compute&& compute) {
    return std::allocate_shared<Node>(detail::NodeAllocator<Node>(), Node::InPlace{},
                                      std::forward<Compute>(compute));
}

Tensor variable(Array value);  // Python's Tensor(x): a fresh leaf to differentiate w.r.t.
Tensor constant(Array value);  // no derivative is computed along paths reaching only constants

// The next number in creation order (shared by every thread; numbers only grow).
std::uint64_t next_seq();

// "(2, 3)", "(4,)" and "()": shapes written as Python writes tuples, so that messages read the
// same in both libraries.
std::string shape_string(const Array::shape_type& shape);
std::string shape_string(const Shape& shape);

std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

// -- inline accessors -----------------------------------------------------------------------------
inline const Array& Tensor::value() const { return node_->value; }
inline const Array::shape_type& Tensor::shape() const { return node_->value.shape(); }
inline std::size_t Tensor::ndim() const { return node_->value.dimension(); }
inline std::size_t Tensor::size() const { return node_->value.size(); }
inline bool Tensor::requires_grad() const { return node_->requires_grad; }
inline const Primitive* Tensor::primitive() const { return node_->primitive; }
inline const Inputs& Tensor::inputs() const { return node_->inputs; }
inline const Attributes& Tensor::attributes() const { return node_->attributes; }
inline std::uint64_t Tensor::seq() const { return node_->seq; }
inline std::uint64_t Tensor::trace() const { return node_->trace; }

}  // namespace autodiff
