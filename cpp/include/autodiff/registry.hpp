// The registry of primitives and their derivative rules (autodiff_lib/engine/registry.py).
//
// A primitive is a forward computation on arrays, and one derivative rule per argument, declared
// together, in the style of HIPS autograd:
//
//     const Primitive tanh_primitive = defvjp(
//         primitive("tanh", [](Args x, Attr) -> Array { return xt::tanh(x[0].value()); }),
//         [](G g, Ans ans, Args, Attr) { return g * (1.0 - ans * ans); });
//
// A rule receives the incoming differential g (shape batch + ans.shape: leading batch axes carry
// several differentials at once, see differentiation.hpp), the output ans and the inputs, as
// Tensors, and returns the differential of its input. Rules are written with the library's own
// operations, so they are differentiable again: that is where Hessians come from. A rule may
// return a result that is still broadcast; the engine undoes broadcasting in one place
// (unbroadcast in primitives.hpp).
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "autodiff/tensor.hpp"

namespace autodiff {

// A vector-Jacobian product. A plain function pointer, not a std::function: a lambda that
// captures anything does not convert to it, so no rule can hold a handle to a node (its own
// output would make a cycle that reference counting never frees). It gets what it needs as
// arguments instead.
using Rule = Tensor (*)(const Tensor& g, const Tensor& ans, const Inputs& args,
                        const Attributes& attributes);
// The forward computation, on the inputs' values; returns an evaluated array.
using Forward = Array (*)(const Inputs& args, const Attributes& attributes);

// Short names for the parameters of forward functions and rules, so that a rule reads as one
// line: [](G g, Ans ans, Args x, Attr) { return g * (1.0 - ans * ans); }
namespace signature {
using G = const Tensor&;
using Ans = const Tensor&;
using Args = const Inputs&;
using Attr = const Attributes&;
}  // namespace signature

// A named forward computation and its derivative rules (nullptr: not differentiable w.r.t. that
// argument, like a condition or a constant matrix).
struct Primitive {
    std::string name;
    Forward forward = nullptr;
    std::vector<Rule> vjps;

    Rule rule(std::size_t argnum) const { return argnum < vjps.size() ? vjps[argnum] : nullptr; }
};

inline Primitive primitive(std::string name, Forward forward) {
    return Primitive{std::move(name), forward, {}};
}

// Declare the rules of a primitive, one per positional argument (nullptr where there is none).
template <class... Rules>
Primitive defvjp(Primitive primitive, Rules... rules) {
    static_assert((std::is_convertible_v<Rules, Rule> && ...),
                  "a derivative rule is a lambda [](G g, Ans ans, Args x, Attr a) {...} that "
                  "captures nothing: it gets the node and its inputs as arguments");
    primitive.vjps = {static_cast<Rule>(rules)...};
    return primitive;
}

// Run the forward computation and record a node if any input is a variable (and recording is
// on): the node keeps the primitive, its inputs and attributes. Otherwise the result is a
// constant and the inputs are not kept. Errors from the forward computation come back naming
// the primitive and the shapes it was given.
Tensor apply(const Primitive& primitive, Inputs args, Attributes attributes = {});

// While a NoRecording object lives (on this thread), primitives record no graph: every result
// is a constant. A sweep whose result nobody differentiates again runs its rules this way
// (the Python library passes them plain arrays instead).
class NoRecording {
public:
    NoRecording();
    ~NoRecording();
    NoRecording(const NoRecording&) = delete;
    NoRecording& operator=(const NoRecording&) = delete;

private:
    bool previous_;
};

bool recording();  // false while a NoRecording lives

// "add: shapes cannot be broadcast together (got shape (2, 3), shape (4,))": the message of
// every error raised about a primitive's input, as in Python.
std::string input_error(const std::string& name, const std::string& reason, const Inputs& args);

}  // namespace autodiff
