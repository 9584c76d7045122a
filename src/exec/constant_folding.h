// exec/constant_folding.h — evaluates nodes whose inputs are all constants at load time and
// replaces them by initializers (Shape->Gather->Concat chains on static shapes, weight
// transposes, ...). Uses the same kernels as the executor (reference flavour: exact semantics).
#pragma once

#include "exec/op_registry.h"
#include "ir/graph.h"

namespace calib8::exec {

// Returns the number of nodes folded. Nodes without a kernel are left alone.
Result<int> FoldConstants(ir::Graph& graph, const OpRegistry& registry);

}  // namespace calib8::exec
