// int8/qlinear_onednn.cc — fast QConv (convolution_forward, 1-D/2-D/3-D), QConvTranspose
// (deconvolution_forward) and QMatMul (matmul) on oneDNN 2.6 with s8/u8 sources, s8 weights
// packed once into the primitive's layout, int32 bias, per-channel output scales
// (primitive_attr::set_output_scales, mask on the channel dim) and the epilogue as post-ops (sum
// with the residual's data type, eltwise). Activations enter and leave convolutions channels
// last (what the VNNI/AMX kernels read); NCHW borders are converted here. Primitives are cached
// per input shape and type; what oneDNN cannot express runs the reference kernel (counted:
// OneDnnFallbacks()).
#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstring>
#include <map>
#include <mutex>

#include "int8/cpu_features.h"
#include "int8/qkernels.h"
#include "ops/conv_ref.h"
#include "ops/onednn_util.h"
#include "ops/op_util.h"

namespace calib8::int8 {

namespace {

// On x86 without VNNI or AMX, oneDNN's 8-bit convolution and matmul multiply u8 x s8 with
// vpmaddubsw, which adds each pair of products into a saturating 16-bit lane (oneDNN's
// "Nuances of int8 computations"): 2 x 255 x 127 exceeds 32767, so sums of large activations and
// weights come out wrong (measured on an AVX2 AMD EPYC: up to 4 LSB on 44% of a random layer's
// outputs).
// There the kernels split every weight w into a = w / 2 (toward zero) and b = w - a, both within
// [-64, 64], and run the primitive over the input channels twice, [x, x] against [a, b]: the same
// integer sum, with every pair of products within 2 x 255 x 64 = 32640, so nothing saturates
// (twice the multiplies, still oneDNN's speed class; docs/int8.md).
bool OneDnnInt8IsExact() {
  static const bool exact = DetectCpuInt8Features().any_vnni();
  return exact;
}

// The split weights: along `axis` (the input-channel axis, of `groups` groups) each group's rows
// are written twice, first a = w / 2, then b = w - a.
Tensor SplitWeights(const Tensor& w, int axis, int64_t groups) {
  Shape s = w.shape();
  const int64_t outer = [&] {
    int64_t o = 1;
    for (int i = 0; i < axis; ++i) o *= s[static_cast<size_t>(i)];
    return o * groups;
  }();
  const int64_t rows = s[static_cast<size_t>(axis)] / groups;
  int64_t inner = 1;
  for (size_t i = static_cast<size_t>(axis) + 1; i < s.size(); ++i) inner *= s[i];
  s[static_cast<size_t>(axis)] *= 2;
  Tensor out(DataType::kInt8, s);
  const int8_t* src = w.data<int8_t>();
  int8_t* dst = out.data<int8_t>();
  const int64_t block = rows * inner;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < block; ++i) {
      const int8_t v = src[o * block + i];
      const auto a = static_cast<int8_t>(v / 2);
      dst[o * 2 * block + i] = a;
      dst[o * 2 * block + block + i] = static_cast<int8_t>(v - a);
    }
  return out;
}

// The input with each group's channels written `copies` times ([.., C] -> [.., copies x C];
// channels last). An int8 input becomes uint8 + 128 (the caller adds 128 to its zero point):
// oneDNN would halve the weights of an s8 x s8 product on such a CPU, losing their last bit.
Tensor DoubleChannels(const Tensor& x, int64_t groups, int64_t copies = 2) {
  Shape s = x.shape();
  const int64_t c = s.back(), cg = c / groups, pixels = x.numel() / c;
  s.back() = copies * c;
  const bool shift = x.dtype() == DataType::kInt8;
  Tensor out(shift ? DataType::kUint8 : x.dtype(), s);
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
#pragma omp parallel for
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t g = 0; g < groups; ++g) {
      const uint8_t* from = src + p * c + g * cg;
      uint8_t* to = dst + p * copies * c + g * copies * cg;
      for (int64_t k = 0; k < copies; ++k) std::memcpy(to + k * cg, from, static_cast<size_t>(cg));
      if (shift)
        for (int64_t i = 0; i < copies * cg; ++i) to[i] ^= 0x80;  // s8 v -> u8 v + 128
    }
  return out;
}

using dnnl::memory;
using ops::CpuEngine;
using ops::CpuStream;
using ops::OneDnnCall;

memory::data_type Dt(DataType t) {
  switch (t) {
    case DataType::kInt8:
      return memory::data_type::s8;
    case DataType::kUint8:
      return memory::data_type::u8;
    case DataType::kInt32:
      return memory::data_type::s32;
    default:
      return memory::data_type::f32;
  }
}

// Output scales and post-ops of a QEpilogue (see qkernels.h); residual_dt: the residual's type.
dnnl::primitive_attr MakeAttr(const QEpilogue& e, DataType out_dt, DataType residual_dt) {
  using alg = dnnl::algorithm;
  using A = ops::Epilogue::Act;
  dnnl::primitive_attr attr;
  bool uniform = true;
  for (float s : e.oscale) uniform = uniform && s == e.oscale[0];
  if (uniform)
    attr.set_output_scales(0, {e.oscale[0]});
  else
    attr.set_output_scales(1 << 1, e.oscale);
  // Zero points are runtime arguments (ZeroPointArgs); oneDNN subtracts src's before the
  // accumulation (padding stays a real 0) and adds dst's after the post-ops.
  if (e.in_zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  if (e.out_zp != 0 && out_dt != DataType::kFloat32)
    attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
  dnnl::post_ops po;
  if (e.sum) {
    if (e.res_zp != 0)
      po.append_sum(e.sum_scale, e.res_zp, Dt(residual_dt));
    else if (residual_dt != out_dt)
      po.append_sum(e.sum_scale, Dt(residual_dt));
    else
      po.append_sum(e.sum_scale);
  }
  const ops::Epilogue& a = e.act;
  // The output scale goes on the last eltwise post-op: the affine's when there is one.
  float s = a.affine ? 1.0f : e.act_scale;
  switch (a.act) {
    case A::kNone:
      break;
    case A::kRelu:
      po.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f);
      break;
    case A::kLeakyRelu:
      po.append_eltwise(1.0f, alg::eltwise_relu, a.alpha, 0.0f);
      break;
    case A::kClip:
      po.append_eltwise(1.0f, alg::eltwise_clip, a.alpha, a.beta);
      break;
    case A::kHardSwish:
      po.append_eltwise(s, alg::eltwise_hardswish, 0.0f, 0.0f);
      break;
    case A::kHardSigmoid:
      po.append_eltwise(1.0f, alg::eltwise_linear, a.alpha, a.beta);
      po.append_eltwise(s, alg::eltwise_clip, 0.0f, 1.0f);
      break;
    case A::kSigmoid:
      po.append_eltwise(s, alg::eltwise_logistic, 0.0f, 0.0f);
      break;
    case A::kTanh:
      po.append_eltwise(s, alg::eltwise_tanh, 0.0f, 0.0f);
      break;
  }
  if (a.affine) po.append_eltwise(e.act_scale, alg::eltwise_linear, a.post_mul, a.post_add);
  attr.set_post_ops(po);
  return attr;
}

// The runtime zero-point arguments MakeAttr declared, as one-element s32 memories made once per
// primitive (creating oneDNN memories on every run cost about 10 us per convolution).
struct ZeroPointArgs {
  memory src, dst;
  void Make(const QEpilogue& e) {
    auto& eng = CpuEngine();
    memory::desc md({1}, memory::data_type::s32, memory::format_tag::x);
    if (e.in_zp != 0) {
      src = memory(md, eng);
      *static_cast<int32_t*>(src.get_data_handle()) = e.in_zp;
    }
    if (e.out_zp != 0 && e.out_type != QEpilogue::OutType::kF32) {
      dst = memory(md, eng);
      *static_cast<int32_t*>(dst.get_data_handle()) = e.out_zp;
    }
  }
  void AddTo(std::unordered_map<int, memory>& args) const {
    if (src) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = src;
    if (dst) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = dst;
  }
};

// An input zero point folded into the int32 bias: sum_k w[m,k] (q[k] - zp) + b[m] =
// sum_k w[m,k] q[k] + (b[m] - zp sum_k w[m,k]), exact in integers. Valid wherever every window
// position lies inside the input (no padding: 1x1 convolutions, matmuls), where it spares oneDNN
// its zero-point compensation (measured: 6-8% of a 1x1 convolution). `per` = weights per output
// channel; w is [M, per]. Returns the bias (a zero bias when b is undefined).
Tensor FoldInputZeroPoint(const Tensor& w, const Tensor& b, int64_t m, int32_t zp) {
  Tensor out(DataType::kInt32, {m});
  const int64_t per = w.numel() / m;
  for (int64_t c = 0; c < m; ++c) {
    int64_t sum = 0;
    for (int64_t k = 0; k < per; ++k) sum += w.data<int8_t>()[c * per + k];
    int64_t v = (b.defined() ? b.data<int32_t>()[c] : 0) - static_cast<int64_t>(zp) * sum;
    out.data<int32_t>()[c] = static_cast<int32_t>(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX));
  }
  return out;
}

struct QConvPlan {
  bool use_reference = false;
  const char* reference_reason = "";  // why, when use_reference (KernelContext::Note)
  ops::ConvGeometry g;
  dnnl::primitive prim;
  memory::desc src_md, dst_md, bias_md;
  memory packed_w;
  QEpilogue e;  // the node's epilogue, in_zp cleared when folded
  Tensor bias;  // b_, or the bias with the input zero point folded in
  ZeroPointArgs zps;
};

// The spatial dims oneDNN sees: 1-D runs as 2-D with H = 1 (the NWC bytes are NHWC with H = 1).
memory::dims SpatialDims(const std::array<int64_t, 3>& v, int nd) {
  return nd == 3 ? memory::dims{v[0], v[1], v[2]} : memory::dims{v[1], v[2]};
}
std::atomic<int64_t> g_fallbacks{0};

memory::dims Cat(memory::dims a, const memory::dims& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// QConv (convolution_forward) and QConvTranspose (deconvolution_forward): 1-D, 2-D and 3-D.
// Sources and destinations are channels last (NWC / NHWC / NDHWC); only 4-D tensors are held
// NHWC between ops (in_nhwc / out_nhwc), other ranks are converted here.
class QConvOneDnnKernel : public exec::Kernel {
 public:
  QConvOneDnnKernel(const exec::KernelInit& init, ops::ConvAttrs a, QEpilogue e,
                    std::unique_ptr<exec::Kernel> ref)
      : a_(std::move(a)), e_(std::move(e)), ref_(std::move(ref)) {
    const Tensor* w = init.constant(init.node.input(1));
    if (w && w->dtype() == DataType::kInt8 && w->rank() >= 3 && w->rank() <= 5) w_ = *w;
    // Without VNNI: split weights over twice the input channels, except for a depthwise
    // convolution (one input channel per group), whose oneDNN kernel widens to 32 bits itself
    // (splitting it would leave oneDNN only its slow reference primitive).
    no_vnni_ = !OneDnnInt8IsExact();
    const bool depthwise =
        w_.defined() &&
        (a_.transposed ? w_.dim(0) / std::max<int64_t>(a_.group, 1) : w_.dim(1)) == 1;
    if (w_.defined() && no_vnni_ && !depthwise)  // input channels: axis 1 (Conv), 0 (Transpose)
      w_split_ = a_.transposed ? SplitWeights(w_, 0, a_.group) : SplitWeights(w_, 1, 1);
    const Tensor* b = init.constant(init.node.input(2));
    if (b && b->dtype() == DataType::kInt32) b_ = *b;
    has_bias_input_ = !init.node.input(2).empty();
  }

  Status Run(exec::KernelContext& ctx) override {
    const Tensor* x = ctx.input(0);
    const Tensor* r = e_.sum ? ctx.input(3) : nullptr;
    bool ok = x && w_.defined() && x->rank() == w_.rank() && (b_.defined() || !has_bias_input_) &&
              (x->dtype() == DataType::kInt8 || x->dtype() == DataType::kUint8) &&
              (!e_.sum || r != nullptr);
    if (!ok) {
      ctx.Note("reference kernel: the weights, bias or input are not the s8/u8 tensors planned");
      return ref_->Run(ctx);
    }
    bool f32_out = e_.out_type == QEpilogue::OutType::kF32;
    DataType rdt = r ? r->dtype() : e_.out_dtype();
    if (r && (DataTypeSize(rdt) != DataTypeSize(e_.out_dtype()))) {
      ctx.Note("reference kernel: the residual's type differs in size from the output's");
      return ref_->Run(ctx);
    }
    std::lock_guard<std::mutex> lock(mu_);
    Shape key = x->shape();
    key.push_back(static_cast<int64_t>(x->dtype()));
    key.push_back(static_cast<int64_t>(rdt));
    auto it = plans_.find(key);
    if (it == plans_.end()) {
      auto p = std::make_unique<QConvPlan>();
      Shape xs = NchwShape(*x, e_.in_nhwc);
      if (a_.transposed) {
        CALIB8_ASSIGN_OR_RETURN(p->g, ops::ConvTransposeGeometryFor(a_, xs, w_.shape()));
      } else {
        CALIB8_ASSIGN_OR_RETURN(p->g, ops::ConvGeometryFor(a_, xs, w_.shape()));
      }
      CALIB8_RETURN_IF_ERROR(OneDnnCall(
          a_.transposed ? "creating the int8 deconvolution" : "creating the int8 convolution",
          [&] { Build(*p, x->dtype(), rdt); }));
      it = plans_.emplace(key, std::move(p)).first;
    }
    QConvPlan& p = *it->second;
    if (p.use_reference) {
      ++g_fallbacks;
      ctx.Note(p.reference_reason);
      return ref_->Run(ctx);
    }
    const ops::ConvGeometry& g = p.g;
    Tensor src = AsNhwc(*x, e_.in_nhwc);
    if (w_split_.defined() || (no_vnni_ && src.dtype() == DataType::kInt8))
      src = DoubleChannels(src, g.group, w_split_.defined() ? 2 : 1);
    Shape dst_shape{g.n};
    for (int i = 3 - g.spatial; i < 3; ++i) dst_shape.push_back(g.out[i]);
    dst_shape.push_back(g.m);
    Tensor dst(e_.out_dtype(), dst_shape);
    if (r) {
      // The sum post-op adds what the destination holds: the residual, NHWC, its own type.
      bool r_nhwc = !f32_out && e_.res_nhwc;
      if (NchwShape(*r, r_nhwc) != g.out_shape)
        return InvalidArgument("QConv residual has shape ", ShapeToString(r->shape()),
                               ", expected ", ShapeToString(g.out_shape));
      Tensor rn = AsNhwc(*r, r_nhwc);
      std::memcpy(dst.raw(), rn.raw(), dst.nbytes());
    }
    CALIB8_RETURN_IF_ERROR(OneDnnCall("executing the int8 convolution", [&] {
      auto& eng = CpuEngine();
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(p.src_md, eng, src.raw())},
                                           {DNNL_ARG_WEIGHTS, p.packed_w},
                                           {DNNL_ARG_DST, memory(p.dst_md, eng, dst.raw())}};
      if (p.bias.defined()) args[DNNL_ARG_BIAS] = memory(p.bias_md, eng, p.bias.raw());
      p.zps.AddTo(args);
      p.prim.execute(CpuStream(), args);
      CpuStream().wait();
    }));
    bool keep_nhwc = e_.out_nhwc && !f32_out && dst.rank() == 4;
    ctx.outputs[0] = keep_nhwc ? dst : ToNchw(dst);
    return Status::Ok();
  }

 private:
  void Build(QConvPlan& p, DataType src_dt, DataType res_dt) {
    const ops::ConvGeometry& g = p.g;
    for (int j = 0; j < 3; ++j)
      if (g.pad_b[j] < 0 || g.pad_e[j] < 0) {
        p.use_reference = true;
        p.reference_reason = "reference kernel: oneDNN has no negative padding (a cropping pad)";
        return;
      }
    using tag = memory::format_tag;
    const int nd = g.spatial == 3 ? 3 : 2;
    // Split weights (no VNNI): twice the input channels, [x, x] against [a, b].
    const int64_t twice = w_split_.defined() ? 2 : 1;
    const int64_t G = g.group, cg = twice * g.c_per_group(), mg = g.m_per_group();
    memory::dims src_dims = Cat({g.n, twice * g.c}, SpatialDims(g.in, nd));
    memory::dims dst_dims = Cat({g.n, g.m}, SpatialDims(g.out, nd));
    memory::dims kd = SpatialDims(g.k, nd);
    // oneDNN's logical weights are [(G,) O, I, k...] for both primitives. ONNX Conv stores
    // [M, C/G, k...] (oihw / goihw); ConvTranspose stores [C, M/G, k...] = [G, C/G, M/G, k...]
    // (iohw / giohw: inputs outside outputs).
    memory::dims w_dims = G == 1 ? Cat({g.m, twice * g.c}, kd) : Cat({G, mg, cg}, kd);
    tag w_tag;
    if (!a_.transposed)
      w_tag = G == 1 ? (nd == 3 ? tag::oidhw : tag::oihw) : (nd == 3 ? tag::goidhw : tag::goihw);
    else
      w_tag = G == 1 ? (nd == 3 ? tag::iodhw : tag::iohw) : (nd == 3 ? tag::giodhw : tag::giohw);
    tag act = nd == 3 ? tag::ndhwc : tag::nhwc;
    const bool shift = no_vnni_ && src_dt == DataType::kInt8;  // DoubleChannels: u8 + 128
    p.src_md = memory::desc(src_dims, Dt(shift ? DataType::kUint8 : src_dt), act);
    p.dst_md = memory::desc(dst_dims, Dt(e_.out_dtype()), act);
    p.e = e_;
    if (shift) p.e.in_zp += 128;
    p.bias = b_;
    bool padded = false;
    for (int j = 0; j < 3; ++j) padded = padded || g.pad_b[j] != 0 || g.pad_e[j] != 0;
    if (p.e.in_zp != 0 && !padded && !a_.transposed) {
      p.bias = FoldInputZeroPoint(w_, b_, g.m, p.e.in_zp);
      p.e.in_zp = 0;
    }
    p.bias_md =
        p.bias.defined() ? memory::desc({g.m}, memory::data_type::s32, tag::x) : memory::desc();
    memory::desc w_user(w_dims, memory::data_type::s8, w_tag);
    memory::desc w_any(w_dims, memory::data_type::s8, tag::any);
    dnnl::primitive_attr attr = MakeAttr(p.e, e_.out_dtype(), res_dt);
    p.zps.Make(p.e);
    memory::dims strides = SpatialDims(g.stride, nd), pl = SpatialDims(g.pad_b, nd),
                 pr = SpatialDims(g.pad_e, nd), dil = SpatialDims(g.dil, nd);
    for (auto& d : dil) d -= 1;  // oneDNN counts the holes
    memory::desc w_md;
    try {
      w_md = CreatePrimitive(p, w_any, attr, strides, dil, pl, pr);
    } catch (const dnnl::error& err) {
      if (err.status != dnnl_unimplemented) throw;
      p.use_reference = true;
      p.reference_reason =
          "reference kernel: oneDNN cannot build this primitive on this CPU (e.g. its epilogue)";
      return;
    }
    auto& eng = CpuEngine();
    for (auto& [md, m] : packed_)
      if (md == w_md) p.packed_w = m;
    if (!p.packed_w) {
      memory out(w_md, eng);
      memory in(w_user, eng, const_cast<void*>((w_split_.defined() ? w_split_ : w_).raw()));
      dnnl::reorder(in, out).execute(CpuStream(), in, out);
      CpuStream().wait();
      packed_.emplace_back(w_md, out);
      p.packed_w = out;
    }
  }

  // The convolution or deconvolution primitive; returns the weights layout it wants.
  memory::desc CreatePrimitive(QConvPlan& p, const memory::desc& w_any,
                               const dnnl::primitive_attr& attr, const memory::dims& strides,
                               const memory::dims& dil, const memory::dims& pl,
                               const memory::dims& pr) {
    auto& eng = CpuEngine();
    if (!a_.transposed) {
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_direct, p.src_md, w_any,
                                        p.bias_md, p.dst_md, strides, dil, pl, pr);
      dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
      p.prim = dnnl::convolution_forward(pd);
      return pd.weights_desc();
    }
    dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::deconvolution_direct, p.src_md, w_any,
                                        p.bias_md, p.dst_md, strides, dil, pl, pr);
    dnnl::deconvolution_forward::primitive_desc pd(d, attr, eng);
    p.prim = dnnl::deconvolution_forward(pd);
    return pd.weights_desc();
  }

  ops::ConvAttrs a_;
  QEpilogue e_;
  std::unique_ptr<exec::Kernel> ref_;
  Tensor w_, b_;
  Tensor w_split_;  // no VNNI: [a, b] along the input channels (SplitWeights)
  bool no_vnni_ = false;
  bool has_bias_input_ = false;
  std::mutex mu_;
  std::map<Shape, std::unique_ptr<QConvPlan>> plans_;
  std::vector<std::pair<memory::desc, memory>> packed_;
};

struct QMatMulPlan {
  dnnl::matmul prim;
  Tensor bias;  // b_, or with an s8 input shifted to u8 (no VNNI) b_ - 128 x sum(w)
  memory::desc src_md, dst_md, bias_md;
  memory packed_w;
  ZeroPointArgs zps;
};

class QMatMulOneDnnKernel : public exec::Kernel {
 public:
  QMatMulOneDnnKernel(const exec::KernelInit& init, QEpilogue e, std::unique_ptr<exec::Kernel> ref)
      : e_(std::move(e)), ref_(std::move(ref)) {
    const Tensor* w = init.constant(init.node.input(1));
    if (w && w->dtype() == DataType::kInt8 && w->rank() == 2) w_ = *w;
    if (w_.defined() && !OneDnnInt8IsExact()) w_split_ = SplitWeights(w_, 1, 1);  // [N, 2K]
    const Tensor* b = init.constant(init.node.input(2));
    if (b && b->dtype() == DataType::kInt32) b_ = *b;
    has_bias_input_ = !init.node.input(2).empty();
    // A matmul has no padding: its input zero point always folds into the bias.
    if (e_.in_zp != 0 && w_.defined() && (b_.defined() || !has_bias_input_)) {
      b_ = FoldInputZeroPoint(w_, b_, w_.dim(0), e_.in_zp);
      e_.in_zp = 0;
    }
  }

  Status Run(exec::KernelContext& ctx) override {
    const Tensor* a = ctx.input(0);
    const Tensor* r = e_.sum ? ctx.input(3) : nullptr;
    bool ok = a && w_.defined() && (b_.defined() || !has_bias_input_) && a->rank() >= 1 &&
              (a->dtype() == DataType::kInt8 || a->dtype() == DataType::kUint8) &&
              a->dim(-1) == w_.dim(1) && (!e_.sum || r != nullptr);
    if (!ok) {
      ctx.Note("reference kernel: the weights, bias or input are not the s8/u8 tensors planned");
      return ref_->Run(ctx);
    }
    DataType rdt = r ? r->dtype() : e_.out_dtype();
    if (r && DataTypeSize(rdt) != DataTypeSize(e_.out_dtype())) {
      ctx.Note("reference kernel: the residual's type differs in size from the output's");
      return ref_->Run(ctx);
    }
    const int64_t N = w_.dim(0), K = w_.dim(1), M = a->numel() / K;
    const int64_t K2 = w_split_.defined() ? 2 * K : K;  // no VNNI: [A, A] against [a, b]
    Shape out = a->shape();
    out.back() = N;
    if (r && r->shape() != out)
      return InvalidArgument("QMatMul residual has shape ", ShapeToString(r->shape()),
                             ", expected ", ShapeToString(out));
    std::lock_guard<std::mutex> lock(mu_);
    Shape key{M, static_cast<int64_t>(a->dtype()), static_cast<int64_t>(rdt)};
    auto it = plans_.find(key);
    if (it == plans_.end()) {
      auto p = std::make_unique<QMatMulPlan>();
      CALIB8_RETURN_IF_ERROR(OneDnnCall("creating the int8 matmul", [&] {
        using tag = memory::format_tag;
        auto& eng = CpuEngine();
        const bool shift = w_split_.defined() && a->dtype() == DataType::kInt8;
        // DoubleChannels makes an s8 input u8 + 128: 128 x sum(w) comes off the bias.
        p->bias = shift ? FoldInputZeroPoint(w_, b_, N, 128) : b_;
        p->src_md = memory::desc({M, K2}, Dt(shift ? DataType::kUint8 : a->dtype()), tag::ab);
        p->dst_md = memory::desc({M, N}, Dt(e_.out_dtype()), tag::ab);
        p->bias_md = p->bias.defined() ? memory::desc({1, N}, memory::data_type::s32, tag::ab)
                                       : memory::desc();
        memory::desc w_user({K2, N}, memory::data_type::s8, tag::ba);  // stored [N, K2]
        dnnl::primitive_attr attr = MakeAttr(e_, e_.out_dtype(), rdt);
        p->zps.Make(e_);
        auto make = [&](const memory::desc& w_req) {
          dnnl::matmul::desc d(p->src_md, w_req, p->bias_md, p->dst_md);
          dnnl::matmul::primitive_desc pd(d, attr, eng);
          p->prim = dnnl::matmul(pd);
          return pd.weights_desc();
        };
        memory::desc w_md;
        try {
          w_md = make(memory::desc({K2, N}, memory::data_type::s8, tag::any));
        } catch (const dnnl::error&) {
          w_md = make(w_user);
        }
        p->packed_w = memory(w_md, eng);
        memory in(w_user, eng, const_cast<void*>((w_split_.defined() ? w_split_ : w_).raw()));
        dnnl::reorder(in, p->packed_w).execute(CpuStream(), in, p->packed_w);
        CpuStream().wait();
      }));
      it = plans_.emplace(key, std::move(p)).first;
    }
    QMatMulPlan& p = *it->second;
    const Tensor src = w_split_.defined() ? DoubleChannels(*a, 1) : *a;
    Tensor y(e_.out_dtype(), out);
    if (r) std::memcpy(y.raw(), r->raw(), y.nbytes());
    CALIB8_RETURN_IF_ERROR(OneDnnCall("executing the int8 matmul", [&] {
      auto& eng = CpuEngine();
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, memory(p.src_md, eng, const_cast<void*>(src.raw()))},
          {DNNL_ARG_WEIGHTS, p.packed_w},
          {DNNL_ARG_DST, memory(p.dst_md, eng, y.raw())}};
      if (p.bias.defined()) args[DNNL_ARG_BIAS] = memory(p.bias_md, eng, p.bias.raw());
      p.zps.AddTo(args);
      p.prim.execute(CpuStream(), args);
      CpuStream().wait();
    }));
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  QEpilogue e_;
  std::unique_ptr<exec::Kernel> ref_;
  Tensor w_, b_;
  Tensor w_split_;  // no VNNI: [a, b] along K (SplitWeights)
  bool has_bias_input_ = false;
  std::mutex mu_;
  std::map<Shape, std::unique_ptr<QMatMulPlan>> plans_;
};

}  // namespace

int64_t OneDnnFallbacks() { return g_fallbacks.load(); }

exec::KernelFactory QConvOneDnn() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(ops::ConvAttrs a, ops::ParseConvAttrs(init.node, false));
    CALIB8_ASSIGN_OR_RETURN(QEpilogue e, ParseQEpilogue(init.node));
    CALIB8_ASSIGN_OR_RETURN(auto ref, QConvReference()(init));
    return std::unique_ptr<exec::Kernel>(
        std::make_unique<QConvOneDnnKernel>(init, std::move(a), std::move(e), std::move(ref)));
  };
}

exec::KernelFactory QConvTransposeOneDnn() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(ops::ConvAttrs a, ops::ParseConvAttrs(init.node, true));
    CALIB8_ASSIGN_OR_RETURN(QEpilogue e, ParseQEpilogue(init.node));
    CALIB8_ASSIGN_OR_RETURN(auto ref, QConvTransposeReference()(init));
    return std::unique_ptr<exec::Kernel>(
        std::make_unique<QConvOneDnnKernel>(init, std::move(a), std::move(e), std::move(ref)));
  };
}

exec::KernelFactory QMatMulOneDnn() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(QEpilogue e, ParseQEpilogue(init.node));
    CALIB8_ASSIGN_OR_RETURN(auto ref, QMatMulReference()(init));
    return std::unique_ptr<exec::Kernel>(
        std::make_unique<QMatMulOneDnnKernel>(init, std::move(e), std::move(ref)));
  };
}

}  // namespace calib8::int8
