// ops/pool_ref.cc — STUB: to be replaced by the real kernels.
#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

exec::KernelFactory PoolReference(const std::string& op_type) {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    return Unimplemented("PoolReference is not implemented yet");
  });
}

}  // namespace calib8::ops
