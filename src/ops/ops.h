// ops/ops.h — the built-in FP32 operators.
#pragma once

#include "exec/op_registry.h"

namespace calib8::ops {

// Registers every built-in op into `registry` (ops/register_fp32_ops.cc: one line per op).
void RegisterBuiltinOps(exec::OpRegistry& registry);

// exec::OpRegistry::Global() with the built-in ops registered (once, thread-safe).
exec::OpRegistry& BuiltinRegistry();

}  // namespace calib8::ops
