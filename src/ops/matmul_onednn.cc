// ops/matmul_onednn.cc — fast Gemm and MatMul on oneDNN's matmul primitive, with the fused
// epilogue as post-ops. Shapes come from matmul_ref.h so both flavours agree. Constant B is
// reordered once into the layout the primitive prefers; transposes are strided views (no copy).
// Gemm's C becomes the primitive's bias when it is a row vector and alpha = 1; otherwise
// beta * C (plus any residual) is written into the output first and added by a sum post-op.
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "ops/epilogue_ref.h"
#include "ops/kernels.h"
#include "ops/matmul_ref.h"
#include "ops/onednn_util.h"
#include "ops/op_util.h"

namespace calib8::ops {

namespace {

using dnnl::memory;

// One primitive with its weights handling, for one set of input shapes.
struct MatMulPlan {
  Shape out_shape;
  dnnl::matmul prim;
  memory::desc src_md, w_user, w_md, dst_md, bias_md;
  bool w_reorder = false;
  dnnl::reorder w_r;
  memory w_buf, packed_w;
  bool prefill = false;  // the output holds beta * C and/or the residual before the primitive
  // Gemm's bias from C: used as is, or scaled by beta into bias_buf.
  bool bias_from_c = false, bias_scaled = false;
  std::vector<float> bias_buf;
};

// Creates the primitive of `p` from its descriptors; constant weights `w_const` (may be
// undefined) are reordered once into the primitive's layout. Throws dnnl::error.
void BuildMatMul(MatMulPlan& p, const Tensor& w_const, float alpha, Epilogue e) {
  auto& eng = CpuEngine();
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  dnnl::post_ops po;
  e.sum = e.sum || p.prefill;
  AppendEpilogue(e, po);
  attr.set_post_ops(po);
  auto make = [&](const memory::desc& w_req) {
    dnnl::matmul::desc d(p.src_md, w_req, p.bias_md, p.dst_md);
    dnnl::matmul::primitive_desc pd(d, attr, eng);
    p.prim = dnnl::matmul(pd);
    p.w_md = pd.weights_desc();
  };
  if (w_const.defined()) {
    try {
      make(AnyDesc(p.w_user.dims()));  // let the primitive pick a packed layout
    } catch (const dnnl::error&) {
      make(p.w_user);
    }
    p.packed_w = memory(p.w_md, eng);
    memory src = WrapTensor(p.w_user, w_const);
    dnnl::reorder(src, p.packed_w).execute(CpuStream(), src, p.packed_w);
    CpuStream().wait();
  } else {
    make(p.w_user);
  }
}

// Runs the primitive of `p` on A and B into y (already prefilled when p.prefill).
void ExecuteMatMul(MatMulPlan& p, const Tensor& a, const Tensor& b, const float* bias, Tensor& y) {
  auto& eng = CpuEngine();
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, WrapTensor(p.src_md, a)},
      {DNNL_ARG_WEIGHTS, p.packed_w ? p.packed_w : WrapTensor(p.w_user, b)},
      {DNNL_ARG_DST, memory(p.dst_md, eng, y.raw())}};
  if (bias) args[DNNL_ARG_BIAS] = memory(p.bias_md, eng, const_cast<float*>(bias));
  p.prim.execute(CpuStream(), args);
  CpuStream().wait();
}

Tensor ConstantFloat(const exec::KernelInit& init, size_t i) {
  const Tensor* t = init.constant(init.node.input(i));
  return t && t->dtype() == DataType::kFloat32 ? *t : Tensor();
}

bool AllFloat(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t && t->dtype() != DataType::kFloat32) return false;
  return true;
}

class GemmOneDnnKernel : public exec::Kernel {
 public:
  GemmOneDnnKernel(const exec::KernelInit& init, Epilogue e, std::unique_ptr<exec::Kernel> ref)
      : alpha_(init.node.GetFloat("alpha", 1.0f)),
        beta_(init.node.GetFloat("beta", 1.0f)),
        trans_a_(init.node.GetInt("transA", 0) != 0),
        trans_b_(init.node.GetInt("transB", 0) != 0),
        e_(e),
        ref_(std::move(ref)),
        b_const_(ConstantFloat(init, 1)) {}

  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1));
    const Tensor* c = ctx.input(2);
    if (!AllFloat({a, b, c})) {
      ctx.Note("reference kernel: not float32");
      return ref_->Run(ctx);
    }
    CALIB8_ASSIGN_OR_RETURN(GemmDims d, GemmDimsFor(a->shape(), b->shape(), trans_a_, trans_b_));
    if (c) CALIB8_RETURN_IF_ERROR(CheckGemmC(c->shape(), d));
    Shape out = {d.m, d.n};
    CALIB8_ASSIGN_OR_RETURN(const float* residual, EpilogueResidual(e_, ctx, out));
    std::lock_guard<std::mutex> lock(mu_);
    Shape key = a->shape();
    key.insert(key.end(), b->shape().begin(), b->shape().end());
    key.push_back(c ? -2 - static_cast<int64_t>(c->shape().size()) : -1);
    if (c) key.insert(key.end(), c->shape().begin(), c->shape().end());
    auto it = plans_.find(key);
    if (it == plans_.end()) {
      auto p = std::make_unique<MatMulPlan>();
      p->out_shape = out;
      // A row vector C ([N] or [1, N]) is a bias when alpha = 1 (bias is added after scaling).
      p->bias_from_c = c && alpha_ == 1.0f && c->numel() == d.n && c->shape().back() == d.n;
      p->bias_scaled = p->bias_from_c && beta_ != 1.0f;
      p->prefill = (c && !p->bias_from_c) || residual;
      // A'[M, K] and B'[K, N] as strided views of A and B.
      p->src_md = StridedDesc({d.m, d.k}, trans_a_ ? memory::dims{1, d.m} : memory::dims{d.k, 1});
      p->w_user = StridedDesc({d.k, d.n}, trans_b_ ? memory::dims{1, d.k} : memory::dims{d.n, 1});
      p->dst_md = PlainDesc({d.m, d.n});
      p->bias_md = p->bias_from_c ? PlainDesc({1, d.n}) : memory::desc();
      CALIB8_RETURN_IF_ERROR(OneDnnCall("creating the matmul primitive",
                                        [&] { BuildMatMul(*p, b_const_, alpha_, e_); }));
      it = plans_.emplace(key, std::move(p)).first;
    }
    MatMulPlan& p = *it->second;
    Tensor y(DataType::kFloat32, out);
    float* py = y.data<float>();
    const float* bias = nullptr;
    if (p.bias_from_c) {
      bias = c->data<float>();
      if (p.bias_scaled) {
        p.bias_buf.resize(static_cast<size_t>(d.n));
        for (int64_t j = 0; j < d.n; ++j) p.bias_buf[j] = beta_ * bias[j];
        bias = p.bias_buf.data();
      }
    }
    if (p.prefill) {
      // y = beta * broadcast(C) + residual; the primitive's sum post-op adds alpha * A'B'.
      if (c && !p.bias_from_c) {
        std::vector<int64_t> cs = BroadcastStrides(c->shape(), out);
        const float* pc = c->data<float>();
        for (int64_t i = 0; i < d.m; ++i)
          for (int64_t j = 0; j < d.n; ++j)
            py[i * d.n + j] =
                beta_ * pc[i * cs[0] + j * cs[1]] + (residual ? residual[i * d.n + j] : 0.0f);
      } else {
        std::memcpy(py, residual, y.nbytes());
      }
    }
    CALIB8_RETURN_IF_ERROR(
        OneDnnCall("executing matmul", [&] { ExecuteMatMul(p, *a, *b, bias, y); }));
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  float alpha_, beta_;
  bool trans_a_, trans_b_;
  Epilogue e_;
  std::unique_ptr<exec::Kernel> ref_;
  Tensor b_const_;
  std::mutex mu_;
  std::map<Shape, std::unique_ptr<MatMulPlan>> plans_;
};

class MatMulOneDnnKernel : public exec::Kernel {
 public:
  MatMulOneDnnKernel(const exec::KernelInit& init, Epilogue e, std::unique_ptr<exec::Kernel> ref)
      : e_(e), ref_(std::move(ref)), b_const_(ConstantFloat(init, 1)) {}

  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1));
    if (!AllFloat({a, b})) {
      ctx.Note("reference kernel: not float32");
      return ref_->Run(ctx);
    }
    CALIB8_ASSIGN_OR_RETURN(MatMulDims d, MatMulDimsFor(a->shape(), b->shape()));
    if (d.batch.size() + 2 > DNNL_MAX_NDIMS || d.m * d.n * d.k == 0) {
      ctx.Note("reference kernel: more dimensions than oneDNN takes, or an empty product");
      return ref_->Run(ctx);
    }
    CALIB8_ASSIGN_OR_RETURN(const float* residual, EpilogueResidual(e_, ctx, d.out_shape));
    std::lock_guard<std::mutex> lock(mu_);
    Shape key = a->shape();
    key.push_back(-1);
    key.insert(key.end(), b->shape().begin(), b->shape().end());
    auto it = plans_.find(key);
    if (it == plans_.end()) {
      auto p = std::make_unique<MatMulPlan>();
      p->out_shape = d.out_shape;
      p->prefill = residual != nullptr;
      // [batch..., M, K] x [batch..., K, N]; a batch dim of 1 broadcasts.
      memory::dims src = d.a_batch, wei = d.b_batch, dst = d.batch;
      src.insert(src.end(), {d.m, d.k});
      wei.insert(wei.end(), {d.k, d.n});
      dst.insert(dst.end(), {d.m, d.n});
      p->src_md = PlainDesc(src);
      p->w_user = PlainDesc(wei);
      p->dst_md = PlainDesc(dst);
      CALIB8_RETURN_IF_ERROR(OneDnnCall("creating the matmul primitive",
                                        [&] { BuildMatMul(*p, b_const_, 1.0f, e_); }));
      it = plans_.emplace(key, std::move(p)).first;
    }
    MatMulPlan& p = *it->second;
    Tensor y(DataType::kFloat32, d.out_shape);
    if (residual) std::memcpy(y.raw(), residual, y.nbytes());  // added by the sum post-op
    CALIB8_RETURN_IF_ERROR(
        OneDnnCall("executing matmul", [&] { ExecuteMatMul(p, *a, *b, nullptr, y); }));
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  Epilogue e_;
  std::unique_ptr<exec::Kernel> ref_;
  Tensor b_const_;
  std::mutex mu_;
  std::map<Shape, std::unique_ptr<MatMulPlan>> plans_;
};

}  // namespace

exec::KernelFactory GemmOneDnn() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(Epilogue e, ParseEpilogue(init.node, 3));
    CALIB8_ASSIGN_OR_RETURN(auto ref, GemmReference()(init));
    return std::unique_ptr<exec::Kernel>(
        std::make_unique<GemmOneDnnKernel>(init, e, std::move(ref)));
  };
}

exec::KernelFactory MatMulOneDnn() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(Epilogue e, ParseEpilogue(init.node, 2));
    CALIB8_ASSIGN_OR_RETURN(auto ref, MatMulReference()(init));
    return std::unique_ptr<exec::Kernel>(
        std::make_unique<MatMulOneDnnKernel>(init, e, std::move(ref)));
  };
}

}  // namespace calib8::ops
