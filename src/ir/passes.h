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
