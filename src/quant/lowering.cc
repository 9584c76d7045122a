// quant/lowering.cc — the INT8 lowering pass: decides per node of the fused FP32 graph whether it
// runs in 8 bits (and why not), quantizes constant weights per output channel and biases to
// int32 (quant_params.h), and rewrites the graph with calib8.int8 ops, Quantize/Dequantize at the
// region borders and a layout (NCHW or NHWC) per 8-bit tensor. The kernels live in src/int8;
// docs/int8.md describes the plan format and the rules implemented here. This file: the entry
// points (LowerToInt8, the plan as text and JSON, --keep-fp32 files) and the order of the steps
// (Lowerer::Run); the steps are in lowering_decide.cc, lowering_resolve.cc and lowering_emit.cc.
#include "quant/lowering.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "ir/op_traits.h"
#include "ir/passes.h"
#include "quant/lowering_internal.h"

namespace calib8::quant {

namespace lowering_detail {

namespace {

// Residual Add fusion done before ir::FuseEpilogues, which (as of this writing) can fuse one Add
// into both of its Conv producers when each has the Add as sole consumer (ResNet downsample
// blocks), leaving a value produced twice. Here an Add is fused at most once; FuseEpilogues then
// finds no Add left to fuse and only fuses activations. Same attributes as FuseEpilogues.
void FuseResidualAddsOnce(ir::Graph& g) {
  std::unordered_map<std::string, std::vector<size_t>> consumers;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty()) consumers[in].push_back(i);
  std::unordered_set<std::string> outputs;
  for (const auto& o : g.outputs) outputs.insert(o.name);
  auto same_shape = [&g](const std::string& a, const std::string& b) {
    auto ia = g.value_info.find(a), ib = g.value_info.find(b);
    if (ia == g.value_info.end() || ib == g.value_info.end()) return false;
    const auto &va = ia->second, &vb = ib->second;
    if (!va.has_shape || !vb.has_shape || va.dims.size() != vb.dims.size()) return false;
    for (size_t i = 0; i < va.dims.size(); ++i)
      if (!va.dims[i].known() || va.dims[i].value != vb.dims[i].value) return false;
    return true;
  };
  std::vector<bool> drop(g.nodes.size(), false);
  bool any = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& n = g.nodes[i];
    if (!n.domain.empty() || n.outputs.size() != 1 || n.HasAttr("_calib8_sum")) continue;
    const bool conv = ir::IsSpatialConv(n.op_type);
    if (!conv && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    if (conv && !g.FindInitializer(n.input(1))) continue;
    auto it = consumers.find(n.outputs[0]);
    if (outputs.count(n.outputs[0]) || it == consumers.end() || it->second.size() != 1) continue;
    size_t c = it->second[0];
    ir::Node& add = g.nodes[c];
    if (drop[c] || add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2) continue;
    const std::string& other = add.inputs[0] == n.outputs[0] ? add.inputs[1] : add.inputs[0];
    if (other == n.outputs[0] || g.FindInitializer(other) || !same_shape(n.outputs[0], other))
      continue;
    size_t slot = n.op_type == "MatMul" ? 2 : 3;
    if (n.inputs.size() < slot) n.inputs.resize(slot);
    n.inputs.push_back(other);
    n.attrs["_calib8_sum"] = ir::Attribute::Int(1);
    n.outputs[0] = add.outputs[0];
    drop[c] = true;
    any = true;
  }
  if (!any) return;
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

}  // namespace

Result<Int8Plan> Lowerer::Run() {
  FuseResidualAddsOnce(g_);
  ir::FuseEpilogues(g_);
  CALIB8_RETURN_IF_ERROR(g_.TopologicalSort());
  Index();
  MarkPluginBorders();
  CALIB8_RETURN_IF_ERROR(Decide());
  ResolveOutputs();
  if (opt_.speed_rule && ApplySpeedRule()) {
    int8_users_.clear();
    needs_f32_.clear();
    ResolveOutputs();
  }
  DecideLayouts();
  CALIB8_RETURN_IF_ERROR(Emit());
  return std::move(plan_);
}

void Lowerer::Index() {
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    for (const auto& in : g_.nodes[i].inputs)
      if (!in.empty()) consumers_[in].push_back(i);
    for (const auto& o : g_.nodes[i].outputs)
      if (!o.empty()) producer_[o] = i;
  }
  for (const auto& o : g_.outputs) graph_outputs_.insert(o.name);
}

int Lowerer::Rank(const std::string& name) const {
  if (rank4_.count(name)) return 4;
  auto it = g_.value_info.find(name);
  if (it != g_.value_info.end() && it->second.has_shape)
    return static_cast<int>(it->second.dims.size());
  for (const auto& in : g_.inputs)
    if (in.name == name && in.has_shape) return static_cast<int>(in.dims.size());
  return -1;
}

}  // namespace lowering_detail

std::string Int8PluginOpType(const std::string& domain, const std::string& op_type) {
  return kInt8PluginPrefix + domain + "::" + op_type;
}

Result<Int8Plan> LowerToInt8(const ir::Graph& graph, const table::CalibrationTable& table,
                             const LoweringOptions& options) {
  lowering_detail::Lowerer l(graph, table, options);
  return l.Run();
}

Result<std::set<std::string>> ReadKeepFp32File(const std::string& path) {
  std::ifstream f(path);
  if (!f) return IoError("--keep-fp32 file '", path, "': cannot open it for reading");
  std::set<std::string> names;
  std::string line;
  while (std::getline(f, line)) {
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t e = line.find_last_not_of(" \t\r");
    names.insert(line.substr(b, e - b + 1));
  }
  return names;
}

std::string PlanToText(const Int8Plan& plan) {
  std::ostringstream os;
  size_t w_op = 4, w_name = 4;
  for (const auto& d : plan.nodes) {
    w_op = std::max(w_op, d.op_type.size());
    w_name = std::max(w_name, d.node.size());
  }
  auto pad = [](const std::string& s, size_t w) {
    return s + std::string(w - std::min(w, s.size()), ' ');
  };
  os << pad("prec", 5) << "  " << pad("op", w_op) << "  " << pad("node", w_name) << "  reason\n";
  for (const auto& d : plan.nodes)
    os << pad(d.precision == Precision::kInt8 ? "INT8" : "FP32", 5) << "  " << pad(d.op_type, w_op)
       << "  " << pad(d.node, w_name) << "  " << d.reason << "\n";
  const Coverage& c = plan.coverage;
  os << "summary: " << plan.num_int8 << " INT8, " << plan.num_fp32 << " FP32 node(s); "
     << plan.num_quantize << " quantize and " << plan.num_dequantize
     << " dequantize border node(s)\n";
  os << "coverage: " << c.found << "/" << c.needed << " tensor(s) an INT8 node needs have a "
     << "usable table entry (" << std::fixed;
  os.precision(1);
  os << 100.0 * c.ratio() << "%)";
  if (!c.missing.empty()) os << "; missing: " << c.missing.size();
  if (!c.zero.empty()) os << "; amax 0: " << c.zero.size();
  os << "\n";
  return os.str();
}

std::string PlanToJson(const Int8Plan& plan) {
  nlohmann::json j;
  j["nodes"] = nlohmann::json::array();
  for (const auto& d : plan.nodes)
    j["nodes"].push_back({{"node", d.node},
                          {"op", d.op_type},
                          {"precision", d.precision == Precision::kInt8 ? "int8" : "fp32"},
                          {"reason", d.reason}});
  const Coverage& c = plan.coverage;
  j["coverage"] = {{"needed", c.needed},
                   {"found", c.found},
                   {"ratio", c.ratio()},
                   {"missing", c.missing},
                   {"zero", c.zero}};
  j["summary"] = {{"int8", plan.num_int8},
                  {"fp32", plan.num_fp32},
                  {"quantize", plan.num_quantize},
                  {"dequantize", plan.num_dequantize}};
  return j.dump(2) + "\n";
}

}  // namespace calib8::quant
