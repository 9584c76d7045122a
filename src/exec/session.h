// exec/session.h — runs an ir::Graph: plans kernels once, then executes node by node.
//
// Memory: a value is released right after its last consumer has run (graph outputs are kept),
// so peak memory follows the largest live set, not the sum of all tensors.
// Observers: a TensorObserver sees every float tensor produced during a run, as a read-only view,
// before it can be released. With no observer the run pays nothing for the feature.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "exec/kernel.h"
#include "exec/op_registry.h"
#include "ir/graph.h"

namespace calib8::exec {

class TensorObserver {
 public:
  virtual ~TensorObserver() = default;
  // Called for each float32 tensor a node produces (and for float graph inputs, with producer
  // nullptr). The view is valid only during the call.
  virtual void OnTensor(const std::string& name, const ir::Node* producer, const Tensor& value) = 0;
  // True when OnTensor's result does not depend on the order of the elements within a sample
  // (min/max, histograms): it is then handed channels-last tensors as they are, and the run keeps
  // the channels-last hand-over between kernels. Otherwise it sees row-major copies and the run
  // hands nothing over channels-last.
  virtual bool AcceptsChannelsLast() const { return false; }
};

struct SessionOptions {
  int num_threads = 0;  // 0: all cores
  KernelFlavor flavor = KernelFlavor::kFast;
  const OpRegistry* registry = nullptr;  // nullptr: OpRegistry::Global()
  // Fuse residual Add and activations into Conv/Gemm/MatMul (ir::FuseEpilogues). Faster, but the
  // fused intermediate tensors are then never produced: calibration turns this off so that an
  // observer sees every tensor of the model.
  bool fuse_epilogues = true;
  // Let kernels that can (Conv, pooling) pass tensors to each other in Layout::kChannelsLast,
  // without reorders in between. Off: every value is row-major (a measurement knob).
  bool channels_last = true;
  // Time every node (steady clock around Kernel::Run); read with Session::node_ms().
  bool profile = false;
};

using TensorMap = std::map<std::string, Tensor>;

class Session {
 public:
  // Plans a copy of the graph: one kernel per node. Fails, naming every
  // unsupported op, if any node has no kernel.
  static Result<std::unique_ptr<Session>> Create(const ir::Graph& graph,
                                                 SessionOptions options = {});

  // Runs the graph on `feeds` (one tensor per graph input, by name) and returns the graph outputs.
  // Checks feed names, types and ranks/known dims against the graph's inputs.
  Result<TensorMap> Run(const TensorMap& feeds, TensorObserver* observer = nullptr);

  const ir::Graph& graph() const { return graph_; }
  int num_threads() const { return num_threads_; }
  // With SessionOptions::profile: milliseconds spent in each node of graph() (same order),
  // summed over profiled_runs() runs.
  const std::vector<double>& node_ms() const { return node_ms_; }
  int64_t profiled_runs() const { return profiled_runs_; }
  // For each node of graph(): why its kernel left its fast path (KernelContext::Note), e.g.
  // "reference kernel: oneDNN has no negative padding"; empty where it did not. Kept across runs.
  const std::vector<std::string>& kernel_notes() const { return kernel_notes_; }
  // How many values the last run handed from node to node in Layout::kChannelsLast.
  int64_t last_run_channels_last_values() const { return last_cl_values_; }
  // Starts (or restarts) profiling from the next run: e.g. after a warm-up.
  void EnableProfile() {
    profile_ = true;
    node_ms_.assign(graph_.nodes.size(), 0.0);
    profiled_runs_ = 0;
  }

 private:
  explicit Session(ir::Graph g) : graph_(std::move(g)) {}
  ir::Graph graph_;  // the session's own copy (initializer storage is shared, not copied)
  std::vector<std::unique_ptr<Kernel>> kernels_;
  // For each node: the values whose last use is that node (released after it runs).
  std::vector<std::vector<std::string>> release_after_;
  // For each node: every consumer of its output 0 accepts channels-last (KernelContext).
  std::vector<char> prefer_channels_last_;
  int num_threads_ = 1;
  bool profile_ = false;
  std::vector<double> node_ms_;
  int64_t profiled_runs_ = 0;
  int64_t last_cl_values_ = 0;
  std::vector<std::string> kernel_notes_;
};

// Op types (domain-qualified if not ai.onnx) in `graph` that have no kernel, sorted, unique.
std::vector<std::string> UnsupportedOps(const ir::Graph& graph, const OpRegistry& registry);

}  // namespace calib8::exec
