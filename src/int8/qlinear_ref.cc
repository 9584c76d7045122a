// int8/qlinear_ref.cc — reference QConv, QConvTranspose and QMatMul: plain integer loops, then
// QEpilogue::Finish and StoreOut. They are the executable numeric contract (quant/quant_params.h)
// that the oneDNN kernels (qlinear_onednn.cc) are tested against. Layouts are converted to NCHW at
// the start and back at the end; speed is not a goal here.
#include "int8/qkernels.h"
#include "ops/conv_ref.h"
#include "ops/op_util.h"

namespace calib8::int8 {

namespace {

// The 8-bit values of t minus its zero point: the integers the accumulation multiplies.
std::vector<int32_t> AsInt32(const Tensor& t, int32_t zp) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = static_cast<int32_t>(LoadAsFloat(t, i)) - zp;
  return v;
}

Status Check8Bit(const Tensor* t, const char* what) {
  if (!t || (t->dtype() != DataType::kInt8 && t->dtype() != DataType::kUint8))
    return InvalidArgument(what, " must be int8 or uint8, got ",
                           t ? DataTypeName(t->dtype()) : "nothing");
  return Status::Ok();
}

// Checks the inputs shared by QConv and QConvTranspose and returns what both loops need: the
// input as int32 NCHW (channels first, any spatial rank), the residual (NCHW, or float32) and
// the output tensor to fill (NCHW).
struct QConvIo {
  std::vector<int32_t> x;
  Tensor res, y;
};

Result<QConvIo> PrepareQConv(exec::KernelContext& ctx, const QEpilogue& e,
                             const ops::ConvGeometry& g, const char* op) {
  const Tensor* b = ctx.input(2);
  if (static_cast<int64_t>(e.oscale.size()) != g.m)
    return InvalidArgument(op, ": w_scales has ", e.oscale.size(), " value(s), expected ", g.m);
  if (b && (b->dtype() != DataType::kInt32 || b->numel() != g.m))
    return InvalidArgument(op, " bias must be int32 [", g.m, "]");
  QConvIo io;
  io.x = AsInt32(AsNchw(*ctx.input(0), e.in_nhwc), e.in_zp);
  if (e.sum) {
    const Tensor* r = ctx.input(3);
    if (!r) return InvalidArgument(op, ": residual input 3 is missing");
    io.res = r->dtype() == DataType::kFloat32 ? *r : AsNchw(*r, e.res_nhwc);
    if (io.res.shape() != g.out_shape)
      return InvalidArgument(op, " residual has shape ", ShapeToString(io.res.shape()),
                             ", expected ", ShapeToString(g.out_shape));
  }
  io.y = Tensor(e.out_dtype(), g.out_shape);
  return io;
}

// The epilogue over one output channel plane of `acc` (NCHW offset `o0`), then the layout.
void FinishPlane(const QEpilogue& e, const ops::ConvGeometry& g, const Tensor* b, QConvIo& io,
                 int64_t m, int64_t o0, const int32_t* acc) {
  const int32_t bias = b ? b->data<int32_t>()[m] : 0;
  for (int64_t i = 0; i < g.out_size(); ++i) {
    float r = e.sum ? LoadAsFloat(io.res, o0 + i) : 0.0f;
    StoreOut(e, e.Finish(acc[i], bias, m, r), io.y.raw(), o0 + i);
  }
}

Tensor OutputLayout(const QEpilogue& e, Tensor y) {
  bool to_nhwc = e.out_nhwc && e.out_type != QEpilogue::OutType::kF32 && y.rank() == 4;
  return to_nhwc ? ToNhwc(y) : y;
}

// Conv, any spatial rank (1-D, 2-D, 3-D; ConvGeometry pads the rank to 3 with unit dims):
//   acc[n, m, o] = sum_{c in group(m), k} x[n, c, o * stride - pad_begin + k * dilation] * w[m, c,
//   k]
class QConvRef : public exec::Kernel {
 public:
  QConvRef(ops::ConvAttrs a, QEpilogue e) : a_(std::move(a)), e_(std::move(e)) {}

  Status Run(exec::KernelContext& ctx) override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    CALIB8_RETURN_IF_ERROR(Check8Bit(x, "QConv input"));
    if (!w || w->dtype() != DataType::kInt8 || w->rank() < 3 || w->rank() > 5)
      return InvalidArgument("QConv weights must be a 3-D to 5-D int8 tensor");
    CALIB8_ASSIGN_OR_RETURN(ops::ConvGeometry g,
                            ops::ConvGeometryFor(a_, NchwShape(*x, e_.in_nhwc), w->shape()));
    CALIB8_ASSIGN_OR_RETURN(QConvIo io, PrepareQConv(ctx, e_, g, "QConv"));
    const int8_t* pw = w->data<int8_t>();
    const int64_t cg = g.c_per_group(), mg = g.m_per_group();
    std::vector<int32_t> acc(static_cast<size_t>(g.out_size()));
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t m = 0; m < g.m; ++m) {
        const int64_t grp = m / mg;
        ops::ConvPlaneRef<int32_t>(g, io.x.data() + (n * g.c + grp * cg) * g.in_size(),
                                   pw + m * cg * g.k_size(), 0, acc.data());
        FinishPlane(e_, g, ctx.input(2), io, m, (n * g.m + m) * g.out_size(), acc.data());
      }
    ctx.outputs[0] = OutputLayout(e_, std::move(io.y));
    return Status::Ok();
  }

 private:
  ops::ConvAttrs a_;
  QEpilogue e_;
};

// ConvTranspose, any spatial rank. W is ONNX's [C, M/group, k...]; each input position scatters
// its kernel (the definition of the transposed convolution):
//   acc[n, m, i * stride - pad_begin + k * dilation] += x[n, c, i] * w[c, m % (M/G), k]
// for the channels c of group(m). Output positions no input reaches keep acc = 0 (bias only).
class QConvTransposeRef : public exec::Kernel {
 public:
  QConvTransposeRef(ops::ConvAttrs a, QEpilogue e) : a_(std::move(a)), e_(std::move(e)) {}

  Status Run(exec::KernelContext& ctx) override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    CALIB8_RETURN_IF_ERROR(Check8Bit(x, "QConvTranspose input"));
    if (!w || w->dtype() != DataType::kInt8 || w->rank() < 3 || w->rank() > 5)
      return InvalidArgument("QConvTranspose weights must be a 3-D to 5-D int8 tensor");
    CALIB8_ASSIGN_OR_RETURN(ops::ConvGeometry g, ops::ConvTransposeGeometryFor(
                                                     a_, NchwShape(*x, e_.in_nhwc), w->shape()));
    CALIB8_ASSIGN_OR_RETURN(QConvIo io, PrepareQConv(ctx, e_, g, "QConvTranspose"));
    const int8_t* pw = w->data<int8_t>();
    const int64_t cg = g.c_per_group(), mg = g.m_per_group();
    std::vector<int32_t> acc(static_cast<size_t>(g.out_size()));
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t m = 0; m < g.m; ++m) {
        const int64_t grp = m / mg, oc = m % mg;
        ops::ConvTransposePlaneRef<int32_t>(g, io.x.data() + (n * g.c + grp * cg) * g.in_size(),
                                            pw + (grp * cg * mg + oc) * g.k_size(), 0, acc.data());
        FinishPlane(e_, g, ctx.input(2), io, m, (n * g.m + m) * g.out_size(), acc.data());
      }
    ctx.outputs[0] = OutputLayout(e_, std::move(io.y));
    return Status::Ok();
  }

 private:
  ops::ConvAttrs a_;
  QEpilogue e_;
};

class QMatMulRef : public exec::Kernel {
 public:
  explicit QMatMulRef(QEpilogue e) : e_(std::move(e)) {}

  Status Run(exec::KernelContext& ctx) override {
    const Tensor* a = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* b = ctx.input(2);
    CALIB8_RETURN_IF_ERROR(Check8Bit(a, "QMatMul input"));
    if (!w || w->dtype() != DataType::kInt8 || w->rank() != 2)
      return InvalidArgument("QMatMul weights must be a 2-D int8 tensor [N, K]");
    const int64_t N = w->dim(0), K = w->dim(1);
    if (a->rank() < 1 || a->dim(-1) != K)
      return InvalidArgument("QMatMul input ", ShapeToString(a->shape()),
                             " does not end in K = ", K);
    if (static_cast<int64_t>(e_.oscale.size()) != N)
      return InvalidArgument("w_scales has ", e_.oscale.size(), " value(s), expected ", N);
    const int64_t M = a->numel() / K;
    Shape out = a->shape();
    out.back() = N;
    const Tensor* r = e_.sum ? ctx.input(3) : nullptr;
    if (e_.sum && (!r || r->shape() != out))
      return InvalidArgument("QMatMul residual is missing or not shaped ", ShapeToString(out));
    std::vector<int32_t> ai = AsInt32(*a, e_.in_zp);
    const int8_t* pw = w->data<int8_t>();
    Tensor y(e_.out_dtype(), out);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        int32_t acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += ai[i * K + k] * pw[j * K + k];
        int64_t o = i * N + j;
        float rv = r ? LoadAsFloat(*r, o) : 0.0f;
        StoreOut(e_, e_.Finish(acc, b ? b->data<int32_t>()[j] : 0, j, rv), y.raw(), o);
      }
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  QEpilogue e_;
};

}  // namespace

exec::KernelFactory QConvReference() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(ops::ConvAttrs a, ops::ParseConvAttrs(init.node, false));
    CALIB8_ASSIGN_OR_RETURN(QEpilogue e, ParseQEpilogue(init.node));
    return std::unique_ptr<exec::Kernel>(std::make_unique<QConvRef>(std::move(a), std::move(e)));
  };
}

exec::KernelFactory QConvTransposeReference() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(ops::ConvAttrs a, ops::ParseConvAttrs(init.node, true));
    CALIB8_ASSIGN_OR_RETURN(QEpilogue e, ParseQEpilogue(init.node));
    return std::unique_ptr<exec::Kernel>(
        std::make_unique<QConvTransposeRef>(std::move(a), std::move(e)));
  };
}

exec::KernelFactory QMatMulReference() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(QEpilogue e, ParseQEpilogue(init.node));
    return std::unique_ptr<exec::Kernel>(std::make_unique<QMatMulRef>(std::move(e)));
  };
}

}  // namespace calib8::int8
