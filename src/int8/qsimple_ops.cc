// int8/qsimple_ops.cc — the memory-bound INT8 ops: Quantize / Dequantize at region borders,
// 8-bit Concat (requantizing), 8-bit pooling on NHWC, the NCHW <-> NHWC helpers, the shared
// epilogue parser and the registration of the calib8.int8 domain. These loops are both the
// reference and the fast path (OpenMP-parallel, channel-contiguous, vectorised by the compiler).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "core/transpose.h"
#include "int8/qkernels.h"
#include "ops/op_util.h"
#include "ops/ops.h"
#include "ops/pool_ref.h"

namespace calib8::int8 {

using quant::Multiplier;

Result<QEpilogue> ParseQEpilogue(const ir::Node& node) {
  QEpilogue e;
  CALIB8_ASSIGN_OR_RETURN(e.act, ops::ParseEpilogue(node, 3));
  e.sum = e.act.sum;
  e.in_scale = node.GetFloat("in_scale", 0.0f);
  e.w_scales = node.GetFloats("w_scales");
  e.out_scale = node.GetFloat("out_scale", 0.0f);
  e.res_scale = node.GetFloat("res_scale", 0.0f);
  e.in_zp = static_cast<int32_t>(node.GetInt("in_zp", 0));
  e.out_zp = static_cast<int32_t>(node.GetInt("out_zp", 0));
  e.res_zp = static_cast<int32_t>(node.GetInt("res_zp", 0));
  for (int32_t zp : {e.in_zp, e.out_zp, e.res_zp})
    if (zp < 0 || zp > quant::kUint8Max)
      return InvalidArgument("zero point ", zp, " is outside 0..255");
  e.in_nhwc = node.GetInt("in_nhwc", 0) != 0;
  e.out_nhwc = node.GetInt("out_nhwc", 0) != 0;
  e.res_nhwc = node.GetInt("res_nhwc", 0) != 0;
  std::string t = node.GetString("out_type", "f32");
  if (t == "s8")
    e.out_type = QEpilogue::OutType::kS8;
  else if (t == "u8")
    e.out_type = QEpilogue::OutType::kU8;
  else if (t == "f32")
    e.out_type = QEpilogue::OutType::kF32;
  else
    return InvalidArgument("out_type '", t, "' is not s8, u8 or f32");
  if (!(e.in_scale > 0.0f) || e.w_scales.empty())
    return InvalidArgument("needs a positive in_scale and w_scales (written by the lowering)");
  bool f32 = e.out_type == QEpilogue::OutType::kF32;
  if (!f32 && !(e.out_scale > 0.0f)) return InvalidArgument("an 8-bit output needs out_scale > 0");
  using A = ops::Epilogue::Act;
  A a = e.act.act;
  e.real_mode = f32 || e.act.affine || a == A::kHardSwish || a == A::kHardSigmoid ||
                a == A::kSigmoid || a == A::kTanh;
  float s_out = e.real_mode ? 1.0f : e.out_scale;
  for (float sw : e.w_scales) e.oscale.push_back(Multiplier(e.in_scale, sw, s_out));
  if (e.sum)
    e.sum_scale = f32 ? 1.0f : (e.real_mode ? e.res_scale : Multiplier(e.res_scale, 1.0f, s_out));
  if (!e.real_mode && a == A::kClip) {
    e.act.alpha = e.act.alpha / e.out_scale;
    e.act.beta = e.act.beta / e.out_scale;
  }
  e.act_scale = (e.real_mode && !f32) ? Multiplier(1.0f, 1.0f, e.out_scale) : 1.0f;
  return e;
}

// ---- Layouts --------------------------------------------------------------------------------

Shape NchwShape(const Tensor& t, bool nhwc) {
  if (!nhwc || t.rank() != 4) return t.shape();
  return {t.dim(0), t.dim(3), t.dim(1), t.dim(2)};
}

namespace {
// src [n][a][b] -> [n][b][a], shaped out_shape.
Tensor PermuteTensor(const Tensor& t, Shape out_shape, int64_t n, int64_t a, int64_t b) {
  Tensor y(t.dtype(), std::move(out_shape));
  TransposeInner(t.raw(), y.raw(), n, a, b, DataTypeSize(t.dtype()));
  return y;
}
}  // namespace

Tensor ToNhwc(const Tensor& x) {
  // [N, C, S...] -> [N, S..., C] for any rank >= 3 (NCW -> NWC, NCDHW -> NDHWC too).
  const int64_t n = x.dim(0), c = x.dim(1), s = x.numel() / std::max<int64_t>(n * c, 1);
  Shape out{n};
  for (int i = 2; i < x.rank(); ++i) out.push_back(x.dim(i));
  out.push_back(c);
  return PermuteTensor(x, std::move(out), n, c, s);
}

Tensor ToNchw(const Tensor& x) {
  // [N, S..., C] -> [N, C, S...].
  const int64_t n = x.dim(0), c = x.dim(-1), s = x.numel() / std::max<int64_t>(n * c, 1);
  Shape out{n, c};
  for (int i = 1; i + 1 < x.rank(); ++i) out.push_back(x.dim(i));
  return PermuteTensor(x, std::move(out), n, s, c);
}

namespace {

// ---- Quantize / Dequantize ------------------------------------------------------------------

// Quantizes n contiguous floats exactly as quant::QuantizeQ (round half to even of x / scale,
// plus the zero point, saturate), written without early returns so that the compiler vectorizes
// it.
template <typename T>
void QuantizeSpan(const float* x, T* y, int64_t n, float scale, float zp) {
  constexpr float lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (int64_t i = 0; i < n; ++i) {
    float q = quant::RoundHalfEven(x[i] / scale) + zp;
    q = q < lo ? lo : q;
    q = q > hi ? hi : q;
    y[i] = static_cast<T>(q);
  }
}

// NCHW float -> NHWC 8-bit: each thread quantizes a tile of kTile pixels of every channel (reads
// contiguous) into a buffer, then writes the tile's pixels channel-contiguous.
template <typename T>
void QuantizeToNhwc(const float* x, T* y, int64_t n, int64_t c, int64_t hw, float scale, float zp) {
  constexpr int64_t kTile = 64;
  const int64_t tiles = (hw + kTile - 1) / kTile;
#pragma omp parallel
  {
    std::vector<T> buf(static_cast<size_t>(c * kTile));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < n; ++b)
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t p0 = t * kTile, np = std::min(kTile, hw - p0);
        for (int64_t k = 0; k < c; ++k)
          QuantizeSpan(x + (b * c + k) * hw + p0, buf.data() + k * kTile, np, scale, zp);
        for (int64_t p = 0; p < np; ++p) {
          T* d = y + (b * hw + p0 + p) * c;
          for (int64_t k = 0; k < c; ++k) d[k] = buf[k * kTile + p];
        }
      }
  }
}

template <typename T>
void QuantizeFlat(const float* x, T* y, int64_t total, float scale, float zp) {
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (total + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < chunks; ++i)
    QuantizeSpan(x + i * kChunk, y + i * kChunk, std::min(kChunk, total - i * kChunk), scale, zp);
}

Status QuantizeRun(exec::KernelContext& ctx) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, ops::RequireInput(ctx, 0));
  if (x->dtype() != DataType::kFloat32)
    return InvalidArgument("Quantize expects float32, got ", DataTypeName(x->dtype()));
  float scale = ctx.node.GetFloat("scale", 0.0f);
  bool u = ctx.node.GetInt("unsigned", 0) != 0;
  int64_t zp = ctx.node.GetInt("zero_point", 0);
  if (zp < 0 || zp > (u ? quant::kUint8Max : 0))
    return InvalidArgument("Quantize zero_point ", zp, " is outside ", u ? "0..255" : "0 (s8)");
  const float fzp = static_cast<float>(zp);
  bool nhwc = ctx.node.GetInt("nhwc", 0) != 0 && x->rank() == 4;
  Tensor y(u ? DataType::kUint8 : DataType::kInt8,
           nhwc ? Shape{x->dim(0), x->dim(2), x->dim(3), x->dim(1)} : x->shape());
  const float* px = x->data<float>();
  int64_t total = x->numel();
  if (!(scale > 0.0f)) {  // amax 0 (NaN/negative scales are rejected upstream): all zero point
    std::memset(y.raw(), static_cast<int>(zp), static_cast<size_t>(total));
  } else if (!nhwc) {
    if (u)
      QuantizeFlat(px, y.data<uint8_t>(), total, scale, fzp);
    else
      QuantizeFlat(px, y.data<int8_t>(), total, scale, fzp);
  } else {
    int64_t n = x->dim(0), c = x->dim(1), hw = x->dim(2) * x->dim(3);
    if (u)
      QuantizeToNhwc(px, y.data<uint8_t>(), n, c, hw, scale, fzp);
    else
      QuantizeToNhwc(px, y.data<int8_t>(), n, c, hw, scale, fzp);
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

template <typename T>
void DequantizeLoop(const T* q, float* y, int64_t total, float scale, int32_t zp) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) y[i] = quant::Dequantize(q[i] - zp, scale);
}

Status DequantizeRun(exec::KernelContext& ctx) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, ops::RequireInput(ctx, 0));
  if (x->dtype() != DataType::kInt8 && x->dtype() != DataType::kUint8)
    return InvalidArgument("Dequantize expects int8 or uint8, got ", DataTypeName(x->dtype()));
  float scale = ctx.node.GetFloat("scale", 0.0f);
  const auto zp = static_cast<int32_t>(ctx.node.GetInt("zero_point", 0));
  bool nhwc = ctx.node.GetInt("nhwc", 0) != 0 && x->rank() == 4;
  Tensor src = nhwc ? ToNchw(*x) : *x;
  Tensor y(DataType::kFloat32, src.shape());
  if (src.dtype() == DataType::kInt8)
    DequantizeLoop(src.data<int8_t>(), y.data<float>(), src.numel(), scale, zp);
  else
    DequantizeLoop(src.data<uint8_t>(), y.data<float>(), src.numel(), scale, zp);
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// ---- Concat ---------------------------------------------------------------------------------

Status QConcatRun(exec::KernelContext& ctx) {
  const ir::Node& node = ctx.node;
  std::vector<float> in_scales = node.GetFloats("in_scales");
  std::vector<int64_t> in_zps = node.GetInts("in_zps");
  float out_scale = node.GetFloat("out_scale", 0.0f);
  const auto out_zp = static_cast<float>(node.GetInt("out_zp", 0));
  bool u = node.GetInt("unsigned", 0) != 0;
  if (in_scales.size() != ctx.num_inputs() || ctx.num_inputs() == 0)
    return InvalidArgument("QConcat needs one scale per input");
  if (in_zps.empty()) in_zps.assign(in_scales.size(), 0);
  if (in_zps.size() != in_scales.size())
    return InvalidArgument("QConcat needs one zero point per input");
  const Tensor* first = ctx.input(0);
  CALIB8_ASSIGN_OR_RETURN(int64_t axis,
                          ops::NormalizeAxis(node.GetInt("axis", 0), first->rank(), node));
  Shape out = first->shape();
  out[axis] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.input(i);
    if (!t || t->rank() != first->rank())
      return InvalidArgument("QConcat input ", i, " is missing or has another rank");
    out[axis] += t->dim(static_cast<int>(axis));
  }
  Tensor y(u ? DataType::kUint8 : DataType::kInt8, out);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(out.size()); ++d) inner *= out[d];
  int64_t row = out[axis] * inner, off = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = *ctx.input(i);
    int64_t len = t.dim(static_cast<int>(axis)) * inner;
    const auto in_zp = static_cast<float>(in_zps[i]);
    bool copy = in_scales[i] == out_scale && in_zp == out_zp && t.dtype() == y.dtype();
    float m = Multiplier(in_scales[i], 1.0f, out_scale);
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k = 0; k < len; ++k) {
        int64_t d = o * row + off + k;
        float v = LoadAsFloat(t, o * len + k);
        if (copy) {
          if (u)
            y.data<uint8_t>()[d] = static_cast<uint8_t>(v);
          else
            y.data<int8_t>()[d] = static_cast<int8_t>(v);
        } else if (u) {
          y.data<uint8_t>()[d] = quant::SaturateU8((v - in_zp) * m + out_zp);
        } else {
          y.data<int8_t>()[d] = quant::SaturateS8((v - in_zp) * m + out_zp);
        }
      }
    }
    off += len;
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// ---- Pooling (NHWC loops) -------------------------------------------------------------------

template <typename T>
// zp: the input's (and output's) zero point: an average that counts padding adds it for every
// padded position (padding is a real 0); max and the mean of real values keep it as it is.
void PoolNhwc(const ops::PoolGeometry& g, const ops::PoolAttrs& a, const T* x, T* y, int32_t zp) {
  const int64_t C = g.c, H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oh = 0; oh < OH; ++oh) {
      std::vector<int32_t> acc(static_cast<size_t>(C));
      for (int64_t ow = 0; ow < OW; ++ow) {
        std::fill(acc.begin(), acc.end(), a.is_max ? std::numeric_limits<int32_t>::min() : 0);
        int64_t count = 0;
        for (int64_t kh = 0; kh < g.k[1]; ++kh) {
          int64_t ih = oh * g.stride[1] - g.pad_b[1] + kh * g.dil[1];
          for (int64_t kw = 0; kw < g.k[2]; ++kw) {
            int64_t iw = ow * g.stride[2] - g.pad_b[2] + kw * g.dil[2];
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
              // Padding counts for AveragePool with count_include_pad, inside the padded area.
              if (!a.is_max && a.count_include_pad && ih < H + g.pad_e[1] && iw < W + g.pad_e[2]) {
                ++count;
                for (int64_t c = 0; c < C; ++c) acc[c] += zp;
              }
              continue;
            }
            ++count;
            const T* px = x + ((n * H + ih) * W + iw) * C;
            if (a.is_max) {
              for (int64_t c = 0; c < C; ++c) acc[c] = std::max<int32_t>(acc[c], px[c]);
            } else {
              for (int64_t c = 0; c < C; ++c) acc[c] += px[c];
            }
          }
        }
        T* py = y + ((n * OH + oh) * OW + ow) * C;
        for (int64_t c = 0; c < C; ++c) {
          if (a.is_max) {
            py[c] = static_cast<T>(count ? acc[c] : 0);
          } else {
            float v = count ? static_cast<float>(acc[c]) / static_cast<float>(count) : 0.0f;
            if constexpr (std::is_same_v<T, int8_t>)
              py[c] = quant::SaturateS8(v);
            else
              py[c] = quant::SaturateU8(v);
          }
        }
      }
    }
}

class QPoolKernelImpl : public exec::Kernel {
 public:
  QPoolKernelImpl(ops::PoolAttrs a, bool in_nhwc, bool out_nhwc, int32_t zp)
      : a_(std::move(a)), in_nhwc_(in_nhwc), out_nhwc_(out_nhwc), zp_(zp) {}
  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* x, ops::RequireInput(ctx, 0));
    if ((x->dtype() != DataType::kInt8 && x->dtype() != DataType::kUint8) || x->rank() != 4)
      return InvalidArgument("8-bit pooling expects a 4-D int8/uint8 tensor, got ",
                             DataTypeName(x->dtype()), ShapeToString(x->shape()));
    CALIB8_ASSIGN_OR_RETURN(ops::PoolGeometry g, ops::PoolGeometryFor(a_, NchwShape(*x, in_nhwc_)));
    if (a_.global) {  // one window over the whole image
      g.k = {1, g.in[1], g.in[2]};
      g.out = {1, 1, 1};
      g.stride = {1, 1, 1};
      g.dil = {1, 1, 1};
      g.pad_b = g.pad_e = {0, 0, 0};
    }
    Tensor xs = AsNhwc(*x, in_nhwc_);
    Tensor y(x->dtype(), {g.n, g.out[1], g.out[2], g.c});
    if (x->dtype() == DataType::kInt8)
      PoolNhwc(g, a_, xs.data<int8_t>(), y.data<int8_t>(), zp_);
    else
      PoolNhwc(g, a_, xs.data<uint8_t>(), y.data<uint8_t>(), zp_);
    ctx.outputs[0] = out_nhwc_ ? y : ToNchw(y);
    return Status::Ok();
  }

 private:
  ops::PoolAttrs a_;
  bool in_nhwc_, out_nhwc_;
  int32_t zp_;
};

}  // namespace

exec::KernelFactory QuantizeKernel() { return exec::Stateless(QuantizeRun); }
exec::KernelFactory DequantizeKernel() { return exec::Stateless(DequantizeRun); }
exec::KernelFactory QConcatKernel() { return exec::Stateless(QConcatRun); }

exec::KernelFactory QPoolKernel(const std::string& op_type) {
  return [op_type](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    std::string onnx = op_type.substr(1);  // QMaxPool -> MaxPool
    CALIB8_ASSIGN_OR_RETURN(ops::PoolAttrs a, ops::ParsePoolAttrs(init.node, onnx));
    return std::unique_ptr<exec::Kernel>(std::make_unique<QPoolKernelImpl>(
        std::move(a), init.node.GetInt("in_nhwc", 0) != 0, init.node.GetInt("out_nhwc", 0) != 0,
        static_cast<int32_t>(init.node.GetInt("zero_point", 0))));
  };
}

void RegisterInt8Ops(exec::OpRegistry& registry) {
  auto add = [&](const char* op, exec::KernelFactory ref, exec::KernelFactory fast) {
    exec::OpEntry e;
    e.domain = "calib8.int8";
    e.op_type = op;
    e.reference = std::move(ref);
    e.fast = std::move(fast);
    Status s = registry.Register(std::move(e));
    (void)s;  // registered once (Int8Registry)
  };
  add("Quantize", QuantizeKernel(), nullptr);
  add("Dequantize", DequantizeKernel(), nullptr);
  add("QConcat", QConcatKernel(), nullptr);
  for (const char* op : {"QMaxPool", "QAveragePool", "QGlobalAveragePool"})
    add(op, QPoolKernel(op), nullptr);
  add("QConv", QConvReference(), QConvOneDnn());
  add("QConvTranspose", QConvTransposeReference(), QConvTransposeOneDnn());
  add("QMatMul", QMatMulReference(), QMatMulOneDnn());
}

exec::OpRegistry& Int8Registry() {
  static std::once_flag once;
  exec::OpRegistry& r = ops::BuiltinRegistry();
  std::call_once(once, [&r] { RegisterInt8Ops(r); });
  return r;
}

}  // namespace calib8::int8
