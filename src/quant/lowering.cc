// quant/lowering.cc — the INT8 lowering pass: decides per node of the fused FP32 graph whether it
// runs in 8 bits (and why not), quantizes constant weights per output channel and biases to
// int32 (quant_params.h), and rewrites the graph with calib8.int8 ops, Quantize/Dequantize at the
// region borders and a layout (NCHW or NHWC) per 8-bit tensor. The kernels live in src/int8;
// docs/int8.md describes the plan format and the rules implemented here.
#include "quant/lowering.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "ir/passes.h"
#include "quant/quant_params.h"

namespace calib8::quant {

namespace {

enum class Kind { kFp32, kConv, kMatMul, kPool, kMove, kConcat, kPlugin };

struct NodeInfo {
  Kind kind = Kind::kFp32;
  bool transposed = false;  // kConv: ConvTranspose
  int spatial = 0;          // kConv: 1, 2 or 3 spatial dims
  std::string reason;
  bool out_int8 = false;  // produces an 8-bit output (else the compute op writes float32)
  bool has_residual = false;
  std::string residual;  // the residual tensor (fused Add)
};

// The 8-bit encoding of an activation tensor in the plan (scale, zero point, signedness).
using QTensor = QParams;

std::string FusedOpName(const ir::Node& n) {
  std::string s = n.op_type;
  if (n.GetInt("_calib8_sum", 0) == 1) s += "+Add";
  std::string act = n.GetString("_calib8_act", "");
  if (!act.empty()) s += "+" + act;
  if (n.HasAttr("_calib8_post_mul") || n.HasAttr("_calib8_post_add")) s += "+Affine";
  return s;
}

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
    const bool conv = n.op_type == "Conv" || n.op_type == "ConvTranspose";
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

class Lowerer {
 public:
  Lowerer(const ir::Graph& g, const table::CalibrationTable& t, const LoweringOptions& o)
      : g_(g), table_(t), opt_(o) {}

  Result<Int8Plan> Run() {
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

 private:
  enum class ScaleState { kOk, kMissing, kZero };

  void Index() {
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      for (const auto& in : g_.nodes[i].inputs)
        if (!in.empty()) consumers_[in].push_back(i);
      for (const auto& o : g_.nodes[i].outputs)
        if (!o.empty()) producer_[o] = i;
    }
    for (const auto& o : g_.outputs) graph_outputs_.insert(o.name);
  }

  int Rank(const std::string& name) const {
    if (rank4_.count(name)) return 4;
    auto it = g_.value_info.find(name);
    if (it != g_.value_info.end() && it->second.has_shape)
      return static_cast<int>(it->second.dims.size());
    for (const auto& in : g_.inputs)
      if (in.name == name && in.has_shape) return static_cast<int>(in.dims.size());
    return -1;
  }

  // The table's scale for an activation; records coverage; fails on inf/NaN.
  Result<ScaleState> Lookup(const std::string& name, float* scale) {
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

  static std::string Why(ScaleState s, const std::string& what, const std::string& name) {
    if (s == ScaleState::kZero)
      return "amax 0 for " + what + " '" + name + "' (tensor is all zero, or a denormal scale)";
    return "no table entry for " + what + " '" + name + "'";
  }

  // Whether the user keeps node n FP32: by its name, or by a tensor it reads, or one it writes
  // unless it is a compute node (Conv/ConvTranspose/Gemm/MatMul): that one stays INT8 and writes
  // the kept tensor as float32 (DecideCompute), so only the consumers of the tensor pay.
  bool Kept(const ir::Node& n, std::string* which) const {
    if (opt_.keep_fp32.count(n.name)) {
      *which = n.name;
      return true;
    }
    const bool compute = n.op_type == "Conv" || n.op_type == "ConvTranspose" ||
                         n.op_type == "Gemm" || n.op_type == "MatMul";
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

  // The table scale of `name` as this plan uses it: u8 with a zero point when the options give
  // its asymmetric range; u8 amax / 255 when allowed; s8 amax / 127 otherwise.
  QTensor TableQ(const std::string& name, float s127) const {
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

  void MarkNonNegative(const ir::Node& n) {
    const std::string& y = n.outputs.empty() ? std::string() : n.outputs[0];
    if (y.empty()) return;
    std::string act = n.GetString("_calib8_act", "");
    bool nn = false;
    if (act == "Relu" || act == "HardSigmoid" || act == "Sigmoid") nn = true;
    if (act == "Clip" && n.GetFloat("_calib8_act_alpha", -1.0f) >= 0.0f) nn = true;
    // A fused scalar affine after the activation keeps it non-negative only with mul, add >= 0.
    if (n.GetFloat("_calib8_post_mul", 1.0f) < 0.0f || n.GetFloat("_calib8_post_add", 0.0f) < 0.0f)
      nn = false;
    if (n.domain.empty() &&
        (n.op_type == "Relu" || n.op_type == "Sigmoid" || n.op_type == "HardSigmoid"))
      nn = true;
    static const std::unordered_set<std::string> kFollow = {
        "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Reshape",
        "Flatten", "Squeeze",     "Unsqueeze",         "Transpose",     "Identity"};
    if (n.domain.empty() && kFollow.count(n.op_type) && nonneg_.count(n.input(0))) nn = true;
    if (n.domain.empty() && n.op_type == "Concat") {
      nn = !n.inputs.empty();
      for (const auto& in : n.inputs) nn = nn && nonneg_.count(in);
    }
    if (nn) nonneg_.insert(y);
  }

  // Whether `x` can be read in 8 bits by an INT8 compute node: produced in 8 bits, or quantized
  // at the border with its table scale.
  Result<bool> InputQuantizable(const std::string& x, const std::string& what, std::string* why) {
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

  Status Decide() {
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
      if (op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul") {
        CALIB8_RETURN_IF_ERROR(DecideCompute(i));
      } else if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") {
        DecidePool(i);
      } else if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" ||
                 op == "Transpose") {
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
      } else if (op == "Concat") {
        CALIB8_RETURN_IF_ERROR(DecideConcat(i));
      } else {
        inf.reason = "unsupported op: no INT8 kernel for " + op;
      }
    }
    return Status::Ok();
  }

  // The tensors around custom ops that can run INT8 (not kept FP32 by the user): they are held
  // symmetric s8, zero point 0, whatever the sidecar's ranges say, because that is what a plugin's
  // compute_int8 receives and returns (TensorRT's INT8 I/O for plugins).
  void MarkPluginBorders() {
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

  // A custom op with an INT8 compute: runs in 8 bits when every input is an activation that can
  // be held s8 (a table entry, or produced s8 with zero point 0) and every output has a scale
  // (its table entry; input 0's with output_has_input_scale).
  Status DecidePlugin(size_t i, bool output_has_input_scale) {
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

  Status DecideCompute(size_t i) {
    const ir::Node& n = g_.nodes[i];
    NodeInfo& inf = info_[i];
    const std::string& op = n.op_type;
    const Tensor* w = g_.FindInitializer(n.input(1));
    if (n.outputs.size() != 1) {
      inf.reason = "unsupported op: extra outputs";
      return Status::Ok();
    }
    const bool conv = op == "Conv" || op == "ConvTranspose";
    if (conv) {
      if (!w || w->dtype() != DataType::kFloat32 || w->rank() < 3 || w->rank() > 5) {
        inf.reason = "unsupported op: only " + op +
                     " with constant float32 weights (1-D, 2-D or 3-D) runs in INT8";
        return Status::Ok();
      }
      // Output channels: Conv W [M, C/G, k...]; ConvTranspose W [C, M/G, k...].
      int64_t m = op == "Conv" ? w->dim(0) : w->dim(1) * n.GetInt("group", 1);
      const Tensor* b = g_.FindInitializer(n.input(2));
      if (!n.input(2).empty() && (!b || b->dtype() != DataType::kFloat32 || b->numel() != m)) {
        inf.reason = "unsupported op: " + op + " bias is not a constant float32 vector";
        return Status::Ok();
      }
      inf.transposed = op == "ConvTranspose";
      inf.spatial = static_cast<int>(w->rank()) - 2;
    } else {
      if (!w || w->dtype() != DataType::kFloat32 || w->rank() != 2) {
        inf.reason = "unsupported op: " + op +
                     " weights (input 1) are not a constant 2-D float32 "
                     "tensor";
        return Status::Ok();
      }
      if (op == "Gemm") {
        if (n.GetInt("transA", 0) != 0 || n.GetFloat("alpha", 1.0f) != 1.0f) {
          inf.reason = "unsupported op: Gemm with transA or alpha != 1";
          return Status::Ok();
        }
        int64_t nout = n.GetInt("transB", 0) ? w->dim(0) : w->dim(1);
        const Tensor* c = g_.FindInitializer(n.input(2));
        if (!n.input(2).empty() && (!c || c->dtype() != DataType::kFloat32 || c->numel() != nout ||
                                    c->shape().back() != nout)) {
          inf.reason = "unsupported op: Gemm C is not a constant row vector";
          return Status::Ok();
        }
      } else {
        int r = Rank(n.input(0));
        if (r >= 0 && r < 2) {
          inf.reason = "unsupported op: MatMul with a 1-D input";
          return Status::Ok();
        }
      }
    }
    // Weights and bias with a NaN or inf cannot be quantized (the per-channel scale would be
    // inf or ignore the NaN): refused, naming the node and the tensor (docs/int8.md).
    for (size_t k = 1; k < 3 && k < n.inputs.size(); ++k) {
      const Tensor* t = g_.FindInitializer(n.input(k));
      if (!t || t->dtype() != DataType::kFloat32) continue;
      const float* v = t->data<float>();
      for (int64_t j = 0; j < t->numel(); ++j)
        if (!std::isfinite(v[j]))
          return InvalidArgument(g_.source, ": node '", n.name, "' (", op, "): ",
                                 k == 1 ? "weight" : "bias", " '", n.input(k), "' value ", j,
                                 " is ", v[j], ": expected finite values for INT8 (fix the model, "
                                 "or keep the node FP32 with --keep-fp32)");
    }
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

  void DecidePool(size_t i) {
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

  Status DecideConcat(size_t i) {
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

  // The inputs of node i that it reads in 8 bits (when it runs INT8).
  std::vector<std::string> Int8Inputs(size_t i) const {
    const ir::Node& n = g_.nodes[i];
    const NodeInfo& inf = info_[i];
    switch (inf.kind) {
      case Kind::kConv:
      case Kind::kMatMul: {
        std::vector<std::string> v{n.input(0)};
        if (inf.has_residual && inf.out_int8) v.push_back(inf.residual);
        return v;
      }
      case Kind::kPool:
      case Kind::kMove:
        return {n.input(0)};
      case Kind::kConcat:
      case Kind::kPlugin:
        return n.inputs;
      case Kind::kFp32:
        break;
    }
    return {};
  }

  // Decides, from the consumers backwards, which compute nodes write 8 bits and which tensors are
  // needed in 8 bits and/or in float32.
  void ResolveOutputs() {
    for (size_t k = g_.nodes.size(); k-- > 0;) {
      const ir::Node& n = g_.nodes[k];
      NodeInfo& inf = info_[k];
      if (inf.kind == Kind::kConv || inf.kind == Kind::kMatMul) {
        inf.out_int8 = avail_.count(n.outputs[0]) && int8_users_.count(n.outputs[0]);
      } else if (inf.kind != Kind::kFp32) {
        inf.out_int8 = true;
      }
      for (const auto& in : Int8Inputs(k)) int8_users_[in].push_back(k);
    }
    for (size_t k = 0; k < g_.nodes.size(); ++k) {
      const ir::Node& n = g_.nodes[k];
      const NodeInfo& inf = info_[k];
      if (inf.kind == Kind::kFp32) {
        for (const auto& in : n.inputs)
          if (!in.empty()) needs_f32_.insert(in);
      } else if ((inf.kind == Kind::kConv || inf.kind == Kind::kMatMul) && inf.has_residual &&
                 !inf.out_int8) {
        needs_f32_.insert(inf.residual);
      } else if (inf.kind == Kind::kMove) {
        for (size_t j = 1; j < n.inputs.size(); ++j)
          if (!n.inputs[j].empty()) needs_f32_.insert(n.inputs[j]);  // shape inputs
      }
    }
    for (const auto& o : graph_outputs_) needs_f32_.insert(o);
  }

  // Work of compute node i: MACs per element that crosses an FP32 border around it (its input
  // quantized, its output written as float), from channels, kernel and stride only (so it does
  // not depend on the image size), and the MACs of one sample when the input shape is known
  // (-1 otherwise). `what` describes the layer for the reason text.
  struct Work {
    double macs_per_element = 0;
    double macs = -1;
    std::string what;
  };
  Work WorkOf(size_t i) const {
    const ir::Node& n = g_.nodes[i];
    const NodeInfo& inf = info_[i];
    const Tensor& w = *g_.FindInitializer(n.input(1));
    Work r;
    std::ostringstream what;
    double per_pos_macs = 0, per_pos_elems = 0;  // per input position (row for MatMul)
    if (inf.kind == Kind::kConv) {
      const int64_t G = n.GetInt("group", 1);
      const int64_t c = inf.transposed ? w.dim(0) : w.dim(1) * G;
      const int64_t m = inf.transposed ? w.dim(1) * G : w.dim(0);
      double k = 1, stride = 1;
      std::string ks;
      for (int d = 2; d < w.rank(); ++d) {
        k *= static_cast<double>(w.dim(d));
        ks += (ks.empty() ? "" : "x") + std::to_string(w.dim(d));
      }
      for (int64_t s : n.GetInts("strides")) stride *= static_cast<double>(s);
      // Output positions per input position: 1/stride (Conv), stride (ConvTranspose).
      const double r = inf.transposed ? stride : 1.0 / stride;
      per_pos_macs = inf.transposed ? static_cast<double>(c) * (m / G) * k
                                    : r * static_cast<double>(m) * (c / G) * k;
      per_pos_elems = static_cast<double>(c) + r * static_cast<double>(m);
      what << ks << (inf.transposed ? " conv-transpose" : " conv") << " with " << c << " input and "
           << m << " output channel(s)";
      if (G > 1) what << ", " << G << " groups";
    } else {
      const bool kn = !(n.op_type == "Gemm" && n.GetInt("transB", 0) != 0);
      const int64_t k = kn ? w.dim(0) : w.dim(1), nn = kn ? w.dim(1) : w.dim(0);
      per_pos_macs = static_cast<double>(k) * static_cast<double>(nn);
      per_pos_elems = static_cast<double>(k + nn);
      what << n.op_type << " " << k << " -> " << nn;
    }
    r.macs_per_element = per_pos_macs / std::max(per_pos_elems, 1.0);
    // Input positions of one sample: the known dims after [N, C] (Conv) or before K (MatMul).
    auto it = g_.value_info.find(n.input(0));
    const ir::ValueInfo* vi = it != g_.value_info.end() ? &it->second : nullptr;
    for (const auto& in : g_.inputs)
      if (in.name == n.input(0)) vi = &in;
    if (vi && vi->has_shape) {
      double pos = 1;
      bool known = true;
      const size_t rank = vi->dims.size();
      size_t b = inf.kind == Kind::kConv ? 2 : 1, e = inf.kind == Kind::kConv ? rank : rank - 1;
      for (size_t d = b; d < e && d < rank; ++d) {
        known = known && vi->dims[d].known();
        if (known) pos *= static_cast<double>(vi->dims[d].value);
      }
      if (known) r.macs = pos * per_pos_macs;
    }
    if (r.macs >= 0) {
      what << ", ";
      if (r.macs >= 1e6)
        what << std::setprecision(3) << r.macs / 1e6 << " M MACs";
      else
        what << std::setprecision(3) << r.macs / 1e3 << " k MACs";
    }
    r.what = what.str();
    return r;
  }

  // The "no speed benefit" rule (docs/int8.md, measured in bench/RESULTS.md): a compute node that
  // would be an INT8 island by itself — its input quantized for it alone (produced in float32, no
  // other INT8 reader) and its output written as float32 (no INT8 consumer) — stays FP32 when it
  // does fewer MACs per element crossing those borders than opt_.min_conv_macs_per_element
  // (Conv, ConvTranspose) or opt_.min_matmul_macs_per_element (Gemm, MatMul). Returns whether
  // any node was demoted.
  bool ApplySpeedRule() {
    bool any = false;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      NodeInfo& inf = info_[i];
      if ((inf.kind != Kind::kConv && inf.kind != Kind::kMatMul) || inf.out_int8) continue;
      const std::string& x = g_.nodes[i].input(0);
      if (ProducedInt8(x)) continue;
      auto users = int8_users_.find(x);
      if (users != int8_users_.end() && users->second.size() > 1) continue;  // shared Quantize
      Work w = WorkOf(i);
      const double min = inf.kind == Kind::kConv ? opt_.min_conv_macs_per_element
                                                 : opt_.min_matmul_macs_per_element;
      if (w.macs_per_element >= min) continue;
      std::ostringstream why;
      why << std::setprecision(3) << "no speed benefit: " << w.what
          << " between FP32 nodes (input '" << x
          << "' FP32, output read as FP32): " << w.macs_per_element
          << " MACs per element crossing its borders < " << min
          << ", so quantizing its input and dequantizing its output cost more than INT8 saves";
      inf = NodeInfo{};
      inf.reason = why.str();
      any = true;
    }
    return any;
  }

  bool ProducedInt8(const std::string& t) const {
    auto it = producer_.find(t);
    return it != producer_.end() && info_[it->second].kind != Kind::kFp32 &&
           info_[it->second].out_int8;
  }

  // Whether node k reads and writes 4-D tensors in either layout (2-D QConv, QConvTranspose,
  // 8-bit pools). 1-D and 3-D convolutions keep channels-first tensors between ops.
  bool Nhwc4d(size_t k) const {
    const NodeInfo& inf = info_[k];
    return (inf.kind == Kind::kConv && inf.spatial == 2) || inf.kind == Kind::kPool;
  }

  void DecideLayouts() {
    if (!opt_.nhwc) return;
    for (const auto& [t, users] : int8_users_) {
      bool producer_ok;
      auto pit = producer_.find(t);
      if (ProducedInt8(t)) {
        producer_ok = Nhwc4d(pit->second);
      } else {
        producer_ok = true;  // a Quantize node writes either layout
      }
      bool users_ok = true, four = rank4_.count(t) > 0;
      for (size_t u : users) {
        users_ok = users_ok && Nhwc4d(u);
        four = four || Nhwc4d(u);
      }
      if (producer_ok && users_ok && four) nhwc_.insert(t);
    }
  }

  std::string QName(const std::string& t) const {
    auto it = q_.find(t);
    return t + (it != q_.end() && it->second.is_unsigned ? ":u8" : ":s8");
  }

  // The 8-bit name of `t`, emitting a Quantize node first when `t` is float32 here.
  std::string EnsureInt8(const std::string& t, std::vector<ir::Node>& out) {
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

  void EmitDequantize(const std::string& t, std::vector<ir::Node>& out) {
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

  // Per-output-channel s8 weights as [channels, per] (quant_params.h), their scales.
  struct QWeights {
    Tensor q;
    std::vector<float> scales;
  };
  // Where the output channels of a weight tensor are.
  enum class WeightLayout {
    kRows,           // [channels, ...]: Conv [M, C/G, k...], Gemm transB [N, K], stored as is
    kGemmKN,         // [K, N], channels along N; stored [N, K]
    kConvTranspose,  // [C, M/G, k...]: channel m = g*(M/G) + o is W[g*C/G .. +C/G, o, k...]
  };
  static QWeights QuantizeWeights(const Tensor& w, WeightLayout layout, int64_t group = 1) {
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
    const int64_t ks =
        layout == WeightLayout::kConvTranspose ? w.numel() / (w.dim(0) * w.dim(1)) : 1;
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

  void EmitCompute(size_t i, std::vector<ir::Node>& out) {
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

  void EmitPlugin(size_t i, std::vector<ir::Node>& out) {
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

  void EmitOther(size_t i, std::vector<ir::Node>& out) {
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

  Status Emit() {
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

  ir::Graph g_;
  const table::CalibrationTable& table_;
  const LoweringOptions& opt_;
  Int8Plan plan_;
  std::vector<NodeInfo> info_;
  std::unordered_map<std::string, std::vector<size_t>> consumers_;
  std::unordered_map<std::string, size_t> producer_;
  std::unordered_set<std::string> graph_outputs_;
  std::unordered_set<std::string> avail_, nonneg_, rank4_, needs_f32_, nhwc_, quantized_;
  std::unordered_set<std::string> plugin_border_;  // tensors an INT8 plugin reads or writes
  std::unordered_map<std::string, QTensor> q_;
  std::map<std::string, std::vector<size_t>> int8_users_;
  std::map<size_t, std::string> out_note_;
  std::unordered_set<std::string> needed_, found_, zero_;
  std::vector<std::string> needed_order_;
  std::map<std::string, Tensor> new_inits_;
};

}  // namespace

std::string Int8PluginOpType(const std::string& domain, const std::string& op_type) {
  return kInt8PluginPrefix + domain + "::" + op_type;
}

Result<Int8Plan> LowerToInt8(const ir::Graph& graph, const table::CalibrationTable& table,
                             const LoweringOptions& options) {
  Lowerer l(graph, table, options);
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
