// onnx/qdq_util.h — internal to the Q/DQ export and import (qdq_export.cc, qdq_import.cc; not a
// public header): the metadata keys the export writes and import-qdq reads back, and the node
// domain test they share. The placement itself is an IR pass (quant/qdq_placement.h).
#pragma once

#include <string>

#include "onnx/qdq.h"
#include "quant/qdq_read.h"

namespace calib8::onnx_io::qdq_detail {

// Model metadata keys written by the export and read back by import-qdq.
// Defined with the IR pass that reads them (quant/qdq_read.h).
inline constexpr const char* kHeaderKey = quant::kQdqHeaderKey;
inline constexpr const char* kExportKey = quant::kQdqExportKey;
inline constexpr const char* kSourcesKey = quant::kQdqSourcesKey;

bool IsDefaultDomain(const std::string& d);

}  // namespace calib8::onnx_io::qdq_detail
