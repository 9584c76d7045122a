// onnx/pytorch_scales.cc — `calib8 convert TABLE --to pytorch --model MODEL.onnx`: the table
// mapped onto the PyTorch modules the ONNX nodes came from (pytorch_scales.h). Reads the
// ModelProto itself (not calib8's IR: load-time BN folding and constant folding would rename what
// the exporter wrote). The document's fields: docs/fine-tuning.md.
#include "onnx/pytorch_scales.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/file_util.h"
#include "ir/op_traits.h"
#include "onnx/onnx_import.h"

namespace calib8::onnx_io {

namespace {
using json = nlohmann::ordered_json;

bool IsWeighted(const std::string& op) { return ir::IsInt8Compute(op); }

// Parameter-name suffixes of torch.nn modules (state_dict keys): what follows the module path.
bool IsParameterLeaf(const std::string& leaf) {
  static const std::set<std::string> kLeaves = {"weight",      "bias",           "running_mean",
                                                "running_var", "in_proj_weight", "in_proj_bias"};
  return kLeaves.count(leaf) > 0;
}

int64_t IntAttr(const onnx::NodeProto& n, const std::string& name, int64_t dflt) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return dflt;
}

json NullableString(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

}  // namespace

std::string ModuleFromScope(const std::string& node_name) {
  if (node_name.empty() || node_name[0] != '/') return "";
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= node_name.size()) {
    size_t end = node_name.find('/', start);
    if (end == std::string::npos) end = node_name.size();
    parts.push_back(node_name.substr(start, end - start));
    start = end + 1;
  }
  if (parts.size() < 2) return "";  // "/Flatten": an op of the root module
  parts.pop_back();                 // the op ("Conv", "Conv_1")
  // Each scope is either the full path ("layer1.0", as torch writes children of a Sequential or
  // ModuleList) or the attribute name relative to its parent ("conv1").
  std::string path;
  for (const auto& p : parts) {
    if (p.empty()) return "";
    if (path.empty() || p.rfind(path + ".", 0) == 0)
      path = p;
    else
      path += "." + p;
  }
  return path;
}

std::string ModuleFromParameter(const std::string& name) {
  if (name.find("::") != std::string::npos || name.find('/') != std::string::npos) return "";
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  std::string leaf = name.substr(dot + 1);
  if (!IsParameterLeaf(leaf)) return "";
  return name.substr(0, dot);
}

namespace {

// What the graph says about its nodes and tensors (IndexGraph).
struct GraphIndex {
  std::set<std::string> constants;
  std::set<std::string> graph_inputs;
  std::vector<std::string> module;  // of each node ("" when unknown)
  std::vector<std::string> how;     // "scope" or "parameter"
  std::map<std::string, int> producer;
  std::map<std::string, std::vector<std::pair<int, int>>> consumers;  // tensor -> (node, input)
};

// Constants, graph inputs, the module of each node and how it was found, the producer and the
// consumers of each tensor.
GraphIndex IndexGraph(const onnx::GraphProto& g) {
  GraphIndex ix;
  for (const auto& i : g.initializer()) ix.constants.insert(i.name());
  for (const auto& n : g.node())
    if (n.op_type() == "Constant" && n.output_size() == 1) ix.constants.insert(n.output(0));
  for (const auto& i : g.input())
    if (!ix.constants.count(i.name())) ix.graph_inputs.insert(i.name());

  // Module of each node: scope name first, then the parameter names of what it reads.
  ix.module.resize(g.node_size());
  ix.how.resize(g.node_size());
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    ix.module[i] = ModuleFromScope(n.name());
    if (!ix.module[i].empty()) ix.how[i] = "scope";
    for (int k = 0; k < n.input_size(); ++k) {
      if (n.input(k).empty()) continue;
      ix.consumers[n.input(k)].push_back({i, k});
      if (ix.module[i].empty() && ix.constants.count(n.input(k))) {
        std::string m = ModuleFromParameter(n.input(k));
        if (!m.empty()) ix.module[i] = m, ix.how[i] = "parameter";
      }
    }
    for (const auto& o : n.output()) ix.producer[o] = i;
  }
  return ix;
}

// A node as the document names it: node name (or #index), op, module and where it came from.
json NodeJson(const onnx::GraphProto& g, const GraphIndex& ix, int i) {
  const auto& n = g.node(i);
  json j;
  j["node"] = n.name().empty() ? json("#" + std::to_string(i)) : json(n.name());
  j["op"] = n.op_type();
  j["module"] = NullableString(ix.module[i]);
  j["module_from"] = NullableString(ix.how[i]);
  return j;
}

// The document's header: format, table, model and the fake-quantization convention.
json DocumentHeader(const table::CalibrationTable& table, const std::string& model_path,
                    const PytorchScalesOptions& options) {
  json doc;
  doc["format"] = "calib8.pytorch_scales";
  doc["format_version"] = 1;
  doc["table"] = options.table_name;
  doc["table_header"] = table.header.raw;
  doc["model"] = model_path;
  doc["convention"] = {
      {"scale", "float32 bits of the table entry (amax = 127 * scale)"},
      {"quant_min", -128},
      {"quant_max", 127},
      {"zero_point", 0},
      {"fake_quant", "clamp(round_half_even(x / scale), quant_min, quant_max) * scale"},
      {"weights", "per output channel, scale_c = max|W_c| / 127, zero point 0 (not in the table)"},
      {"doc", "docs/fine-tuning.md"}};
  return doc;
}

// Table activation entry `e`: scale, amax, module, signedness, producer and consumers; records
// the input quantizers of the modules it feeds in `state_dict_amax`.
json TensorJson(const table::TableEntry& e, const onnx::GraphProto& g, const GraphIndex& ix,
                const std::map<std::string, const table::TensorStatistics*>& stats,
                std::map<std::string, json>& state_dict_amax, PytorchScalesReport& rep) {
  const auto& constants = ix.constants;
  const auto& graph_inputs = ix.graph_inputs;
  const auto& module = ix.module;
  const auto& producer = ix.producer;
  const auto& consumers = ix.consumers;
  auto node_json = [&](int i) { return NodeJson(g, ix, i); };
  ++rep.tensors;
  json t;
  t["name"] = e.name;
  t["bits"] = table::HexBits(e.bits());
  const float scale = e.scale();
  const float amax = e.amax();
  t["scale"] = std::isfinite(scale) ? json(static_cast<double>(scale)) : json(nullptr);
  t["amax"] = std::isfinite(amax) ? json(static_cast<double>(amax)) : json(nullptr);
  bool in_model = graph_inputs.count(e.name) || producer.count(e.name);
  auto p = producer.find(e.name);
  std::string mod;
  if (p != producer.end()) mod = module[p->second];
  t["module"] = NullableString(mod);
  // Signedness: observed range when the sidecar has one, else the producing op.
  bool non_negative = false;
  std::string sign_from = "assumed signed";
  auto st = stats.find(e.name);
  if (st != stats.end() && st->second->sample_count > 0) {
    non_negative = st->second->min >= 0;
    sign_from = "sidecar observed min";
    t["observed"] = {st->second->min, st->second->max};
  } else if (p != producer.end() && g.node(p->second).op_type() == "Relu") {
    non_negative = true;
    sign_from = "producer is Relu";
  }
  t["signed"] = !non_negative;
  t["signed_from"] = sign_from;
  t["quant_min"] = -128;
  t["quant_max"] = 127;
  t["zero_point"] = 0;
  t["producer"] = p != producer.end()
                      ? node_json(p->second)
                      : (graph_inputs.count(e.name) ? json("graph input") : json(nullptr));
  json cons = json::array();
  auto c = consumers.find(e.name);
  bool any_module = !mod.empty();
  if (c != consumers.end()) {
    for (auto [node, input] : c->second) {
      json cj = node_json(node);
      cj["input"] = input;
      const auto& n = g.node(node);
      // The helper's placement (TensorRT's rule 1, docs/qdq.md): the activation input of a
      // weighted op with a constant weight gets the module's input quantizer.
      bool q = input == 0 && IsWeighted(n.op_type()) && n.input_size() > 1 &&
               constants.count(n.input(1)) && !module[node].empty();
      cj["input_quantizer"] = q;
      if (q) state_dict_amax[module[node] + "._input_quantizer._amax"] = amax;
      if (!module[node].empty()) any_module = true;
      cons.push_back(std::move(cj));
    }
  }
  t["consumers"] = std::move(cons);
  if (any_module) ++rep.with_module;
  if (!in_model) {
    rep.not_in_model.push_back(e.name);
    t["in_model"] = false;
  }
  return t;
}

// Weighted modules: what the helper quantizes per output channel, and their input's entry.
json WeightedModulesJson(const table::CalibrationTable& table, const onnx::GraphProto& g,
                         const GraphIndex& ix, PytorchScalesReport& rep) {
  const auto& constants = ix.constants;
  const auto& module = ix.module;
  auto node_json = [&](int i) { return NodeJson(g, ix, i); };
  json modules = json::array();
  std::map<std::string, int> seen;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (!IsWeighted(n.op_type()) || n.input_size() < 2 || !constants.count(n.input(1)) ||
        constants.count(n.input(0)))
      continue;
    json m = node_json(i);
    m["input"] = n.input(0);
    int idx = table.Find(n.input(0));
    bool usable = idx >= 0 && table.entries()[idx].kind == table::EntryKind::kActivation;
    m["input_in_table"] = usable;
    m["weight"] = n.input(1);
    m["bias"] = n.input_size() > 2 && !n.input(2).empty() ? json(n.input(2)) : json(nullptr);
    // The output-channel axis of the *PyTorch* weight: Conv/Linear [out, in, ...] axis 0,
    // ConvTranspose [in, out/groups, ...] axis 1. Gemm with transB=0 / MatMul are not nn.Linear
    // layouts; their ONNX axis is given as onnx_weight_axis.
    // (a MatMul weight is taken as 2-D [K, N] here, as nn.Linear's transpose)
    m["onnx_weight_axis"] = ir::WeightAxis(n.op_type(), IntAttr(n, "transB", 0) != 0, 2);
    m["weight_axis"] = n.op_type() == "ConvTranspose" ? 1 : 0;
    if (module[i].empty()) {
      rep.warnings.push_back("node '" + n.name() + "' (" + n.op_type() +
                             "): no module (no scope name, no parameter name): its input '" +
                             n.input(0) + "' gets no quantizer in the helper");
    } else if (usable) {
      if (seen[module[i]]++ == 0) ++rep.input_quantizers;
    }
    modules.push_back(std::move(m));
  }
  return modules;
}

}  // namespace

Result<std::string> PytorchScalesJson(const table::CalibrationTable& table,
                                      const std::string& model_path,
                                      const PytorchScalesOptions& options,
                                      PytorchScalesReport* report) {
  PytorchScalesReport local;
  PytorchScalesReport& rep = report ? *report : local;
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(model_path, "model"));
  const std::string source = "model '" + model_path + "'";
  onnx::ModelProto model;
  CALIB8_RETURN_IF_ERROR(ParseModelProto(bytes, source, &model, true));
  const auto& g = model.graph();
  const GraphIndex ix = IndexGraph(g);

  std::map<std::string, const table::TensorStatistics*> stats;
  if (options.sidecar)
    for (const auto& t : options.sidecar->tensors) stats[t.name] = &t;

  json doc = DocumentHeader(table, model_path, options);

  json tensors = json::array();
  std::map<std::string, json> state_dict_amax;  // by key, as the JSON object sorts them
  for (const auto& e : table.entries()) {
    if (e.kind != table::EntryKind::kActivation) continue;
    tensors.push_back(TensorJson(e, g, ix, stats, state_dict_amax, rep));
  }
  doc["tensors"] = std::move(tensors);
  doc["weighted_modules"] = WeightedModulesJson(table, g, ix, rep);

  json sd = json::object();
  for (const auto& [k, v] : state_dict_amax) sd[k] = static_cast<double>(v);
  doc["state_dict"] = std::move(sd);
  return doc.dump(1) + "\n";
}

}  // namespace calib8::onnx_io
