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
#include <set>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "table/calibration_table.h"

namespace calib8::onnx_io {

inline constexpr int64_t kQdqMinOpset = 13;  // per-axis QuantizeLinear/DequantizeLinear

struct QdqExportOptions {
  // Tensors that must stay FP32: no Q/DQ on them, and none on the inputs or weights of the nodes
  // that produce them (those nodes run in FP32).
  std::set<std::string> keep_fp32;
  // Default-domain opset of the result: 0 = the model's own, raised to 13 when lower. Raising is
  // done only when no node's operator changed between the two opsets; otherwise refused.
  int64_t opset = 0;
  // Fail (instead of warning and leaving those tensors FP32) when the table does not cover every
  // activation the placement rule would quantize, or names tensors the model does not have.
  bool strict = false;
  // Written to the model's metadata (calib8.table_header) so that import-qdq restores it.
  std::string table_header;
};

struct QdqExportReport {
  int64_t opset_before = 0, opset_after = 0;
  std::vector<std::string> activations;  // tensors that got a pair, in graph order
  std::vector<std::string> weights;      // weight tensors that got a per-channel pair
  std::vector<std::string> uncovered;    // candidate tensors with no usable table entry
  std::vector<std::string>
      unused_entries;                   // table activation entries that got no pair: "name: why"
  std::vector<std::string> fp32_nodes;  // "node (Op): why" for weighted ops left FP32
  std::vector<std::string> warnings;
  std::vector<std::string> notes;
  int candidates = 0;  // activation tensors the placement rule asks for (keep_fp32 excluded)
};

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

struct QdqImportReport {
  std::vector<std::string> weights;  // "tensor: N channel(s), axis A" (not put in the table)
  std::vector<std::string> skipped;  // Q nodes that give no TensorRT entry, with the reason
  std::vector<std::string> warnings;
};

// Reads every QuantizeLinear on an activation of `path` and returns the activation table: one entry
// per quantized tensor, scale bits exactly as stored (amax = 127 * scale).
Result<table::CalibrationTable> ImportQdqFile(const std::string& path, QdqImportReport* report);

// Reads a --keep-fp32 file: one tensor name per line; '#' starts a comment; blank lines ignored;
// surrounding spaces trimmed.
Result<std::set<std::string>> ReadKeepFp32File(const std::string& path);

}  // namespace calib8::onnx_io
