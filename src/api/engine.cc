// api/engine.cc — wires onnx import, passes, the op registry and the executor together.
#include "api/engine.h"

#include <map>

#include "core/file_util.h"
#include "data/npy.h"
#include "exec/constant_folding.h"
#include "ir/passes.h"
#include "onnx/onnx_import.h"
#include "ops/ops.h"

namespace calib8::api {

Result<PassReport> Optimize(ir::Graph& graph) {
  PassReport r;
  CALIB8_ASSIGN_OR_RETURN(r.constants_folded, exec::FoldConstants(graph, ops::BuiltinRegistry()));
  r.batchnorms_folded = ir::FoldBatchNormIntoConv(graph);
  r.affine_folded = ir::FoldConvAffine(graph);
  r.hardswish_fused = ir::FuseHardSwishPattern(graph);
  r.dead_nodes_removed = ir::RemoveDeadNodes(graph);
  return r;
}

Result<ir::Graph> LoadModel(const std::string& path, const LoadOptions& options, PassReport* report) {
  CALIB8_ASSIGN_OR_RETURN(ir::Graph g, onnx_io::LoadModel(path));
  if (options.optimize) {
    CALIB8_ASSIGN_OR_RETURN(PassReport r, Optimize(g));
    if (report) *report = r;
  }
  return g;
}

ModelInfo Describe(const ir::Graph& g) {
  ModelInfo info;
  info.inputs = g.inputs;
  info.outputs = g.outputs;
  for (auto& o : info.outputs) {
    auto it = g.value_info.find(o.name);
    if (!o.has_shape && it != g.value_info.end()) o = it->second;
  }
  std::map<std::string, int> counts;
  for (const auto& n : g.nodes) ++counts[n.domain.empty() ? n.op_type : n.domain + "::" + n.op_type];
  info.op_counts.assign(counts.begin(), counts.end());
  info.unsupported_ops = exec::UnsupportedOps(g, ops::BuiltinRegistry());
  info.opset = g.DefaultOpset();
  info.num_nodes = g.nodes.size();
  info.num_initializers = g.initializers.size();
  for (const auto& [n, t] : g.initializers) info.num_parameters += t.numel();
  return info;
}

Result<std::unique_ptr<exec::Session>> CreateSession(const ir::Graph& graph,
                                                     exec::SessionOptions options) {
  if (!options.registry) options.registry = &ops::BuiltinRegistry();
  return exec::Session::Create(graph, options);
}

Result<Tensor> LoadTensorFile(const std::string& path) {
  auto ends = [&](const char* s) {
    std::string e(s);
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".npy")) return data::LoadNpy(path);
  if (ends(".pb")) return onnx_io::LoadTensorProtoFile(path);
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "tensor file"));
  if (bytes.rfind("\x93NUMPY", 0) == 0) return data::ParseNpy(bytes, "npy file '" + path + "'");
  return onnx_io::LoadTensorProtoFile(path);
}

std::string SanitizeFileName(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (s.empty() || s == "." || s == "..") s = "_" + s;
  return s;
}

}  // namespace calib8::api
