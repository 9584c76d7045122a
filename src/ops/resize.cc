// ops/resize.cc — STUB: to be replaced by the real kernels.
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

exec::KernelFactory ResizeKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ResizeKernel is not implemented yet");
  });
}

exec::KernelFactory UpsampleKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("UpsampleKernel is not implemented yet");
  });
}

}  // namespace calib8::ops
