// onnx/qdq_util.cc — the helpers shared by the Q/DQ export and import (qdq_util.h): default
// domain, node attributes and labels.
#include "onnx/qdq_util.h"

namespace calib8::onnx_io::qdq_detail {

bool IsDefaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

int64_t IntAttr(const onnx::NodeProto& n, const std::string& name, int64_t dflt) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return dflt;
}

std::string NodeLabel(const onnx::NodeProto& n, int index) {
  // "#<index>" built in two steps: `"#" + std::to_string(index)` here trips GCC 12's -Wrestrict
  // false positive (std::string operator+ inlined).
  std::string name = n.name();
  if (name.empty()) name.append("#").append(std::to_string(index));
  return "node '" + name + "' (" + n.op_type() + ")";
}

}  // namespace calib8::onnx_io::qdq_detail
