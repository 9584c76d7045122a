// runtime/engine.cc — wires onnx import, passes, the op registry and the executor together.
#include "runtime/engine.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/file_util.h"
#include "data/npy.h"
#include "exec/constant_folding.h"
#include "ir/passes.h"
#include "onnx/onnx_import.h"
#include "ops/ops.h"

namespace calib8::runtime {

Result<PassReport> Optimize(ir::Graph& graph) {
  PassReport r;
  CALIB8_ASSIGN_OR_RETURN(r.constants_folded, exec::FoldConstants(graph, ops::BuiltinRegistry()));
  ir::ConvFoldCounts folds;
  ir::FoldIntoConv(graph, {}, &folds);
  r.batchnorms_folded = folds.batchnorm;
  r.affine_folded = folds.mul_add;
  r.hardswish_fused = ir::FuseHardSwishPattern(graph);
  r.dead_nodes_removed = ir::RemoveDeadNodes(graph);
  return r;
}

Result<ir::Graph> LoadModel(const std::string& path, const LoadOptions& options,
                            PassReport* report) {
  CALIB8_ASSIGN_OR_RETURN(ir::Graph g, onnx_io::LoadModel(path));
  if (options.optimize) {
    CALIB8_ASSIGN_OR_RETURN(PassReport r, Optimize(g));
    if (report) *report = r;
  }
  return g;
}

std::vector<UnknownOp> UnknownOps(const ir::Graph& g, const exec::OpRegistry* registry) {
  std::vector<std::string> names =
      exec::UnsupportedOps(g, registry ? *registry : ops::BuiltinRegistry());
  std::vector<UnknownOp> out;
  for (const auto& n : g.nodes) {
    std::string name = n.domain.empty() ? n.op_type : n.domain + "::" + n.op_type;
    if (std::find(names.begin(), names.end(), name) == names.end()) continue;
    auto it =
        std::find_if(out.begin(), out.end(), [&](const UnknownOp& u) { return u.Name() == name; });
    if (it == out.end()) it = out.insert(out.end(), UnknownOp{n.domain, n.op_type, {}});
    it->nodes.push_back(&n);
  }
  return out;
}

Status CheckRunnable(const ir::Graph& g, const exec::OpRegistry* registry) {
  std::vector<UnknownOp> unknown = UnknownOps(g, registry);
  if (unknown.empty()) return Status::Ok();
  std::set<std::string> produced_by_unknown, until, from;
  for (const auto& u : unknown)
    for (const ir::Node* n : u.nodes)
      for (const auto& o : n->outputs)
        if (!o.empty()) produced_by_unknown.insert(o);
  std::string list;
  size_t total = 0;
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v)
      if (!x.empty()) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  for (const auto& u : unknown) {
    list += (list.empty() ? "" : "; ") + u.Name() + " (";
    for (size_t i = 0; i < u.nodes.size(); ++i) {
      const ir::Node* n = u.nodes[i];
      ++total;
      for (const auto& in : n->inputs)
        if (!in.empty() && !g.FindInitializer(in) && !produced_by_unknown.count(in))
          until.insert(in);
      for (const auto& o : n->outputs)
        if (!o.empty()) from.insert(o);
      if (i < 3) {
        list += (i ? ", " : "") + std::string("node '") + n->name + "': " + join(n->inputs) +
                " -> " + join(n->outputs);
      }
    }
    if (u.nodes.size() > 3) list += " and " + std::to_string(u.nodes.size() - 3) + " more node(s)";
    list += ")";
  }
  auto csv = [](const std::set<std::string>& s, const std::string& suffix) {
    std::string out;
    for (const auto& x : s) out += (out.empty() ? "" : ",") + x + suffix;
    return out;
  };
  std::string hint =
      "give calib8 the layer with `--plugin LIB.so` (include/calib8/plugin.h), or "
      "calibrate the parts calib8 can run and join them: ";
  if (!until.empty()) hint += "`calibrate --until " + csv(until, "") + "` for the part before, ";
  hint += "`calibrate --from " + csv(from, "=SPEC") +
          "` with those tensors' values recorded by a " +
          "runtime that has the layer (or `calib8 run --dump`), then `calib8 merge` " +
          "(docs/custom-layers.md; `calib8 info` lists every node)";
  return Unimplemented(g.source, ": calib8 has no kernel for ", unknown.size(),
                       " operator type(s) in ", total, " node(s): ", list, ". ", kWaysOnLead, hint);
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
  for (const auto& n : g.nodes)
    ++counts[n.domain.empty() ? n.op_type : n.domain + "::" + n.op_type];
  info.op_counts.assign(counts.begin(), counts.end());
  info.unsupported_ops = exec::UnsupportedOps(g, ops::BuiltinRegistry());
  info.unknown_ops = UnknownOps(g);
  info.opset = g.DefaultOpset();
  info.num_nodes = g.nodes.size();
  info.num_initializers = g.initializers.size();
  for (const auto& [n, t] : g.initializers) info.num_parameters += t.numel();
  return info;
}

Result<std::unique_ptr<exec::Session>> CreateSession(const ir::Graph& graph,
                                                     exec::SessionOptions options) {
  if (!options.registry) {
    options.registry = &ops::BuiltinRegistry();
    CALIB8_RETURN_IF_ERROR(CheckRunnable(graph));
  }
  return exec::Session::Create(graph, options);
}

Status CheckDataFitsModel(const ir::Graph& g, const data::MultiInputData& d, int batch,
                          std::vector<std::string>* names) {
  names->clear();
  for (size_t i = 0; i < d.size(); ++i) {
    std::string name = d.name(i);
    if (name.empty()) {
      if (g.inputs.size() != 1)
        return InvalidArgument("the model has ", g.inputs.size(),
                               " inputs: give --data NAME=SPEC for each");
      name = g.inputs[0].name;
    }
    const ir::ValueInfo* vi = nullptr;
    for (const auto& in : g.inputs)
      if (in.name == name) vi = &in;
    if (!vi)
      return InvalidArgument("--data names input '", name, "', which the model does not have");
    const Shape& s = d.source(i).SampleShape();
    std::string want = vi->ShapeString();
    std::string got = "[N," + ShapeToString(s).substr(1);
    if (vi->has_shape) {
      bool ok = vi->dims.size() == s.size() + 1;
      for (size_t k = 0; ok && k < s.size(); ++k)
        if (vi->dims[k + 1].known() && vi->dims[k + 1].value != s[k]) ok = false;
      if (!ok)
        return InvalidArgument("data for input '", name, "' has samples of shape ",
                               ShapeToString(s), " (batches ", got, "), but the model expects ",
                               want);
      if (vi->dims[0].known() && vi->dims[0].value != batch)
        return InvalidArgument("input '", name, "' has a fixed batch size of ", vi->dims[0].value,
                               " (shape ", want, "): use --batch ", vi->dims[0].value);
    }
    if (vi->dtype != DataType::kUndefined && vi->dtype != d.source(i).SampleType())
      return InvalidArgument("data for input '", name, "' is ",
                             DataTypeName(d.source(i).SampleType()), ", the model expects ",
                             DataTypeName(vi->dtype));
    names->push_back(name);
  }
  for (const auto& in : g.inputs) {
    bool given = std::find(names->begin(), names->end(), in.name) != names->end();
    if (!given) return InvalidArgument("no --data given for model input '", in.name, "'");
  }
  return Status::Ok();
}

data::OpenOptions DataOptionsFor(const ir::Graph& g, const std::string& preprocess,
                                 int64_t max_samples) {
  data::OpenOptions oo;
  oo.preprocess = preprocess;
  oo.max_samples = max_samples;
  if (!g.inputs.empty() && g.inputs[0].has_shape)
    oo.sample_rank = static_cast<int>(g.inputs[0].dims.size()) - 1;
  for (const auto& in : g.inputs) oo.input_names.push_back(in.name);
  return oo;
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

}  // namespace calib8::runtime
