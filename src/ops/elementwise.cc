// ops/elementwise.cc — STUB: to be replaced by the real kernels.
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

exec::KernelFactory UnaryKernel(const std::string& op_type) {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("UnaryKernel is not implemented yet");
  });
}

exec::KernelFactory BinaryKernel(const std::string& op_type) {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("BinaryKernel is not implemented yet");
  });
}

exec::KernelFactory WhereKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("WhereKernel is not implemented yet");
  });
}

exec::KernelFactory ClipKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ClipKernel is not implemented yet");
  });
}

exec::KernelFactory PReluKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("PReluKernel is not implemented yet");
  });
}

exec::KernelFactory CastKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("CastKernel is not implemented yet");
  });
}

exec::KernelFactory IdentityKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("IdentityKernel is not implemented yet");
  });
}

}  // namespace calib8::ops
