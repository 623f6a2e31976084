// Memory: reference counting frees every intermediate as soon as its last handle goes (seen
// through std::weak_ptr, as the Python tests see it through weakref), and a graph of any depth
// is built, differentiated and freed without deep recursion (memory.cpp).
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <functional>
#include <memory>
#include <optional>

#include "helpers.hpp"

using namespace autodiff;

namespace {
using Refs = std::vector<std::weak_ptr<const Node>>;

std::size_t alive(const Refs& refs) {
    std::size_t n = 0;
    for (const auto& ref : refs) n += ref.expired() ? 0 : 1;
    return n;
}

// The loss of the Python test, keeping weak references to its intermediates.
std::function<Tensor(const Tensor&)> loss_keeping_refs(Refs& refs) {
    return [&refs](const Tensor& w) {
        const Tensor h = tanh(w * 2.0);
        const Tensor z = h * h + w;
        refs.emplace_back(h.node());
        refs.emplace_back(z.node());
        return sum(z);
    };
}

// Run `body` on a thread whose stack is `stack_bytes`: a recursion that grows with the graph
// would overflow it long before the graphs below end.
void on_small_stack(std::size_t stack_bytes, std::function<void()> body) {
    pthread_attr_t attributes;
    REQUIRE(pthread_attr_init(&attributes) == 0);
    REQUIRE(pthread_attr_setstacksize(&attributes, stack_bytes) == 0);
    pthread_t thread;
    const auto run = [](void* argument) -> void* {
        (*static_cast<std::function<void()>*>(argument))();
        return nullptr;
    };
    REQUIRE(pthread_create(&thread, &attributes, run, &body) == 0);
    REQUIRE(pthread_join(thread, nullptr) == 0);
    pthread_attr_destroy(&attributes);
}

constexpr std::size_t SMALL_STACK = 1 << 20;  // 1 MiB; a thread's default here is 8 MiB

// Whether `body` on a small stack ends normally, run in a child process: if it overflows the
// stack, only the child dies.
bool survives_on_small_stack(std::function<void()> body) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        on_small_stack(SMALL_STACK, body);
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The plain alternative: each link owns the next through a shared_ptr, with the destructors
// the compiler writes, which release the next link from inside their own call.
struct Link {
    std::shared_ptr<Link> next;
};
}  // namespace

TEST_CASE("the intermediates of a finished backward pass are freed") {
    Refs refs;
    const Array g = grad(loss_keeping_refs(refs))(Array{0.0, 1.0, 2.0});
    CHECK(g.shape() == Array::shape_type{3});
    REQUIRE(refs.size() == 2);
    CHECK_MESSAGE(alive(refs) == 0, "an intermediate tensor outlived grad");
}

TEST_CASE("a graph lives as long as its output and the derivatives recorded from it") {
    Refs ignored;
    const Tensor x = variable(Array{0.0, 1.0, 2.0});
    std::optional<Tensor> y = loss_keeping_refs(ignored)(x);
    std::optional<Tensor> dy_dx = diff(*y, x);  // recorded: its own graph refers to y's nodes
    Refs refs;
    for (const Tensor& node : topological_order(*y)) {
        if (node.seq() != x.seq()) refs.emplace_back(node.node());
    }
    CHECK(refs.size() == 5);  // multiply, tanh, multiply, add, sum
    CHECK(alive(refs) == 5);
    y.reset();
    CHECK_MESSAGE(alive(refs) > 0, "the recorded derivative still needs them");
    dy_dx.reset();
    CHECK(alive(refs) == 0);
    CHECK(x.use_count() == 1);  // only this handle: no node holds x any more
}

TEST_CASE("a node holds its inputs, and a constant result holds nothing") {
    const Tensor x = variable(Array{1.0, 2.0});
    {
        const Tensor y = x * 2.0;
        CHECK(x.use_count() == 2);  // this handle and y's inputs
        const Tensor c = constant(Array{1.0}) * 2.0;
        CHECK(c.inputs().empty());
    }
    CHECK(x.use_count() == 1);
}

TEST_CASE("a chain of 1 000 000 operations is built, differentiated and freed on a 1 MiB stack") {
    static constexpr int n = 1000000;
    on_small_stack(SMALL_STACK, [] {
        std::weak_ptr<const Node> first;
        std::weak_ptr<const Node> last;
        double gradient = 0.0;
        {
            auto chain = count_operations();
            gradient = grad([&](const Tensor& x0) {
                Tensor x = sin(x0);
                first = x.node();
                for (int i = 1; i < n; ++i) x = sin(x);
                last = x.node();
                return x;
            })(0.5);
            CHECK(chain.rule_evaluations == n);
            CHECK(chain.nodes_visited == n + 1);
        }
        CHECK(first.expired());
        CHECK(last.expired());
        double value = 0.5;  // forward mode by hand: the product of cos along the chain
        double derivative = 1.0;
        for (int i = 0; i < n; ++i) {
            derivative *= std::cos(value);
            value = std::sin(value);
        }
        CHECK(gradient == doctest::Approx(derivative).epsilon(1e-9));
    });
}

TEST_CASE("a chain whose every node reads its input twice (y = y * y) is freed on a small stack") {
    static constexpr int n = 300000;
    on_small_stack(SMALL_STACK, [] {
        std::weak_ptr<const Node> first;
        {
            const Tensor x = variable(Array(1.0));
            Tensor y = x * x;
            first = y.node();
            for (int i = 1; i < n; ++i) y = y * y;
            CHECK(y.value()() == 1.0);
            CHECK(!first.expired());
        }
        CHECK(first.expired());
    });
}

TEST_CASE("the recorded graph of a Hessian of a deep chain is freed on a small stack too") {
    on_small_stack(SMALL_STACK, [] {
        std::weak_ptr<const Node> inner;
        {
            const Tensor x = variable(Array{0.3, -0.2});
            Tensor y = x;
            for (int i = 0; i < 20000; ++i) y = tanh(y) * 0.999;
            const Tensor dy = diff(sum(y), x);  // recorded: a second chain of rules
            inner = dy.node();
            const Tensor d2 = diff(sum(dy), x);
            CHECK(d2.shape() == Array::shape_type{2});
        }
        CHECK(inner.expired());
    });
}

TEST_CASE("the same length of plain shared_ptr links, freed recursively, overflows that stack") {
    static constexpr int n = 1000000;
    const auto free_a_chain_of_links = [] {
        auto head = std::make_shared<Link>();
        for (int i = 1; i < n; ++i) head = std::make_shared<Link>(Link{head});
    };  // head's destructor runs n destructors deep
    const auto free_a_chain_of_nodes = [] {
        Tensor y = variable(Array(1.0));
        for (int i = 1; i < n; ++i) y = -y;
    };
    CHECK_FALSE(survives_on_small_stack(free_a_chain_of_links));
    CHECK(survives_on_small_stack(free_a_chain_of_nodes));
}

TEST_CASE("a graph made on one thread is differentiated and freed on another") {
    // Each thread keeps the blocks of the nodes it frees (memory.cpp): blocks made on the
    // worker go back to this thread's cache, and the worker's own cache goes when it ends.
    std::optional<Tensor> y;
    std::weak_ptr<const Node> inner;
    const Tensor x = variable(Array{0.5, -1.0});
    on_small_stack(SMALL_STACK, [&] {
        Tensor z = x;
        for (int i = 0; i < 1000; ++i) {
            const Tensor t = tanh(z);
            inner = t.node();  // tanh's rule reads its output: a recorded derivative holds it
            z = t * 1.01;
        }
        y = sum(z);
        const Tensor scratch = sum(sin(x) * 2.0);  // made and freed on the worker
    });
    CHECK_FALSE(inner.expired());
    std::optional<Tensor> dy = diff(*y, x);
    CHECK(dy->shape() == Array::shape_type{2});
    y.reset();
    CHECK_FALSE(inner.expired());  // the recorded derivative holds the graph
    dy.reset();
    CHECK(inner.expired());
    CHECK(x.use_count() == 1);
}
