// ops/pool_onednn.cc — STUB: to be replaced by the real kernels.
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

exec::KernelFactory PoolOneDnn(const std::string& op_type) {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("PoolOneDnn is not implemented yet");
  });
}

}  // namespace calib8::ops
