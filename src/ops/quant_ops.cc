// ops/quant_ops.cc — QuantizeLinear and DequantizeLinear (reference kernels, also fast).
//
// Part of the norm_ops family (declared in kernels.h under norm_ops.cc). Per-tensor (scalar
// scale) or per-axis (1-D scale along `axis`, default 1, opset 13); uint8/int8 zero points (an
// omitted zero point means uint8 0). Quantization rounds half to even and saturates.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

namespace {

// How scale / zero point apply over x: x is viewed as [outer, channels, inner] and parameter c
// applies to block [*, c, *]. Per-tensor: channels = 1.
struct QuantLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

Result<QuantLayout> GetLayout(const Tensor& x, const Tensor& scale, const Tensor* zero_point,
                              const ir::Node& node) {
  QuantLayout l;
  const bool per_axis = scale.rank() >= 1 && scale.numel() != 1;
  if (scale.rank() > 1)
    return InvalidArgument("scale has shape ", ShapeToString(scale.shape()),
                           ": expected a scalar or a 1-D tensor");
  if (zero_point && zero_point->numel() != scale.numel())
    return InvalidArgument("zero point has shape ", ShapeToString(zero_point->shape()),
                           ": expected the shape of scale ", ShapeToString(scale.shape()));
  if (!per_axis) {
    l.inner = x.numel();
    return l;
  }
  CALIB8_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node.GetInt("axis", 1), x.rank(), node));
  const Shape& s = x.shape();
  if (s[axis] != scale.numel())
    return InvalidArgument("scale has ", scale.numel(), " values but input dim ", axis, " of ",
                           ShapeToString(s), " has ", s[axis]);
  for (int64_t i = 0; i < axis; ++i) l.outer *= s[i];
  l.channels = s[axis];
  for (size_t i = static_cast<size_t>(axis) + 1; i < s.size(); ++i) l.inner *= s[i];
  return l;
}

Result<std::vector<float>> ReadScale(const Tensor& scale) {
  if (scale.dtype() != DataType::kFloat32 && scale.dtype() != DataType::kFloat64)
    return Unimplemented("scale of data type ", DataTypeName(scale.dtype()),
                         " is not supported (float32 only)");
  return ReadFloats(scale);
}

std::vector<int32_t> ReadZeroPoints(const Tensor* zp, int64_t n) {
  std::vector<int32_t> v(static_cast<size_t>(n), 0);
  if (!zp) return v;
  for (int64_t i = 0; i < n; ++i) {
    switch (zp->dtype()) {
      case DataType::kUint8:
        v[i] = zp->data<uint8_t>()[i];
        break;
      case DataType::kInt8:
        v[i] = zp->data<int8_t>()[i];
        break;
      case DataType::kInt32:
        v[i] = zp->data<int32_t>()[i];
        break;
      default:
        break;
    }
  }
  return v;
}

// One block: q = saturate(round_half_even(x / s) + zp).
template <typename Q>
void QuantizeBlock(const float* x, Q* y, int64_t n, float s, int32_t zp) {
  constexpr int32_t kMin = std::numeric_limits<Q>::min(), kMax = std::numeric_limits<Q>::max();
  // Clamping before rounding keeps the value small (exact magic-number rounding, safe int cast)
  // without changing the saturated result; NaN ends at the low bound.
  const float lo = static_cast<float>(kMin - zp - 1), hi = static_cast<float>(kMax - zp + 1);
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: (v + kRound) - kRound rounds half to even
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / s;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    v = (v + kRound) - kRound;
    int32_t q = static_cast<int32_t>(v) + zp;
    q = q < kMin ? kMin : (q > kMax ? kMax : q);
    y[i] = static_cast<Q>(q);
  }
}

Status QuantizeRun(exec::KernelContext& ctx) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  CALIB8_ASSIGN_OR_RETURN(const Tensor* scale, RequireInput(ctx, 1));
  const Tensor* zp = ctx.input(2);
  const DataType out_type = zp ? zp->dtype() : DataType::kUint8;
  if (out_type != DataType::kUint8 && out_type != DataType::kInt8)
    return Unimplemented("zero point of data type ", DataTypeName(out_type),
                         " is not supported (uint8/int8 only)");
  if (x->dtype() != DataType::kFloat32 && x->dtype() != DataType::kFloat64 &&
      x->dtype() != DataType::kInt32)
    return Unimplemented("input of data type ", DataTypeName(x->dtype()),
                         " is not supported (float32/int32)");
  CALIB8_ASSIGN_OR_RETURN(QuantLayout l, GetLayout(*x, *scale, zp, ctx.node));
  CALIB8_ASSIGN_OR_RETURN(std::vector<float> scales, ReadScale(*scale));
  std::vector<int32_t> zps = ReadZeroPoints(zp, l.channels);
  for (float s : scales)
    if (!(s > 0.0f) && !(s < 0.0f)) return InvalidArgument("scale must be non-zero, got ", s);

  std::vector<float> converted;
  const float* xp = nullptr;
  if (x->dtype() == DataType::kFloat32) {
    xp = x->data<float>();
  } else {
    converted = ReadFloats(*x);
    xp = converted.data();
  }
  Tensor y(out_type, x->shape());
  auto run = [&](auto tag) {
    using Q = decltype(tag);
    Q* yp = y.data<Q>();
    ParallelFor(
        l.outer * l.channels,
        [&](int64_t b) {
          const int64_t c = b % l.channels;
          QuantizeBlock<Q>(xp + b * l.inner, yp + b * l.inner, l.inner, scales[c], zps[c]);
        },
        std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(l.inner, 1)));
  };
  if (out_type == DataType::kUint8) {
    run(uint8_t{});
  } else {
    run(int8_t{});
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status DequantizeRun(exec::KernelContext& ctx) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  CALIB8_ASSIGN_OR_RETURN(const Tensor* scale, RequireInput(ctx, 1));
  const Tensor* zp = ctx.input(2);
  const DataType dt = x->dtype();
  if (dt != DataType::kUint8 && dt != DataType::kInt8 && dt != DataType::kInt32)
    return Unimplemented("input of data type ", DataTypeName(dt),
                         " is not supported (uint8/int8/int32)");
  if (zp && zp->dtype() != dt)
    return InvalidArgument("zero point has data type ", DataTypeName(zp->dtype()),
                           ": expected the input's ", DataTypeName(dt));
  CALIB8_ASSIGN_OR_RETURN(QuantLayout l, GetLayout(*x, *scale, zp, ctx.node));
  CALIB8_ASSIGN_OR_RETURN(std::vector<float> scales, ReadScale(*scale));
  std::vector<int32_t> zps = ReadZeroPoints(zp, l.channels);
  Tensor y(DataType::kFloat32, x->shape());
  float* yp = y.data<float>();
  auto run = [&](auto tag) {
    using Q = decltype(tag);
    const Q* xp = x->data<Q>();
    ParallelFor(
        l.outer * l.channels,
        [&](int64_t b) {
          const int64_t c = b % l.channels;
          const float s = scales[c];
          const int32_t z = zps[c];
          const Q* xb = xp + b * l.inner;
          float* yb = yp + b * l.inner;
#pragma omp simd
          for (int64_t i = 0; i < l.inner; ++i)
            yb[i] = static_cast<float>(static_cast<int32_t>(xb[i]) - z) * s;
        },
        std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(l.inner, 1)));
  };
  if (dt == DataType::kUint8) {
    run(uint8_t{});
  } else if (dt == DataType::kInt8) {
    run(int8_t{});
  } else {
    run(int32_t{});
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

}  // namespace

exec::KernelFactory QuantizeLinearKernel() { return exec::Stateless(QuantizeRun); }

exec::KernelFactory DequantizeLinearKernel() { return exec::Stateless(DequantizeRun); }

}  // namespace calib8::ops
