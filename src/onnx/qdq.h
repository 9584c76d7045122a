// onnx/qdq.h — explicit Q/DQ ONNX: export a calibration table into the ORIGINAL ONNX model as
// QuantizeLinear/DequantizeLinear pairs (the INT8 input TensorRT 10.1+ keeps and the QDQ format
// ONNX Runtime runs), and import such a model back into a table.
//
// Numeric contract (quant/quant_params.h, DESIGN §4): activations symmetric per tensor,
// y_scale = the table's float32 scale bits unchanged (= amax / 127), int8 zero point 0; weights
// symmetric per output channel, scale_c = max|W_c| / 127, int8 zero point 0. Export then import
// gives the same scale bits for every activation that got a pair. Placement: docs/qdq.md.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "quant/qdq_placement.h"
#include "quant/qdq_read.h"
#include "table/calibration_table.h"

namespace calib8::onnx_io {

inline constexpr int64_t kQdqMinOpset = 13;  // per-axis QuantizeLinear/DequantizeLinear

// The export's options and report are the placement pass's (quant/qdq_placement.h).
using quant::OrtActivations;
using quant::OrtWeights;
using quant::QdqExportOptions;
using quant::QdqExportReport;
using quant::QdqImportReport;  // import-qdq's report (quant/qdq_read.h)
using quant::QdqTarget;

// Exports `model_bytes` (an ONNX ModelProto; `source` names it in messages, `dir` resolves external
// data, which is inlined) with Q/DQ from `table` (`table_name` names it in messages). Returns the
// serialized model, checked with onnx::checker::check_model.
Result<std::string> ExportQdq(const std::string& model_bytes, const std::string& source,
                              const std::string& dir, const table::CalibrationTable& table,
                              const std::string& table_name, const QdqExportOptions& options,
                              QdqExportReport* report);

// File form: reads `model_path`, writes `out_path` atomically.
Status ExportQdqFile(const std::string& model_path, const table::CalibrationTable& table,
                     const std::string& table_name, const std::string& out_path,
                     const QdqExportOptions& options, QdqExportReport* report);

// Reads every QuantizeLinear on an activation of `path` (quant::ReadQdqTable on its IR) and returns
// the activation table: one entry per quantized tensor, scale bits exactly as stored (amax = 127 *
// scale). uint8 with zero point 128 is read as int8 with zero point 0 (same grid); uint8 with zero
// point 0 as amax = 255 * scale, with the exact table bits taken from calib8's export metadata
// when it is there and consistent.
Result<table::CalibrationTable> ImportQdqFile(const std::string& path, QdqImportReport* report);

// Reads a --keep-fp32 file: one tensor name per line; '#' starts a comment; blank lines ignored;
// surrounding spaces trimmed.
Result<std::set<std::string>> ReadKeepFp32File(const std::string& path);

}  // namespace calib8::onnx_io
