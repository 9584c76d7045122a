// calib8/evaluate.h — how far INT8 is from FP32 on real data (calib8 compare), and which layers
// must stay FP32 for INT8 to stay within a bound (calib8 sensitivity).
//
//   calib8::CompareOptions o;
//   o.data = {"idx:t10k-images-idx3-ubyte.gz"};        // as `compare --data`
//   o.labels = "idx:t10k-labels-idx1-ubyte.gz";        // optional: accuracy too
//   auto r = calib8::Compare(*model, "net.cache", o);  // Result<CompareResult>
//   double agreement = r->outputs[0].top1_agreement;   // r->text: what `calib8 compare` prints
//
//   calib8::SensitivityOptions s;                      // 200 samples, drop <= 0.5 point
//   s.data = o.data;
//   auto plan = calib8::Sensitivity(*model, "net.cache", s);
//   calib8::WriteFileAtomic("keep.txt", plan->plan_file);  // a keep_fp32_file (Int8Options)
//
// Both run the model in FP32 and in INT8 on the same batches; the INT8 run is the one
// Session::CreateInt8 builds with the same Int8Options. The results and their texts are the CLI's
// to the byte (docs/compare.md). Nothing throws; failures name the file, tensor or node.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "calib8/calibrate.h"  // RangeChange
#include "calib8/model.h"
#include "calib8/progress.h"
#include "calib8/status.h"

namespace calib8 {

// What compare and sensitivity share: the data, the INT8 run, progress.
struct EvaluateOptions {
  std::vector<std::string> data;  // SPEC or NAME=SPEC per input (docs/data-sources.md)
  // Class labels: "" (none), a text file with one integer per line ('#' comments), or idx:PATH.
  std::string labels;
  int64_t max_samples = 0;  // 0: all
  int batch = 32;           // samples per run
  int threads = 0;          // both runs; 0: all cores (int8.threads is not used)
  Int8Options int8;         // table encoding, keep_fp32_file, strict, ... (calib8/model.h)
  ProgressCallback progress;
  // Called once the table is read, with the line saying which encoding INT8 uses
  // (Int8Summary::table_note); `calib8 compare` prints it as "int8: NOTE".
  std::function<void(const std::string& note)> on_int8_note;
};

// How far one tensor of the INT8 run is from the FP32 run's (sums over all samples, e = fp32 -
// int8; pairs with a NaN or Inf on either side are counted in `nonfinite` and left out).
struct TensorMetrics {
  int64_t count = 0, nonfinite = 0;
  double sqnr_db = 0;          // 10 log10(sum fp32^2 / sum e^2); +inf when identical
  double cosine = 0;           // cosine similarity
  double max_abs_error = 0;    // max |e|
  double relative_error = 0;   // max |e| / max |fp32|
  double saturation_rate = 0;  // share of |fp32| > 127 * scale; NaN for a float tensor
  double ref_absmax = 0;       // max |fp32|
};

struct ComparedTensor {
  std::string name;
  std::string producer;  // op type in the FP32 model ("" for a graph input)
  std::string held;      // how the INT8 run holds it: "s8", "u8" or "f32"
  TensorMetrics metrics;
};

struct ComparedOutput {
  std::string name;
  // [N, C]: a classifier (top-1 agreement, accuracy with labels); [N, T, C] (a sequence, e.g.
  // CTC logits): per-position top-1 agreement over the N*T rows, without labels.
  bool classifier = false, per_position = false;
  TensorMetrics metrics;
  int64_t rows = 0, agree = 0;  // rows compared (samples, or positions), argmax equal
  double top1_agreement = 0;    // agree / rows
  int64_t labelled = 0;         // rows with a label
  double fp32_accuracy = 0, int8_accuracy = 0;  // NaN without labels
};

struct CompareOptions : EvaluateOptions {
  size_t text_top = 0;       // `text`: only the N worst tensors (0: all)
  bool html_report = false;  // render the self-contained HTML report into `html_report`
  // The report's histograms and method curves, from this statistics file (calibrate
  // --save-stats); without it the report shows the sidecar's per-tensor statistics only.
  std::string report_stats;
};

struct CompareResult {
  int64_t samples = 0;
  std::vector<ComparedTensor> tensors;  // worst SQNR first (NaN last)
  std::vector<ComparedOutput> outputs;  // graph output order
  int int8_nodes = 0, fp32_nodes = 0;   // the INT8 plan that ran
  // "" when the table covers every tensor an INT8 node needs; else which it misses ("coverage
  // 12/14 (85.7%); missing: ..."): those nodes ran FP32.
  std::string uncovered;
  std::string text;         // what `calib8 compare` prints
  std::string json;         // what `calib8 compare --json` prints
  std::string html_report;  // with CompareOptions::html_report
};

// Runs `model` in FP32 and in INT8 with the table at `table_path` on the data and measures every
// tensor and output. Reads the table, its sidecar (for the report) and the inputs; writes nothing.
// Fails on a table for another model (one that covers none of what INT8 needs), an uncovered
// table with int8.strict, data that do not fit the model, labels fewer than the samples, or
// report_stats without html_report.
Result<CompareResult> Compare(const Model& model, const std::string& table_path,
                              const CompareOptions& options);

struct SensitivityOptions : EvaluateOptions {
  SensitivityOptions() { max_samples = 200; }
  // The bound: top-1 agreement with FP32 (accuracy with labels) drops at most `max_drop`
  // percentage points; for a model without a classifier output, the worst output SQNR stays at
  // least `min_sqnr_db`.
  double max_drop = 0.5;
  double min_sqnr_db = 30;
  // Non-empty: before keeping a layer FP32, try other ranges for its activations (docs/compare.md,
  // "sensitivity"); the plan is then for the table with SensitivityResult::ranges applied, which
  // WriteRangeChanges writes here, and plan_file names it.
  std::string table_out;
};

struct LayerSensitivity {
  std::string node;    // fused node name in the INT8 plan
  std::string op;      // "Conv+Relu"
  std::string output;  // its output tensor (what the plan file lists)
  std::string input;   // its data input tensor ("" if none)
  double alone = 0;    // score with only this layer INT8
  double keep = 0;     // score with only this layer FP32
  double harm = 0;     // FP32 score - alone
  double gain = 0;     // keep - all-INT8 score
};

struct SensitivityResult {
  // What the score is: "top-1 agreement %", "accuracy %" or "output SQNR dB" (higher is better).
  std::string metric;
  bool classifier = false, labelled = false;
  double fp32_score = 0, int8_score = 0, final_score = 0;  // final: with `keep` and `ranges`
  std::vector<LayerSensitivity> layers;                    // most harmful first
  std::vector<std::string> keep;  // output tensors of the layers to keep FP32
  bool met = false;               // the bound holds with `keep` and `ranges`
  // With table_out: activation ranges changed instead of keeping layers FP32 (RangeChange:
  // calib8/calibrate.h; symmetric ones as [-amax, amax]).
  std::vector<RangeChange> ranges;
  int64_t samples = 0;
  int evaluations = 0;    // INT8 runs made
  std::string text;       // what `calib8 sensitivity` prints
  std::string plan_file;  // the keep-FP32 file, naming model.path() and the table it is for
};

// Scores every INT8 layer quantized alone and kept FP32 alone, then keeps layers FP32 in rank
// order until the bound holds. Reads the table (and its sidecar) and the inputs; writes nothing.
// Fails as Compare does.
Result<SensitivityResult> Sensitivity(const Model& model, const std::string& table_path,
                                      const SensitivityOptions& options);

// Writes the table at `table_path` with `changes` applied to `out_path` (may be the same), with
// its sidecar, sidecar first, each atomically: asymmetric changes go into the sidecar's ranges,
// symmetric ones into the table's scales. Fails when the table cannot be read or written.
Status WriteRangeChanges(const std::string& table_path, const std::vector<RangeChange>& changes,
                         const std::string& out_path);

}  // namespace calib8
