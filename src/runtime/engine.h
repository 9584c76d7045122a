// runtime/engine.h — the library calls the CLI is a thin layer over: load and optimise a model,
// describe it, run it. Everything here returns Status/Result; nothing throws.
#pragma once

#include <string>
#include <vector>

#include "data/data_source.h"
#include "exec/session.h"
#include "ir/graph.h"

namespace calib8::runtime {

struct LoadOptions {
  // Constant folding, BatchNormalization and per-channel affine folding into Conv, HardSwish
  // pattern fusion, dead-node removal.
  bool optimize = true;
};

struct PassReport {
  int constants_folded = 0;
  int batchnorms_folded = 0;
  int affine_folded = 0;    // per-channel Add/Mul after a Conv folded into its bias/weights
  int hardswish_fused = 0;  // x * Clip(x + 3, 0, 6) / 6 spelled out, replaced by HardSwish
  int dead_nodes_removed = 0;
};

// Loads an ONNX model and applies the passes. The registry used is ops::BuiltinRegistry().
Result<ir::Graph> LoadModel(const std::string& path, const LoadOptions& options = {},
                            PassReport* report = nullptr);

// Applies the load-time passes to an already imported graph.
Result<PassReport> Optimize(ir::Graph& graph);

// An operator type calib8 has no kernel for (a custom layer), with every node that uses it.
struct UnknownOp {
  std::string domain, op_type;         // domain "" = ai.onnx
  std::vector<const ir::Node*> nodes;  // point into the graph passed to UnknownOps
  std::string Name() const { return domain.empty() ? op_type : domain + "::" + op_type; }
};
// `registry`: the FP32 ops and plugins (nullptr) or another, such as the INT8 one.
std::vector<UnknownOp> UnknownOps(const ir::Graph& graph,
                                  const exec::OpRegistry* registry = nullptr);

// Ok when calib8 can run every node; else one error that names every unknown operator, its nodes
// and the tensors around them, and the two ways on: a plugin (--plugin) or the --until / --from
// cut that calibrates the rest (docs/custom-layers.md). CreateSession and CreateInt8Session
// check this first.
Status CheckRunnable(const ir::Graph& graph, const exec::OpRegistry* registry = nullptr);
// Where CheckRunnable's message turns from the list of unknown ops to the ways on (`calib8 info`
// prints that part after its own listing).
inline constexpr const char* kWaysOnLead = "To run or calibrate it, ";

struct ModelInfo {
  std::vector<ir::ValueInfo> inputs, outputs;
  std::vector<std::pair<std::string, int>> op_counts;  // sorted by op type
  std::vector<std::string> unsupported_ops;
  std::vector<UnknownOp> unknown_ops;  // the same, with their nodes
  int64_t opset = 0;
  size_t num_nodes = 0, num_initializers = 0;
  int64_t num_parameters = 0;
};
ModelInfo Describe(const ir::Graph& graph);

// Creates an FP32 session over `graph` with the built-in ops (and any registered plugins).
Result<std::unique_ptr<exec::Session>> CreateSession(const ir::Graph& graph,
                                                     exec::SessionOptions options = {});

// Options for opening data for `graph`: the sample rank of its first input and its input names
// (so that NAME=SPEC works for names with '/', as exporters write them).
data::OpenOptions DataOptionsFor(const ir::Graph& graph, const std::string& preprocess = {},
                                 int64_t max_samples = 0);

// Matches the data sources to the model's inputs (NAME=SPEC or the one input), checks sample
// shapes, element types and fixed batch sizes; `names` gets the input each source feeds.
Status CheckDataFitsModel(const ir::Graph& graph, const data::MultiInputData& data, int batch,
                          std::vector<std::string>* names);

// Reads a tensor file: .npy or ONNX TensorProto .pb (by extension, else by content).
Result<Tensor> LoadTensorFile(const std::string& path);

// "conv1/out:0" -> "conv1_out_0": characters other than [A-Za-z0-9._-] become '_'.
std::string SanitizeFileName(const std::string& name);

}  // namespace calib8::runtime
