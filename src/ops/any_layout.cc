// ops/any_layout.cc — element-wise kernels on channels-last tensors (see kernels.h,
// AnyLayoutElementwise, and docs/design.md "Tensor layout between kernels").
#include "ops/kernels.h"

namespace calib8::ops {

namespace {

class AnyLayoutKernel final : public exec::Kernel {
 public:
  explicit AnyLayoutKernel(std::unique_ptr<exec::Kernel> inner) : inner_(std::move(inner)) {}

  bool AcceptsChannelsLast(size_t) const override { return true; }

  // A channels-last [N, C, H, W] tensor is, byte for byte, a row-major [N, H, W, C] one. An
  // element-wise op with numpy broadcasting gives the same bytes on those views when every other
  // input keeps its bytes under the same permutation: after right-aligning it to rank 4, its
  // non-1 dims must stay in order, i.e. C == 1 or H == W == 1 (a scalar, a per-channel [1, C, 1, 1]
  // scale, another channels-last tensor). The result, row-major [N, H, W, C], is then the
  // channels-last [N, C, H, W] result. A full row-major operand is reordered to channels-last
  // when the consumers want that; any other mix is converted to row-major first.
  Status Run(exec::KernelContext& ctx) override {
    bool any_cl = false;
    for (const Tensor* in : ctx.inputs) any_cl = any_cl || (in && in->channels_last());
    if (!any_cl) return inner_->Run(ctx);
    std::vector<Tensor> views;
    views.reserve(ctx.inputs.size());
    for (const Tensor* in : ctx.inputs) {
      if (!in) continue;
      Tensor t = *in;
      if (!t.channels_last()) {
        if (t.rank() > 4) return exec::RunWithRowMajorInputs(*inner_, ctx);
        Shape d(4 - t.rank(), 1);
        d.insert(d.end(), t.shape().begin(), t.shape().end());
        if (d[1] == 1 || (d[2] == 1 && d[3] == 1)) {  // same bytes under the permutation
          views.push_back(t.Reshaped({d[0], d[2], d[3], d[1]}));
          continue;
        }
        // A row-major operand that needs its own reorder: reorder it when the consumers want
        // channels-last (a Conv next), else bring everything to row-major.
        if (!ctx.prefer_channels_last || t.rank() != 4)
          return exec::RunWithRowMajorInputs(*inner_, ctx);
        t = ToChannelsLast(t);
      }
      const Shape& d = t.shape();
      views.push_back(t.WithLayout(Layout::kRowMajor).Reshaped({d[0], d[2], d[3], d[1]}));
    }
    std::vector<const Tensor*> saved = ctx.inputs;
    size_t v = 0;
    for (auto& in : ctx.inputs)
      if (in) in = &views[v++];
    Status st = inner_->Run(ctx);
    ctx.inputs = std::move(saved);
    CALIB8_RETURN_IF_ERROR(st);
    for (auto& out : ctx.outputs) {
      if (!out.defined()) continue;
      if (out.rank() != 4)
        return Internal("element-wise result of rank ", out.rank(), " from a channels-last input");
      const Shape& d = out.shape();  // [N, H, W, C]
      out = out.Reshaped({d[0], d[3], d[1], d[2]}).WithLayout(Layout::kChannelsLast);
    }
    return Status::Ok();
  }

 private:
  std::unique_ptr<exec::Kernel> inner_;
};

}  // namespace

exec::KernelFactory AnyLayoutElementwise(exec::KernelFactory inner) {
  return [inner = std::move(inner)](
             const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(auto k, inner(init));
    return std::unique_ptr<exec::Kernel>(std::make_unique<AnyLayoutKernel>(std::move(k)));
  };
}

}  // namespace calib8::ops
