// exec/op_registry.cc — registry storage and lookup.
#include "exec/op_registry.h"

#include <algorithm>

namespace calib8::exec {

namespace {
class FnKernel final : public Kernel {
 public:
  explicit FnKernel(KernelFn fn) : fn_(std::move(fn)) {}
  Status Run(KernelContext& ctx) override { return fn_(ctx); }

 private:
  KernelFn fn_;
};
std::string Norm(const std::string& domain) { return domain == "ai.onnx" ? "" : domain; }
}  // namespace

Status RunWithRowMajorInputs(Kernel& k, KernelContext& ctx) {
  std::vector<Tensor> converted;
  converted.reserve(ctx.inputs.size());
  std::vector<const Tensor*> saved = ctx.inputs;
  for (auto& in : ctx.inputs)
    if (in && in->channels_last()) {
      converted.push_back(ToRowMajor(*in));
      in = &converted.back();
    }
  Status st = k.Run(ctx);
  ctx.inputs = std::move(saved);
  return st;
}

KernelFactory Stateless(KernelFn fn) {
  return [fn = std::move(fn)](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<FnKernel>(fn));
  };
}

OpRegistry& OpRegistry::Global() {
  static OpRegistry* registry = new OpRegistry();
  return *registry;
}

Status OpRegistry::Register(OpEntry entry) {
  if (!entry.reference)
    return InvalidArgument("op '", entry.op_type, "': a reference kernel is required");
  entry.domain = Norm(entry.domain);
  std::lock_guard<std::mutex> lock(mu_);
  auto& list = entries_[{entry.domain, entry.op_type}];
  for (const auto& e : list)
    if (entry.min_opset <= e.max_opset && e.min_opset <= entry.max_opset)
      return InvalidArgument("op '", entry.op_type, "' in domain '", entry.domain,
                             "' is already registered for opsets ", e.min_opset, "-", e.max_opset,
                             " (by ", e.origin, ")");
  list.push_back(std::move(entry));
  return Status::Ok();
}

const OpEntry* OpRegistry::Find(const std::string& domain, const std::string& op_type,
                                int64_t opset) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find({Norm(domain), op_type});
  if (it == entries_.end()) return nullptr;
  for (const auto& e : it->second)
    if (opset <= 0 || (opset >= e.min_opset && opset <= e.max_opset)) return &e;
  return nullptr;
}

const KernelFactory* OpRegistry::FindFactory(const std::string& domain, const std::string& op_type,
                                             int64_t opset, KernelFlavor flavor) const {
  const OpEntry* e = Find(domain, op_type, opset);
  if (!e) return nullptr;
  if (flavor == KernelFlavor::kFast && e->fast) return &e->fast;
  return &e->reference;
}

std::vector<std::string> OpRegistry::OpTypes(const std::string& domain) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, list] : entries_)
    if (key.first == Norm(domain)) out.push_back(key.second);
  return out;
}

}  // namespace calib8::exec
