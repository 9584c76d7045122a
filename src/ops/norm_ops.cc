// ops/norm_ops.cc — STUB: to be replaced by the real kernels.
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

exec::KernelFactory SoftmaxKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("SoftmaxKernel is not implemented yet");
  });
}

exec::KernelFactory LogSoftmaxKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("LogSoftmaxKernel is not implemented yet");
  });
}

exec::KernelFactory BatchNormalizationKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("BatchNormalizationKernel is not implemented yet");
  });
}

exec::KernelFactory LayerNormalizationKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("LayerNormalizationKernel is not implemented yet");
  });
}

exec::KernelFactory InstanceNormalizationKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("InstanceNormalizationKernel is not implemented yet");
  });
}

exec::KernelFactory ReduceKernel(const std::string& op_type) {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ReduceKernel is not implemented yet");
  });
}

exec::KernelFactory QuantizeLinearKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("QuantizeLinearKernel is not implemented yet");
  });
}

exec::KernelFactory DequantizeLinearKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("DequantizeLinearKernel is not implemented yet");
  });
}

}  // namespace calib8::ops
