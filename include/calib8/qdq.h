// calib8/qdq.h — explicit Q/DQ ONNX: write a model with QuantizeLinear/DequantizeLinear pairs from
// a calibration table (calib8 export-qdq), and read such a model back into a table (import-qdq).
//
//   calib8::QdqExportOptions o;
//   o.target = calib8::QdqTarget::kOrt;                   // ONNX Runtime's QDQ node units
//   calib8::QdqExportSummary s;
//   calib8::Status st = calib8::ExportQdq("net.onnx", "net.cache", "net.qdq.onnx", o, &s);
//   for (const auto& w : s.warnings) std::cerr << "warning: " << w << "\n";
//   if (!st.ok()) { std::cerr << st.message() << "\n"; return 1; }
//
//   calib8::QdqImportSummary i;
//   st = calib8::ImportQdq("net.qdq.onnx", "back.cache", {}, &i);  // amax = 127 x scale
//
// The numeric contract and the placement rules are in docs/qdq.md: activations per tensor with
// the table's scale bits, weights per output channel at max|W_c| / 127, so export then import
// gives back every exported activation's scale bits.
//
// Both calls fill their summary as they go: on failure it still holds the warnings (and the
// coverage, the table note) gathered before the failure, as the CLI prints them before the error.
// Nothing is written on failure; each file is written to a temporary file renamed into place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "calib8/status.h"

namespace calib8 {

// Which runtime the pairs are placed for (docs/qdq.md).
enum class QdqTarget {
  kTensorRt,  // pairs on the inputs of weighted ops, pools, Concat, residual Adds; FP32 bias
  kOrt,       // ONNX Runtime's QDQ node units: Q/DQ on inputs and outputs, int32 bias
};

// Activation types of a kOrt export (`--ort-activations`).
enum class QdqOrtActivations {
  kU8,     // uint8: zero point 0 for non-negative tensors, 128 (or the sidecar's range) otherwise
  kMixed,  // uint8 for non-negative tensors, int8 for signed ones
  kS8,     // int8 with zero point 0 everywhere (Relus then stay FP32 in ORT)
};

// Where a kOrt export puts its pairs (`--placement`).
enum class QdqPlacement {
  kDefault,  // kPlan; when calib8 cannot plan the model, kUnits with a warning
  kPlan,     // the tensors calib8's own INT8 plan holds in 8 bits (fails without a plan)
  kUnits,    // ONNX Runtime's node units on every weighted op, residual Add, pool and Concat
};

// Weight types of a kOrt export (`--ort-weights`): the same grid either way (q_u8 = q_s8 + 128).
enum class QdqOrtWeights {
  kS8,  // int8, zero point 0: ONNX Runtime's u8s8 kernels (saturating on x86 without VNNI)
  kU8,  // uint8, zero point 128: its u8u8 kernels (exact on every CPU)
};

struct QdqExportOptions {
  QdqTarget target = QdqTarget::kTensorRt;
  QdqOrtActivations ort_activations = QdqOrtActivations::kU8;
  QdqOrtWeights ort_weights = QdqOrtWeights::kS8;  // kOrt only
  // kOrt only; anything but kDefault with kTensorRt is an error.
  QdqPlacement placement = QdqPlacement::kDefault;
  // A file of tensor names (one a line, '#' comments) with no pair, nor on their producers.
  std::string keep_fp32_file;
  int64_t opset = 0;  // of the result (>= 13); 0: the model's, raised to 13 when lower and safe
  // Fail when the table misses an activation the placement quantizes or names unknown tensors.
  bool strict = false;
  // kOrt: the table's symmetric scales even when its sidecar holds asymmetric ranges (by
  // default kU8 takes those ranges, as an INT8 Session does).
  bool symmetric = false;
};

struct QdqExportSummary {
  // kOrt with kU8: which encoding the table gave (sidecar ranges or symmetric) and why.
  std::string table_note;
  size_t table_entries = 0;
  int64_t opset_before = 0, opset_after = 0;
  int candidates = 0;                       // activations the placement rule quantizes
  std::vector<std::string> activations;     // got a pair, in graph order
  std::vector<std::string> weights;         // got a per-channel pair
  std::vector<std::string> biases;          // kOrt: int32 + DequantizeLinear
  std::vector<std::string> carried;         // kOrt: "tensor <- source: why" (a scale carried over)
  int unsigned_pairs = 0;                   // kOrt: activation pairs written as uint8
  std::vector<std::string> uncovered;       // candidates without a usable table entry (left FP32)
  std::vector<std::string> unused_entries;  // "name: why" for table entries with no pair
  std::vector<std::string> fp32_nodes;      // "node (Op): why" for weighted ops left FP32
  std::vector<std::string> notes;
  std::vector<std::string> warnings;  // in the order they arose
};

// Writes `model_path` (the original ONNX file) with Q/DQ pairs from the table at `table_path`
// (any format calib8 reads) to `out_path`, checked with onnx::checker::check_model. Fails on an
// unreadable model or table, a bad keep-fp32 file, an opset it cannot raise, a table entry with an
// inf or NaN scale the placement uses, and with `strict` on a table that does not cover it.
Status ExportQdq(const std::string& model_path, const std::string& table_path,
                 const std::string& out_path, const QdqExportOptions& options,
                 QdqExportSummary* summary = nullptr);

struct QdqImportOptions {
  std::string format = "trt";  // of the table written: "trt" or "json"
  // When set, also writes the plain model: no activation pairs, weights replaced by their
  // dequantized values (what an INT8 Session with the table runs to compute what the Q/DQ model
  // computes; docs/fine-tuning.md). It is written before the table.
  std::string model_out;
};

struct QdqImportSummary {
  size_t entries = 0;                  // activations in the table written
  std::string format_title;            // of the table written, e.g. "TensorRT calibration cache"
  std::vector<std::string> weights;    // "tensor: N channel(s), axis A" (not in the table)
  std::vector<std::string> skipped;    // QuantizeLinear nodes with no entry, with the reason
  std::vector<std::string> converted;  // uint8 scales converted (amax = 255 x scale)
  int activation_pairs = 0;            // model_out: activation pairs removed
  int weight_pairs = 0;                // model_out: constants replaced by dequantized values
  std::vector<std::string> warnings;   // in the order they arose
};

// Reads every QuantizeLinear on an activation of `qdq_path` and writes the activation table to
// `table_path`: amax = 127 x scale, the scale bits kept exactly (uint8 with zero point 128 is the
// int8 grid; zero point 0 is amax = 255 x scale unless calib8's export metadata gives the bits).
// Fails on an unknown format, an unreadable model, a model with no such QuantizeLinear, and a Q/DQ
// structure the plain model cannot be made from (model_out).
Status ImportQdq(const std::string& qdq_path, const std::string& table_path,
                 const QdqImportOptions& options, QdqImportSummary* summary = nullptr);

}  // namespace calib8
