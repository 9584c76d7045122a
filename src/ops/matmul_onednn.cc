// ops/matmul_onednn.cc — STUB: to be replaced by the real kernels.
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

exec::KernelFactory GemmOneDnn() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("GemmOneDnn is not implemented yet");
  });
}

exec::KernelFactory MatMulOneDnn() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("MatMulOneDnn is not implemented yet");
  });
}

}  // namespace calib8::ops
