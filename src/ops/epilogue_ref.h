// ops/epilogue_ref.h — the fused epilogue of Conv, ConvTranspose, Gemm and MatMul: an optional
// residual tensor added to the result, then an optional activation. A fusion pass sets it with
// internal node attributes (never found in ONNX files):
//   _calib8_act        "Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh"
//   _calib8_act_alpha  LeakyRelu slope; Clip min; HardSigmoid alpha
//   _calib8_act_beta   Clip max; HardSigmoid beta
//   _calib8_sum = 1    one extra input after the op's normal inputs, shaped like the output
// y = act(op(...) + residual). Reference kernels apply it with ApplyEpilogue; the oneDNN kernels
// translate it into post-ops (onednn_util.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "exec/kernel.h"

namespace calib8::ops {

struct Epilogue {
  enum class Act { kNone, kRelu, kLeakyRelu, kClip, kHardSwish, kHardSigmoid, kSigmoid, kTanh };
  Act act = Act::kNone;
  float alpha = 0.0f;
  float beta = 0.0f;
  bool sum = false;      // a residual input is added before the activation
  size_t sum_input = 0;  // its input index (valid when sum)

  bool empty() const { return act == Act::kNone && !sum; }
  // The activation alone, for one value.
  float Activate(float v) const;
};

// Reads the _calib8_* attributes; `num_normal_inputs` is where the residual input sits
// (Conv 3, Gemm 3, MatMul 2). Unknown activation names are an error.
Result<Epilogue> ParseEpilogue(const ir::Node& node, size_t num_normal_inputs);

// The residual tensor of a run (nullptr when !e.sum); checks its dtype and shape against `out`.
Result<const float*> EpilogueResidual(const Epilogue& e, const exec::KernelContext& ctx,
                                      const Shape& out);

// y[i] = act(y[i] + residual[i]) for i in [0, n); residual may be nullptr.
void ApplyEpilogue(const Epilogue& e, const float* residual, float* y, int64_t n);

}  // namespace calib8::ops
