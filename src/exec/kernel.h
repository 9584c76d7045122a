// exec/kernel.h — the contract between the executor and an operator implementation.
//
// A kernel is created once per node when a Session is planned (KernelFactory), may pre-pack
// constant inputs then (KernelInit::constant), and is run once per inference (Kernel::Run).
// Input shapes may change between runs (dynamic dims): kernels that cache shape-dependent state
// (oneDNN primitives) must key it on the shapes they see.
//
// Every op has a reference implementation (plain loops, the executable definition) and may have
// a fast one (oneDNN). Tests run both and compare. See ops/register_fp32_ops.cc for the list.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "ir/graph.h"

namespace calib8::exec {

struct KernelContext {
  const ir::Node& node;
  std::vector<const Tensor*> inputs;  // one per node input; nullptr for an omitted optional input
  std::vector<Tensor> outputs;        // one per node output; the kernel assigns each it produces
  int num_threads = 1;
  // Every consumer of output 0 takes Layout::kChannelsLast (Kernel::AcceptsChannelsLast), so the
  // kernel may produce it in that layout when that saves a reorder. Never set for graph outputs
  // or when an observer watches the run.
  bool prefer_channels_last = false;
  // Where the kernel says why it took a slower path than its fast one (a fast kernel handing a
  // case to its reference twin): Session::kernel_notes() keeps the first note of each node.
  std::string* note = nullptr;

  // Records `why` once per node (see `note`); a no-op when nobody listens.
  void Note(const char* why) {
    if (note && note->empty()) *note = why;
  }
  // Input i, or nullptr if omitted or past the end.
  const Tensor* input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  size_t num_inputs() const { return inputs.size(); }
  size_t num_outputs() const { return outputs.size(); }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status Run(KernelContext& ctx) = 0;
  // Whether Run() takes input `i` in Layout::kChannelsLast. The executor converts a channels-last
  // value to row-major before any kernel that does not.
  virtual bool AcceptsChannelsLast(size_t /*input*/) const { return false; }
};

// Runs `k` (which expects row-major inputs) on ctx with every channels-last input converted:
// for kernels that take channels-last on their fast path and hand other cases to a reference.
Status RunWithRowMajorInputs(Kernel& k, KernelContext& ctx);

struct KernelInit {
  const ir::Node& node;
  int64_t opset = 0;  // the model's opset for the node's domain
  // Constant (initializer) value of a node input by name, or nullptr if it is computed at run time.
  std::function<const Tensor*(const std::string&)> constant;
  int num_threads = 1;
};

using KernelFactory = std::function<Result<std::unique_ptr<Kernel>>(const KernelInit&)>;
using KernelFn = std::function<Status(KernelContext&)>;

// Wraps a stateless function as a factory.
KernelFactory Stateless(KernelFn fn);

// A factory whose run function is built per node from its KernelInit (e.g. to capture the opset
// or parsed attributes): `make(init)` returns the KernelFn.
template <typename Make>
KernelFactory StatelessFromInit(Make make) {
  return [make](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    return Stateless(make(init))(init);
  };
}

}  // namespace calib8::exec
