// quant/lowering_resolve.cc — the INT8 lowering after the per-node decisions
// (lowering_internal.h): which compute nodes write 8 bits and which tensors are needed in float32,
// the "no speed benefit" rule that keeps small INT8 islands FP32 (docs/int8.md), and the layout
// (NCHW or NHWC) of each 8-bit tensor.
#include <algorithm>
#include <iomanip>
#include <sstream>
#include <string>

#include "quant/lowering_internal.h"

namespace calib8::quant::lowering_detail {

std::vector<std::string> Lowerer::Int8Inputs(size_t i) const {
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

void Lowerer::ResolveOutputs() {
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

Lowerer::Work Lowerer::WorkOf(size_t i) const {
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
      // Appended in two steps: `"x" + std::to_string(...)` here trips GCC 12's -Wrestrict
      // false positive (std::string operator+ inlined).
      if (!ks.empty()) ks += "x";
      ks += std::to_string(w.dim(d));
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

bool Lowerer::ApplySpeedRule() {
  bool any = false;
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    NodeInfo& inf = info_[i];
    if ((inf.kind != Kind::kConv && inf.kind != Kind::kMatMul) || inf.out_int8) continue;
    const std::string& x = g_.nodes[i].input(0);
    if (ProducedInt8(x)) continue;
    auto users = int8_users_.find(x);
    if (users != int8_users_.end() && users->second.size() > 1) continue;  // shared Quantize
    Work w = WorkOf(i);
    const double min =
        inf.kind == Kind::kConv ? opt_.min_conv_macs_per_element : opt_.min_matmul_macs_per_element;
    if (w.macs_per_element >= min) continue;
    std::ostringstream why;
    why << std::setprecision(3) << "no speed benefit: " << w.what << " between FP32 nodes (input '"
        << x << "' FP32, output read as FP32): " << w.macs_per_element
        << " MACs per element crossing its borders < " << min
        << ", so quantizing its input and dequantizing its output cost more than INT8 saves";
    inf = NodeInfo{};
    inf.reason = why.str();
    any = true;
  }
  return any;
}

bool Lowerer::ProducedInt8(const std::string& t) const {
  auto it = producer_.find(t);
  return it != producer_.end() && info_[it->second].kind != Kind::kFp32 &&
         info_[it->second].out_int8;
}

bool Lowerer::Nhwc4d(size_t k) const {
  const NodeInfo& inf = info_[k];
  return (inf.kind == Kind::kConv && inf.spatial == 2) || inf.kind == Kind::kPool;
}

void Lowerer::DecideLayouts() {
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

}  // namespace calib8::quant::lowering_detail
