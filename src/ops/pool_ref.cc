// ops/pool_ref.cc — reference MaxPool (with the optional Indices output), AveragePool,
// GlobalAveragePool and GlobalMaxPool: attribute parsing, output geometry (also used by
// pool_onednn.cc) and plain window loops, the executable definition of the ops.
#include "ops/pool_ref.h"

#include <algorithm>
#include <limits>

#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

Result<PoolAttrs> ParsePoolAttrs(const ir::Node& node, const std::string& op_type) {
  PoolAttrs a;
  a.global = op_type == "GlobalAveragePool" || op_type == "GlobalMaxPool";
  a.is_max = op_type == "MaxPool" || op_type == "GlobalMaxPool";
  if (a.global) return a;
  a.auto_pad = node.GetString("auto_pad", "NOTSET");
  if (a.auto_pad.empty()) a.auto_pad = "NOTSET";
  if (a.auto_pad != "NOTSET" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER" &&
      a.auto_pad != "VALID")
    return InvalidArgument("auto_pad '", a.auto_pad,
                           "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  a.ceil_mode = node.GetInt("ceil_mode", 0) != 0;
  a.count_include_pad = node.GetInt("count_include_pad", 0) != 0;
  a.storage_order = node.GetInt("storage_order", 0);
  if (a.storage_order != 0 && a.storage_order != 1)
    return InvalidArgument("storage_order must be 0 or 1, got ", a.storage_order);
  a.kernel_shape = node.GetInts("kernel_shape");
  if (a.kernel_shape.empty()) return InvalidArgument("attribute kernel_shape is required");
  a.strides = node.GetInts("strides");
  a.dilations = node.GetInts("dilations");
  a.pads = node.GetInts("pads");
  size_t sp = a.kernel_shape.size();
  if (!a.strides.empty() && a.strides.size() != sp)
    return InvalidArgument("strides has ", a.strides.size(), " values, expected ", sp);
  if (!a.dilations.empty() && a.dilations.size() != sp)
    return InvalidArgument("dilations has ", a.dilations.size(), " values, expected ", sp);
  if (!a.pads.empty() && a.pads.size() != 2 * sp)
    return InvalidArgument("pads has ", a.pads.size(), " values, expected ", 2 * sp);
  for (int64_t v : a.kernel_shape)
    if (v < 1)
      return InvalidArgument("kernel_shape must be >= 1, got ", ShapeToString(a.kernel_shape));
  for (int64_t v : a.strides)
    if (v < 1) return InvalidArgument("strides must be >= 1, got ", ShapeToString(a.strides));
  for (int64_t v : a.dilations)
    if (v < 1) return InvalidArgument("dilations must be >= 1, got ", ShapeToString(a.dilations));
  for (int64_t v : a.pads)
    if (v < 0) return InvalidArgument("pads must be >= 0, got ", ShapeToString(a.pads));
  return a;
}

Result<PoolGeometry> PoolGeometryFor(const PoolAttrs& a, const Shape& x) {
  PoolGeometry g;
  if (x.size() < 3)
    return InvalidArgument("input X must have rank >= 3 ([N, C, spatial...]), got shape ",
                           ShapeToString(x));
  g.n = x[0];
  g.c = x[1];
  g.out_shape = {g.n, g.c};
  if (a.global) {
    // One window over all spatial positions, laid out as one flat dim.
    g.spatial = 1;
    g.in[2] = g.k[2] = NumElements(Shape(x.begin() + 2, x.end()));
    g.out_shape.resize(x.size(), 1);
    return g;
  }
  g.spatial = static_cast<int>(x.size()) - 2;
  if (g.spatial > 3)
    return InvalidArgument("at most 3 spatial dims are supported, got shape ", ShapeToString(x));
  if (a.kernel_shape.size() != static_cast<size_t>(g.spatial))
    return InvalidArgument("kernel_shape ", ShapeToString(a.kernel_shape), " does not fit X ",
                           ShapeToString(x));
  for (int i = 0; i < g.spatial; ++i) {
    int j = 3 - g.spatial + i;
    int64_t in = x[2 + i], k = a.kernel_shape[i];
    int64_t s = a.strides.empty() ? 1 : a.strides[i];
    int64_t d = a.dilations.empty() ? 1 : a.dilations[i];
    int64_t dk = (k - 1) * d + 1;  // extent of the dilated window
    int64_t pb = 0, pe = 0, out = 0;
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      out = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out - 1) * s + dk - in);
      pb = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    } else {
      if (a.auto_pad == "NOTSET" && !a.pads.empty()) pb = a.pads[i], pe = a.pads[i + g.spatial];
      int64_t span = in + pb + pe - dk;
      if (span < 0)
        return InvalidArgument("the window (extent ", dk, ") is larger than the padded input (",
                               in + pb + pe, ") in spatial dim ", i, " of X ", ShapeToString(x));
      out = (a.ceil_mode && a.auto_pad == "NOTSET" ? (span + s - 1) / s : span / s) + 1;
      // ceil_mode: a last window that would start past the input and its begin pad is dropped.
      if (a.ceil_mode && out > 1 && (out - 1) * s >= in + pb) --out;
    }
    g.in[j] = in;
    g.k[j] = k;
    g.stride[j] = s;
    g.dil[j] = d;
    g.pad_b[j] = pb;
    g.pad_e[j] = pe;
    g.out[j] = out;
    g.out_shape.push_back(out);
  }
  return g;
}

namespace {

// Max pooling of one (n, c) plane; idx (may be null) receives the flat input position of each
// maximum, row-major (storage_order 0) or with the spatial dims reversed (1), plus `base`.
template <typename T>
void MaxPlane(const PoolGeometry& g, const T* x, T* y, int64_t* idx, int64_t base,
              int64_t storage_order) {
  // Flat-index strides of (d, h, w) for the Indices output.
  int64_t st[3] = {g.in[1] * g.in[2], g.in[2], 1};
  if (storage_order == 1) {
    // Column-major over the real spatial dims: the first real dim varies fastest.
    int64_t acc = 1;
    for (int j = 3 - g.spatial; j < 3; ++j) st[j] = acc, acc *= g.in[j];
  }
  for (int64_t od = 0; od < g.out[0]; ++od)
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        T best = std::numeric_limits<T>::lowest();
        int64_t best_i = -1;
        for (int64_t kd = 0; kd < g.k[0]; ++kd) {
          // input coordinate = output * stride - pad_begin + kernel * dilation
          int64_t id = od * g.stride[0] - g.pad_b[0] + kd * g.dil[0];
          if (id < 0 || id >= g.in[0]) continue;
          for (int64_t kh = 0; kh < g.k[1]; ++kh) {
            int64_t ih = oh * g.stride[1] - g.pad_b[1] + kh * g.dil[1];
            if (ih < 0 || ih >= g.in[1]) continue;
            for (int64_t kw = 0; kw < g.k[2]; ++kw) {
              int64_t iw = ow * g.stride[2] - g.pad_b[2] + kw * g.dil[2];
              if (iw < 0 || iw >= g.in[2]) continue;
              T v = x[(id * g.in[1] + ih) * g.in[2] + iw];
              if (best_i < 0 || v > best) best = v, best_i = id * st[0] + ih * st[1] + iw * st[2];
            }
          }
        }
        int64_t o = (od * g.out[1] + oh) * g.out[2] + ow;
        y[o] = best;
        if (idx) idx[o] = base + std::max<int64_t>(best_i, 0);
      }
}

// Average pooling of one (n, c) plane. The divisor counts the window positions inside the input
// (count_include_pad = 0) or inside the input plus its declared pads (1).
template <typename T>
void AvgPlane(const PoolGeometry& g, bool include_pad, const T* x, T* y) {
  for (int64_t od = 0; od < g.out[0]; ++od)
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        double sum = 0.0;
        int64_t count = 0;
        int64_t o3[3] = {od, oh, ow};
        for (int64_t kd = 0; kd < g.k[0]; ++kd)
          for (int64_t kh = 0; kh < g.k[1]; ++kh)
            for (int64_t kw = 0; kw < g.k[2]; ++kw) {
              int64_t k3[3] = {kd, kh, kw}, i3[3];
              bool inside = true, in_padded = true;
              for (int j = 0; j < 3; ++j) {
                i3[j] = o3[j] * g.stride[j] - g.pad_b[j] + k3[j] * g.dil[j];
                inside = inside && i3[j] >= 0 && i3[j] < g.in[j];
                in_padded = in_padded && i3[j] >= -g.pad_b[j] && i3[j] < g.in[j] + g.pad_e[j];
              }
              if (inside) sum += x[(i3[0] * g.in[1] + i3[1]) * g.in[2] + i3[2]];
              if (include_pad ? in_padded : inside) ++count;
            }
        y[(od * g.out[1] + oh) * g.out[2] + ow] = static_cast<T>(count ? sum / count : 0.0);
      }
}

class PoolRefKernel : public exec::Kernel {
 public:
  explicit PoolRefKernel(PoolAttrs a) : a_(std::move(a)) {}

  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
    CALIB8_ASSIGN_OR_RETURN(PoolGeometry g, PoolGeometryFor(a_, x->shape()));
    bool want_idx = ctx.num_outputs() > 1 && !ctx.node.outputs[1].empty();
    if (want_idx && !a_.is_max) return InvalidArgument("only MaxPool has a second output");
    Tensor y(x->dtype(), g.out_shape);
    Tensor idx;
    if (want_idx) idx = Tensor(DataType::kInt64, g.out_shape);
    const int64_t isz = g.in_size(), osz = g.out_size();
    Status st;
    if (a_.is_max) {
      st = DispatchNumeric(x->dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        ParallelFor(
            g.n * g.c,
            [&](int64_t p) {
              MaxPlane<T>(g, x->data<T>() + p * isz, y.data<T>() + p * osz,
                          want_idx ? idx.data<int64_t>() + p * osz : nullptr, p * isz,
                          a_.storage_order);
            },
            4);
      });
    } else {
      st = DispatchFloat(x->dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        ParallelFor(
            g.n * g.c,
            [&](int64_t p) {
              AvgPlane<T>(g, a_.count_include_pad, x->data<T>() + p * isz, y.data<T>() + p * osz);
            },
            4);
      });
    }
    CALIB8_RETURN_IF_ERROR(st);
    ctx.outputs[0] = std::move(y);
    if (want_idx) ctx.outputs[1] = std::move(idx);
    return Status::Ok();
  }

 private:
  PoolAttrs a_;
};

}  // namespace

exec::KernelFactory PoolReference(const std::string& op_type) {
  return [op_type](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(PoolAttrs a, ParsePoolAttrs(init.node, op_type));
    return std::unique_ptr<exec::Kernel>(std::make_unique<PoolRefKernel>(std::move(a)));
  };
}

}  // namespace calib8::ops
