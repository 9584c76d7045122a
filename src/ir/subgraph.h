// ir/subgraph.h — cut a graph down to the part that calib8 should run: partial calibration of
// networks with layers calib8 cannot run (docs/custom-layers.md).
//
//   --until T1,T2   the subgraph that computes T1, T2 from the graph inputs (they become the
//   outputs)
//   --from  T=SPEC  the subgraph fed by T: T becomes a graph input whose values come from elsewhere
//                   (the user's runtime with the custom layer, or `calib8 run --dump`)
// Both can be given together. Nodes that no kept output needs are dropped, and so are graph inputs
// and initializers nothing kept reads; an original graph input that a kept node still needs stays
// an input (the caller must feed it as before).
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace calib8::ir {

struct SubgraphSpec {
  std::vector<std::string> from;   // tensors that become graph inputs
  std::vector<std::string> until;  // tensors that become the graph outputs (empty: keep outputs)
  bool empty() const { return from.empty() && until.empty(); }
};

// Rewrites `graph` in place. Fails, naming the tensor, when a name is not a value of the graph, is
// an initializer, or (for --from) is already a graph input; and when nothing is left to run.
Status ExtractSubgraph(Graph& graph, const SubgraphSpec& spec);

// "--until a,b --from c": how messages and the sidecar describe a spec.
std::string DescribeSubgraph(const SubgraphSpec& spec);

}  // namespace calib8::ir
