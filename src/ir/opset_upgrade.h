// ir/opset_upgrade.h — the opset raise as an IR pass: every default-domain node of an ir::Graph
// whose operator definition changed between the graph's default opset (< 13) and opset 13 is
// rewritten into its opset-13 form, keeping its meaning, and the graph's default opset becomes 13.
//
// Two kinds of change (the ONNX operator changelog; each rule in opset_upgrade.cc names the
// versions it maps):
//  - the form changed: attributes that became inputs (Clip-6, Slice-1, Reshape-1, Squeeze/
//    Unsqueeze-1/11, ReduceSum-1/11, Split-2/11, Pad-2, Dropout-7/10) are written as int64/float
//    initializers with fresh names; Softmax/LogSoftmax/Hardmax before 13 (2-D coercion at `axis`)
//    keep their form when `axis` is the last dimension and become Flatten -> op(axis=1) ->
//    Reshape(Shape(x)) otherwise; Upsample-1/7/9 and Resize-10 become Resize-13 (asymmetric
//    coordinates, floor/ceil rounding as calib8 runs them); BatchNormalization before 9 loses its
//    test-mode attributes; Cast-1's type name becomes the type code; Concat-1 gets its default
//    axis; legacy broadcasting (Add/Sub/Mul/Div/Pow/comparisons/logic before 7) becomes numpy
//    broadcasting (with an Unsqueeze of B where `axis` is not the trailing one);
//  - only types, negative axes or optional parts were added, or `consumed_inputs` removed: the
//    node is relabelled (consumed_inputs dropped).
// Output tensor names never change (a calibration table keyed by them still applies); new nodes
// and values get names not yet in the graph. An operator without a rule (or a node a rule cannot
// rewrite exactly) is an error naming the node, the operator and its version, and what is missing;
// the graph is then left as it was. Protobuf-free, like the rest of ir.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "ir/graph.h"

namespace calib8::ir {

struct OpsetUpgradeReport {
  int64_t opset_before = 0;  // the graph's default opset when the pass started
  int64_t opset_after = 0;
  std::map<std::string, int> rewritten;   // op type -> nodes whose form changed
  std::map<std::string, int> relabelled;  // op type -> nodes that keep their form at 13
  std::vector<std::string> notes;         // "Clip: 2 node(s) rewritten to Clip-13"
};

// The since-version of `op`'s definition in effect at `opset` (e.g. ("Clip", 9) -> 6), for the
// default-domain operators this pass knows; 0 when `op` is unknown or not defined at `opset`.
int64_t OpVersionAt(const std::string& op, int64_t opset);

// Rewrites `g` into its opset-13 form as described above and sets g->opsets[""] = 13. A graph
// already at 13 or later is left untouched (Ok). `report` may be null.
Status UpgradeOpsTo13(Graph* g, OpsetUpgradeReport* report);

}  // namespace calib8::ir
