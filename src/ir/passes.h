// ir/passes.h — graph rewrites that need no kernels. Constant folding needs kernels and lives in
// exec/constant_folding.h. Each pass keeps the graph topologically sorted and returns how many
// nodes it changed.
#pragma once

#include "ir/graph.h"

namespace calib8::ir {

// Removes nodes none of whose outputs reach a graph output, then unused initializers.
int RemoveDeadNodes(Graph& graph);

// Folds the per-channel affine op that is the only consumer of a Conv's output (not a graph
// output) into the Conv's weights and bias, writing y' = (y - pre) * scale + post as
//   W'[o] = W[o] * scale[o],  B'[o] = (B[o] - pre[o]) * scale[o] + post[o]   (B absent: 0)
// for
//   BatchNormalization (float32 initializer parameters of OC values, no training outputs):
//     pre = mean, scale = gamma / sqrt(var + eps), post = beta;
//   Mul(y, k): scale = k;   Add(y, k): post = k   (pre = 0, scale = 1, post = 0 otherwise),
//     k a float32 initializer of one value or of shape [1, OC, 1, ...] / [OC, 1, ...]
//     (broadcasting over the channel axis only, never raising the output's rank).
// W and B must be float32 initializers (B of OC values). Chains fold node by node (Conv -> BN ->
// Mul -> Add, Conv -> Mul -> BN): rounds fold each BatchNormalization right after a Conv, then
// each Mul/Add, again while either folds. New initializers are written (weights may be shared)
// under names unique in the graph. Conv nodes carrying fused epilogues (_calib8_*) are left alone.
struct ConvFoldOptions {
  bool batchnorm = true;  // fold BatchNormalization
  bool mul_add = true;    // fold Mul / Add by a per-channel constant
  // true (the loader): RemoveDeadNodes after each round, so dead nodes and every unread initializer
  // go. false (export-qdq, a serializer): no node but the folded ones is removed, and of the
  // initializers only those the folds replaced that nothing reads.
  bool remove_dead = true;
  // The new initializers' names: false, the loader's "<conv>_bnfolded_W/_B" and
  // "<conv>_affine<N>_W/_B" (N counts the Mul/Add folds), kept because table sidecars store a
  // fingerprint of the optimized graph; true, "<conv>_folded_W/_B" (export-qdq --target ort,
  // docs/qdq.md). <conv> is the node name, or its output when it has none; a name already in use
  // gets "_1", "_2", ... appended.
  bool export_names = false;
};
struct ConvFoldCounts {
  int batchnorm = 0;
  int mul_add = 0;
};
// Returns the number of nodes folded; `counts`, when given, gets them by kind.
int FoldIntoConv(Graph& graph, const ConvFoldOptions& options = {},
                 ConvFoldCounts* counts = nullptr);

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

// Replaces the exported spelling of HardSwish, x * Clip(x + 3, 0, 6) / 6 (Add, Clip, Mul, Div or
// Mul by 1/6, as paddle2onnx and older PyTorch exports write it), by one HardSwish node, which
// FuseEpilogues can then fold into the producing Conv. Intermediates must have one consumer.
int FuseHardSwishPattern(Graph& graph);

}  // namespace calib8::ir
