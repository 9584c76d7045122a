// ops/epilogue_ref.h — the fused epilogue of Conv, ConvTranspose, Gemm and MatMul: an optional
// residual tensor added to the result, then an optional activation. A fusion pass sets it with
// internal node attributes (never found in ONNX files):
//   _calib8_act        "Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh"
//   _calib8_act_alpha  LeakyRelu slope; Clip min; HardSigmoid alpha
//   _calib8_act_beta   Clip max; HardSigmoid beta
//   _calib8_sum = 1    one extra input after the op's normal inputs, shaped like the output
//   _calib8_post_mul, _calib8_post_add   a scalar affine after the activation (defaults 1, 0)
// y = act(op(...) + residual) * post_mul + post_add. Reference kernels apply it with ApplyEpilogue;
// the oneDNN kernels translate it into post-ops (onednn_util.h).
#pragma once

#include <algorithm>
#include <cmath>
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
  bool affine = false;   // post_mul / post_add apply (after the activation)
  float post_mul = 1.0f, post_add = 0.0f;

  bool empty() const { return act == Act::kNone && !sum && !affine; }
  // The activation and the affine after it, for one value (the definition every kernel
  // follows).
  float Activate(float v) const {
    float a = ActivateAs(act, v);
    return affine ? a * post_mul + post_add : a;
  }

  // Activate() with the activation fixed by the caller (at compile time in the row loops below,
  // which lets the compiler vectorise them).
  float ActivateAs(Act a, float v) const {
    switch (a) {
      case Act::kNone:
        return v;
      case Act::kRelu:
        return v > 0.0f ? v : 0.0f;
      case Act::kLeakyRelu:
        return v >= 0.0f ? v : alpha * v;
      case Act::kClip:
        return std::min(std::max(v, alpha), beta);
      case Act::kHardSwish:
        return v * std::max(0.0f, std::min(1.0f, v / 6.0f + 0.5f));
      case Act::kHardSigmoid:
        return std::max(0.0f, std::min(1.0f, alpha * v + beta));
      case Act::kSigmoid:
        return 1.0f / (1.0f + std::exp(-v));
      case Act::kTanh:
        return std::tanh(v);
    }
    return v;
  }
};

// y[i] = act(acc[i] + res[i]) for i in [0, n), the activation a template argument; res may be
// nullptr, acc may equal y.
template <Epilogue::Act kAct>
inline void EpilogueRowAs(const Epilogue& e, const float* acc, const float* res, float* y,
                          int64_t n) {
  if (e.affine) {
    const float m = e.post_mul, b = e.post_add;
    if (res) {
      for (int64_t i = 0; i < n; ++i) y[i] = e.ActivateAs(kAct, acc[i] + res[i]) * m + b;
    } else {
      for (int64_t i = 0; i < n; ++i) y[i] = e.ActivateAs(kAct, acc[i]) * m + b;
    }
  } else if (res) {
    for (int64_t i = 0; i < n; ++i) y[i] = e.ActivateAs(kAct, acc[i] + res[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = e.ActivateAs(kAct, acc[i]);
  }
}

// The same with the activation chosen once per row (inline, so that callers compiled for a wider
// instruction set get the wider loops).
inline void EpilogueRow(const Epilogue& e, const float* acc, const float* res, float* y,
                        int64_t n) {
  using A = Epilogue::Act;
  switch (e.act) {
    case A::kNone:
      return EpilogueRowAs<A::kNone>(e, acc, res, y, n);
    case A::kRelu:
      return EpilogueRowAs<A::kRelu>(e, acc, res, y, n);
    case A::kLeakyRelu:
      return EpilogueRowAs<A::kLeakyRelu>(e, acc, res, y, n);
    case A::kClip:
      return EpilogueRowAs<A::kClip>(e, acc, res, y, n);
    case A::kHardSwish:
      return EpilogueRowAs<A::kHardSwish>(e, acc, res, y, n);
    case A::kHardSigmoid:
      return EpilogueRowAs<A::kHardSigmoid>(e, acc, res, y, n);
    case A::kSigmoid:
      return EpilogueRowAs<A::kSigmoid>(e, acc, res, y, n);
    case A::kTanh:
      return EpilogueRowAs<A::kTanh>(e, acc, res, y, n);
  }
}

// Reads the _calib8_* attributes; `num_normal_inputs` is where the residual input sits
// (Conv 3, Gemm 3, MatMul 2). Unknown activation names are an error.
Result<Epilogue> ParseEpilogue(const ir::Node& node, size_t num_normal_inputs);

// The residual tensor of a run (nullptr when !e.sum); checks its dtype and shape against `out`.
Result<const float*> EpilogueResidual(const Epilogue& e, const exec::KernelContext& ctx,
                                      const Shape& out);

// y[i] = act(y[i] + residual[i]) for i in [0, n); residual may be nullptr.
void ApplyEpilogue(const Epilogue& e, const float* residual, float* y, int64_t n);

}  // namespace calib8::ops
