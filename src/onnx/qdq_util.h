// onnx/qdq_util.h — internal to the Q/DQ export and import (qdq_export.cc, qdq_import.cc; not a
// public header): the metadata keys the export writes and import-qdq reads back, and the node
// helpers they share. The placement itself is an IR pass (quant/qdq_placement.h).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>

#include "onnx/qdq.h"

namespace calib8::onnx_io::qdq_detail {

// Model metadata keys written by the export and read back by import-qdq.
inline constexpr char kHeaderKey[] = "calib8.table_header";
inline constexpr char kExportKey[] = "calib8.qdq_export";
// --target ort: where each activation Q's scale came from (quant::PlaceOrt), for import-qdq.
inline constexpr char kSourcesKey[] = "calib8.qdq_sources";

bool IsDefaultDomain(const std::string& d);

int64_t IntAttr(const onnx::NodeProto& n, const std::string& name, int64_t dflt);

std::string NodeLabel(const onnx::NodeProto& n, int index);

}  // namespace calib8::onnx_io::qdq_detail
