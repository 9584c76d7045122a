// ops/pool_onednn.cc — fast MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool on
// oneDNN's pooling primitive (v2, with dilation), NCHW in and out. Geometry comes from
// pool_ref.h; what oneDNN cannot express (the Indices output, non-float32 data, ceil_mode
// windows that count padding) runs the reference kernel. Primitives are cached per input shape.
#include <map>
#include <mutex>

#include "ops/kernels.h"
#include "ops/onednn_util.h"
#include "ops/op_util.h"
#include "ops/pool_ref.h"

namespace calib8::ops {

namespace {

using dnnl::memory;

struct PoolPlan {
  bool use_reference = false;
  const char* reference_reason = "";  // why, when use_reference (KernelContext::Note)
  bool cl = false;                    // X (and Y, unless global) in Layout::kChannelsLast
  PoolGeometry g;
  memory::desc src_md, dst_md;
  dnnl::pooling_v2_forward prim;
};

memory::dims Spatial(const std::array<int64_t, 3>& v, int nd, int64_t minus = 0) {
  memory::dims d;
  for (int j = 3 - nd; j < 3; ++j) d.push_back(v[j] - minus);
  return d;
}

class PoolOneDnnKernel : public exec::Kernel {
 public:
  PoolOneDnnKernel(PoolAttrs a, std::unique_ptr<exec::Kernel> fallback)
      : a_(std::move(a)), fallback_(std::move(fallback)) {}

  // A channels-last X gives a channels-last Y (a global pooling's [N, C, 1, 1] is the same bytes
  // either way and is labelled row-major).
  bool AcceptsChannelsLast(size_t input) const override { return input == 0; }

  Status Run(exec::KernelContext& ctx) override {
    const Tensor* x = ctx.input(0);
    bool want_idx = ctx.num_outputs() > 1 && !ctx.node.outputs[1].empty();
    if (!x || x->dtype() != DataType::kFloat32 || want_idx)
      return exec::RunWithRowMajorInputs(*fallback_, ctx);
    std::lock_guard<std::mutex> lock(mu_);
    Shape key = x->shape();
    key.push_back(x->channels_last() ? -2 : -1);
    auto it = plans_.find(key);
    if (it == plans_.end()) {
      auto plan = std::make_unique<PoolPlan>();
      plan->cl = x->channels_last();
      CALIB8_ASSIGN_OR_RETURN(plan->g, PoolGeometryFor(a_, x->shape()));
      Status st = OneDnnCall("creating the pooling primitive", [&] { BuildPlan(*plan); });
      if (!st.ok()) {
        plan->use_reference = true;
        plan->reference_reason = "reference kernel: oneDNN refuses this pooling geometry";
      }
      it = plans_.emplace(key, std::move(plan)).first;
    }
    PoolPlan& p = *it->second;
    if (p.use_reference) {
      ctx.Note(p.reference_reason);
      return exec::RunWithRowMajorInputs(*fallback_, ctx);
    }
    Tensor y(DataType::kFloat32, p.g.out_shape,
             p.cl && !a_.global ? Layout::kChannelsLast : Layout::kRowMajor);
    CALIB8_RETURN_IF_ERROR(OneDnnCall("executing pooling", [&] {
      memory src = WrapTensor(p.src_md, *x);
      memory dst(p.dst_md, CpuEngine(), y.raw());
      p.prim.execute(CpuStream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
      CpuStream().wait();
    }));
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  void BuildPlan(PoolPlan& p) {
    const PoolGeometry& g = p.g;
    int nd = g.spatial == 3 ? 3 : 2;  // 1-D runs as 2-D with H = 1
    memory::dims pl = Spatial(g.pad_b, nd), pr = Spatial(g.pad_e, nd);
    for (int i = 0; i < nd; ++i) {
      int j = 3 - nd + i;
      // oneDNN derives out = floor((in + pl + pr - extent) / stride) + 1; a ceil_mode output
      // needs a larger end pad. Averages that count padding would then count too much.
      int64_t need = (g.out[j] - 1) * g.stride[j] + (g.k[j] - 1) * g.dil[j] + 1 - g.in[j] - pl[i];
      if (need > pr[i]) {
        if (!a_.is_max && a_.count_include_pad) {
          p.use_reference = true;
          p.reference_reason =
              "reference kernel: ceil_mode with count_include_pad (oneDNN would count the extra "
              "pad)";
          return;
        }
        pr[i] = need;
      }
    }
    dnnl::algorithm alg = a_.is_max              ? dnnl::algorithm::pooling_max
                          : a_.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                                 : dnnl::algorithm::pooling_avg_exclude_padding;
    memory::dims src_dims = {g.n, g.c};
    memory::dims dst_dims = {g.n, g.c};
    for (int64_t v : Spatial(g.in, nd)) src_dims.push_back(v);
    for (int64_t v : Spatial(g.out, nd)) dst_dims.push_back(v);
    p.src_md = p.cl ? NhwcDesc(src_dims) : PlainDesc(src_dims);
    p.dst_md = p.cl ? NhwcDesc(dst_dims) : PlainDesc(dst_dims);
    dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, p.src_md, p.dst_md,
                                     Spatial(g.stride, nd), Spatial(g.k, nd), Spatial(g.dil, nd, 1),
                                     pl, pr);
    dnnl::pooling_v2_forward::primitive_desc pd(d, CpuEngine());
    p.prim = dnnl::pooling_v2_forward(pd);
  }

  PoolAttrs a_;
  std::unique_ptr<exec::Kernel> fallback_;
  std::mutex mu_;
  std::map<Shape, std::unique_ptr<PoolPlan>> plans_;
};

}  // namespace

exec::KernelFactory PoolOneDnn(const std::string& op_type) {
  return [op_type](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(PoolAttrs a, ParsePoolAttrs(init.node, op_type));
    CALIB8_ASSIGN_OR_RETURN(auto fallback, PoolReference(op_type)(init));
    return std::unique_ptr<exec::Kernel>(
        std::make_unique<PoolOneDnnKernel>(std::move(a), std::move(fallback)));
  };
}

}  // namespace calib8::ops
