// eval/compare.h — FP32 against INT8 on the same inputs (`calib8 compare`) and the search for the
// layers that must stay FP32 (`calib8 sensitivity`), issue 5 item 4.
//
// Both runs see the same batches. The FP32 run is unfused, so an observer sees every float tensor
// of the model. The INT8 run contributes its float tensors and its 8-bit tensors ("<t>:s8" /
// "<t>:u8", see docs/int8.md) dequantized with their scales (NHWC converted back to NCHW): a
// tensor the INT8 run holds in 8 bits is compared as those 8 bits, which is what its consumers
// read. Metrics are eval::TensorComparison / eval::ClassifierComparison (streaming, so memory
// follows the batch). The api module owns this because it needs sessions; eval stays pure math.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "core/progress.h"
#include "data/data_source.h"
#include "eval/metrics.h"
#include "ir/graph.h"
#include "runtime/int8_engine.h"
#include "table/calibration_table.h"

namespace calib8::eval {

// Labels for --labels: a text file with one integer class per line (blank lines and '#' comment
// lines skipped), or "idx:PATH" for an IDX label file (rank 1, optionally gzip-compressed).
Result<std::vector<int64_t>> ReadLabels(const std::string& spec);

// One 8-bit tensor of an INT8 plan's graph.
struct Int8TensorInfo {
  std::string stored;  // "<t>:s8" or "<t>:u8"
  std::string tensor;  // "<t>": the float tensor of the model it stands for
  float scale = 0;
  int32_t zero_point = 0;  // asymmetric u8 (quant_params.h)
  bool is_unsigned = false;
  bool nhwc = false;  // stored [N,H,W,C]
};

// Every 8-bit tensor of plan.graph with its scale and layout (read from the attributes of the
// producing calib8.int8 node; pass-through nodes keep their input's scale).
std::vector<Int8TensorInfo> ListInt8Tensors(const quant::Int8Plan& plan);

// (value - zero_point) * scale as float32, NHWC turned back into NCHW. Fails on a non-8-bit tensor.
Result<Tensor> DequantizeInt8(const Tensor& q, const Int8TensorInfo& info);

struct CompareOptions {
  runtime::Int8Options int8;  // lowering options (keep_fp32, unsigned activations, strict)
  exec::SessionOptions session;
  int batch = 32;
  bool per_tensor = true;            // false: graph outputs only (what sensitivity needs)
  std::string table_name = "table";  // how messages name the table
  core::ProgressCallback progress;   // stage "compare FP32 vs INT8", samples done
};

struct TensorResult {
  std::string name;
  std::string producer;  // op type in the FP32 model ("" for a graph input)
  std::string held;      // how the INT8 run holds it: "s8", "u8" or "f32"
  eval::TensorMetrics metrics;
};

struct OutputResult {
  std::string name;
  // [N, C] output: top-1 agreement (and accuracy with labels); [N, T, C] (a sequence, e.g. CTC
  // logits): per-position top-1 agreement over the N*T rows (labels do not apply).
  bool classifier = false;
  bool per_position = false;  // the [N, T, C] case
  eval::TensorMetrics metrics;
  eval::ClassifierMetrics classes;  // meaningful when classifier
};

struct CompareResult {
  int64_t samples = 0;
  std::vector<TensorResult> tensors;  // sorted worst SQNR first (NaN last)
  std::vector<OutputResult> outputs;  // graph output order
  quant::Int8Plan plan;               // the INT8 plan that ran
};

// Runs FP32 and INT8 on every sample of `data`. `labels` is empty or holds at least
// data.NumSamples() classes. Fails when the table covers none of the tensors an INT8 node needs
// (a table for another model) or, with options.int8.strict, not all of them.
Result<CompareResult> CompareFp32Int8(const ir::Graph& graph, const table::CalibrationTable& table,
                                      const data::MultiInputData& data,
                                      const std::vector<int64_t>& labels,
                                      const CompareOptions& options);

// Text table (worst SQNR first) and output summary.
std::string CompareToText(const CompareResult& r, size_t max_tensors = 0);
// {"samples", "outputs": [...], "tensors": [...], "plan": {"int8", "fp32"}}; inf/NaN as strings.
std::string CompareToJson(const CompareResult& r);

}  // namespace calib8::eval
