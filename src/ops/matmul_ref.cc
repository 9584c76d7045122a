// ops/matmul_ref.cc — STUB: to be replaced by the real kernels.
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

exec::KernelFactory GemmReference() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("GemmReference is not implemented yet");
  });
}

exec::KernelFactory MatMulReference() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("MatMulReference is not implemented yet");
  });
}

}  // namespace calib8::ops
