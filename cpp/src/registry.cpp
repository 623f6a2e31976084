// Recording a primitive's call in the graph (autodiff_lib/engine/registry.py: _apply,
// _input_error).
#include "autodiff/registry.hpp"

#include <algorithm>
#include <exception>

#include <xtensor/xexception.hpp>

namespace autodiff {

namespace {
thread_local bool recording_enabled = true;
}  // namespace

NoRecording::NoRecording() : previous_(recording_enabled) { recording_enabled = false; }
NoRecording::~NoRecording() { recording_enabled = previous_; }
bool recording() { return recording_enabled; }

std::string input_error(const std::string& name, const std::string& reason, const Inputs& args) {
    std::string shapes;
    for (const Tensor& arg : args) {
        shapes += (shapes.empty() ? "shape " : ", shape ") + shape_string(arg.shape());
    }
    return name + ": " + reason + " (got " + shapes + ")";
}

namespace {
// The forward computation; an error from it comes back naming the primitive and the shapes.
Array run_forward(const Primitive& primitive, const Inputs& args, const Attributes& attributes) {
    try {
        return primitive.forward(args, attributes);
    } catch (const std::logic_error&) {
        throw;  // invalid_argument, domain_error, out_of_range: already phrased for the user
    } catch (const xt::broadcast_error&) {
        throw std::invalid_argument(
            input_error(primitive.name, "shapes cannot be broadcast together", args));
    } catch (const std::runtime_error& error) {  // what xtensor and xtensor-blas throw
        throw std::invalid_argument(input_error(primitive.name, error.what(), args));
    }
}
}  // namespace

Tensor apply(const Primitive& primitive, Inputs args, Attributes attributes) {
    auto node = make_node([&] { return run_forward(primitive, args, attributes); });
    if (!recording_enabled) return Tensor(std::move(node));
    // A node is recorded if some input is a variable with a rule: its trace is the oldest of
    // theirs. An input's requires_grad never changes, so the sweep can ask again which inputs
    // have rules instead of the node storing the pairs (Python's grad_inputs).
    bool any = false;
    std::uint64_t trace = 0;
    for (std::size_t argnum = 0; argnum < args.size(); ++argnum) {
        const Tensor& arg = args[argnum];
        if (arg.requires_grad() && primitive.rule(argnum) != nullptr) {
            trace = any ? std::min(trace, arg.trace()) : arg.trace();
            any = true;
        }
    }
    if (any) {
        node->requires_grad = true;
        node->primitive = &primitive;
        node->inputs = std::move(args);
        node->attributes = std::move(attributes);
        node->seq = next_seq();
        node->trace = trace;
    }
    return Tensor(std::move(node));
}

}  // namespace autodiff
