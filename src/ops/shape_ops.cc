// ops/shape_ops.cc — STUB: to be replaced by the real kernels.
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

exec::KernelFactory ConcatKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ConcatKernel is not implemented yet");
  });
}

exec::KernelFactory SplitKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("SplitKernel is not implemented yet");
  });
}

exec::KernelFactory ReshapeKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ReshapeKernel is not implemented yet");
  });
}

exec::KernelFactory FlattenKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("FlattenKernel is not implemented yet");
  });
}

exec::KernelFactory TransposeKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("TransposeKernel is not implemented yet");
  });
}

exec::KernelFactory SqueezeKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("SqueezeKernel is not implemented yet");
  });
}

exec::KernelFactory UnsqueezeKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("UnsqueezeKernel is not implemented yet");
  });
}

exec::KernelFactory SliceKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("SliceKernel is not implemented yet");
  });
}

exec::KernelFactory GatherKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("GatherKernel is not implemented yet");
  });
}

exec::KernelFactory ShapeKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ShapeKernel is not implemented yet");
  });
}

exec::KernelFactory ExpandKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("ExpandKernel is not implemented yet");
  });
}

exec::KernelFactory PadKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("PadKernel is not implemented yet");
  });
}

}  // namespace calib8::ops
