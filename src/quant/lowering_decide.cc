// quant/lowering_decide.cc — the per-node decisions of the INT8 lowering (lowering_internal.h):
// table look-ups and coverage, --keep-fp32, which tensors are never negative, and whether each
// compute node, pool, data-movement op, Concat and INT8 custom op runs in 8 bits (and why not).
#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

#include "ir/op_traits.h"
#include "quant/lowering_internal.h"

namespace calib8::quant::lowering_detail {

Result<Lowerer::ScaleState> Lowerer::Lookup(const std::string& name, float* scale) {
  if (!needed_.count(name)) {
    needed_.insert(name);
    needed_order_.push_back(name);
  }
  int k = table_.Find(name);
  if (k < 0) return ScaleState::kMissing;
  const table::TableEntry& e = table_.entries()[static_cast<size_t>(k)];
  float s = e.scale();
  if (!std::isfinite(s) || s < 0.0f)
    return InvalidArgument(opt_.table_source, ": tensor '", name, "' has scale ", s, " (bits ",
                           table::HexBits(e.bits()),
                           "): an inf, NaN or negative scale cannot be used for INT8; "
                           "recalibrate or remove the entry");
  if (s == 0.0f || !std::isnormal(s)) {  // a denormal scale: 1/scale overflows; as zero
    zero_.insert(name);
    return ScaleState::kZero;
  }
  found_.insert(name);
  *scale = s;
  return ScaleState::kOk;
}

std::string Lowerer::Why(ScaleState s, const std::string& what, const std::string& name) {
  if (s == ScaleState::kZero)
    return "amax 0 for " + what + " '" + name + "' (tensor is all zero, or a denormal scale)";
  return "no table entry for " + what + " '" + name + "'";
}

bool Lowerer::Kept(const ir::Node& n, std::string* which) const {
  if (opt_.keep_fp32.count(n.name)) {
    *which = n.name;
    return true;
  }
  const bool compute = ir::IsInt8Compute(n.op_type);
  for (const auto* list : {&n.inputs, &n.outputs}) {
    if (compute && list == &n.outputs) continue;
    for (const auto& v : *list)
      if (!v.empty() && opt_.keep_fp32.count(v)) {
        *which = v;
        return true;
      }
  }
  return false;
}

QTensor Lowerer::TableQ(const std::string& name, float s127) const {
  QTensor q;
  if (plugin_border_.count(name)) {  // an INT8 plugin reads or writes it: s8, zero point 0
    q.scale = s127;
    return q;
  }
  auto r = opt_.ranges.find(name);
  if (r != opt_.ranges.end()) {
    QParams p = AsymmetricParams(r->second.first, r->second.second);
    if (p.scale > 0.0f) return p;
  }
  q.is_unsigned = opt_.unsigned_activations && nonneg_.count(name);
  q.scale = q.is_unsigned ? ScaleFromAmax(AmaxFromScale(s127), true) : s127;
  return q;
}

void Lowerer::MarkNonNegative(const ir::Node& n) {
  const std::string& y = n.outputs.empty() ? std::string() : n.outputs[0];
  if (y.empty()) return;
  std::string act = n.GetString("_calib8_act", "");
  bool nn = false;
  if (act == "Relu" || act == "HardSigmoid" || act == "Sigmoid") nn = true;
  if (act == "Clip" && n.GetFloat("_calib8_act_alpha", -1.0f) >= 0.0f) nn = true;
  // A fused scalar affine after the activation keeps it non-negative only with mul, add >= 0.
  if (n.GetFloat("_calib8_post_mul", 1.0f) < 0.0f || n.GetFloat("_calib8_post_add", 0.0f) < 0.0f)
    nn = false;
  const ir::OpTraits& traits = n.domain.empty() ? ir::TraitsOf(n.op_type) : ir::TraitsOf("");
  if (traits.nonneg_output) nn = true;
  if (traits.keeps_sign && nonneg_.count(n.input(0))) nn = true;
  if (traits.int8 == ir::Int8Role::kConcat) {
    nn = !n.inputs.empty();
    for (const auto& in : n.inputs) nn = nn && nonneg_.count(in);
  }
  if (nn) nonneg_.insert(y);
}

Result<bool> Lowerer::InputQuantizable(const std::string& x, const std::string& what,
                                       std::string* why) {
  if (avail_.count(x)) return true;
  float s = 0;
  CALIB8_ASSIGN_OR_RETURN(ScaleState st, Lookup(x, &s));
  if (st != ScaleState::kOk) {
    *why = Why(st, what, x);
    return false;
  }
  q_[x] = TableQ(x, s);
  return true;
}

Status Lowerer::Decide() {
  info_.resize(g_.nodes.size());
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const ir::Node& n = g_.nodes[i];
    MarkNonNegative(n);
    NodeInfo& inf = info_[i];
    std::string which;
    if (Kept(n, &which)) {
      inf.reason = "excluded by the user (--keep-fp32 '" + which + "')";
      continue;
    }
    if (!n.domain.empty() && n.domain != "ai.onnx") {
      auto c = opt_.int8_custom_ops.find(n.domain + "::" + n.op_type);
      if (c == opt_.int8_custom_ops.end()) {
        inf.reason = "custom op (domain '" + n.domain + "'): runs FP32 (no INT8 compute)";
        continue;
      }
      CALIB8_RETURN_IF_ERROR(DecidePlugin(i, c->second));
      continue;
    }
    const std::string& op = n.op_type;
    const ir::Int8Role role = ir::TraitsOf(op).int8;  // ir/op_traits.h: one row per op
    if (role == ir::Int8Role::kCompute) {
      CALIB8_RETURN_IF_ERROR(DecideCompute(i));
    } else if (role == ir::Int8Role::kPool) {
      DecidePool(i);
    } else if (role == ir::Int8Role::kMove) {
      const std::string& x = n.input(0);
      if (n.outputs.size() != 1 || !avail_.count(x)) {
        inf.reason = "no speed benefit: input '" + x + "' is FP32 (data movement stays FP32)";
        continue;
      }
      inf.kind = Kind::kMove;
      inf.reason = "8-bit pass-through (scale of '" + x + "')";
      avail_.insert(n.outputs[0]);
      q_[n.outputs[0]] = q_[x];
      if (Rank(x) == 4 && op == "Transpose") rank4_.insert(n.outputs[0]);
    } else if (role == ir::Int8Role::kConcat) {
      CALIB8_RETURN_IF_ERROR(DecideConcat(i));
    } else {
      inf.reason = "unsupported op: no INT8 kernel for " + op;
    }
  }
  return Status::Ok();
}

void Lowerer::MarkPluginBorders() {
  std::string unused;
  for (const ir::Node& n : g_.nodes) {
    if (n.domain.empty() || n.domain == "ai.onnx" || Kept(n, &unused) ||
        !opt_.int8_custom_ops.count(n.domain + "::" + n.op_type))
      continue;
    for (const auto* list : {&n.inputs, &n.outputs})
      for (const auto& t : *list)
        if (!t.empty()) plugin_border_.insert(t);
  }
}

Status Lowerer::DecidePlugin(size_t i, bool output_has_input_scale) {
  const ir::Node& n = g_.nodes[i];
  NodeInfo& inf = info_[i];
  const std::string what = "custom op with INT8 compute";
  if (n.inputs.empty() || n.outputs.empty()) {
    inf.reason = what + ": runs FP32 (no inputs or outputs)";
    return Status::Ok();
  }
  for (const auto& x : n.inputs) {
    if (x.empty() || g_.FindInitializer(x)) {
      inf.reason = what + ": runs FP32: input '" + x +
                   "' is a constant or omitted (compute_int8 takes 8-bit activations only)";
      return Status::Ok();
    }
    if (avail_.count(x) && (q_[x].is_unsigned || q_[x].zero_point != 0)) {
      inf.reason = what + ": runs FP32: input '" + x +
                   "' is 8-bit with a zero point or unsigned (carried from its producer's "
                   "input); compute_int8 takes s8 with zero point 0";
      return Status::Ok();
    }
    std::string why;
    CALIB8_ASSIGN_OR_RETURN(bool ok, InputQuantizable(x, "input", &why));
    if (!ok) {
      inf.reason = what + ": runs FP32: " + why;
      return Status::Ok();
    }
  }
  std::vector<std::pair<std::string, QTensor>> outs;
  for (size_t k = 0; k < n.outputs.size(); ++k) {
    const std::string& y = n.outputs[k];
    if (y.empty()) continue;
    if (k == 0 && output_has_input_scale) {
      outs.emplace_back(y, q_[n.inputs[0]]);
      continue;
    }
    float s = 0;
    CALIB8_ASSIGN_OR_RETURN(ScaleState st, Lookup(y, &s));
    if (st != ScaleState::kOk) {
      inf.reason = what + ": runs FP32: " + Why(st, "output", y);
      return Status::Ok();
    }
    outs.emplace_back(y, TableQ(y, s));
  }
  for (auto& [y, q] : outs) {
    avail_.insert(y);
    q_[y] = q;
  }
  inf.kind = Kind::kPlugin;
  inf.reason = "s8 in, s8 out (the plugin's compute_int8" +
               std::string(output_has_input_scale ? "; output 0 has input 0's scale)" : ")");
  return Status::Ok();
}

Status Lowerer::DecideCompute(size_t i) {
  const ir::Node& n = g_.nodes[i];
  NodeInfo& inf = info_[i];
  const bool conv = ir::IsSpatialConv(n.op_type);
  if (!ComputeSupported(i)) return Status::Ok();
  CALIB8_RETURN_IF_ERROR(CheckFiniteParams(i));
  const std::string& x = n.input(0);
  std::string why;
  CALIB8_ASSIGN_OR_RETURN(bool x_ok, InputQuantizable(x, "input", &why));
  if (!x_ok) {
    inf.reason = why;
    return Status::Ok();
  }
  inf.kind = conv ? Kind::kConv : Kind::kMatMul;
  if (n.GetInt("_calib8_sum", 0) == 1) {
    inf.has_residual = true;
    inf.residual = n.inputs.back();
  }
  // Can the output be 8-bit? It needs a table scale (and an 8-bit residual when fused).
  const std::string& y = n.outputs[0];
  if (opt_.keep_fp32.count(y)) {
    out_note_[i] = "output '" + y + "' kept FP32 by the user (--keep-fp32): written as FP32";
    return Status::Ok();
  }
  float s = 0;
  CALIB8_ASSIGN_OR_RETURN(ScaleState st, Lookup(y, &s));
  if (st != ScaleState::kOk) {
    out_note_[i] = Why(st, "output", y) + ": output written as FP32";
    return Status::Ok();
  }
  if (inf.has_residual) {
    std::string rwhy;
    CALIB8_ASSIGN_OR_RETURN(bool r_ok, InputQuantizable(inf.residual, "residual", &rwhy));
    if (!r_ok) {
      out_note_[i] = rwhy + ": output written as FP32";
      return Status::Ok();
    }
  }
  avail_.insert(y);
  q_[y] = TableQ(y, s);
  if (inf.kind == Kind::kConv && inf.spatial == 2) rank4_.insert(y);
  return Status::Ok();
}

bool Lowerer::ComputeSupported(size_t i) {
  const ir::Node& n = g_.nodes[i];
  NodeInfo& inf = info_[i];
  const std::string& op = n.op_type;
  const Tensor* w = g_.FindInitializer(n.input(1));
  if (n.outputs.size() != 1) {
    inf.reason = "unsupported op: extra outputs";
    return false;
  }
  const bool conv = ir::IsSpatialConv(op);
  if (conv) {
    if (!w || w->dtype() != DataType::kFloat32 || w->rank() < 3 || w->rank() > 5) {
      inf.reason = "unsupported op: only " + op +
                   " with constant float32 weights (1-D, 2-D or 3-D) runs in INT8";
      return false;
    }
    // Output channels: Conv W [M, C/G, k...]; ConvTranspose W [C, M/G, k...].
    int64_t m = op == "Conv" ? w->dim(0) : w->dim(1) * n.GetInt("group", 1);
    const Tensor* b = g_.FindInitializer(n.input(2));
    if (!n.input(2).empty() && (!b || b->dtype() != DataType::kFloat32 || b->numel() != m)) {
      inf.reason = "unsupported op: " + op + " bias is not a constant float32 vector";
      return false;
    }
    inf.transposed = op == "ConvTranspose";
    inf.spatial = static_cast<int>(w->rank()) - 2;
  } else {
    if (!w || w->dtype() != DataType::kFloat32 || w->rank() != 2) {
      inf.reason = "unsupported op: " + op +
                   " weights (input 1) are not a constant 2-D float32 "
                   "tensor";
      return false;
    }
    if (op == "Gemm") {
      if (n.GetInt("transA", 0) != 0 || n.GetFloat("alpha", 1.0f) != 1.0f) {
        inf.reason = "unsupported op: Gemm with transA or alpha != 1";
        return false;
      }
      int64_t nout = n.GetInt("transB", 0) ? w->dim(0) : w->dim(1);
      const Tensor* c = g_.FindInitializer(n.input(2));
      if (!n.input(2).empty() && (!c || c->dtype() != DataType::kFloat32 || c->numel() != nout ||
                                  c->shape().back() != nout)) {
        inf.reason = "unsupported op: Gemm C is not a constant row vector";
        return false;
      }
    } else {
      int r = Rank(n.input(0));
      if (r >= 0 && r < 2) {
        inf.reason = "unsupported op: MatMul with a 1-D input";
        return false;
      }
    }
  }
  return true;
}

Status Lowerer::CheckFiniteParams(size_t i) const {
  const ir::Node& n = g_.nodes[i];
  const std::string& op = n.op_type;
  // Weights and bias with a NaN or inf cannot be quantized (the per-channel scale would be
  // inf or ignore the NaN): refused, naming the node and the tensor (docs/int8.md).
  for (size_t k = 1; k < 3 && k < n.inputs.size(); ++k) {
    const Tensor* t = g_.FindInitializer(n.input(k));
    if (!t || t->dtype() != DataType::kFloat32) continue;
    const float* v = t->data<float>();
    for (int64_t j = 0; j < t->numel(); ++j)
      if (!std::isfinite(v[j]))
        return InvalidArgument(g_.source, ": node '", n.name, "' (", op,
                               "): ", k == 1 ? "weight" : "bias", " '", n.input(k), "' value ", j,
                               " is ", v[j],
                               ": expected finite values for INT8 (fix the model, "
                               "or keep the node FP32 with --keep-fp32)");
  }
  return Status::Ok();
}

void Lowerer::DecidePool(size_t i) {
  const ir::Node& n = g_.nodes[i];
  NodeInfo& inf = info_[i];
  const std::string& x = n.input(0);
  bool extra = false;
  for (size_t k = 1; k < n.outputs.size(); ++k) extra |= !n.outputs[k].empty();
  if (extra) {
    inf.reason = "unsupported op: MaxPool with Indices output";
    return;
  }
  bool two_d =
      n.op_type == "GlobalAveragePool" ? Rank(x) == 4 : n.GetInts("kernel_shape").size() == 2;
  if (!two_d) {
    inf.reason = "unsupported op: only 2-D pooling runs in INT8";
    return;
  }
  if (!avail_.count(x)) {
    inf.reason = "no speed benefit: input '" + x + "' is FP32";
    return;
  }
  inf.kind = Kind::kPool;
  inf.reason = "8-bit pass-through (scale of '" + x + "')";
  avail_.insert(n.outputs[0]);
  q_[n.outputs[0]] = q_[x];
  rank4_.insert(n.outputs[0]);
}

Status Lowerer::DecideConcat(size_t i) {
  const ir::Node& n = g_.nodes[i];
  NodeInfo& inf = info_[i];
  for (const auto& in : n.inputs)
    if (in.empty() || !avail_.count(in)) {
      inf.reason = "no speed benefit: input '" + in + "' is FP32";
      return Status::Ok();
    }
  const std::string& y = n.outputs[0];
  bool all_unsigned = true, same = true, any_zp = false;
  float amax = 0.0f, lo = 0.0f, hi = 0.0f;
  for (const auto& in : n.inputs) {
    const QTensor& q = q_[in];
    all_unsigned = all_unsigned && q.is_unsigned;
    any_zp = any_zp || q.zero_point != 0;
    amax = std::max(amax, AmaxFromScale(q.scale, q.is_unsigned));
    lo = std::min(lo, q.lo());
    hi = std::max(hi, q.hi());
    same = same && q == q_[n.inputs[0]];
  }
  QTensor out;
  float s = 0;
  CALIB8_ASSIGN_OR_RETURN(ScaleState st, Lookup(y, &s));
  if (same) {
    out = q_[n.inputs[0]];
  } else if (st == ScaleState::kOk && opt_.ranges.count(y)) {
    out = TableQ(y, s);
  } else if (any_zp) {  // no range of its own: one that covers every input's
    out = AsymmetricParams(lo, hi);
  } else if (st == ScaleState::kOk) {
    out = TableQ(y, s);
    out.is_unsigned = out.is_unsigned && all_unsigned;
    if (!out.is_unsigned) out.scale = s;
  } else {
    out.is_unsigned = all_unsigned;
    out.scale = ScaleFromAmax(amax, all_unsigned);
  }
  inf.kind = Kind::kConcat;
  inf.reason = same ? "8-bit concat (scales agree)" : "8-bit concat (inputs requantized)";
  avail_.insert(y);
  q_[y] = out;
  return Status::Ok();
}

}  // namespace calib8::quant::lowering_detail
