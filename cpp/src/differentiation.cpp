// The backward sweep, with and without the differential cache, and diff and differentiate on top
// of it (autodiff_lib/engine/differentiation.py).
#include "autodiff/differentiation.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <new>
#include <optional>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <xtensor/xbuilder.hpp>

#include "autodiff/primitives.hpp"
#include "autodiff/registry.hpp"

namespace autodiff {

// -- counting what the engine does ----------------------------------------------------------------
namespace {
thread_local std::vector<OperationCounts*> active_counters;
thread_local bool use_cache = true;
std::atomic<std::uint64_t> traces{0};

void record_counts(std::uint64_t rules, std::uint64_t nodes) {
    for (OperationCounts* counts : active_counters) {
        counts->rule_evaluations += rules;
        counts->nodes_visited += nodes;
    }
}
}  // namespace

OperationCounter::OperationCounter() { active_counters.push_back(this); }
OperationCounter::~OperationCounter() {
    active_counters.erase(std::find(active_counters.begin(), active_counters.end(), this));
}

// -- the switch between backpropagation and the textbook chain rule -------------------------------
CacheSwitch::CacheSwitch(bool enabled) : previous_(use_cache) { use_cache = enabled; }
CacheSwitch::~CacheSwitch() { use_cache = previous_; }
bool differential_cache_enabled() { return use_cache; }

// -- the sweep ------------------------------------------------------------------------------------
std::vector<Tensor> topological_order(const Tensor& y) {
    std::unordered_map<std::uint64_t, Tensor> found{{y.seq(), y}};
    std::vector<Tensor> stack{y};
    while (!stack.empty()) {
        const Tensor node = std::move(stack.back());
        stack.pop_back();
        if (node.primitive() == nullptr) continue;
        for (std::size_t argnum = 0; argnum < node.inputs().size(); ++argnum) {
            const Tensor& parent = node.inputs()[argnum];
            if (parent.requires_grad() && node.primitive()->rule(argnum) != nullptr &&
                found.emplace(parent.seq(), parent).second) {
                stack.push_back(parent);
            }
        }
    }
    std::vector<Tensor> order;
    order.reserve(found.size());
    for (auto& entry : found) order.push_back(entry.second);
    std::sort(order.begin(), order.end(),
              [](const Tensor& a, const Tensor& b) { return a.seq() < b.seq(); });
    return order;
}

namespace {
using Found = std::unordered_map<std::uint64_t, Tensor>;

// Whether t has the shape g.shape[:batch] + shape (then nothing was broadcast).
bool has_shape(const Tensor& t, const Tensor& g, std::size_t batch, const Array::shape_type& shape) {
    const auto& s = t.shape();
    if (s.size() != batch + shape.size()) return false;
    return std::equal(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(batch), g.shape().begin()) &&
           std::equal(s.begin() + static_cast<std::ptrdiff_t>(batch), s.end(), shape.begin());
}

// One rule evaluation: the differential of input `argnum` contributed through `node`.
Tensor local_differential(Rule rule, const Tensor& g, const Tensor& node, std::size_t argnum,
                          std::size_t batch) {
    Tensor contribution = rule(g, node, node.inputs(), node.attributes());
    const auto& shape = node.inputs()[argnum].shape();
    if (!has_shape(contribution, g, batch, shape)) {
        contribution = unbroadcast(contribution, shape, batch);
    }
    return contribution;
}

// The blocks of one map's entries, kept for reuse while it lives: the sweep's map of pending
// nodes makes and erases an entry for every node of the graph, a malloc and a free each otherwise.
struct KeptBlocks {
    std::size_t bytes = 0;  // the size of an entry's block, learnt from the first one freed
    std::vector<void*> blocks;
    KeptBlocks() = default;
    KeptBlocks(const KeptBlocks&) = delete;
    KeptBlocks& operator=(const KeptBlocks&) = delete;
    ~KeptBlocks() {
        for (void* block : blocks) ::operator delete(block);
    }
};

template <class T>
struct Recycling {
    using value_type = T;
    KeptBlocks* kept;
    explicit Recycling(KeptBlocks* blocks) : kept(blocks) {}
    template <class U>
    Recycling(const Recycling<U>& other) : kept(other.kept) {}  // NOLINT: rebinding
    T* allocate(std::size_t n) {
        if (n == 1 && sizeof(T) == kept->bytes && !kept->blocks.empty()) {
            void* block = kept->blocks.back();
            kept->blocks.pop_back();
            return static_cast<T*>(block);
        }
        return static_cast<T*>(::operator new(n * sizeof(T)));
    }
    void deallocate(T* block, std::size_t n) noexcept {
        if (n == 1 && (kept->bytes == 0 || kept->bytes == sizeof(T))) {
            try {
                kept->blocks.push_back(block);
                kept->bytes = sizeof(T);
                return;
            } catch (const std::bad_alloc&) {
            }
        }
        ::operator delete(block);
    }
    template <class U>
    bool operator==(const Recycling<U>& other) const { return kept == other.kept; }
    template <class U>
    bool operator!=(const Recycling<U>& other) const { return kept != other.kept; }
};

// Differentials of y w.r.t. every target, with the differential cache.
//
// Nodes are taken latest-created first (a max-heap on seq), so a node is reached only after
// every node that consumes it: its cached differential is complete, and each rule runs once per
// edge. Iterative, so a chain of any length works.
Found backpropagate(const Tensor& y, const std::vector<Tensor>& targets, const Tensor& seed) {
    std::unordered_set<std::uint64_t> wanted;
    for (const Tensor& t : targets) wanted.insert(t.seq());
    Found found;
    struct Entry {
        Tensor node;
        Tensor g;  // its differential so far: the cache
    };
    KeptBlocks kept;  // outlives the map
    std::unordered_map<std::uint64_t, Entry, std::hash<std::uint64_t>, std::equal_to<>,
                       Recycling<std::pair<const std::uint64_t, Entry>>>
        pending(0, std::hash<std::uint64_t>(), std::equal_to<>(),
                Recycling<std::pair<const std::uint64_t, Entry>>(&kept));
    pending.emplace(y.seq(), Entry{y, seed});
    std::priority_queue<std::uint64_t> heap;
    heap.push(y.seq());
    std::uint64_t rules = 0;
    std::uint64_t visited = 0;
    while (!heap.empty()) {
        const std::uint64_t seq = heap.top();
        heap.pop();
        auto it = pending.find(seq);
        const Entry entry{std::move(it->second)};
        pending.erase(it);
        ++visited;
        if (wanted.count(seq) != 0) found.emplace(seq, entry.g);
        const Primitive* primitive = entry.node.primitive();
        if (primitive == nullptr) continue;
        const std::size_t batch = entry.g.ndim() - entry.node.ndim();
        const Inputs& args = entry.node.inputs();
        for (std::size_t argnum = 0; argnum < args.size(); ++argnum) {
            const Rule rule = primitive->rule(argnum);
            if (rule == nullptr || !args[argnum].requires_grad()) continue;
            Tensor contribution = local_differential(rule, entry.g, entry.node, argnum, batch);
            ++rules;
            const Tensor& parent = args[argnum];
            auto slot = pending.find(parent.seq());
            if (slot == pending.end()) {
                pending.emplace(parent.seq(), Entry{parent, std::move(contribution)});
                heap.push(parent.seq());
            } else {
                slot->second.g = slot->second.g + contribution;
            }
        }
    }
    record_counts(rules, visited);
    return found;
}

// Differentials of y w.r.t. every target, path by path, without the cache.
//
// dy/dx = sum over the inputs c of y of dy/dc * dc/dx, recursively: a node reached by k paths
// is differentiated k times. An explicit stack replaces recursion, so deep graphs still work.
Found textbook_chain_rule(const Tensor& y, const std::vector<Tensor>& targets, const Tensor& seed) {
    std::unordered_set<std::uint64_t> wanted;
    for (const Tensor& t : targets) wanted.insert(t.seq());
    Found found;
    std::vector<std::pair<Tensor, Tensor>> stack{{y, seed}};
    std::uint64_t rules = 0;
    std::uint64_t visited = 0;
    while (!stack.empty()) {
        const auto [node, g] = std::move(stack.back());
        stack.pop_back();
        ++visited;
        if (wanted.count(node.seq()) != 0) {
            auto [slot, inserted] = found.try_emplace(node.seq(), g);
            if (!inserted) slot->second = slot->second + g;
        }
        const Primitive* primitive = node.primitive();
        if (primitive == nullptr) continue;
        const std::size_t batch = g.ndim() - node.ndim();
        const Inputs& args = node.inputs();
        for (std::size_t argnum = 0; argnum < args.size(); ++argnum) {
            const Rule rule = primitive->rule(argnum);
            if (rule == nullptr || !args[argnum].requires_grad()) continue;
            stack.emplace_back(args[argnum], local_differential(rule, g, node, argnum, batch));
            ++rules;
        }
    }
    record_counts(rules, visited);
    return found;
}

Shape shape_of(const Array::shape_type& shape) { return Shape(shape.begin(), shape.end()); }

// The differentials of y w.r.t. targets, each of shape batch + target.shape. Not recorded: the
// rules run on constants only (NoRecording), their results are plain numbers.
std::vector<Tensor> sweep(const Tensor& y, const std::vector<Tensor>& targets,
                          const Shape& batch_shape, bool record) {
    Array seed_value = 1.0;
    if (!batch_shape.empty()) {
        std::size_t n = 1;
        for (std::size_t k : batch_shape) n *= k;
        seed_value = xt::eye<double>(n);
        Shape twice = batch_shape;
        twice.insert(twice.end(), batch_shape.begin(), batch_shape.end());
        seed_value.reshape(twice);
    }
    Found found;
    if (y.requires_grad()) {
        std::optional<NoRecording> plain_numbers;
        if (!record) plain_numbers.emplace();
        const Tensor seed = constant(std::move(seed_value));
        found = use_cache ? backpropagate(y, targets, seed) : textbook_chain_rule(y, targets, seed);
    }
    std::vector<Tensor> out;
    out.reserve(targets.size());
    for (const Tensor& t : targets) {
        auto it = found.find(t.seq());
        if (it != found.end()) {
            out.push_back(it->second);
        } else {
            Shape shape = batch_shape;
            shape.insert(shape.end(), t.shape().begin(), t.shape().end());
            out.push_back(constant(xt::zeros<double>(shape)));
        }
    }
    return out;
}
}  // namespace

// -- the differential operators -------------------------------------------------------------------
std::vector<Tensor> diff(const Tensor& y, const std::vector<Tensor>& xs) {
    for (const Tensor& x : xs) {
        if (!x.requires_grad()) {
            throw std::invalid_argument(
                "diff: x is a constant (shape " + shape_string(x.shape()) +
                "), so nothing is computed w.r.t. it; make it a variable: autodiff::variable(x)");
        }
    }
    return sweep(y, xs, shape_of(y.shape()), true);
}

Tensor diff(const Tensor& y, const Tensor& x) { return diff(y, std::vector<Tensor>{x})[0]; }

namespace detail {
std::uint64_t new_trace() { return ++traces; }

Differentiated differentiate(const ListFunction& f, const std::vector<Tensor>& variables,
                             std::uint64_t trace, bool outer, bool may_record, const char* name,
                             bool scalar) {
    Tensor y = f(variables);
    if (scalar && y.ndim() != 0) {
        throw std::invalid_argument(std::string(name) +
                                    ": f must return a scalar, got an output of shape " +
                                    shape_string(y.shape()) + "; use jacobian for non-scalar outputs");
    }
    // The derivative is recorded when someone outside may differentiate it again: an argument
    // was already a variable, or f read variables older than this call's own.
    const bool record = may_record && (outer || (y.requires_grad() && y.trace() < trace));
    std::vector<Tensor> derivatives = sweep(y, variables, shape_of(y.shape()), record);
    return {std::move(y), std::move(derivatives)};
}
}  // namespace detail

}  // namespace autodiff
