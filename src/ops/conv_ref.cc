// ops/conv_ref.cc — STUB: to be replaced by the real kernels.
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

exec::KernelFactory ConvReference() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ConvReference is not implemented yet");
  });
}

exec::KernelFactory ConvTransposeReference() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ConvTransposeReference is not implemented yet");
  });
}

}  // namespace calib8::ops
