// ops/resize.cc — Resize (opset 10, 11-12, 13+, 18 axes/keep_aspect_ratio_policy) and Upsample
// (scales attribute in opset 7, input from opset 9). Modes nearest (any dtype, copied by element
// size) and linear (N-D: every resized axis interpolates between two taps; float32/float64).
// Cubic and antialiased downsampling are refused. Each axis maps output positions to input taps
// once; the output is then walked row by row (rows of the last dim), in parallel when large.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {
namespace {

enum class Coord {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

struct ResizeSpec {
  bool linear = false;
  Coord coord = Coord::kHalfPixel;
  Nearest nearest = Nearest::kRoundPreferFloor;
  float extrapolation = 0.0f;
};

// Output position -> input taps along one axis.
struct AxisMap {
  std::vector<int64_t> i0, i1;  // input indices; i0 == -1: outside the input (extrapolate)
  std::vector<float> w1;        // weight of i1 (linear); i0 gets 1 - w1
  bool interpolates = false;    // some w1 is not 0
};

Result<Coord> ParseCoord(const std::string& s) {
  if (s == "half_pixel") return Coord::kHalfPixel;
  if (s == "half_pixel_symmetric") return Coord::kHalfPixelSymmetric;
  if (s == "pytorch_half_pixel") return Coord::kPytorchHalfPixel;
  if (s == "align_corners") return Coord::kAlignCorners;
  if (s == "asymmetric") return Coord::kAsymmetric;
  if (s == "tf_half_pixel_for_nn") return Coord::kTfHalfPixelForNn;
  if (s == "tf_crop_and_resize") return Coord::kTfCropAndResize;
  return InvalidArgument("unknown coordinate_transformation_mode '", s, "'");
}

Result<Nearest> ParseNearest(const std::string& s) {
  if (s == "round_prefer_floor") return Nearest::kRoundPreferFloor;
  if (s == "round_prefer_ceil") return Nearest::kRoundPreferCeil;
  if (s == "floor") return Nearest::kFloor;
  if (s == "ceil") return Nearest::kCeil;
  return InvalidArgument("unknown nearest_mode '", s, "'");
}

// Input coordinate of output position o (ONNX coordinate_transformation_mode formulas).
float SourceCoord(Coord c, int64_t o, float scale, int64_t in, int64_t out, float roi_start,
                  float roi_end) {
  const float x = static_cast<float>(o);
  switch (c) {
    case Coord::kHalfPixel:
      return (x + 0.5f) / scale - 0.5f;
    case Coord::kHalfPixelSymmetric: {
      // Centres the resized grid: offset = centre * (1 - out / (scale * in)).
      const float adjustment = static_cast<float>(out) / (scale * static_cast<float>(in));
      const float offset = static_cast<float>(in) / 2.0f * (1.0f - adjustment);
      return offset + (x + 0.5f) / scale - 0.5f;
    }
    case Coord::kPytorchHalfPixel:
      return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case Coord::kAlignCorners: {
      // The resized length is in * scale as a real number (not rounded down to the output size),
      // as the ONNX reference computes it; with sizes given it equals the output size.
      const float len = static_cast<float>(in) * scale;
      return out == 1 ? 0.0f : x * static_cast<float>(in - 1) / (len - 1.0f);
    }
    case Coord::kAsymmetric:
      return x / scale;
    case Coord::kTfHalfPixelForNn:
      return (x + 0.5f) / scale;
    case Coord::kTfCropAndResize:
      // roi in normalised input coordinates; a single output sits at the roi's centre.
      return out > 1 ? roi_start * static_cast<float>(in - 1) + x * (roi_end - roi_start) *
                                                                    static_cast<float>(in - 1) /
                                                                    static_cast<float>(out - 1)
                     : 0.5f * (roi_start + roi_end) * static_cast<float>(in - 1);
  }
  return 0.0f;
}

int64_t NearestIndex(Nearest m, float x, bool downsample) {
  switch (m) {
    case Nearest::kRoundPreferFloor:
      return x == std::floor(x) + 0.5f ? static_cast<int64_t>(std::floor(x))
                                       : static_cast<int64_t>(std::round(x));
    case Nearest::kRoundPreferCeil:
      return x == std::floor(x) + 0.5f ? static_cast<int64_t>(std::ceil(x))
                                       : static_cast<int64_t>(std::round(x));
    case Nearest::kFloor:
      return static_cast<int64_t>(std::floor(x));
    case Nearest::kCeil:
      return static_cast<int64_t>(std::ceil(x));
    case Nearest::kSimple:  // Upsample / Resize-10: truncate, ceil when downsampling
      return downsample ? static_cast<int64_t>(std::ceil(x)) : static_cast<int64_t>(x);
  }
  return 0;
}

AxisMap MapAxis(const ResizeSpec& spec, int64_t in, int64_t out, float scale, float roi_start,
                float roi_end) {
  AxisMap m;
  m.i0.resize(static_cast<size_t>(out));
  m.i1.resize(static_cast<size_t>(out));
  m.w1.assign(static_cast<size_t>(out), 0.0f);
  const float hi = static_cast<float>(in - 1);
  for (int64_t o = 0; o < out; ++o) {
    float x = SourceCoord(spec.coord, o, scale, in, out, roi_start, roi_end);
    if (spec.coord == Coord::kTfCropAndResize && (x < 0.0f || x > hi)) {
      m.i0[o] = m.i1[o] = -1;
      continue;
    }
    if (!spec.linear) {
      int64_t n = NearestIndex(spec.nearest, x, scale < 1.0f);
      m.i0[o] = m.i1[o] = std::clamp<int64_t>(n, 0, in - 1);
      continue;
    }
    // Linear: clamping x to [0, in - 1] equals padding the input with its edge values.
    x = std::clamp(x, 0.0f, hi);
    const int64_t a = std::min<int64_t>(static_cast<int64_t>(x), in - 1);
    m.i0[o] = a;
    m.i1[o] = std::min<int64_t>(a + 1, in - 1);
    m.w1[o] = x - static_cast<float>(a);
    if (m.w1[o] != 0.0f) m.interpolates = true;
  }
  return m;
}

// Nearest: y's rows of `inner` elements copied from x through `maps` (any dtype; values outside
// tf_crop_and_resize's box get the extrapolation value, converted for numeric dtypes).
Status ResizeNearest(exec::KernelContext& ctx, const Tensor& x, const std::vector<AxisMap>& maps,
                     const Shape& out_shape, const ResizeSpec& spec,
                     const std::vector<int64_t>& in_st, int64_t inner, int64_t rows, int64_t grain,
                     Tensor& y) {
  const int64_t r = x.rank();
  const AxisMap& last = maps[r - 1];
  std::array<unsigned char, 8> fill{};
  Status s = DispatchNumeric(x.dtype(), ctx.node, [&](auto tag) {
    auto v = static_cast<decltype(tag)>(spec.extrapolation);
    std::memcpy(fill.data(), &v, sizeof(v));
  });
  (void)s;  // non-numeric dtypes extrapolate with zero bytes
  CALIB8_RETURN_IF_ERROR(DispatchBySize(x.dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    T cv;
    std::memcpy(&cv, fill.data(), sizeof(T));
    const T* in = x.data<T>();
    T* out = y.data<T>();
    ParallelFor(
        rows,
        [&](int64_t row) {
          T* o = out + row * inner;
          // Input offset of the row from its leading output indices.
          int64_t rem = row, off = 0;
          bool outside = false;
          for (int64_t k = r - 2; k >= 0; --k) {
            const int64_t i = maps[k].i0[rem % out_shape[k]];
            rem /= out_shape[k];
            outside = outside || i < 0;
            off += i * in_st[k];
          }
          if (outside) {
            std::fill(o, o + inner, cv);
            return;
          }
          for (int64_t j = 0; j < inner; ++j) o[j] = last.i0[j] < 0 ? cv : in[off + last.i0[j]];
        },
        grain);
  }));
  return Status::Ok();
}

// Linear: each element of y interpolates the corners of its cell over every interpolating axis
// (float dtypes).
Status ResizeLinear(exec::KernelContext& ctx, const Tensor& x, const std::vector<AxisMap>& maps,
                    const Shape& out_shape, const ResizeSpec& spec,
                    const std::vector<int64_t>& in_st, int64_t inner, int64_t rows, int64_t grain,
                    Tensor& y) {
  const int64_t r = x.rank();
  const AxisMap& last = maps[r - 1];
  CALIB8_RETURN_IF_ERROR(DispatchFloat(x.dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    const T extrapolation = static_cast<T>(spec.extrapolation);
    ParallelFor(
        rows,
        [&](int64_t row) {
          T* o = out + row * inner;
          // Leading output indices of the row, outermost first.
          std::vector<int64_t> idx(static_cast<size_t>(r), 0);
          for (int64_t k = r - 2, rem = row; k >= 0; --k) {
            idx[k] = rem % out_shape[k];
            rem /= out_shape[k];
          }
          // Corners over the leading axes: (input offset, weight); an interpolating axis doubles
          // them (taps i0 with 1 - w1 and i1 with w1).
          std::vector<std::pair<int64_t, T>> corners{{0, T(1)}};
          for (int64_t k = 0; k + 1 < r; ++k) {
            const AxisMap& m = maps[k];
            const int64_t a = m.i0[idx[k]], b = m.i1[idx[k]];
            if (a < 0) {
              std::fill(o, o + inner, extrapolation);
              return;
            }
            const T w = static_cast<T>(m.w1[idx[k]]);
            if (w == T(0)) {
              for (auto& c : corners) c.first += a * in_st[k];
              continue;
            }
            const size_t n = corners.size();
            for (size_t c = 0; c < n; ++c) {
              corners.push_back({corners[c].first + b * in_st[k], corners[c].second * w});
              corners[c].first += a * in_st[k];
              corners[c].second *= T(1) - w;
            }
          }
          for (int64_t j = 0; j < inner; ++j) {
            const int64_t a = last.i0[j], b = last.i1[j];
            if (a < 0) {
              o[j] = extrapolation;
              continue;
            }
            const T w = static_cast<T>(last.w1[j]);
            T v = T(0);
            for (const auto& c : corners)
              v += c.second * ((T(1) - w) * in[c.first + a] + w * in[c.first + b]);
            o[j] = v;
          }
        },
        grain);
  }));
  return Status::Ok();
}

// Resizes x to `out_shape`; scales[k] is the scale each axis's coordinate transform uses.
Status ResizeTo(exec::KernelContext& ctx, const Tensor& x, const std::vector<float>& scales,
                const Shape& out_shape, const std::vector<float>& roi, const ResizeSpec& spec) {
  const int64_t r = x.rank();
  if (r == 0) return InvalidArgument("input must have rank >= 1");
  std::vector<AxisMap> maps(static_cast<size_t>(r));
  for (int64_t k = 0; k < r; ++k) {
    if (x.shape()[k] == 0 && out_shape[k] > 0)
      return InvalidArgument("cannot resize empty axis ", k, " to ", out_shape[k]);
    maps[k] = MapAxis(spec, x.shape()[k], out_shape[k], scales[k], roi[k], roi[r + k]);
  }
  Tensor y(x.dtype(), out_shape);
  if (y.numel() == 0) {
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }
  const auto in_st = Strides(x.shape());
  const int64_t inner = out_shape[r - 1];
  const int64_t rows = y.numel() / inner;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / inner);
  if (!spec.linear) {
    // Nearest copies elements, so any dtype works; extrapolation converts to numeric dtypes.
    CALIB8_RETURN_IF_ERROR(
        ResizeNearest(ctx, x, maps, out_shape, spec, in_st, inner, rows, grain, y));
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }
  CALIB8_RETURN_IF_ERROR(ResizeLinear(ctx, x, maps, out_shape, spec, in_st, inner, rows, grain, y));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// Output shape and per-axis scales from `scales` or `sizes` (either may be null or empty), over
// `axes` (all dims when empty), then resizes.
Status ResolveAndResize(exec::KernelContext& ctx, const Tensor& x, const Tensor* scales_t,
                        const Tensor* sizes_t, const Tensor* roi_t, const ResizeSpec& spec) {
  const int64_t r = x.rank();
  std::vector<int64_t> axes = ctx.node.GetInts("axes");
  if (axes.empty())
    for (int64_t k = 0; k < r; ++k) axes.push_back(k);
  for (auto& a : axes) {
    CALIB8_ASSIGN_OR_RETURN(a, NormalizeAxis(a, r, ctx.node));
  }
  const size_t na = axes.size();
  // roi = [starts..., ends...] over the axes; the default covers the whole input.
  std::vector<float> roi(static_cast<size_t>(2 * r), 0.0f);
  for (int64_t k = 0; k < r; ++k) roi[r + k] = 1.0f;
  if (roi_t && roi_t->numel() > 0 && spec.coord == Coord::kTfCropAndResize) {
    auto v = ReadFloats(*roi_t);
    if (v.size() != 2 * na)
      return InvalidArgument("roi has ", v.size(), " values, expected ", 2 * na);
    for (size_t i = 0; i < na; ++i) {
      roi[axes[i]] = v[i];
      roi[r + axes[i]] = v[na + i];
    }
  }
  std::vector<float> scales(static_cast<size_t>(r), 1.0f);
  Shape out = x.shape();
  if (sizes_t && sizes_t->numel() > 0) {
    if (scales_t && scales_t->numel() > 0)
      return InvalidArgument("only one of 'scales' and 'sizes' may be given");
    CALIB8_ASSIGN_OR_RETURN(auto sizes, ReadInts(*sizes_t, "sizes", ctx.node));
    if (sizes.size() != na)
      return InvalidArgument("sizes has ", sizes.size(), " values, expected ", na);
    const std::string policy = ctx.node.GetString("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t i = 0; i < na; ++i) {
        out[axes[i]] = sizes[i];
        scales[axes[i]] = static_cast<float>(sizes[i]) / static_cast<float>(x.shape()[axes[i]]);
      }
    } else if (policy == "not_larger" || policy == "not_smaller") {
      // One scale for all axes: the largest that fits (not_larger) or the smallest that covers.
      float s = policy == "not_larger" ? INFINITY : 0.0f;
      for (size_t i = 0; i < na; ++i) {
        float si = static_cast<float>(sizes[i]) / static_cast<float>(x.shape()[axes[i]]);
        s = policy == "not_larger" ? std::min(s, si) : std::max(s, si);
      }
      for (size_t i = 0; i < na; ++i) {
        out[axes[i]] = static_cast<int64_t>(std::round(s * static_cast<float>(x.shape()[axes[i]])));
        scales[axes[i]] = s;
      }
    } else {
      return InvalidArgument("unknown keep_aspect_ratio_policy '", policy, "'");
    }
  } else if (scales_t && scales_t->numel() > 0) {
    auto v = ReadFloats(*scales_t);
    if (v.size() != na) return InvalidArgument("scales has ", v.size(), " values, expected ", na);
    for (size_t i = 0; i < na; ++i) {
      const int64_t a = axes[i];
      if (!(v[i] > 0.0f)) return InvalidArgument("scales must be positive, got ", v[i]);
      scales[a] = v[i];
      // Output size = floor(in * scale), times the roi's extent for tf_crop_and_resize.
      float extent = static_cast<float>(x.shape()[a]) * v[i];
      if (spec.coord == Coord::kTfCropAndResize) extent *= roi[r + a] - roi[a];
      out[a] = static_cast<int64_t>(std::floor(extent));
    }
  } else {
    return InvalidArgument("one of 'scales' and 'sizes' must be given");
  }
  for (int64_t k = 0; k < r; ++k)
    if (out[k] < 0) return InvalidArgument("output size ", out[k], " of axis ", k, " is negative");
  if (spec.linear && ctx.node.GetInt("antialias", 0) != 0)
    for (int64_t k = 0; k < r; ++k)
      if (out[k] < x.shape()[k])
        return Unimplemented("Resize with antialias = 1 is not supported when downsampling");
  return ResizeTo(ctx, x, scales, out, roi, spec);
}

// mode attribute -> spec.linear; cubic and unknown modes are refused.
Status ParseMode(const ir::Node& node, ResizeSpec& spec) {
  const std::string mode = node.GetString("mode", "nearest");
  if (mode == "cubic") return Unimplemented("Resize mode 'cubic' is not supported");
  if (mode != "nearest" && mode != "linear" && mode != "bilinear")
    return InvalidArgument("unknown ", node.op_type, " mode '", mode, "'");
  spec.linear = mode != "nearest";
  return Status::Ok();
}

Status RunResize(exec::KernelContext& ctx, int64_t opset) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  ResizeSpec spec;
  CALIB8_RETURN_IF_ERROR(ParseMode(ctx.node, spec));
  if (opset < 11) {  // Resize-10 is Upsample-9 renamed: asymmetric coordinates, no roi/sizes
    spec.coord = Coord::kAsymmetric;
    spec.nearest = Nearest::kSimple;
    CALIB8_ASSIGN_OR_RETURN(const Tensor* scales, RequireInput(ctx, 1));
    return ResolveAndResize(ctx, *x, scales, nullptr, nullptr, spec);
  }
  CALIB8_ASSIGN_OR_RETURN(
      spec.coord, ParseCoord(ctx.node.GetString("coordinate_transformation_mode", "half_pixel")));
  CALIB8_ASSIGN_OR_RETURN(spec.nearest,
                          ParseNearest(ctx.node.GetString("nearest_mode", "round_prefer_floor")));
  spec.extrapolation = ctx.node.GetFloat("extrapolation_value", 0.0f);
  return ResolveAndResize(ctx, *x, ctx.input(2), ctx.input(3), ctx.input(1), spec);
}

Status RunUpsample(exec::KernelContext& ctx, int64_t opset) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  ResizeSpec spec;
  CALIB8_RETURN_IF_ERROR(ParseMode(ctx.node, spec));
  spec.coord = Coord::kAsymmetric;
  spec.nearest = Nearest::kSimple;
  if (opset >= 9) {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* scales, RequireInput(ctx, 1));
    return ResolveAndResize(ctx, *x, scales, nullptr, nullptr, spec);
  }
  std::vector<float> s = ctx.node.GetFloats("scales");
  if (s.empty()) {  // Upsample-1 (experimental): height_scale / width_scale on the last two dims
    if (x->rank() < 2) return InvalidArgument("'scales' attribute is required");
    s.assign(static_cast<size_t>(x->rank()), 1.0f);
    s[s.size() - 2] = ctx.node.GetFloat("height_scale", 1.0f);
    s[s.size() - 1] = ctx.node.GetFloat("width_scale", 1.0f);
  }
  Tensor scales = Tensor::FromVector<float>({static_cast<int64_t>(s.size())}, s);
  return ResolveAndResize(ctx, *x, &scales, nullptr, nullptr, spec);
}

}  // namespace

exec::KernelFactory ResizeKernel() {
  return exec::StatelessFromInit([](const exec::KernelInit& init) -> exec::KernelFn {
    return [opset = init.opset](exec::KernelContext& ctx) { return RunResize(ctx, opset); };
  });
}

exec::KernelFactory UpsampleKernel() {
  return exec::StatelessFromInit([](const exec::KernelInit& init) -> exec::KernelFn {
    return [opset = init.opset](exec::KernelContext& ctx) { return RunUpsample(ctx, opset); };
  });
}

}  // namespace calib8::ops
