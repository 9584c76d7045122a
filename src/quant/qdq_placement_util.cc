// quant/qdq_placement_util.cc — the helpers both Q/DQ placement passes share
// (qdq_placement_util.h): names, pairs, laying them out, the weighted-op check.
#include "quant/qdq_placement_util.h"

#include <algorithm>
#include <map>

#include "ir/op_traits.h"

namespace calib8::quant::qdq_internal {

bool IsDefaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

std::string Label(const ir::Node& n) { return "node '" + n.name + "' (" + n.op_type + ")"; }

Names::Names(const ir::Graph& g) {
  for (const auto& v : g.inputs) names_.insert(v.name);
  for (const auto& v : g.outputs) names_.insert(v.name);
  for (const auto& [name, t] : g.initializers) names_.insert(name);
  for (const auto& [name, v] : g.value_info) names_.insert(name);
  for (const auto& n : g.nodes) {
    names_.insert(n.name);
    names_.insert(n.inputs.begin(), n.inputs.end());
    names_.insert(n.outputs.begin(), n.outputs.end());
  }
}

std::string Names::Unique(const std::string& base) {
  std::string name = base;
  for (int i = 1; names_.count(name); ++i) name = base + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

Tensor Floats(const std::vector<float>& v, bool scalar) {
  Tensor t(DataType::kFloat32, scalar ? Shape{} : Shape{static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

Tensor ZeroPoints(size_t n, bool scalar, ZeroPoint zp, uint8_t u8_value) {
  const Shape shape = scalar ? Shape{} : Shape{static_cast<int64_t>(n)};
  if (zp == ZeroPoint::kS8Zero) {
    Tensor t(DataType::kInt8, shape);
    std::fill_n(t.data<int8_t>(), n, int8_t{0});
    return t;
  }
  Tensor t(DataType::kUint8, shape);
  const uint8_t v = zp == ZeroPoint::kU8Mid ? 128 : zp == ZeroPoint::kU8Range ? u8_value : 0;
  std::fill_n(t.data<uint8_t>(), n, v);
  return t;
}

ir::Node QdqNode(const std::string& op, const std::string& name,
                 const std::vector<std::string>& inputs, const std::string& output, int64_t axis) {
  ir::Node n;
  n.op_type = op;
  n.name = name;
  n.inputs = inputs;
  n.outputs = {output};
  if (axis >= 0) n.attrs["axis"] = ir::Attribute::Int(axis);
  return n;
}

Pair BuildPair(const std::string& tensor, const std::vector<float>& scales, int64_t axis, int after,
               Names* names, ZeroPoint zero_point, uint8_t u8_value) {
  Pair p;
  p.after = after;
  const bool scalar = axis < 0;
  std::string scale = names->Unique(tensor + "_scale");
  std::string zp = names->Unique(tensor + "_zero_point");
  p.q_output = names->Unique(tensor + "_quantized");
  p.dq_output = names->Unique(tensor + "_dequantized");
  p.inits.emplace_back(scale, Floats(scales, scalar));
  p.inits.emplace_back(zp, ZeroPoints(scales.size(), scalar, zero_point, u8_value));
  p.nodes.push_back(QdqNode("QuantizeLinear", names->Unique(tensor + "_QuantizeLinear"),
                            {tensor, scale, zp}, p.q_output, axis));
  p.nodes.push_back(QdqNode("DequantizeLinear", names->Unique(tensor + "_DequantizeLinear"),
                            {p.q_output, scale, zp}, p.dq_output, axis));
  return p;
}

void EmitPairs(ir::Graph* g, const std::vector<Pair*>& all) {
  std::map<int, std::vector<Pair*>> by_position;
  for (Pair* p : all) by_position[p->after].push_back(p);
  std::vector<ir::Node> nodes;
  auto emit = [&](int position) {
    for (Pair* p : by_position[position])
      for (auto& n : p->nodes) nodes.push_back(std::move(n));
  };
  emit(-1);
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    nodes.push_back(std::move(g->nodes[i]));
    emit(static_cast<int>(i));
  }
  g->nodes = std::move(nodes);
  for (Pair* p : all)
    for (auto& [name, t] : p->inits) g->initializers[name] = std::move(t);
}

int CheckWeighted(const ir::Graph& g, int i, const std::set<int>& kept_nodes,
                  const std::set<std::string>& keep_fp32, int64_t* axis, QdqExportReport* rep) {
  const ir::Node& n = g.nodes[static_cast<size_t>(i)];
  if (n.inputs.size() < 2) return -1;
  const Tensor* w = g.FindInitializer(n.inputs[1]);
  if (!w) {
    if (n.op_type != "MatMul" || !g.FindInitializer(n.inputs[0])) {
      rep->fp32_nodes.push_back(Label(n) + ": input 1 '" + n.inputs[1] +
                                "' is not a constant weight");
      return 0;
    }
    return -1;
  }
  if (kept_nodes.count(i)) {
    rep->fp32_nodes.push_back(Label(n) + ": its output is in --keep-fp32");
    return 0;
  }
  if (g.FindInitializer(n.inputs[0])) return -1;  // constant-only: folded by the runtimes
  const int rank = w->rank();
  *axis = ir::WeightAxis(n.op_type, n.GetInt("transB", 0) != 0, rank);
  if (w->dtype() != DataType::kFloat32 || (*axis >= 0 && *axis >= rank)) {
    rep->fp32_nodes.push_back(Label(n) + ": weight '" + n.inputs[1] +
                              "' is not a float32 tensor of rank > " + std::to_string(*axis));
    return 0;
  }
  if (keep_fp32.count(n.inputs[0])) {
    rep->fp32_nodes.push_back(Label(n) + ": its input '" + n.inputs[0] + "' is in --keep-fp32");
    return 0;
  }
  return 1;
}

GraphIndex IndexGraph(const ir::Graph& g, const std::set<std::string>& keep_fp32,
                      const std::string& source, std::vector<std::string>* warnings) {
  GraphIndex ix;
  for (const auto& v : g.inputs) ix.tensors.insert(v.name);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs) {
      ix.producer[o] = static_cast<int>(i);
      ix.tensors.insert(o);
    }
  for (const auto& k : keep_fp32)
    if (!ix.tensors.count(k) && !g.FindInitializer(k))
      warnings->push_back("--keep-fp32: '" + k + "' is not a tensor of " + source);
  for (const auto& k : keep_fp32)
    if (ix.producer.count(k)) ix.kept_nodes.insert(ix.producer[k]);
  return ix;
}

}  // namespace calib8::quant::qdq_internal
