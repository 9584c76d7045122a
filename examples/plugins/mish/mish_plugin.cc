// examples/plugins/mish/mish_plugin.cc — a complete calib8 plugin: the custom operator
// com.example::Mish, y = x * tanh(softplus(x)), element-wise, in float32 and in 8 bits (a
// 256-entry table from the helper's UnaryFloatOp::ComputeInt8) (issue 12).
// Built by CMake as build/examples/plugins/mish/libcalib8_mish.so; used as
//   calib8 calibrate MODEL --plugin build/examples/plugins/mish/libcalib8_mish.so --data ...
// It includes only the plugin headers: a plugin never links calib8.
#include <cmath>

#include "calib8/plugin_helper.hpp"

namespace {

float Mish(float x) {
  // softplus(x) = log(1 + e^x), computed without overflow: for x > 20, tanh(softplus(x)) is 1 in
  // float32 already.
  if (x > 20.0f) return x;
  const double sp = std::log1p(std::exp(static_cast<double>(x)));
  return static_cast<float>(static_cast<double>(x) * std::tanh(sp));
}

const calib8_op_def kOps[] = {calib8::plugin::UnaryFloatOp<Mish>::DefInt8(
    "com.example", "Mish", CALIB8_PLUGIN_THREAD_SAFE | CALIB8_PLUGIN_DETERMINISTIC)};
const calib8_plugin kPlugin = calib8::plugin::Describe("example-mish", "1.0", kOps);

}  // namespace

extern "C" CALIB8_PLUGIN_EXPORT const calib8_plugin* calib8_plugin_get(void) { return &kPlugin; }
