// ops/conv_onednn.cc — fast Conv and ConvTranspose on NCHW tensors, with the fused epilogue.
// Three paths, chosen per input shape and cached in a plan: oneDNN convolution_forward /
// deconvolution_forward in the primitive's own layout with reorders around it (constant weights
// reordered once); 1x1 stride-1 convs as one oneDNN matmul per image on the NCHW data; wide
// depthwise convs as direct NCHW loops. Geometry comes from conv_ref.h so all agree with the
// reference; what oneDNN cannot express (negative pads, non-float32) runs the reference kernel.
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "ops/conv_ref.h"
#include "ops/kernels.h"
#include "ops/onednn_util.h"
#include "ops/op_util.h"

namespace calib8::ops {

namespace {

using dnnl::memory;

// Everything one input shape needs, built on first sight of that shape.
struct ConvPlan {
  bool use_reference = false;  // oneDNN cannot express this geometry
  // kConv: a oneDNN (de)convolution; kPointwise: a 1x1 conv as matmul (BuildPointwise);
  // kDepthwise: the direct NCHW depthwise loops (DepthwisePlane).
  // kCol2Im: ConvTranspose as one matmul + col2im (BuildCol2Im).
  enum class Kind { kConv, kPointwise, kDepthwise, kCol2Im } kind = Kind::kConv;
  bool prefill = false;     // kPointwise: Y holds bias + residual before the matmul
  std::vector<float> cols;  // kCol2Im: the matmul's output, one column per input position
  ConvGeometry g;
  dnnl::primitive prim;
  memory::desc src_user, dst_user, w_user, bias_md;
  memory::desc src_md, dst_md, w_md;  // the primitive's layouts
  bool src_reorder = false, dst_reorder = false, w_reorder = false;
  bool in_cl = false, out_cl = false;  // X and Y in Layout::kChannelsLast (kConv only)
  dnnl::reorder src_r, dst_r, w_r;     // x -> src_buf, dst_buf -> y
  // A residual of layout [row-major, channels-last] -> the primitive's dst; made on first use.
  dnnl::reorder res_r[2];
  bool res_r_made[2] = {false, false};
  memory src_buf, dst_buf, w_buf;
  memory packed_w;  // constant W in w_md
};

// The last `nd` entries of a padded-to-3 spatial array.
memory::dims Spatial(const std::array<int64_t, 3>& v, int nd, int64_t minus = 0) {
  memory::dims d;
  for (int j = 3 - nd; j < 3; ++j) d.push_back(v[j] - minus);
  return d;
}

memory::dims Concat(memory::dims a, const memory::dims& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Direct depthwise convolution of one NCHW plane with unit strides (1-D runs with H = 1).
// oneDNN 2.6 has fast depthwise kernels only for blocked/NHWC tensors, and the two reorders
// around them cost more than the convolution itself on all but the narrowest planes.
//
// The input plane is copied, zero-padded, into P (rows x cols, the extent the taps reach). The
// accumulator uses P's row pitch, so each tap (kh, kw) is one unit-stride loop over the whole
// plane with a constant offset (columns past the output width are computed and dropped):
//
//   acc[oh * cols + ow] += w[kh][kw] * P[(oh + kh * dh) * cols + ow + kw * dw]
__attribute__((target_clones("avx512f", "avx2", "default"))) void DepthwisePlaneUnitStride(
    const ConvGeometry& g, const float* x, const float* w, float bias, const float* residual,
    const Epilogue& e, float* y) {
  const int64_t ih_n = g.in[1], iw_n = g.in[2], oh_n = g.out[1], ow_n = g.out[2];
  const int64_t dh = g.dil[1], dw = g.dil[2], ph = g.pad_b[1], pw = g.pad_b[2];
  const int64_t rows = oh_n + (g.k[1] - 1) * dh, cols = ow_n + (g.k[2] - 1) * dw;
  thread_local std::vector<float> scratch;
  scratch.assign(static_cast<size_t>(rows * cols + oh_n * cols), 0.0f);
  float* pad = scratch.data();
  float* acc = pad + rows * cols;
  for (int64_t ih = std::max<int64_t>(0, -ph); ih < std::min(ih_n, rows - ph); ++ih) {
    // Input columns [c0, c1) land in P's row at column iw + pw.
    const int64_t c0 = std::max<int64_t>(0, -pw), c1 = std::min(iw_n, cols - pw);
    if (c1 > c0)
      std::copy(x + ih * iw_n + c0, x + ih * iw_n + c1, pad + (ih + ph) * cols + c0 + pw);
  }
  const int64_t n = (oh_n - 1) * cols + ow_n;
  std::fill(acc, acc + n, bias);
  for (int64_t kh = 0; kh < g.k[1]; ++kh)
    for (int64_t kw = 0; kw < g.k[2]; ++kw) {
      const float wk = w[kh * g.k[2] + kw];
      const float* src = pad + kh * dh * cols + kw * dw;
      for (int64_t i = 0; i < n; ++i) acc[i] += wk * src[i];
    }
  for (int64_t oh = 0; oh < oh_n; ++oh)
    EpilogueRow(e, acc + oh * cols, residual ? residual + oh * ow_n : nullptr, y + oh * ow_n, ow_n);
}

// The strided case, row by row on the unpadded input. For each output row and kernel tap
// (kh, kw), the valid output columns [lo, hi) read input columns ow * sw - pw + kw * dw:
//
//   acc[ow] += w[kh, kw] * x[ih, ow * sw + off],  off = kw * dw - pw,  lo <= ow < hi
//
// (Splitting the rows into column phases for unit-stride reads measured slower.)
__attribute__((target_clones("avx512f", "avx2", "default"))) void DepthwisePlaneStrided(
    const ConvGeometry& g, const float* x, const float* w, float bias, const float* residual,
    const Epilogue& e, float* y) {
  const int64_t ih_n = g.in[1], iw_n = g.in[2], oh_n = g.out[1], ow_n = g.out[2];
  const int64_t sh = g.stride[1], sw = g.stride[2], dh = g.dil[1], dw = g.dil[2];
  const int64_t ph = g.pad_b[1], pw = g.pad_b[2];
  thread_local std::vector<float> acc_buf;
  acc_buf.resize(static_cast<size_t>(ow_n));
  float* acc = acc_buf.data();
  for (int64_t oh = 0; oh < oh_n; ++oh) {
    std::fill(acc, acc + ow_n, bias);
    for (int64_t kh = 0; kh < g.k[1]; ++kh) {
      const int64_t ih = oh * sh - ph + kh * dh;
      if (ih < 0 || ih >= ih_n) continue;
      const float* xr = x + ih * iw_n;
      for (int64_t kw = 0; kw < g.k[2]; ++kw) {
        const int64_t off = kw * dw - pw;
        // 0 <= ow * sw + off < iw_n  <=>  ceil(-off / sw) <= ow <= floor((iw_n - 1 - off) / sw)
        const int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
        const int64_t hi =
            std::min(ow_n, iw_n - 1 - off < 0 ? int64_t{0} : (iw_n - 1 - off) / sw + 1);
        const float wk = w[kh * g.k[2] + kw];
        for (int64_t ow = lo; ow < hi; ++ow) acc[ow] += wk * xr[ow * sw + off];
      }
    }
    EpilogueRow(e, acc, residual ? residual + oh * ow_n : nullptr, y + oh * ow_n, ow_n);
  }
}

class ConvOneDnnKernel : public exec::Kernel {
 public:
  ConvOneDnnKernel(const exec::KernelInit& init, ConvAttrs a,
                   std::unique_ptr<exec::Kernel> fallback)
      : a_(std::move(a)), fallback_(std::move(fallback)) {
    const Tensor* w = init.constant(init.node.input(1));
    if (w && w->dtype() == DataType::kFloat32) w_const_ = *w;  // shares the initializer
  }

  // X, and the residual of a fused sum; not ConvTranspose (its fast paths are NCHW).
  bool AcceptsChannelsLast(size_t input) const override {
    return !a_.transposed && (input == 0 || (a_.epilogue.sum && input == a_.epilogue.sum_input));
  }

  Status Run(exec::KernelContext& ctx) override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* b = ctx.input(2);
    bool floats = x && w && x->dtype() == DataType::kFloat32 && w->dtype() == DataType::kFloat32 &&
                  (!b || b->dtype() == DataType::kFloat32);
    if (!floats) return exec::RunWithRowMajorInputs(*fallback_, ctx);
    std::lock_guard<std::mutex> lock(mu_);
    // Channels-last in: the oneDNN convolution reads it as it is. Channels-last out: when the
    // consumers take it and the convolution is a oneDNN one (the direct paths are NCHW).
    const bool in_cl = x->channels_last();
    const bool want_cl = ctx.prefer_channels_last && !a_.transposed && x->rank() == 4;
    Shape key = x->shape();
    key.push_back(in_cl ? -2 : -1);
    key.push_back(want_cl ? -2 : -1);
    key.insert(key.end(), w->shape().begin(), w->shape().end());
    auto it = plans_.find(key);
    if (it == plans_.end()) {
      auto plan = std::make_unique<ConvPlan>();
      if (a_.transposed) {
        CALIB8_ASSIGN_OR_RETURN(plan->g, ConvTransposeGeometryFor(a_, x->shape(), w->shape()));
      } else {
        CALIB8_ASSIGN_OR_RETURN(plan->g, ConvGeometryFor(a_, x->shape(), w->shape()));
      }
      plan->in_cl = in_cl;
      plan->out_cl = want_cl;
      CALIB8_RETURN_IF_ERROR(
          OneDnnCall("creating the primitive", [&] { BuildPlan(*plan, b != nullptr, w); }));
      it = plans_.emplace(key, std::move(plan)).first;
    }
    ConvPlan& p = *it->second;
    if (p.use_reference) {
      ctx.Note("reference kernel: oneDNN has no negative padding (a cropping pad)");
      return exec::RunWithRowMajorInputs(*fallback_, ctx);
    }
    if (b && b->numel() != p.g.m)
      return InvalidArgument("bias B has shape ", ShapeToString(b->shape()), ", expected [", p.g.m,
                             "]");
    CALIB8_ASSIGN_OR_RETURN(const float* residual,
                            EpilogueResidual(a_.epilogue, ctx, p.g.out_shape));
    bool res_cl = residual && ctx.input(a_.epilogue.sum_input)->channels_last();
    Tensor res_row_major;
    if (res_cl && p.kind != ConvPlan::Kind::kConv) {  // the direct paths read it row-major
      res_row_major = ToRowMajor(*ctx.input(a_.epilogue.sum_input));
      residual = res_row_major.data<float>();
      res_cl = false;
    }
    Tensor y(DataType::kFloat32, p.g.out_shape,
             p.out_cl ? Layout::kChannelsLast : Layout::kRowMajor);
    CALIB8_RETURN_IF_ERROR(
        OneDnnCall("executing", [&] { Execute(p, *x, *w, b, residual, res_cl, y); }));
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  // Creates the primitive and the reorders around it (throws dnnl::error).
  void BuildPlan(ConvPlan& p, bool has_bias, const Tensor* w) {
    const ConvGeometry& g = p.g;
    int nd = g.spatial == 3 ? 3 : 2;  // 1-D runs as 2-D with H = 1
    memory::dims pl = Spatial(g.pad_b, nd), pr = Spatial(g.pad_e, nd);
    bool negative_pad = false;
    for (int i = 0; i < nd; ++i) negative_pad = negative_pad || pl[i] < 0 || pr[i] < 0;
    if (UseCol2Im(g, negative_pad)) return BuildCol2Im(p);
    if (negative_pad) {
      p.use_reference = true;
      p.in_cl = p.out_cl = false;
      return;
    }
    // The direct NCHW paths win on row-major data (no reorders at all); on channels-last input
    // oneDNN's own kernels read it directly.
    if (!p.in_cl) {
      if (IsPointwise(g)) {
        p.out_cl = false;
        return BuildPointwise(p, has_bias);
      }
      if (IsDepthwise(g)) {
        p.kind = ConvPlan::Kind::kDepthwise;
        p.out_cl = false;
        return;
      }
    }
    memory::dims src_dims = Concat({g.n, g.c}, Spatial(g.in, nd));
    memory::dims dst_dims = Concat({g.n, g.m}, Spatial(g.out, nd));
    memory::dims kdims = Spatial(g.k, nd);
    const int64_t G = g.group, cg = g.c_per_group(), mg = g.m_per_group();
    // oneDNN's logical weights are [(G,) O, I, k...] for both primitives.
    memory::dims w_dims = G == 1 ? Concat({g.m, g.c}, kdims) : Concat({G, mg, cg}, kdims);
    if (!a_.transposed) {
      p.w_user = PlainDesc(w_dims);  // ONNX W [M, C/G, k...] == [G, M/G, C/G, k...]
    } else {
      // ONNX W is [C, M/G, k...] == [G, C/G, M/G, k...]: input channels outside outputs.
      int64_t ks = NumElements(kdims);
      memory::dims ksd(nd, 1);
      for (int i = nd - 2; i >= 0; --i) ksd[i] = ksd[i + 1] * kdims[i + 1];
      memory::dims st =
          G == 1 ? memory::dims{ks, g.m * ks} : memory::dims{cg * mg * ks, ks, mg * ks};
      p.w_user = StridedDesc(w_dims, Concat(st, ksd));
    }
    p.src_user = p.in_cl ? NhwcDesc(src_dims) : PlainDesc(src_dims);
    p.dst_user = p.out_cl ? NhwcDesc(dst_dims) : PlainDesc(dst_dims);
    p.bias_md = has_bias ? PlainDesc({g.m}) : memory::desc();
    // Layout: the primitive picks it (`any`; NHWC with brgconv on AVX-512 machines) and NCHW is
    // reordered in and out. Measured at batch 1 on ResNet-18, this is ~1.7x faster than
    // requiring NCHW (oneDNN then runs im2col + GEMM) despite the two reorders per conv.
    // Channels-last tensors are handed over as they are (no reorder between two convolutions).
    memory::desc src_req = p.in_cl ? p.src_user : AnyDesc(src_dims);
    memory::desc dst_req = p.out_cl ? p.dst_user : AnyDesc(dst_dims);
    memory::desc w_req = AnyDesc(w_dims);
    memory::dims strides = Spatial(g.stride, nd), dil = Spatial(g.dil, nd, 1);
    dnnl::primitive_attr attr;
    dnnl::post_ops po;
    AppendEpilogue(a_.epilogue, po);
    attr.set_post_ops(po);
    auto& eng = CpuEngine();
    if (!a_.transposed) {
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_direct, src_req, w_req,
                                        p.bias_md, dst_req, strides, dil, pl, pr);
      dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
      p.prim = dnnl::convolution_forward(pd);
      p.src_md = pd.src_desc(), p.dst_md = pd.dst_desc(), p.w_md = pd.weights_desc();
    } else {
      dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                          dnnl::algorithm::deconvolution_direct, src_req, w_req,
                                          p.bias_md, dst_req, strides, dil, pl, pr);
      dnnl::deconvolution_forward::primitive_desc pd(d, attr, eng);
      p.prim = dnnl::deconvolution_forward(pd);
      p.src_md = pd.src_desc(), p.dst_md = pd.dst_desc(), p.w_md = pd.weights_desc();
    }
    if (p.src_md != p.src_user) {
      p.src_reorder = true;
      p.src_buf = memory(p.src_md, eng);
      p.src_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p.src_user, eng, p.src_md));
    }
    if (p.dst_md != p.dst_user) {
      p.dst_reorder = true;
      p.dst_buf = memory(p.dst_md, eng);
      p.dst_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p.dst_md, eng, p.dst_user));
    }
    if (w_const_.defined()) {
      p.packed_w = PackedWeights(p.w_user, p.w_md);
    } else if (p.w_md != p.w_user) {
      p.w_reorder = true;
      p.w_buf = memory(p.w_md, eng);
      p.w_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p.w_user, eng, p.w_md));
    }
  }

  // ConvTranspose, ungrouped, at most 2-D, when oneDNN's deconvolution is a poor fit: few
  // channels (its blocked layouts pad them to 16: PaddleOCR's 24 -> 1 upsampling ran ~15x
  // slower than this path), non-overlapping kernels (k == stride: each output pixel comes from
  // one input pixel), or output cropping/extension it cannot express (negative pads).
  bool UseCol2Im(const ConvGeometry& g, bool negative_pad) const {
    if (!a_.transposed || g.group != 1 || g.spatial > 2) return false;
    bool k_is_s = true;
    for (int j = 0; j < 3; ++j) k_is_s = k_is_s && g.k[j] == g.stride[j] && g.dil[j] == 1;
    return negative_pad || k_is_s || std::min(g.c, g.m) < 16;
  }

  // ConvTranspose as a matrix product and a scatter. With ONNX's W [C, M, KH, KW] viewed as
  // the matrix Wm [C, M*KH*KW], one image's input X [C, H*W] gives
  //   Z (M*KH*KW x H*W) = Wm^T * X          (oneDNN matmul; Wm^T is a strided view)
  // where Z[(m, kh, kw), (ih, iw)] is input pixel (ih, iw)'s contribution to output pixel
  //   (ih * sh - ph + kh * dh, iw * sw - pw + kw * dw)   of channel m (col2im, ExecuteCol2Im).
  void BuildCol2Im(ConvPlan& p) {
    const ConvGeometry& g = p.g;
    const int64_t mk = g.m * g.k_size(), hw = g.in_size();
    p.kind = ConvPlan::Kind::kCol2Im;
    p.w_user = StridedDesc({mk, g.c}, {1, mk});
    p.src_user = PlainDesc({g.c, hw});
    p.dst_user = PlainDesc({mk, hw});
    p.cols.resize(static_cast<size_t>(mk * hw));
    dnnl::matmul::desc d(p.w_user, p.src_user, memory::desc(), p.dst_user);
    p.prim = dnnl::matmul(dnnl::matmul::primitive_desc(d, CpuEngine()));
  }

  void ExecuteCol2Im(ConvPlan& p, const Tensor& x, const Tensor& w, const Tensor* b,
                     const float* residual, Tensor& y) {
    const ConvGeometry& g = p.g;
    const int64_t hw = g.in_size(), osz = g.out_size();
    const float* bias = b ? b->data<float>() : nullptr;
    memory w_mem = WrapTensor(p.w_user, w);
    memory z_mem(p.dst_user, CpuEngine(), p.cols.data());
    for (int64_t n = 0; n < g.n; ++n) {
      memory x_mem(p.src_user, CpuEngine(), const_cast<float*>(x.data<float>()) + n * g.c * hw);
      p.prim.execute(CpuStream(),
                     {{DNNL_ARG_SRC, w_mem}, {DNNL_ARG_WEIGHTS, x_mem}, {DNNL_ARG_DST, z_mem}});
      CpuStream().wait();
      ParallelFor(
          g.m,
          [&](int64_t m) {
            float* ym = y.data<float>() + (n * g.m + m) * osz;
            std::fill(ym, ym + osz, bias ? bias[m] : 0.0f);
            for (int64_t kh = 0; kh < g.k[1]; ++kh)
              for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                const float* z = p.cols.data() + ((m * g.k[1] + kh) * g.k[2] + kw) * hw;
                // Input columns iw whose output column iw * sw + off lies in [0, out width).
                const int64_t off = kw * g.dil[2] - g.pad_b[2], sw = g.stride[2];
                const int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                const int64_t hi = std::min(
                    g.in[2], g.out[2] - 1 - off < 0 ? int64_t{0} : (g.out[2] - 1 - off) / sw + 1);
                for (int64_t ih = 0; ih < g.in[1]; ++ih) {
                  const int64_t oh = ih * g.stride[1] - g.pad_b[1] + kh * g.dil[1];
                  if (oh < 0 || oh >= g.out[1]) continue;
                  float* yr = ym + oh * g.out[2];
                  const float* zr = z + ih * g.in[2];
                  for (int64_t iw = lo; iw < hi; ++iw) yr[iw * sw + off] += zr[iw];
                }
              }
            ApplyEpilogue(a_.epilogue, residual ? residual + (n * g.m + m) * osz : nullptr, ym,
                          osz);
          },
          2);
    }
  }

  // One input channel per group (depthwise, any channel multiplier), at most 2-D, on planes wide
  // enough for the direct loops to beat oneDNN's NHWC kernel plus its two reorders. Measured on
  // MobileNetV2 (1 thread): unit stride wins from 28x28 up (14x14 is a tie), stride 2 from
  // 112x112 (56x56 is a tie).
  bool IsDepthwise(const ConvGeometry& g) const {
    if (a_.transposed || g.group == 1 || g.c_per_group() != 1 || g.spatial > 2) return false;
    const bool unit = g.stride[1] == 1 && g.stride[2] == 1;
    return g.in[2] >= (unit ? 28 : 64);
  }

  bool IsPointwise(const ConvGeometry& g) const {
    if (a_.transposed || g.group != 1) return false;
    for (int j = 0; j < 3; ++j)
      if (g.k[j] != 1 || g.stride[j] != 1 || g.pad_b[j] != 0 || g.pad_e[j] != 0) return false;
    return true;
  }

  // A 1x1, stride-1, unpadded, ungrouped conv on NCHW is one matrix product per image:
  //   Y[n] (M x HW) = W (M x C) * X[n] (C x HW)
  // oneDNN's matmul computes it on the plain tensors, without the reorders a blocked conv needs.
  // W is the matmul's src operand, X[n] its weights operand. oneDNN 2.6 has no fast per-row
  // bias (it falls back to a reference kernel), so bias and residual are written into Y first
  // and added by a sum post-op.
  void BuildPointwise(ConvPlan& p, bool has_bias) {
    const ConvGeometry& g = p.g;
    p.kind = ConvPlan::Kind::kPointwise;
    p.prefill = has_bias || a_.epilogue.sum;
    p.w_user = PlainDesc({g.m, g.c});
    p.src_user = PlainDesc({g.c, g.in_size()});
    p.dst_user = PlainDesc({g.m, g.in_size()});
    dnnl::primitive_attr attr;
    dnnl::post_ops po;
    Epilogue e = a_.epilogue;
    e.sum = p.prefill;
    AppendEpilogue(e, po);
    attr.set_post_ops(po);
    dnnl::matmul::desc d(p.w_user, p.src_user, memory::desc(), p.dst_user);
    p.prim = dnnl::matmul(dnnl::matmul::primitive_desc(d, attr, CpuEngine()));
  }

  void ExecutePointwise(ConvPlan& p, const Tensor& x, const Tensor& w, const Tensor* b,
                        const float* residual, Tensor& y) {
    const ConvGeometry& g = p.g;
    const int64_t hw = g.in_size();
    const float* bias = b ? b->data<float>() : nullptr;
    memory w_mem = WrapTensor(p.w_user, w);
    for (int64_t n = 0; n < g.n; ++n) {
      float* yn = y.data<float>() + n * g.m * hw;
      const float* rn = residual ? residual + n * g.m * hw : nullptr;
      if (p.prefill) {
        ParallelFor(
            g.m,
            [&](int64_t m) {
              float* row = yn + m * hw;
              const float bm = bias ? bias[m] : 0.0f;
              if (rn) {
                const float* r = rn + m * hw;
                for (int64_t i = 0; i < hw; ++i) row[i] = r[i] + bm;
              } else {
                for (int64_t i = 0; i < hw; ++i) row[i] = bm;
              }
            },
            std::max<int64_t>(2, 65536 / hw));
      }
      memory x_mem(p.src_user, CpuEngine(), const_cast<float*>(x.data<float>()) + n * g.c * hw);
      memory y_mem(p.dst_user, CpuEngine(), yn);
      p.prim.execute(CpuStream(),
                     {{DNNL_ARG_SRC, w_mem}, {DNNL_ARG_WEIGHTS, x_mem}, {DNNL_ARG_DST, y_mem}});
    }
    CpuStream().wait();
  }

  // The constant weights in layout `md`, reordered on first request (shared between plans).
  memory PackedWeights(const memory::desc& user, const memory::desc& md) {
    for (auto& [d, m] : packed_)
      if (d == md) return m;
    memory out(md, CpuEngine());
    memory src = WrapTensor(user, w_const_);
    dnnl::reorder(src, out).execute(CpuStream(), src, out);
    CpuStream().wait();
    packed_.emplace_back(md, out);
    return out;
  }

  void Execute(ConvPlan& p, const Tensor& x, const Tensor& w, const Tensor* b,
               const float* residual, bool res_cl, Tensor& y) {
    auto& eng = CpuEngine();
    auto& s = CpuStream();
    if (p.kind == ConvPlan::Kind::kPointwise) return ExecutePointwise(p, x, w, b, residual, y);
    if (p.kind == ConvPlan::Kind::kCol2Im) return ExecuteCol2Im(p, x, w, b, residual, y);
    if (p.kind == ConvPlan::Kind::kDepthwise) {
      const ConvGeometry& g = p.g;
      const float* bias = b ? b->data<float>() : nullptr;
      const int64_t mg = g.m_per_group(), isz = g.in_size(), osz = g.out_size();
      const bool unit = g.stride[1] == 1 && g.stride[2] == 1;
      ParallelFor(
          g.n * g.m,
          [&](int64_t t) {
            const int64_t mo = t % g.m, n = t / g.m;
            auto plane = unit ? DepthwisePlaneUnitStride : DepthwisePlaneStrided;
            plane(g, x.data<float>() + (n * g.c + mo / mg) * isz,
                  w.data<float>() + mo * g.k[1] * g.k[2], bias ? bias[mo] : 0.0f,
                  residual ? residual + t * osz : nullptr, a_.epilogue, y.data<float>() + t * osz);
          },
          2);
      return;
    }
    memory x_mem = WrapTensor(p.src_user, x);
    memory y_mem(p.dst_user, eng, y.raw());
    memory src = x_mem;
    if (p.src_reorder) {
      p.src_r.execute(s, {{DNNL_ARG_FROM, x_mem}, {DNNL_ARG_TO, p.src_buf}});
      src = p.src_buf;
    }
    memory dst = p.dst_reorder ? p.dst_buf : y_mem;
    if (residual) {
      // The sum post-op adds what the destination holds: put the residual there first, in the
      // destination's layout.
      memory::dims d = p.dst_user.dims();
      memory::desc r_md = res_cl ? NhwcDesc(d) : PlainDesc(d);
      if (r_md == dst.get_desc()) {
        std::memcpy(dst.get_data_handle(), residual, y.nbytes());
      } else {
        if (!p.res_r_made[res_cl]) {
          p.res_r[res_cl] =
              dnnl::reorder(dnnl::reorder::primitive_desc(eng, r_md, eng, dst.get_desc()));
          p.res_r_made[res_cl] = true;
        }
        memory r_mem(r_md, eng, const_cast<float*>(residual));
        p.res_r[res_cl].execute(s, {{DNNL_ARG_FROM, r_mem}, {DNNL_ARG_TO, dst}});
      }
    }
    memory wts;
    if (p.packed_w) {
      wts = p.packed_w;
    } else if (p.w_reorder) {
      memory w_mem = WrapTensor(p.w_user, w);
      p.w_r.execute(s, {{DNNL_ARG_FROM, w_mem}, {DNNL_ARG_TO, p.w_buf}});
      wts = p.w_buf;
    } else {
      wts = WrapTensor(p.w_user, w);
    }
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DST, dst}};
    if (b) args[DNNL_ARG_BIAS] = WrapTensor(p.bias_md, *b);
    p.prim.execute(s, args);
    if (p.dst_reorder) p.dst_r.execute(s, {{DNNL_ARG_FROM, p.dst_buf}, {DNNL_ARG_TO, y_mem}});
    s.wait();
  }

  ConvAttrs a_;
  std::unique_ptr<exec::Kernel> fallback_;
  Tensor w_const_;  // W when it is an initializer
  std::mutex mu_;
  std::map<Shape, std::unique_ptr<ConvPlan>> plans_;  // key: X shape, -1, W shape
  std::vector<std::pair<memory::desc, memory>> packed_;
};

exec::KernelFactory ConvOneDnnFactory(bool transposed) {
  return [transposed](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(ConvAttrs a, ParseConvAttrs(init.node, transposed));
    auto ref = transposed ? ConvTransposeReference() : ConvReference();
    CALIB8_ASSIGN_OR_RETURN(auto fallback, ref(init));
    return std::unique_ptr<exec::Kernel>(
        std::make_unique<ConvOneDnnKernel>(init, std::move(a), std::move(fallback)));
  };
}

}  // namespace

exec::KernelFactory ConvOneDnn() { return ConvOneDnnFactory(false); }
exec::KernelFactory ConvTransposeOneDnn() { return ConvOneDnnFactory(true); }

}  // namespace calib8::ops
