// ir/passes.h — graph rewrites that need no kernels. Constant folding needs kernels and lives in
// exec/constant_folding.h. Each pass keeps the graph topologically sorted and returns how many
// nodes it changed.
#pragma once

#include "ir/graph.h"

namespace calib8::ir {

// Removes nodes none of whose outputs reach a graph output, then unused initializers.
int RemoveDeadNodes(Graph& graph);

// Folds BatchNormalization(Conv(x, W, B)) into Conv(x, W', B') when W, B and the BN parameters
// are float32 initializers and the Conv output feeds only the BN (and is not a graph output):
//   s = gamma / sqrt(var + eps);  W'[o] = W[o] * s[o];  B'[o] = (B[o] - mean[o]) * s[o] + beta[o]
int FoldBatchNormIntoConv(Graph& graph);

}  // namespace calib8::ir

namespace calib8::ir {

// Fuses epilogues into Conv, ConvTranspose, Gemm and MatMul for plain inference (never when every
// tensor must be observed: fused intermediates disappear):
//   X -> Add(X, R) -> Act   becomes   X[_calib8_sum=1, extra input R, _calib8_act=Act]
// Add is fused only when ONNX shape inference proved X and R have the same known shape; Act is one
// of Relu, LeakyRelu, Clip (constant bounds), HardSwish, HardSigmoid, Sigmoid, Tanh. Each fused
// intermediate must have exactly one consumer and not be a graph output. The fused node takes the
// name of the last output. Internal attribute names start with "_calib8_" and never reach files.
int FuseEpilogues(Graph& graph);

}  // namespace calib8::ir

namespace calib8::ir {

// Folds a per-channel constant Add (bias) or Mul (scale) that follows a Conv into the Conv's
// bias and weights, when the Conv output feeds only that node:
//   Add(Conv(x, W, B), C) -> Conv(x, W, B + C)        Mul(Conv(x, W, B), S) -> Conv(x, W*S, B*S)
// C and S must be float32 initializers of one value or of shape [1, OC, 1, ...] / [OC, 1, ...]
// (broadcasting over the channel axis only). Returns the number of nodes folded.
int FoldConvAffine(Graph& graph);

// Replaces the exported spelling of HardSwish, x * Clip(x + 3, 0, 6) / 6 (Add, Clip, Mul, Div or
// Mul by 1/6, as paddle2onnx and older PyTorch exports write it), by one HardSwish node, which
// FuseEpilogues can then fold into the producing Conv. Intermediates must have one consumer.
int FuseHardSwishPattern(Graph& graph);

}  // namespace calib8::ir
