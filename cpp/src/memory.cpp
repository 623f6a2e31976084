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
//
// The blocks that nodes live in are kept for reuse (make_node in tensor.hpp): a sweep frees a
// whole graph at once and the next step makes it again, and glibc's malloc keeps only seven
// blocks of a node's size at hand; the rest went through its general bins, about 150
// instructions for each malloc and free. Each thread keeps up to `kept_blocks` freed node blocks
// in a stack of its own (no lock: a block freed on another thread goes to that thread's stack),
// and returns them to malloc when it ends. Under AddressSanitizer a kept block is poisoned, so
// that reading a freed node is still reported.
#include <cstdlib>
#include <new>

#include "autodiff/tensor.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define AUTODIFF_POISON(block, bytes) ASAN_POISON_MEMORY_REGION(block, bytes)
#define AUTODIFF_UNPOISON(block, bytes) ASAN_UNPOISON_MEMORY_REGION(block, bytes)
#else
#define AUTODIFF_POISON(block, bytes) ((void)(block), (void)(bytes))
#define AUTODIFF_UNPOISON(block, bytes) ((void)(block), (void)(bytes))
#endif

namespace autodiff {

namespace {
thread_local std::vector<Tensor>* worklist_in_use = nullptr;  // set while a graph is freed

constexpr std::size_t kept_blocks = 1 << 14;  // at most this many per thread (about 7 MB)

// This thread's freed node blocks, all of one size (std::allocate_shared's block for a Node).
// Trivially destructible, so that reaching it costs no guard; ReturnAtExit gives the blocks back.
struct KeptBlocks {
    void** blocks = nullptr;  // room for kept_blocks, allocated when the first block is kept
    std::size_t count = 0;
    std::size_t bytes = 0;  // the size of every kept block
    bool closed = false;    // the thread is ending: blocks go straight back to malloc
};
thread_local KeptBlocks kept;

struct ReturnAtExit {
    ~ReturnAtExit() {
        kept.closed = true;
        for (std::size_t i = 0; i < kept.count; ++i) {
            AUTODIFF_UNPOISON(kept.blocks[i], kept.bytes);
            ::operator delete(kept.blocks[i]);
        }
        std::free(static_cast<void*>(kept.blocks));
        kept.blocks = nullptr;
        kept.count = 0;
    }
};
thread_local ReturnAtExit return_at_exit;  // made (and its destructor registered) on first use
}  // namespace

namespace detail {
void* node_block(std::size_t bytes) {
    if (kept.count != 0 && bytes == kept.bytes) {
        void* block = kept.blocks[--kept.count];
        AUTODIFF_UNPOISON(block, bytes);
        return block;
    }
    return ::operator new(bytes);
}

void free_node_block(void* block, std::size_t bytes) noexcept {
    if (kept.blocks == nullptr && !kept.closed) {  // the first block freed on this thread
        (void)&return_at_exit;
        kept.blocks = static_cast<void**>(std::malloc(kept_blocks * sizeof(void*)));
        kept.bytes = bytes;
    }
    if (kept.blocks != nullptr && !kept.closed && kept.count < kept_blocks && bytes == kept.bytes) {
        AUTODIFF_POISON(block, bytes);
        kept.blocks[kept.count++] = block;
        return;
    }
    ::operator delete(block);
}
}  // namespace detail

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
