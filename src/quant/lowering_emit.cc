// quant/lowering_emit.cc — writes the INT8 plan (lowering_internal.h): the calib8.int8 nodes
// (QConv, QConvTranspose, QMatMul with per-channel s8 weights and int32 bias, 8-bit pools, QConcat,
// QPlugin), Quantize/Dequantize at the region borders, and each node's decision and the coverage.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "ir/passes.h"
#include "quant/lowering_internal.h"

namespace calib8::quant::lowering_detail {

namespace {

std::string FusedOpName(const ir::Node& n) {
  std::string s = n.op_type;
  if (n.GetInt("_calib8_sum", 0) == 1) s += "+Add";
  std::string act = n.GetString("_calib8_act", "");
  if (!act.empty()) s += "+" + act;
  if (n.HasAttr("_calib8_post_mul") || n.HasAttr("_calib8_post_add")) s += "+Affine";
  return s;
}

}  // namespace

std::string Lowerer::QName(const std::string& t) const {
  auto it = q_.find(t);
  return t + (it != q_.end() && it->second.is_unsigned ? ":u8" : ":s8");
}

std::string Lowerer::EnsureInt8(const std::string& t, std::vector<ir::Node>& out) {
  std::string qn = QName(t);
  if (ProducedInt8(t) || quantized_.count(t)) return qn;
  quantized_.insert(t);
  ir::Node q;
  q.name = t + ":quantize";
  q.op_type = "Quantize";
  q.domain = kInt8Domain;
  q.inputs = {t};
  q.outputs = {qn};
  q.attrs["scale"] = ir::Attribute::Float(q_[t].scale);
  q.attrs["unsigned"] = ir::Attribute::Int(q_[t].is_unsigned);
  if (q_[t].zero_point != 0) q.attrs["zero_point"] = ir::Attribute::Int(q_[t].zero_point);
  q.attrs["nhwc"] = ir::Attribute::Int(nhwc_.count(t) ? 1 : 0);
  out.push_back(std::move(q));
  ++plan_.num_quantize;
  return qn;
}

void Lowerer::EmitDequantize(const std::string& t, std::vector<ir::Node>& out) {
  ir::Node d;
  d.name = t + ":dequantize";
  d.op_type = "Dequantize";
  d.domain = kInt8Domain;
  d.inputs = {QName(t)};
  d.outputs = {t};
  d.attrs["scale"] = ir::Attribute::Float(q_[t].scale);
  if (q_[t].zero_point != 0) d.attrs["zero_point"] = ir::Attribute::Int(q_[t].zero_point);
  d.attrs["nhwc"] = ir::Attribute::Int(nhwc_.count(t) ? 1 : 0);
  out.push_back(std::move(d));
  ++plan_.num_dequantize;
}

Lowerer::QWeights Lowerer::QuantizeWeights(const Tensor& w, WeightLayout layout, int64_t group) {
  int64_t ch = layout == WeightLayout::kRows     ? w.dim(0)
               : layout == WeightLayout::kGemmKN ? w.dim(1)
                                                 : w.dim(1) * group;
  int64_t per = w.numel() / std::max<int64_t>(ch, 1);
  QWeights r;
  r.q = Tensor(DataType::kInt8, layout == WeightLayout::kGemmKN ? Shape{ch, per} : w.shape());
  r.scales.resize(static_cast<size_t>(ch));
  const float* p = w.data<float>();
  int8_t* q = r.q.data<int8_t>();
  // Flat index (in w, and in the stored tensor) of element k of channel c.
  const int64_t ks = layout == WeightLayout::kConvTranspose ? w.numel() / (w.dim(0) * w.dim(1)) : 1;
  const int64_t mg = layout == WeightLayout::kConvTranspose ? w.dim(1) : 1;
  auto src = [&](int64_t c, int64_t k) -> int64_t {
    switch (layout) {
      case WeightLayout::kRows:
        return c * per + k;
      case WeightLayout::kGemmKN:
        return k * ch + c;
      case WeightLayout::kConvTranspose:
        break;
    }
    const int64_t g = c / mg, o = c % mg, cg = per / ks, ic = k / ks, s = k % ks;
    return ((g * cg + ic) * mg + o) * ks + s;
  };
  auto dst = [&](int64_t c, int64_t k) {
    return layout == WeightLayout::kConvTranspose ? src(c, k) : c * per + k;
  };
  for (int64_t c = 0; c < ch; ++c) {
    float amax = 0.0f;
    for (int64_t k = 0; k < per; ++k) amax = std::max(amax, std::fabs(p[src(c, k)]));
    // An all-zero channel quantizes to zeros with any scale; 1/127 keeps its bias exact.
    float s = amax > 0.0f ? ScaleFromAmax(amax) : 1.0f / kSignedLevels;
    r.scales[static_cast<size_t>(c)] = s;
    for (int64_t k = 0; k < per; ++k) q[dst(c, k)] = QuantizeS8(p[src(c, k)], s);
  }
  return r;
}

void Lowerer::EmitCompute(size_t i, std::vector<ir::Node>& out) {
  const ir::Node& n = g_.nodes[i];
  const NodeInfo& inf = info_[i];
  const std::string& x = n.input(0);
  const std::string& y = n.outputs[0];
  ir::Node q;
  q.name = n.name;
  q.domain = kInt8Domain;
  q.op_type = inf.kind == Kind::kMatMul ? "QMatMul" : inf.transposed ? "QConvTranspose" : "QConv";
  for (const auto& [k, a] : n.attrs)
    if (k != "_calib8_sum") q.attrs[k] = a;
  std::string xq = EnsureInt8(x, out);
  std::string rq;
  if (inf.has_residual) rq = inf.out_int8 ? EnsureInt8(inf.residual, out) : inf.residual;
  const Tensor& w = *g_.FindInitializer(n.input(1));
  bool kn = inf.kind == Kind::kMatMul && !(n.op_type == "Gemm" && n.GetInt("transB", 0) != 0);
  QWeights qw = QuantizeWeights(w,
                                inf.transposed ? WeightLayout::kConvTranspose
                                : kn           ? WeightLayout::kGemmKN
                                               : WeightLayout::kRows,
                                n.GetInt("group", 1));
  float in_scale = q_[x].scale;
  // Bias: Conv B, Gemm beta * C.
  const Tensor* b =
      n.input(2).empty() || n.op_type == "MatMul" ? nullptr : g_.FindInitializer(n.input(2));
  float beta = n.op_type == "Gemm" ? n.GetFloat("beta", 1.0f) : 1.0f;
  std::string bname;
  if (b && beta != 0.0f) {
    Tensor bq(DataType::kInt32, {static_cast<int64_t>(qw.scales.size())});
    for (size_t c = 0; c < qw.scales.size(); ++c)
      bq.data<int32_t>()[c] = QuantizeBias(beta * b->data<float>()[c], in_scale, qw.scales[c]);
    bname = n.name + ":bias_s32";
    new_inits_[bname] = std::move(bq);
  }
  std::string wname = n.name + ":weights_s8";
  new_inits_[wname] = std::move(qw.q);
  q.inputs = {xq, wname, bname};
  if (inf.has_residual) q.inputs.push_back(rq);
  if (inf.has_residual) q.attrs["_calib8_sum"] = ir::Attribute::Int(1);
  q.attrs["in_scale"] = ir::Attribute::Float(in_scale);
  if (q_[x].zero_point != 0) q.attrs["in_zp"] = ir::Attribute::Int(q_[x].zero_point);
  q.attrs["w_scales"] = ir::Attribute::Floats(qw.scales);
  q.attrs["in_nhwc"] = ir::Attribute::Int(nhwc_.count(x) ? 1 : 0);
  std::string out_type = "f32";
  if (inf.out_int8) {
    out_type = q_[y].is_unsigned ? "u8" : "s8";
    q.attrs["out_scale"] = ir::Attribute::Float(q_[y].scale);
    if (q_[y].zero_point != 0) q.attrs["out_zp"] = ir::Attribute::Int(q_[y].zero_point);
    q.attrs["out_nhwc"] = ir::Attribute::Int(nhwc_.count(y) ? 1 : 0);
    q.outputs = {QName(y)};
  } else {
    q.outputs = {y};
  }
  q.attrs["out_type"] = ir::Attribute::String(out_type);
  if (inf.has_residual && inf.out_int8) {
    q.attrs["res_scale"] = ir::Attribute::Float(q_[inf.residual].scale);
    if (q_[inf.residual].zero_point != 0)
      q.attrs["res_zp"] = ir::Attribute::Int(q_[inf.residual].zero_point);
    q.attrs["res_nhwc"] = ir::Attribute::Int(nhwc_.count(inf.residual) ? 1 : 0);
  }
  std::ostringstream why;
  auto zp_note = [](const QTensor& t) {
    return t.zero_point != 0 ? " (zp " + std::to_string(t.zero_point) + ")" : std::string();
  };
  why << (q_[x].is_unsigned ? "u8" : "s8") << zp_note(q_[x])
      << " in, per-channel s8 weights, int32 bias, " << out_type
      << (inf.out_int8 ? zp_note(q_[y]) : std::string()) << " out";
  if (inf.kind == Kind::kConv && inf.spatial == 2)
    why << (nhwc_.count(x) ? " (NHWC in)" : " (NCHW in)");
  else if (inf.kind == Kind::kConv)
    why << " (" << inf.spatial << "-D)";
  auto note = out_note_.find(i);
  if (!inf.out_int8 && note != out_note_.end()) why << "; " << note->second;
  plan_.nodes[i].reason = why.str();
  out.push_back(std::move(q));
}

void Lowerer::EmitPlugin(size_t i, std::vector<ir::Node>& out) {
  const ir::Node& n = g_.nodes[i];
  ir::Node q = n;
  q.domain = kInt8Domain;
  q.op_type = Int8PluginOpType(n.domain, n.op_type);
  std::vector<float> in_scales, out_scales;
  for (auto& in : q.inputs) {
    in_scales.push_back(q_[in].scale);
    in = EnsureInt8(in, out);
  }
  for (auto& o : q.outputs) {
    if (o.empty()) continue;
    out_scales.push_back(q_[o].scale);
    o = QName(o);
  }
  q.attrs[kPluginInScalesAttr] = ir::Attribute::Floats(in_scales);
  q.attrs[kPluginOutScalesAttr] = ir::Attribute::Floats(out_scales);
  q.attrs[kPluginDomainAttr] = ir::Attribute::String(n.domain);
  q.attrs[kPluginOpTypeAttr] = ir::Attribute::String(n.op_type);
  out.push_back(std::move(q));
}

void Lowerer::EmitOther(size_t i, std::vector<ir::Node>& out) {
  const ir::Node& n = g_.nodes[i];
  const NodeInfo& inf = info_[i];
  ir::Node q = n;
  const std::string& y = n.outputs[0];
  if (inf.kind == Kind::kMove) {
    q.inputs[0] = EnsureInt8(n.input(0), out);
  } else if (inf.kind == Kind::kPool) {
    q.domain = kInt8Domain;
    q.op_type = "Q" + n.op_type;
    q.inputs = {EnsureInt8(n.input(0), out)};
    q.outputs = {y};
    q.attrs["in_nhwc"] = ir::Attribute::Int(nhwc_.count(n.input(0)) ? 1 : 0);
    q.attrs["out_nhwc"] = ir::Attribute::Int(nhwc_.count(y) ? 1 : 0);
    if (q_[n.input(0)].zero_point != 0)
      q.attrs["zero_point"] = ir::Attribute::Int(q_[n.input(0)].zero_point);
  } else {  // Concat
    q.domain = kInt8Domain;
    q.op_type = "QConcat";
    std::vector<float> scales;
    std::vector<int64_t> zps;
    for (auto& in : q.inputs) {
      scales.push_back(q_[in].scale);
      zps.push_back(q_[in].zero_point);
      in = EnsureInt8(in, out);
    }
    q.attrs["in_scales"] = ir::Attribute::Floats(scales);
    q.attrs["in_zps"] = ir::Attribute::Ints(zps);
    q.attrs["out_scale"] = ir::Attribute::Float(q_[y].scale);
    q.attrs["out_zp"] = ir::Attribute::Int(q_[y].zero_point);
    q.attrs["unsigned"] = ir::Attribute::Int(q_[y].is_unsigned);
  }
  q.outputs[0] = QName(y);
  out.push_back(std::move(q));
}

Status Lowerer::Emit() {
  std::vector<ir::Node> out;
  plan_.nodes.resize(g_.nodes.size());
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const ir::Node& n = g_.nodes[i];
    const NodeInfo& inf = info_[i];
    NodeDecision& d = plan_.nodes[i];
    d.node = n.name;
    d.op_type = FusedOpName(n);
    d.reason = inf.reason;
    if (inf.kind == Kind::kFp32) {
      d.precision = Precision::kFp32;
      ++plan_.num_fp32;
      out.push_back(n);
      continue;
    }
    d.precision = Precision::kInt8;
    ++plan_.num_int8;
    if (inf.kind == Kind::kConv || inf.kind == Kind::kMatMul)
      EmitCompute(i, out);
    else if (inf.kind == Kind::kPlugin)
      EmitPlugin(i, out);
    else
      EmitOther(i, out);
    for (const auto& y : n.outputs)
      if (!y.empty() && inf.out_int8 && needs_f32_.count(y)) EmitDequantize(y, out);
  }
  // Coverage over the tensors INT8 nodes asked for.
  plan_.coverage.needed = static_cast<int>(needed_order_.size());
  plan_.coverage.found = static_cast<int>(found_.size());
  for (const auto& t : needed_order_) {
    if (zero_.count(t))
      plan_.coverage.zero.push_back(t);
    else if (!found_.count(t))
      plan_.coverage.missing.push_back(t);
  }
  ir::Graph& pg = plan_.graph;
  pg = g_;
  pg.nodes = std::move(out);
  for (auto& [k, t] : new_inits_) pg.initializers[k] = std::move(t);
  ir::RemoveDeadNodes(pg);
  return pg.TopologicalSort();
}

}  // namespace calib8::quant::lowering_detail
