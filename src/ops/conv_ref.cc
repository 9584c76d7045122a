// ops/conv_ref.cc — reference Conv and ConvTranspose: attribute parsing, output geometry (also
// used by conv_onednn.cc) and plain loops that are the executable definition of both ops,
// including the fused epilogue (epilogue_ref.h). Float32 only; accumulation in double.
#include "ops/conv_ref.h"

#include <algorithm>
#include <vector>

#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

namespace {

// Floor division for possibly negative numerators (ONNX's pad formulas use Python's //).
int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Writes a per-spatial-dim attribute into the last `spatial` slots of `out` (front slots keep
// their unit/zero default). Empty `v` means `def` everywhere.
Status SpatialAttr(const std::vector<int64_t>& v, size_t offset, int spatial, int64_t def,
                   const char* name, std::array<int64_t, 3>& out) {
  for (int i = 0; i < spatial; ++i) out[3 - spatial + i] = v.empty() ? def : v[offset + i];
  return Status::Ok();
}

Status CheckCount(const std::vector<int64_t>& v, size_t want, const char* name) {
  if (!v.empty() && v.size() != want)
    return InvalidArgument("attribute ", name, " has ", v.size(), " values, expected ", want);
  return Status::Ok();
}

// Common checks of X and W and the per-dim attributes; fills spatial, n, stride, dil, k.
Status CommonGeometry(const ConvAttrs& a, const Shape& x, const Shape& w, ConvGeometry& g) {
  if (x.size() < 3 || x.size() > 5)
    return InvalidArgument("input X must have rank 3 to 5 ([N, C, spatial...]), got shape ",
                           ShapeToString(x));
  if (w.size() != x.size())
    return InvalidArgument("weights W ", ShapeToString(w), " must have the rank of X ",
                           ShapeToString(x));
  g.spatial = static_cast<int>(x.size()) - 2;
  size_t sp = static_cast<size_t>(g.spatial);
  CALIB8_RETURN_IF_ERROR(CheckCount(a.kernel_shape, sp, "kernel_shape"));
  CALIB8_RETURN_IF_ERROR(CheckCount(a.strides, sp, "strides"));
  CALIB8_RETURN_IF_ERROR(CheckCount(a.dilations, sp, "dilations"));
  CALIB8_RETURN_IF_ERROR(CheckCount(a.pads, 2 * sp, "pads"));
  CALIB8_RETURN_IF_ERROR(CheckCount(a.output_padding, sp, "output_padding"));
  if (!a.output_shape.empty() && a.output_shape.size() != sp && a.output_shape.size() != sp + 2)
    return InvalidArgument("attribute output_shape has ", a.output_shape.size(),
                           " values, expected ", sp);
  for (int i = 0; i < g.spatial; ++i) {
    int64_t kw = w[2 + i];
    if (!a.kernel_shape.empty() && a.kernel_shape[i] != kw)
      return InvalidArgument("kernel_shape ", ShapeToString(a.kernel_shape),
                             " does not match the weights ", ShapeToString(w));
    g.k[3 - g.spatial + i] = kw;
  }
  g.n = x[0];
  g.group = a.group;
  CALIB8_RETURN_IF_ERROR(SpatialAttr(a.strides, 0, g.spatial, 1, "strides", g.stride));
  CALIB8_RETURN_IF_ERROR(SpatialAttr(a.dilations, 0, g.spatial, 1, "dilations", g.dil));
  for (int i = 0; i < g.spatial; ++i) g.in[3 - g.spatial + i] = x[2 + i];
  return Status::Ok();
}

}  // namespace

Result<ConvAttrs> ParseConvAttrs(const ir::Node& node, bool transposed) {
  ConvAttrs a;
  a.transposed = transposed;
  a.auto_pad = node.GetString("auto_pad", "NOTSET");
  if (a.auto_pad.empty()) a.auto_pad = "NOTSET";
  if (a.auto_pad != "NOTSET" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER" &&
      a.auto_pad != "VALID")
    return InvalidArgument("auto_pad '", a.auto_pad,
                           "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  a.group = node.GetInt("group", 1);
  if (a.group < 1) return InvalidArgument("group must be >= 1, got ", a.group);
  a.kernel_shape = node.GetInts("kernel_shape");
  a.strides = node.GetInts("strides");
  a.dilations = node.GetInts("dilations");
  a.pads = node.GetInts("pads");
  for (int64_t s : a.strides)
    if (s < 1) return InvalidArgument("strides must be >= 1, got ", ShapeToString(a.strides));
  for (int64_t d : a.dilations)
    if (d < 1) return InvalidArgument("dilations must be >= 1, got ", ShapeToString(a.dilations));
  for (int64_t p : a.pads)
    if (p < 0) return InvalidArgument("pads must be >= 0, got ", ShapeToString(a.pads));
  if (transposed) {
    a.output_padding = node.GetInts("output_padding");
    a.output_shape = node.GetInts("output_shape");
    for (int64_t p : a.output_padding)
      if (p < 0)
        return InvalidArgument("output_padding must be >= 0, got ",
                               ShapeToString(a.output_padding));
  } else if (node.HasAttr("output_padding") || node.HasAttr("output_shape")) {
    return InvalidArgument("output_padding/output_shape are ConvTranspose attributes");
  }
  CALIB8_ASSIGN_OR_RETURN(a.epilogue, ParseEpilogue(node, 3));
  return a;
}

Result<ConvGeometry> ConvGeometryFor(const ConvAttrs& a, const Shape& x, const Shape& w) {
  ConvGeometry g;
  CALIB8_RETURN_IF_ERROR(CommonGeometry(a, x, w, g));
  g.c = x[1];
  g.m = w[0];
  if (g.c != w[1] * g.group)
    return InvalidArgument("X has ", g.c, " channels but W ", ShapeToString(w), " with group ",
                           g.group, " expects ", w[1] * g.group);
  if (g.m % g.group != 0)
    return InvalidArgument("W has ", g.m, " output channels, not a multiple of group ", g.group);
  for (int i = 0; i < g.spatial; ++i) {
    int j = 3 - g.spatial + i;
    int64_t in = g.in[j], s = g.stride[j];
    int64_t dk = (g.k[j] - 1) * g.dil[j] + 1;  // extent of the dilated kernel
    int64_t pb = 0, pe = 0;
    if (a.auto_pad == "NOTSET") {
      if (!a.pads.empty()) pb = a.pads[i], pe = a.pads[i + g.spatial];
    } else if (a.auto_pad != "VALID") {
      // SAME_*: out = ceil(in / s); the total pad needed is split, odd one at the end (UPPER)
      // or at the beginning (LOWER).
      int64_t out = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out - 1) * s + dk - in);
      pb = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    }
    if (in + pb + pe < dk)
      return InvalidArgument("the kernel (extent ", dk, ") is larger than the padded input (",
                             in + pb + pe, ") in spatial dim ", i, " of X ", ShapeToString(x));
    g.pad_b[j] = pb;
    g.pad_e[j] = pe;
    g.out[j] = (in + pb + pe - dk) / s + 1;
  }
  g.out_shape = {g.n, g.m};
  for (int i = 0; i < g.spatial; ++i) g.out_shape.push_back(g.out[3 - g.spatial + i]);
  return g;
}

Result<ConvGeometry> ConvTransposeGeometryFor(const ConvAttrs& a, const Shape& x, const Shape& w) {
  ConvGeometry g;
  CALIB8_RETURN_IF_ERROR(CommonGeometry(a, x, w, g));
  g.c = x[1];
  if (w[0] != g.c)
    return InvalidArgument("X has ", g.c, " channels but W ", ShapeToString(w), " expects ", w[0]);
  if (g.c % g.group != 0)
    return InvalidArgument("X has ", g.c, " channels, not a multiple of group ", g.group);
  g.m = w[1] * g.group;
  size_t os_off = a.output_shape.size() == static_cast<size_t>(g.spatial) ? 0 : 2;
  for (int i = 0; i < g.spatial; ++i) {
    int j = 3 - g.spatial + i;
    int64_t in = g.in[j], s = g.stride[j];
    int64_t dk = (g.k[j] - 1) * g.dil[j] + 1;
    int64_t op = a.output_padding.empty() ? 0 : a.output_padding[i];
    // Every input position i writes the dilated kernel at i * s - pad_b: the unpadded output
    // spans s * (in - 1) + dk positions, output_padding adds to its end.
    int64_t full = s * (in - 1) + op + dk;
    int64_t out = 0, pb = 0;
    bool explicit_out = !a.output_shape.empty();
    bool same = a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER";
    if (explicit_out || same) {
      out = explicit_out ? a.output_shape[os_off + i] : in * s;
      int64_t total = full - out;  // may be negative: the output is then zero-extended
      if (a.auto_pad == "SAME_UPPER") {
        pb = FloorDiv(total, 2);
      } else {
        pb = total - FloorDiv(total, 2);
      }
    } else if (a.auto_pad == "VALID") {
      out = full;
    } else {
      int64_t pe = 0;
      if (!a.pads.empty()) pb = a.pads[i], pe = a.pads[i + g.spatial];
      out = full - pb - pe;
    }
    if (out < 1)
      return InvalidArgument("output size ", out, " in spatial dim ", i, " is not positive (X ",
                             ShapeToString(x), ", W ", ShapeToString(w), ")");
    g.out[j] = out;
    g.pad_b[j] = pb;
    g.pad_e[j] = s * (in - 1) + dk - pb - out;  // out = s * (in - 1) + dk - pad_b - pad_e
  }
  g.out_shape = {g.n, g.m};
  for (int i = 0; i < g.spatial; ++i) g.out_shape.push_back(g.out[3 - g.spatial + i]);
  return g;
}

void ConvForwardRef(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    const Epilogue& e, const float* residual, float* y) {
  const int64_t cg = g.c_per_group(), mg = g.m_per_group();
  const int64_t isz = g.in_size(), osz = g.out_size(), ksz = g.k_size();
  // One task per (image, output channel): y[n, mo, :] from x[n, group(mo) channels, :].
  ParallelFor(
      g.n * g.m,
      [&](int64_t task) {
        const int64_t n = task / g.m, mo = task % g.m, grp = mo / mg;
        std::vector<double> acc(static_cast<size_t>(osz));
        ConvPlaneRef<double>(g, x + (n * g.c + grp * cg) * isz, w + mo * cg * ksz,
                             bias ? static_cast<double>(bias[mo]) : 0.0, acc.data());
        float* ym = y + task * osz;
        for (int64_t i = 0; i < osz; ++i) ym[i] = static_cast<float>(acc[i]);
        ApplyEpilogue(e, residual ? residual + task * osz : nullptr, ym, osz);
      },
      2);
}

void ConvTransposeForwardRef(const ConvGeometry& g, const float* x, const float* w,
                             const float* bias, const Epilogue& e, const float* residual,
                             float* y) {
  const int64_t cg = g.c_per_group(), mg = g.m_per_group();
  const int64_t isz = g.in_size(), osz = g.out_size(), ksz = g.k_size();
  // One task per (image, output channel); each input position scatters its kernel into it.
  ParallelFor(
      g.n * g.m,
      [&](int64_t task) {
        const int64_t n = task / g.m, mo = task % g.m, grp = mo / mg, oc = mo % mg;
        std::vector<double> acc(static_cast<size_t>(osz));
        ConvTransposePlaneRef<double>(g, x + (n * g.c + grp * cg) * isz,
                                      w + (grp * cg * mg + oc) * ksz,
                                      bias ? static_cast<double>(bias[mo]) : 0.0, acc.data());
        float* ym = y + task * osz;
        for (int64_t i = 0; i < osz; ++i) ym[i] = static_cast<float>(acc[i]);
        ApplyEpilogue(e, residual ? residual + task * osz : nullptr, ym, osz);
      },
      2);
}

namespace {

// Checks the float32 inputs of a Conv/ConvTranspose run and returns X, W and B (B may be null).
Status ConvInputs(const exec::KernelContext& ctx, const Tensor*& x, const Tensor*& w,
                  const Tensor*& b) {
  CALIB8_ASSIGN_OR_RETURN(x, RequireInput(ctx, 0));
  CALIB8_ASSIGN_OR_RETURN(w, RequireInput(ctx, 1));
  b = ctx.input(2);
  for (const Tensor* t : {x, w, b})
    if (t && t->dtype() != DataType::kFloat32)
      return Unimplemented("data type ", DataTypeName(t->dtype()), " is not supported by ",
                           ctx.node.op_type, " (float32 only)");
  return Status::Ok();
}

class ConvRefKernel : public exec::Kernel {
 public:
  explicit ConvRefKernel(ConvAttrs a) : a_(std::move(a)) {}

  Status Run(exec::KernelContext& ctx) override {
    const Tensor *x = nullptr, *w = nullptr, *b = nullptr;
    CALIB8_RETURN_IF_ERROR(ConvInputs(ctx, x, w, b));
    ConvGeometry g;
    if (a_.transposed) {
      CALIB8_ASSIGN_OR_RETURN(g, ConvTransposeGeometryFor(a_, x->shape(), w->shape()));
    } else {
      CALIB8_ASSIGN_OR_RETURN(g, ConvGeometryFor(a_, x->shape(), w->shape()));
    }
    if (b && b->numel() != g.m)
      return InvalidArgument("bias B has shape ", ShapeToString(b->shape()), ", expected [", g.m,
                             "]");
    CALIB8_ASSIGN_OR_RETURN(const float* residual, EpilogueResidual(a_.epilogue, ctx, g.out_shape));
    Tensor y(DataType::kFloat32, g.out_shape);
    const float* bias = b ? b->data<float>() : nullptr;
    if (a_.transposed) {
      ConvTransposeForwardRef(g, x->data<float>(), w->data<float>(), bias, a_.epilogue, residual,
                              y.data<float>());
    } else {
      ConvForwardRef(g, x->data<float>(), w->data<float>(), bias, a_.epilogue, residual,
                     y.data<float>());
    }
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  ConvAttrs a_;
};

exec::KernelFactory ConvRefFactory(bool transposed) {
  return [transposed](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(ConvAttrs a, ParseConvAttrs(init.node, transposed));
    return std::unique_ptr<exec::Kernel>(std::make_unique<ConvRefKernel>(std::move(a)));
  };
}

}  // namespace

exec::KernelFactory ConvReference() { return ConvRefFactory(false); }
exec::KernelFactory ConvTransposeReference() { return ConvRefFactory(true); }

}  // namespace calib8::ops
