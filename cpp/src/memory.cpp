// Memory management by reference counting: how a graph of any depth is freed.
//
// Every reference points from a newer node to an older one (a node is made after its inputs, and
// rules capture nothing), so the graph has no cycles and std::shared_ptr alone frees each node as
// soon as the last handle to it goes. What it would not do alone is free a long chain: releasing
// the last handle to its end destroys that node, whose inputs vector releases the node before
// it, whose destructor releases the one before that... one nested destructor call per node, and
// about 300 000 of them overflow an 8 MB stack.
//
// So a dying node does not let its inputs die inside its own destructor. The outermost dying
// node starts one worklist; every node that dies while it is being worked off (this thread)
// moves each input of which it holds the last reference (use_count() == 1) onto that worklist
// and returns at once. The outermost destructor frees the worklist's nodes one at a time, in a
// loop: the depth of destructor calls stays at two, whatever the length of the chain. (A
// destructor that merely moved its inputs into a local vector and released them in a loop would
// still recurse: releasing an input runs that input's destructor inside the loop, which starts
// its own loop, and so on down the chain.) PyTorch frees its autograd graph the same way
// (deleteNode in torch/csrc/autograd/function.cpp); CPython's "trashcan" does it for deeply
// nested objects.
//
// An input held twice by the same node (x * x) has use_count() == 2 while both entries exist:
// the entries are looked at one by one, the first is released (a decrement that cannot reach
// zero), and then the second holds the last reference and goes onto the worklist.
#include "autodiff/tensor.hpp"

namespace autodiff {

namespace {
thread_local std::vector<Tensor>* worklist_in_use = nullptr;  // set while a graph is freed
}  // namespace

// Move the inputs of which `inputs` holds the last reference onto `worklist`; release the others.
void Node::take_last_references(Inputs& inputs, std::vector<Tensor>& worklist) {
    for (Tensor& input : inputs) {
        if (input.node_.use_count() == 1) {
            worklist.push_back(std::move(input));
        } else {
            input.node_.reset();
        }
    }
    inputs.clear();
}

Node::~Node() {
    if (inputs.empty()) return;  // leaves and constants: nothing to free
    if (worklist_in_use != nullptr) {  // inside the loop below: leave the freeing to it
        take_last_references(inputs, *worklist_in_use);
        return;
    }
    std::vector<Tensor> worklist;
    worklist_in_use = &worklist;
    take_last_references(inputs, worklist);
    while (!worklist.empty()) {
        // The only reference to its node: releasing it runs that node's destructor, which moves
        // the node's own last-reference inputs onto the worklist and returns.
        Tensor last = std::move(worklist.back());
        worklist.pop_back();
    }
    worklist_in_use = nullptr;
}

}  // namespace autodiff
