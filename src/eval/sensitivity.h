// eval/sensitivity.h — `calib8 sensitivity` and `calibrate --max-drop`: which layers must stay FP32
// (or which activation ranges must change) for the INT8 model to stay within a bound of FP32.
//
// Every layer is scored quantized alone and kept FP32 alone against the FP32 outputs (computed
// once), ranked, and the greedy search keeps layers FP32 in rank order until the bound holds, then
// drops those the bound does not need. With try_ranges, other ranges for a layer's activations
// are tried before the layer falls back to FP32 (docs/compare.md, "sensitivity").
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "eval/compare.h"

namespace calib8::eval {

struct SensitivityOptions {
  CompareOptions compare;   // per_tensor is ignored (outputs only)
  double max_drop = 0.5;    // percentage points: top-1 agreement drop (or accuracy drop w/ labels)
  double min_sqnr_db = 30;  // bound for models without a classifier output
  // Progress: the FP32 reference run (samples), then the INT8 runs (unit "runs"; detail: the
  // last measurement, e.g. "layer conv1: alone 98.5, kept FP32 99.1").
  core::ProgressCallback progress;
  // Before keeping a layer FP32, try other ranges for its input and output activations: the
  // current range scaled by 0.5, 0.7, 1.4 and 2 (never wider than observed) and the whole observed
  // range. A range that raises the score is kept and reported in SensitivityResult::ranges, so
  // the caller must write those ranges back into the table it plans with (calibrate --max-drop,
  // sensitivity --table-out: ApplyRangeChanges).
  bool try_ranges = false;
  // Observed [min, max] per tensor (the sidecar's statistics): bounds widening, and the widest
  // candidate. Tensors without an entry are scaled without a bound.
  std::map<std::string, std::pair<float, float>> observed;
};

// A range the search changed. Symmetric (TensorRT) mode: lo = -hi = -amax.
struct RangeChange {
  std::string tensor;
  bool asymmetric = false;  // the sidecar's u8 range; else the table's symmetric amax
  float lo_before = 0, hi_before = 0, lo = 0, hi = 0;
  double score_before = 0, score = 0;
};

struct LayerSensitivity {
  std::string node;    // fused node name in the plan
  std::string op;      // "Conv+Relu"
  std::string output;  // its output tensor (what the plan file lists)
  std::string input;   // its data input tensor ("" if none)
  double alone = 0;    // score with only this layer INT8 (all else FP32)
  double keep = 0;     // score with only this layer FP32 (all else INT8)
  double harm = 0;     // loss of quantizing it alone: fp32 score - alone
  double gain = 0;     // gain of keeping it FP32: keep - all-INT8 score
};

struct SensitivityResult {
  // What the score is: "top-1 agreement %", "accuracy %" or "output SQNR dB" (higher is better).
  std::string metric;
  bool classifier = false, labelled = false;
  double fp32_score = 0;                 // 100 for agreement, FP32 accuracy, +inf for SQNR
  double int8_score = 0;                 // everything INT8 (plus the user's own keep_fp32)
  std::vector<LayerSensitivity> layers;  // ranked, most harmful first
  std::vector<std::string> keep;         // output tensors of the layers kept FP32, in order
  double final_score = 0;
  bool met = false;                 // the bound holds with `keep` and `ranges`
  std::vector<RangeChange> ranges;  // try_ranges: ranges changed instead of keeping layers FP32
  int64_t samples = 0;
  int evaluations = 0;
};

Result<SensitivityResult> AnalyzeSensitivity(const ir::Graph& graph,
                                             const table::CalibrationTable& table,
                                             const data::MultiInputData& data,
                                             const std::vector<int64_t>& labels,
                                             const SensitivityOptions& options);

// The --keep-fp32 file: a header comment, then one tensor per line preceded by a '#' line with
// the layer and its measured effect.
std::string SensitivityPlanFile(const SensitivityResult& r, const SensitivityOptions& options,
                                const std::string& model, const std::string& table);
// The observed [min, max] of every tensor in the sidecar of `table_path` (SensitivityOptions::
// observed); empty without a readable sidecar.
std::map<std::string, std::pair<float, float>> ObservedRanges(const std::string& table_path);

// Writes the table at `table_path` with `changes` applied to `out_path` (may be the same path),
// with its sidecar. Asymmetric changes go into the sidecar's ranges (the TensorRT table keeps its
// symmetric scales); symmetric ones change the table's scales (amax / 127) and the sidecar's
// amax. The sidecar's table fingerprint is updated; sidecar first, table last, each atomic.
Status ApplyRangeChanges(const std::string& table_path, const std::vector<RangeChange>& changes,
                         const std::string& out_path);

std::string SensitivityToText(const SensitivityResult& r, const SensitivityOptions& options);

}  // namespace calib8::eval
