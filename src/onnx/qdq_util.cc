// onnx/qdq_util.cc — the helpers shared by the Q/DQ export and import (qdq_util.h): the default
// domain.
#include "onnx/qdq_util.h"

namespace calib8::onnx_io::qdq_detail {

bool IsDefaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

}  // namespace calib8::onnx_io::qdq_detail
