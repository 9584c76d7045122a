// ops/matmul_ref.cc — reference Gemm and MatMul: the shape rules (also used by matmul_onednn.cc)
// and plain triple loops with double accumulation, plus the fused epilogue (epilogue_ref.h).
// Float32 only.
#include "ops/matmul_ref.h"

#include <vector>

#include "ops/epilogue_ref.h"
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

Result<MatMulDims> MatMulDimsFor(const Shape& a, const Shape& b) {
  if (a.empty() || b.empty())
    return InvalidArgument("MatMul operands must have rank >= 1, got ", ShapeToString(a), " and ",
                           ShapeToString(b));
  Shape a2 = a, b2 = b;
  if (a.size() == 1) a2.insert(a2.begin(), 1);  // [K] -> [1, K]
  if (b.size() == 1) b2.push_back(1);           // [K] -> [K, 1]
  MatMulDims d;
  d.m = a2[a2.size() - 2];
  d.k = a2.back();
  d.n = b2.back();
  if (b2[b2.size() - 2] != d.k)
    return InvalidArgument("MatMul inner dims differ: A ", ShapeToString(a), " and B ",
                           ShapeToString(b));
  Shape ab(a2.begin(), a2.end() - 2), bb(b2.begin(), b2.end() - 2);
  size_t r = std::max(ab.size(), bb.size());
  ab.insert(ab.begin(), r - ab.size(), 1);
  bb.insert(bb.begin(), r - bb.size(), 1);
  d.batch.resize(r);
  for (size_t i = 0; i < r; ++i) {
    if (ab[i] != bb[i] && ab[i] != 1 && bb[i] != 1)
      return InvalidArgument("MatMul batch dims of A ", ShapeToString(a), " and B ",
                             ShapeToString(b), " cannot be broadcast");
    d.batch[i] = ab[i] == 1 ? bb[i] : ab[i];
  }
  d.a_batch = ab;
  d.b_batch = bb;
  d.out_shape = d.batch;
  if (a.size() > 1) d.out_shape.push_back(d.m);
  if (b.size() > 1) d.out_shape.push_back(d.n);
  return d;
}

Result<GemmDims> GemmDimsFor(const Shape& a, const Shape& b, bool trans_a, bool trans_b) {
  if (a.size() != 2 || b.size() != 2)
    return InvalidArgument("Gemm needs 2-D A and B, got ", ShapeToString(a), " and ",
                           ShapeToString(b));
  GemmDims d;
  d.m = trans_a ? a[1] : a[0];
  d.k = trans_a ? a[0] : a[1];
  d.n = trans_b ? b[0] : b[1];
  int64_t kb = trans_b ? b[1] : b[0];
  if (kb != d.k)
    return InvalidArgument("Gemm inner dims differ: A ", ShapeToString(a), (trans_a ? " (T)" : ""),
                           " and B ", ShapeToString(b), (trans_b ? " (T)" : ""));
  return d;
}

Status CheckGemmC(const Shape& c, const GemmDims& d) {
  bool ok = c.size() <= 2;
  Shape want = {d.m, d.n};
  for (size_t i = 0; ok && i < c.size(); ++i) {
    int64_t w = want[2 - c.size() + i];
    ok = c[i] == w || c[i] == 1;
  }
  if (!ok)
    return InvalidArgument("Gemm C ", ShapeToString(c), " does not broadcast to [", d.m, ",", d.n,
                           "]");
  return Status::Ok();
}

namespace {

Status CheckFloat(const exec::KernelContext& ctx, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t && t->dtype() != DataType::kFloat32)
      return Unimplemented("data type ", DataTypeName(t->dtype()), " is not supported by ",
                           ctx.node.op_type, " (float32 only)");
  return Status::Ok();
}

class GemmRefKernel : public exec::Kernel {
 public:
  GemmRefKernel(const ir::Node& node, Epilogue e)
      : alpha_(node.GetFloat("alpha", 1.0f)),
        beta_(node.GetFloat("beta", 1.0f)),
        trans_a_(node.GetInt("transA", 0) != 0),
        trans_b_(node.GetInt("transB", 0) != 0),
        e_(e) {}

  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1));
    const Tensor* c = ctx.input(2);
    CALIB8_RETURN_IF_ERROR(CheckFloat(ctx, {a, b, c}));
    CALIB8_ASSIGN_OR_RETURN(GemmDims d, GemmDimsFor(a->shape(), b->shape(), trans_a_, trans_b_));
    if (c) CALIB8_RETURN_IF_ERROR(CheckGemmC(c->shape(), d));
    Shape out = {d.m, d.n};
    CALIB8_ASSIGN_OR_RETURN(const float* residual, EpilogueResidual(e_, ctx, out));
    Tensor y(DataType::kFloat32, out);
    const float *pa = a->data<float>(), *pb = b->data<float>();
    float* py = y.data<float>();
    // A'[i, k] = A[i, k] or A[k, i]; B'[k, j] = B[k, j] or B[j, k].
    const int64_t sai = trans_a_ ? 1 : d.k, sak = trans_a_ ? d.m : 1;
    const int64_t sbk = trans_b_ ? 1 : d.n, sbj = trans_b_ ? d.k : 1;
    std::vector<int64_t> cs = c ? BroadcastStrides(c->shape(), out) : std::vector<int64_t>{0, 0};
    ParallelFor(
        d.m,
        [&](int64_t i) {
          for (int64_t j = 0; j < d.n; ++j) {
            double acc = 0.0;
            for (int64_t k = 0; k < d.k; ++k)
              acc += static_cast<double>(pa[i * sai + k * sak]) * pb[k * sbk + j * sbj];
            double v = alpha_ * acc;
            if (c) v += static_cast<double>(beta_) * c->data<float>()[i * cs[0] + j * cs[1]];
            py[i * d.n + j] = static_cast<float>(v);
          }
          ApplyEpilogue(e_, residual ? residual + i * d.n : nullptr, py + i * d.n, d.n);
        },
        2);
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  float alpha_, beta_;
  bool trans_a_, trans_b_;
  Epilogue e_;
};

class MatMulRefKernel : public exec::Kernel {
 public:
  explicit MatMulRefKernel(Epilogue e) : e_(e) {}

  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1));
    CALIB8_RETURN_IF_ERROR(CheckFloat(ctx, {a, b}));
    CALIB8_ASSIGN_OR_RETURN(MatMulDims d, MatMulDimsFor(a->shape(), b->shape()));
    CALIB8_ASSIGN_OR_RETURN(const float* residual, EpilogueResidual(e_, ctx, d.out_shape));
    Tensor y(DataType::kFloat32, d.out_shape);
    // Batch index -> offsets of its A and B matrices (broadcast dims have stride 0).
    std::vector<int64_t> as = BroadcastStrides(d.a_batch, d.batch);
    std::vector<int64_t> bs = BroadcastStrides(d.b_batch, d.batch);
    std::vector<int64_t> os = Strides(d.batch);
    const float *pa = a->data<float>(), *pb = b->data<float>();
    float* py = y.data<float>();
    const int64_t mk = d.m * d.k, kn = d.k * d.n, mn = d.m * d.n;
    ParallelFor(
        d.batch_count() * d.m,
        [&](int64_t task) {
          const int64_t bi = task / d.m, i = task % d.m;
          int64_t aoff = 0, boff = 0;
          for (size_t r = 0; r < d.batch.size(); ++r) {
            int64_t idx = (bi / os[r]) % d.batch[r];
            aoff += idx * as[r];
            boff += idx * bs[r];
          }
          const float* ai = pa + aoff * mk + i * d.k;  // row i of this batch's A
          const float* bm = pb + boff * kn;
          float* yi = py + bi * mn + i * d.n;
          for (int64_t j = 0; j < d.n; ++j) {
            double acc = 0.0;
            for (int64_t k = 0; k < d.k; ++k) acc += static_cast<double>(ai[k]) * bm[k * d.n + j];
            yi[j] = static_cast<float>(acc);
          }
          ApplyEpilogue(e_, residual ? residual + bi * mn + i * d.n : nullptr, yi, d.n);
        },
        2);
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  Epilogue e_;
};

}  // namespace

exec::KernelFactory GemmReference() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(Epilogue e, ParseEpilogue(init.node, 3));
    return std::unique_ptr<exec::Kernel>(std::make_unique<GemmRefKernel>(init.node, e));
  };
}

exec::KernelFactory MatMulReference() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(Epilogue e, ParseEpilogue(init.node, 2));
    return std::unique_ptr<exec::Kernel>(std::make_unique<MatMulRefKernel>(e));
  };
}

}  // namespace calib8::ops
