// table/model_check.cc — matches table entries to the tensors of an ir::Graph (loaded without
// folding passes, so names are the model's own) and counts coverage of float activations.
#include "table/model_check.h"

#include <set>

#include <unordered_map>
#include <unordered_set>

namespace calib8::table {

namespace {
bool IsFloat(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kFloat64;
}
}  // namespace

ModelCoverage CheckAgainstModel(const CalibrationTable& table, const ir::Graph& g) {
  ModelCoverage cov;
  std::unordered_map<std::string, const ir::Node*> producer, by_node_name;
  for (const auto& n : g.nodes) {
    by_node_name[n.name] = &n;
    for (const auto& o : n.outputs)
      if (!o.empty()) producer[o] = &n;
  }
  std::unordered_set<std::string> graph_inputs;
  for (const auto& v : g.inputs) graph_inputs.insert(v.name);
  auto info = [&](const std::string& name) -> const ir::ValueInfo* {
    auto it = g.value_info.find(name);
    return it == g.value_info.end() ? nullptr : &it->second;
  };

  std::unordered_set<std::string> entry_names;
  for (const auto& e : table.entries()) {
    entry_names.insert(e.name);
    EntryMatch m;
    m.name = e.name;
    if (auto it = producer.find(e.name); it != producer.end()) {
      m.matched = true;
      m.producer = it->second->op_type + " '" + it->second->name + "'";
    } else if (graph_inputs.count(e.name)) {
      m.matched = true;
      m.producer = "graph input";
    } else if (const Tensor* t = g.FindInitializer(e.name)) {
      m.matched = true;
      m.producer = "initializer";
      m.shape = ShapeToString(t->shape());
      m.dtype = DataTypeName(t->dtype());
    } else if (e.source_format == TableFormat::kNcnn) {
      std::string layer = e.name;
      if (e.kind == EntryKind::kWeight) layer = layer.substr(0, layer.size() - 8);  // _param_0
      if (auto n = by_node_name.find(layer); n != by_node_name.end()) {
        m.matched = true;
        m.producer = std::string(e.kind == EntryKind::kWeight ? "weights of " : "input of ") +
                     n->second->op_type + " '" + layer + "'";
      }
    }
    if (const ir::ValueInfo* vi = info(e.name)) {
      m.shape = vi->ShapeString();
      m.dtype = DataTypeName(vi->dtype);
    }
    if (!m.matched) cov.unmatched.push_back(e.name);
    cov.entries.push_back(std::move(m));
  }

  auto count = [&](const std::string& name, bool known_float) {
    ++cov.float_tensors;
    if (entry_names.count(name))
      ++cov.covered;
    else
      cov.uncovered.push_back(name);
  };
  // Shape inference stops at an op it does not know (a custom layer), leaving everything after it
  // untyped. So an untyped output counts as float when its node is a custom-domain op or reads a
  // float tensor, unless the op makes integers or booleans (its inputs' type decides otherwise;
  // models are topologically ordered). What stays untyped is counted apart.
  static const std::set<std::string> kNotFloat = {
      "Shape",    "Size",  "ArgMax", "ArgMin",      "NonZero", "Cast",
      "CastLike", "Equal", "Less",   "LessOrEqual", "Greater", "GreaterOrEqual",
      "Not",      "And",   "Or",     "Xor",         "IsNaN",   "IsInf"};
  std::set<std::string> floats;
  for (const auto& v : g.inputs)
    if (IsFloat(v.dtype)) {
      floats.insert(v.name);
      count(v.name, true);
    }
  for (const auto& [name, t] : g.initializers)
    if (IsFloat(t.dtype())) floats.insert(name);
  for (const auto& n : g.nodes) {
    const bool custom = !n.domain.empty() && n.domain != "ai.onnx";
    bool reads_float = false;
    for (const auto& in : n.inputs) reads_float = reads_float || floats.count(in) > 0;
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const std::string& o = n.outputs[k];
      if (o.empty()) continue;
      const ir::ValueInfo* vi = info(o);
      bool is_float = false;
      if (vi && vi->dtype != DataType::kUndefined) {
        is_float = IsFloat(vi->dtype);
      } else if (custom ||
                 (reads_float && !kNotFloat.count(n.op_type) && !(n.op_type == "TopK" && k == 1))) {
        is_float = true;
        cov.inferred_float.push_back(o);
      } else {
        ++cov.unknown_type;
        continue;
      }
      if (is_float) {
        floats.insert(o);
        count(o, true);
      }
    }
  }
  return cov;
}

std::string InferredFloatNote(const ModelCoverage& c, size_t max_names) {
  if (c.inferred_float.empty()) return "";
  std::string names;
  for (size_t i = 0; i < c.inferred_float.size() && i < max_names; ++i)
    names += (i ? ", " : "") + c.inferred_float[i];
  if (c.inferred_float.size() > max_names)
    names += " and " + std::to_string(c.inferred_float.size() - max_names) + " more";
  return "  " + std::to_string(c.inferred_float.size()) +
         " of them have no type from shape inference (it stops at a custom op) and are counted as "
         "float: " +
         names;
}

}  // namespace calib8::table
