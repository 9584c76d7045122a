// onnx/opset_upgrade.h — rewrites the nodes of an ONNX graph whose operator definition changed
// between the model's opset and opset 13 into their opset-13 form, so that a model exported at
// opset 7–12 (PaddleOCR's models as shipped are at 9 and 11) can carry per-channel Q/DQ pairs.
//
// Each rewrite keeps the meaning of the node exactly (same outputs, bit for bit, in an exact
// runtime): attributes that became inputs are written as int64/float initializers (Clip-6, Slice-1,
// Squeeze/Unsqueeze-1/11, ReduceSum-1/11, Split-2/11, Pad-2); Softmax, LogSoftmax and Hardmax
// before 13 coerced their input to 2-D at `axis`, so they keep their form when `axis` is the last
// dimension and become Flatten -> op(axis=1) -> Reshape(Shape(x)) otherwise; Upsample-7/9 becomes
// Resize-13 with the asymmetric coordinates and floor rounding Upsample defined; BatchNormalization
// before 9 loses its test-mode-only attributes. Output tensor names never change, so a calibration
// table keyed by the original model's tensors still applies. docs/qdq.md lists the rewrites.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "calib8/status.h"

namespace onnx {
class ModelProto;
}

namespace calib8::onnx_io {

struct OpsetUpgradeReport {
  std::set<std::string> rewritten_ops;  // op types that were rewritten (every node of the type)
  // First output of every node now in its opset-13 form (rewritten or added), so the caller can
  // check those nodes from 13 instead of from the model's opset.
  std::set<std::string> opset13_nodes;
  std::vector<std::string> notes;  // "Clip: 28 node(s) rewritten to Clip-13 (...)"
};

// True when `op` at `from` (< 13) has another definition at 13 and this module rewrites it.
bool CanUpgradeTo13(const std::string& op, int64_t from);

// Rewrites every default-domain node of `model` (main graph and subgraphs) whose operator is in
// CanUpgradeTo13 for the model's current default opset `from`. Does not change the opset import
// itself. Errors name `source` and the node (e.g. a BatchNormalization with spatial=0).
Status UpgradeOpsTo13(onnx::ModelProto* model, int64_t from, const std::string& source,
                      OpsetUpgradeReport* report);

}  // namespace calib8::onnx_io
