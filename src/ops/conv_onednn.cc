// ops/conv_onednn.cc — STUB: to be replaced by the real kernels.
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

exec::KernelFactory ConvOneDnn() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ConvOneDnn is not implemented yet");
  });
}

exec::KernelFactory ConvTransposeOneDnn() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ConvTransposeOneDnn is not implemented yet");
  });
}

}  // namespace calib8::ops
