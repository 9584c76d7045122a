// ops/any_layout.cc — element-wise kernels on channels-last tensors (see kernels.h,
// AnyLayoutElementwise, and docs/design.md "Tensor layout between kernels").
#include "ops/kernels.h"

namespace calib8::ops {

namespace {

class AnyLayoutKernel final : public exec::Kernel {
 public:
  explicit AnyLayoutKernel(std::unique_ptr<exec::Kernel> inner) : inner_(std::move(inner)) {}

  bool AcceptsChannelsLast(size_t) const override { return true; }

  Status Run(exec::KernelContext& ctx) override {
    const Tensor* cl = nullptr;
    for (const Tensor* in : ctx.inputs)
      if (in && in->channels_last()) {
        cl = in;
        break;
      }
    if (!cl) return inner_->Run(ctx);
    // Same bytes, same result: every other input is channels-last of the same shape, or one
    // element of rank <= 4 (broadcasting it keeps the shape).
    bool same_bytes = true;
    for (const Tensor* in : ctx.inputs) {
      if (!in) continue;
      if (in->channels_last())
        same_bytes = same_bytes && in->shape() == cl->shape();
      else
        same_bytes = same_bytes && in->numel() == 1 && in->rank() <= cl->rank();
    }
    if (!same_bytes) return exec::RunWithRowMajorInputs(*inner_, ctx);
    std::vector<Tensor> views;
    views.reserve(ctx.inputs.size());
    std::vector<const Tensor*> saved = ctx.inputs;
    for (auto& in : ctx.inputs)
      if (in && in->channels_last()) {
        views.push_back(in->WithLayout(Layout::kRowMajor));
        in = &views.back();
      }
    Status st = inner_->Run(ctx);
    ctx.inputs = std::move(saved);
    CALIB8_RETURN_IF_ERROR(st);
    for (auto& out : ctx.outputs) {
      if (!out.defined()) continue;
      if (out.shape() != cl->shape())
        return Internal("element-wise result of shape ", ShapeToString(out.shape()),
                        " from channels-last input of shape ", ShapeToString(cl->shape()));
      out = out.WithLayout(Layout::kChannelsLast);
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
