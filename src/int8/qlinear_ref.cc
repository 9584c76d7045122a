// int8/qlinear_ref.cc — reference QConv and QMatMul: plain integer loops, then QEpilogue::Finish
// and StoreOut. They are the executable numeric contract (quant/quant_params.h) that the oneDNN
// kernels (qlinear_onednn.cc) are tested against. Layouts are converted to NCHW at the start and
// back at the end; speed is not a goal here.
#include "int8/qkernels.h"
#include "ops/conv_ref.h"
#include "ops/op_util.h"

namespace calib8::int8 {

namespace {

std::vector<int32_t> AsInt32(const Tensor& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = static_cast<int32_t>(LoadAsFloat(t, i));
  return v;
}

Status Check8Bit(const Tensor* t, const char* what) {
  if (!t || (t->dtype() != DataType::kInt8 && t->dtype() != DataType::kUint8))
    return InvalidArgument(what, " must be int8 or uint8, got ",
                           t ? DataTypeName(t->dtype()) : "nothing");
  return Status::Ok();
}

class QConvRef : public exec::Kernel {
 public:
  QConvRef(ops::ConvAttrs a, QEpilogue e) : a_(std::move(a)), e_(std::move(e)) {}

  Status Run(exec::KernelContext& ctx) override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* b = ctx.input(2);
    CALIB8_RETURN_IF_ERROR(Check8Bit(x, "QConv input"));
    if (!w || w->dtype() != DataType::kInt8 || w->rank() != 4)
      return InvalidArgument("QConv weights must be a 4-D int8 tensor");
    CALIB8_ASSIGN_OR_RETURN(ops::ConvGeometry g,
                            ops::ConvGeometryFor(a_, NchwShape(*x, e_.in_nhwc), w->shape()));
    if (static_cast<int64_t>(e_.oscale.size()) != g.m)
      return InvalidArgument("w_scales has ", e_.oscale.size(), " value(s), expected ", g.m);
    if (b && (b->dtype() != DataType::kInt32 || b->numel() != g.m))
      return InvalidArgument("QConv bias must be int32 [", g.m, "]");
    std::vector<int32_t> xi = AsInt32(AsNchw(*x, e_.in_nhwc));
    const int8_t* pw = w->data<int8_t>();
    Tensor res;
    if (e_.sum) {
      const Tensor* r = ctx.input(3);
      if (!r) return InvalidArgument("QConv: residual input 3 is missing");
      res = r->dtype() == DataType::kFloat32 ? *r : AsNchw(*r, e_.res_nhwc);
      if (res.shape() != g.out_shape)
        return InvalidArgument("QConv residual has shape ", ShapeToString(res.shape()),
                               ", expected ", ShapeToString(g.out_shape));
    }
    Tensor y(e_.out_dtype(), g.out_shape);
    const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
    const int64_t cg = g.c_per_group(), mg = g.m_per_group();
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t m = 0; m < g.m; ++m) {
        int64_t grp = m / mg;
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            int32_t acc = 0;
            for (int64_t c = 0; c < cg; ++c)
              for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                int64_t ih = oh * g.stride[1] - g.pad_b[1] + kh * g.dil[1];
                if (ih < 0 || ih >= H) continue;
                for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                  int64_t iw = ow * g.stride[2] - g.pad_b[2] + kw * g.dil[2];
                  if (iw < 0 || iw >= W) continue;
                  acc += xi[((n * g.c + grp * cg + c) * H + ih) * W + iw] *
                         pw[((m * cg + c) * g.k[1] + kh) * g.k[2] + kw];
                }
              }
            int64_t o = ((n * g.m + m) * OH + oh) * OW + ow;
            float r = e_.sum ? LoadAsFloat(res, o) : 0.0f;
            StoreOut(e_, e_.Finish(acc, b ? b->data<int32_t>()[m] : 0, m, r), y.raw(), o);
          }
      }
    bool to_nhwc = e_.out_nhwc && e_.out_type != QEpilogue::OutType::kF32;
    ctx.outputs[0] = to_nhwc ? ToNhwc(y) : y;
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
    std::vector<int32_t> ai = AsInt32(*a);
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

exec::KernelFactory QMatMulReference() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(QEpilogue e, ParseQEpilogue(init.node));
    return std::unique_ptr<exec::Kernel>(std::make_unique<QMatMulRef>(std::move(e)));
  };
}

}  // namespace calib8::int8
