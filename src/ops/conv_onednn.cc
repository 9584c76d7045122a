// ops/conv_onednn.cc — fast Conv and ConvTranspose on oneDNN (convolution_forward and
// deconvolution_forward) with the fused epilogue as post-ops. Geometry comes from conv_ref.h so
// both flavours agree; cases oneDNN cannot express (negative pads, non-float32) run the
// reference kernel. Per input shape a plan caches the primitive and its reorders; constant
// weights are reordered once into the primitive's preferred (blocked) layout.
#include <cstdlib>
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

// How activations enter and leave the primitive. The executor keeps plain NCHW between nodes.
//   kPlain:   the primitive reads and writes NCHW directly.
//   kBlocked: the primitive picks its layout (nChw16c on AVX-512); NCHW is reordered in and out.
enum class Layout { kPlain, kBlocked };

Layout LayoutFromEnv() {
  const char* v = std::getenv("CALIB8_CONV_LAYOUT");  // measurement knob, see DefaultLayout
  if (v && std::strcmp(v, "plain") == 0) return Layout::kPlain;
  if (v && std::strcmp(v, "blocked") == 0) return Layout::kBlocked;
  return Layout::kBlocked;
}

// Everything one input shape needs, built on first sight of that shape.
struct ConvPlan {
  bool use_reference = false;  // oneDNN cannot express this geometry
  ConvGeometry g;
  dnnl::primitive prim;
  memory::desc src_user, dst_user, w_user, bias_md;
  memory::desc src_md, dst_md, w_md;  // the primitive's layouts
  bool src_reorder = false, dst_reorder = false, w_reorder = false;
  dnnl::reorder src_r, dst_r, res_r, w_r;  // x -> src_buf, dst_buf -> y, residual -> dst_buf
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

class ConvOneDnnKernel : public exec::Kernel {
 public:
  ConvOneDnnKernel(const exec::KernelInit& init, ConvAttrs a,
                   std::unique_ptr<exec::Kernel> fallback)
      : a_(std::move(a)), fallback_(std::move(fallback)), layout_(LayoutFromEnv()) {
    const Tensor* w = init.constant(init.node.input(1));
    if (w && w->dtype() == DataType::kFloat32) w_const_ = *w;  // shares the initializer
  }

  Status Run(exec::KernelContext& ctx) override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* b = ctx.input(2);
    bool floats = x && w && x->dtype() == DataType::kFloat32 && w->dtype() == DataType::kFloat32 &&
                  (!b || b->dtype() == DataType::kFloat32);
    if (!floats) return fallback_->Run(ctx);
    std::lock_guard<std::mutex> lock(mu_);
    Shape key = x->shape();
    key.push_back(-1);
    key.insert(key.end(), w->shape().begin(), w->shape().end());
    auto it = plans_.find(key);
    if (it == plans_.end()) {
      auto plan = std::make_unique<ConvPlan>();
      if (a_.transposed) {
        CALIB8_ASSIGN_OR_RETURN(plan->g, ConvTransposeGeometryFor(a_, x->shape(), w->shape()));
      } else {
        CALIB8_ASSIGN_OR_RETURN(plan->g, ConvGeometryFor(a_, x->shape(), w->shape()));
      }
      CALIB8_RETURN_IF_ERROR(
          OneDnnCall("creating the primitive", [&] { BuildPlan(*plan, b != nullptr, w); }));
      it = plans_.emplace(key, std::move(plan)).first;
    }
    ConvPlan& p = *it->second;
    if (p.use_reference) return fallback_->Run(ctx);
    if (b && b->numel() != p.g.m)
      return InvalidArgument("bias B has shape ", ShapeToString(b->shape()), ", expected [", p.g.m,
                             "]");
    CALIB8_ASSIGN_OR_RETURN(const float* residual,
                            EpilogueResidual(a_.epilogue, ctx, p.g.out_shape));
    Tensor y(DataType::kFloat32, p.g.out_shape);
    CALIB8_RETURN_IF_ERROR(OneDnnCall("executing", [&] { Execute(p, *x, *w, b, residual, y); }));
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  // Creates the primitive and the reorders around it (throws dnnl::error).
  void BuildPlan(ConvPlan& p, bool has_bias, const Tensor* w) {
    const ConvGeometry& g = p.g;
    int nd = g.spatial == 3 ? 3 : 2;  // 1-D runs as 2-D with H = 1
    memory::dims pl = Spatial(g.pad_b, nd), pr = Spatial(g.pad_e, nd);
    for (int i = 0; i < nd; ++i)
      if (pl[i] < 0 || pr[i] < 0) p.use_reference = true;
    if (p.use_reference) return;
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
    p.src_user = PlainDesc(src_dims);
    p.dst_user = PlainDesc(dst_dims);
    p.bias_md = has_bias ? PlainDesc({g.m}) : memory::desc();
    bool plain = layout_ == Layout::kPlain;
    memory::desc src_req = plain ? p.src_user : AnyDesc(src_dims);
    memory::desc dst_req = plain ? p.dst_user : AnyDesc(dst_dims);
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
      if (a_.epilogue.sum)
        p.res_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p.dst_user, eng, p.dst_md));
    }
    if (w_const_.defined()) {
      p.packed_w = PackedWeights(p.w_user, p.w_md);
    } else if (p.w_md != p.w_user) {
      p.w_reorder = true;
      p.w_buf = memory(p.w_md, eng);
      p.w_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p.w_user, eng, p.w_md));
    }
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
               const float* residual, Tensor& y) {
    auto& eng = CpuEngine();
    auto& s = CpuStream();
    memory x_mem = WrapTensor(p.src_user, x);
    memory y_mem(p.dst_user, eng, y.raw());
    memory src = x_mem;
    if (p.src_reorder) {
      p.src_r.execute(s, {{DNNL_ARG_FROM, x_mem}, {DNNL_ARG_TO, p.src_buf}});
      src = p.src_buf;
    }
    memory dst = p.dst_reorder ? p.dst_buf : y_mem;
    if (residual) {
      // The sum post-op adds what the destination holds: put the residual there first.
      if (p.dst_reorder) {
        memory r_mem(p.dst_user, eng, const_cast<float*>(residual));
        p.res_r.execute(s, {{DNNL_ARG_FROM, r_mem}, {DNNL_ARG_TO, p.dst_buf}});
      } else {
        std::memcpy(y.raw(), residual, y.nbytes());
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
  Layout layout_;
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
