// onnx/qdq_util.cc — the helpers shared by the Q/DQ export (TensorRT and ORT placement) and
// import (qdq_util.h): graph names, node attributes, Q/DQ pairs and their initializers, weight
// scales, table look-ups, coverage and laying the pairs out in the graph.
#include "onnx/qdq_util.h"

#include <cmath>
#include <map>

#include "ir/op_traits.h"
#include "quant/quant_params.h"

namespace calib8::onnx_io::qdq_detail {

bool IsDefaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

bool IsWeightedOp(const std::string& op) { return ir::IsInt8Compute(op); }
bool IsPoolingOp(const std::string& op) { return ir::TraitsOf(op).pooling; }

int64_t IntAttr(const onnx::NodeProto& n, const std::string& name, int64_t dflt) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return dflt;
}
float FloatAttr(const onnx::NodeProto& n, const std::string& name, float dflt) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.f();
  return dflt;
}

std::string NodeLabel(const onnx::NodeProto& n, int index) {
  // "#<index>" built in two steps: `"#" + std::to_string(index)` here trips GCC 12's -Wrestrict
  // false positive (std::string operator+ inlined).
  std::string name = n.name();
  if (name.empty()) name.append("#").append(std::to_string(index));
  return "node '" + name + "' (" + n.op_type() + ")";
}

NameSet::NameSet(const onnx::GraphProto& g) {
  for (const auto& i : g.input()) names_.insert(i.name());
  for (const auto& o : g.output()) names_.insert(o.name());
  for (const auto& i : g.initializer()) names_.insert(i.name());
  for (const auto& v : g.value_info()) names_.insert(v.name());
  for (const auto& n : g.node()) {
    names_.insert(n.name());
    for (const auto& s : n.input()) names_.insert(s);
    for (const auto& s : n.output()) names_.insert(s);
  }
}

std::string NameSet::Unique(const std::string& base) {
  std::string name = base;
  for (int i = 1; names_.count(name); ++i) name = base + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

onnx::TensorProto MakeFloatTensor(const std::string& name, const std::vector<float>& v,
                                  bool scalar) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(onnx::TensorProto::FLOAT);
  if (!scalar) p.add_dims(static_cast<int64_t>(v.size()));
  p.set_raw_data(v.data(), v.size() * sizeof(float));
  return p;
}

onnx::TensorProto MakeZeroPoints(const std::string& name, size_t n, bool scalar, ZeroPoint zp,
                                 uint8_t u8_value) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(zp == ZeroPoint::kS8Zero ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8);
  if (!scalar) p.add_dims(static_cast<int64_t>(n));
  char v = zp == ZeroPoint::kU8Mid     ? '\x80'
           : zp == ZeroPoint::kU8Range ? static_cast<char>(u8_value)
                                       : '\0';
  p.set_raw_data(std::string(n, v));
  return p;
}

onnx::NodeProto MakeNode(const std::string& op, const std::string& name,
                         const std::vector<std::string>& in, const std::string& out, int64_t axis) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const auto& s : in) n.add_input(s);
  n.add_output(out);
  if (axis >= 0) {
    auto* a = n.add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(axis);
  }
  return n;
}

Pair BuildPair(const std::string& tensor, const std::vector<float>& scales, int64_t axis, int after,
               NameSet* names, ZeroPoint zero_point, uint8_t u8_value) {
  Pair p;
  p.after = after;
  const bool scalar = axis < 0;
  std::string scale = names->Unique(tensor + "_scale");
  std::string zp = names->Unique(tensor + "_zero_point");
  std::string q_out = names->Unique(tensor + "_quantized");
  p.q_output = q_out;
  p.dq_output = names->Unique(tensor + "_dequantized");
  p.inits.push_back(MakeFloatTensor(scale, scales, scalar));
  p.inits.push_back(MakeZeroPoints(zp, scales.size(), scalar, zero_point, u8_value));
  p.nodes.push_back(MakeNode("QuantizeLinear", names->Unique(tensor + "_QuantizeLinear"),
                             {tensor, scale, zp}, q_out, axis));
  p.nodes.push_back(MakeNode("DequantizeLinear", names->Unique(tensor + "_DequantizeLinear"),
                             {q_out, scale, zp}, p.dq_output, axis));
  return p;
}

int CheckWeighted(const onnx::NodeProto& n, int i, const ConstantMap& constants,
                  const std::set<int>& kept_nodes, const std::set<std::string>& keep_fp32,
                  int64_t* axis, QdqExportReport* rep) {
  const std::string& op = n.op_type();
  if (n.input_size() < 2) return -1;
  if (!constants.count(n.input(1))) {
    if (op != "MatMul" || !constants.count(n.input(0))) {
      rep->fp32_nodes.push_back(NodeLabel(n, i) + ": input 1 '" + n.input(1) +
                                "' is not a constant weight");
      return 0;
    }
    return -1;
  }
  if (kept_nodes.count(i)) {
    rep->fp32_nodes.push_back(NodeLabel(n, i) + ": its output is in --keep-fp32");
    return 0;
  }
  if (constants.count(n.input(0))) return -1;  // constant-only: folded by the runtimes
  const auto* wp = constants.at(n.input(1));
  int64_t rank = wp->dims_size();
  *axis = ir::WeightAxis(op, IntAttr(n, "transB", 0) != 0, static_cast<int>(rank));
  if (wp->data_type() != onnx::TensorProto::FLOAT || (*axis >= 0 && *axis >= rank)) {
    rep->fp32_nodes.push_back(NodeLabel(n, i) + ": weight '" + n.input(1) +
                              "' is not a float32 tensor of rank > " + std::to_string(*axis));
    return 0;
  }
  if (keep_fp32.count(n.input(0))) {
    rep->fp32_nodes.push_back(NodeLabel(n, i) + ": its input '" + n.input(0) +
                              "' is in --keep-fp32");
    return 0;
  }
  return 1;
}

void EmitPairs(onnx::GraphProto* g, const std::vector<const Pair*>& all) {
  std::map<int, std::vector<const Pair*>> by_position;
  for (const Pair* p : all) by_position[p->after].push_back(p);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  auto emit = [&](int position) {
    for (const Pair* p : by_position[position])
      for (const auto& n : p->nodes) *nodes.Add() = n;
  };
  emit(-1);
  for (int i = 0; i < g->node_size(); ++i) {
    *nodes.Add() = g->node(i);
    emit(i);
  }
  g->mutable_node()->Swap(&nodes);
  for (const Pair* p : all)
    for (const auto& init : p->inits) *g->add_initializer() = init;
}

}  // namespace calib8::onnx_io::qdq_detail
