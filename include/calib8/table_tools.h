// calib8/table_tools.h — what `calib8 inspect`, `convert`, `diff`, `merge` and `validate` compute:
// a table explained entry by entry, two tables compared, tables merged (with their sidecars), a
// table checked against a model (coverage, stale fingerprints), and a table mapped onto PyTorch
// modules.
//
//   auto a = calib8::Table::Read("old.cache");
//   auto b = calib8::Table::Read("new.cache");
//   std::cout << calib8::DiffTables(*a, *b).Text("old.cache", "new.cache");
//
//   calib8::MergeOptions mo;
//   mo.on_conflict = calib8::ConflictPolicy::kMax;
//   auto merged = calib8::MergeTables({*backbone, *head}, "net.cache", mo);
//
//   auto v = calib8::ValidateTable(*b, "net.onnx");   // v->valid, v->coverage.percent()
//
// Models are named by path: inspection and validation read the model as its file declares it
// (no load-time folding), since a table names the model's own tensors. Nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "calib8/status.h"
#include "calib8/table.h"

namespace calib8 {

// "<table path>.calib8.json": the sidecar calib8 writes next to a table, recording what the
// table was computed from (model and data fingerprints, method, per-tensor statistics).
std::string SidecarPathFor(const std::string& table_path);

// ---- diff

struct TableDiffRow {
  enum class Side { kBoth, kOnlyA, kOnlyB };
  std::string name;
  Side side = Side::kBoth;
  double amax_a = 0, amax_b = 0;  // first channel for weights
  double ratio = 1;               // amax_b / amax_a (largest |log| channel for weights)
  double abs_log_ratio = 0;       // |ln ratio|; +inf when one side is 0, inf or NaN
};

struct TableDiff {
  std::vector<TableDiffRow> rows;  // in both (largest |log ratio| first), only in A, only in B
  int in_both = 0, only_a = 0, only_b = 0, identical = 0;
  double max_abs_log_ratio = 0;
  double median_ratio = 1;  // over entries in both whose ratio is finite

  // What `calib8 diff` prints: a row per tensor in both, the tensors only in one, a summary;
  // `a`, `b` name the tables. Ends with a newline.
  std::string Text(const std::string& a, const std::string& b) const;
  // The same as `calib8 diff --json` prints (numbers as shortest decimals). Ends with a newline.
  std::string Json(const std::string& a, const std::string& b) const;
};

// Compares the tables tensor by tensor (amax = 127 x scale).
TableDiff DiffTables(const Table& a, const Table& b);

// ---- merge

// What to do when two tables give one tensor different values.
enum class ConflictPolicy { kFirst, kLast, kMax, kError };
// "first", "last", "max" or "error"; fails with InvalidArgument naming the choices.
Result<ConflictPolicy> ParseConflictPolicy(const std::string& name);

struct MergeOptions {
  ConflictPolicy on_conflict = ConflictPolicy::kError;
  // The output format's name (ParseFormatName); "": the first table's header format, or trt
  // when calib8 cannot write that one.
  std::string format;
  // The whole model the parts were calibrated from: its fingerprint goes into the merged
  // sidecar; "": the sidecar names no model.
  std::string model_path;
};

struct MergeSummary {
  TableFormat format = TableFormat::kTensorRt;  // written
  size_t entries = 0;
  int conflicts = 0;  // same name, different values, resolved by the policy
  std::string sidecar_path;
  bool wrote_sidecar = false;  // every input had its current sidecar
  size_t sidecar_tensors = 0;  // tensor records in the merged sidecar
  std::string no_sidecar;      // when !wrote_sidecar: why (the first input without one)
};

// Merges `tables` (read with Table::Read; entries in first-seen order, the header the first
// table's) and writes the result to `out`. When every input has a sidecar written for its bytes,
// writes the merged sidecar first; otherwise removes any old sidecar of `out`. Both writes are
// atomic. Appends to `*messages`, in order, "note: ..." lines (conflicts resolved, header
// differences) and "warning: ..." lines (what the format cannot hold), also on a failure after
// the merge. Fails on a conflict under kError (naming both files and values), on an unknown
// format, a model that does not load, an unreadable sidecar, and a write that fails.
Result<MergeSummary> MergeTables(const std::vector<Table>& tables, const std::string& out,
                                 const MergeOptions& options = {},
                                 std::vector<std::string>* messages = nullptr);

// ---- a table against a model

struct TableEntryMatch {
  std::string name;
  bool matched = false;
  std::string producer;     // "Conv 'conv1'", "graph input", "initializer", "" if unmatched
  std::string shape = "?";  // "[1,64,56,56]", "?" when unknown
  std::string dtype;        // "float32", "" when unknown
};

struct TableCoverage {
  std::string model_fingerprint;         // "xxh3-64:..." of the model as read
  std::vector<TableEntryMatch> entries;  // in table order
  std::vector<std::string> unmatched;    // entries that name no tensor of the model
  std::vector<std::string> uncovered;    // float tensors with no entry, in graph order
  int float_tensors = 0;                 // graph inputs and node outputs of a float type
  int covered = 0;
  std::vector<std::string> inferred_float;  // untyped after shape inference, counted as float
  // "" or one line naming the tensors counted as float without a type (after a custom op).
  std::string inferred_note;
  double percent() const { return float_tensors ? 100.0 * covered / float_tensors : 100.0; }
};

// Matches the entries of `table` against the tensors of the model at `model_path`. Fails when
// the model does not load.
Result<TableCoverage> CheckCoverage(const Table& table, const std::string& model_path);

struct ValidateOptions {
  std::string sidecar_path;      // "": SidecarPathFor(table.path()), skipped when absent
  bool require_sidecar = false;  // no sidecar makes the table not valid
  double min_coverage = 0;       // percent of float tensors with an entry
};

struct TableValidation {
  bool valid = true;
  enum class Sidecar { kCurrent, kStale, kMissing };
  Sidecar sidecar = Sidecar::kMissing;
  std::string sidecar_path;
  std::string stale_reason;  // kStale: which fingerprint changed, naming both values
  TableCoverage coverage;
  bool below_min_coverage = false;
};

// Checks that `table` (read from a file) fits the model at `model_path`: its sidecar's model
// fingerprint and table fingerprint match (a stale or, with require_sidecar, a missing sidecar
// makes it not valid), and at least min_coverage % of the float tensors have an entry. A table
// that is not valid is a result, not an error. Fails when the model does not load, a sidecar
// given or present cannot be read, or the table file cannot be read again.
Result<TableValidation> ValidateTable(const Table& table, const std::string& model_path,
                                      const ValidateOptions& options = {});

// ---- inspection

struct InspectedEntry {
  std::string name;
  bool weight = false;  // a per-channel weight entry
  size_t channels = 1;
  std::string hex;    // the float32 bits of the (first) scale, as TensorRT writes them
  std::string scale;  // shortest decimals that read back to the same float
  std::string amax;   // 127 x scale, likewise
  // "zero", "inf", "nan", "denormal", "tiny", "huge", "trt-internal", in this order.
  std::vector<std::string> flags;
};

// A tensor's clipping from the sidecar: amax over the observed max|x| (1 = nothing clipped).
struct ClippedTensor {
  std::string name;
  double ratio = 0, amax = 0, absmax = 0;
  std::string amax_text, absmax_text;  // shortest decimals of amax, absmax as float32
};

struct TableInspection {
  std::vector<InspectedEntry> entries;  // in table order
  int flagged = 0;                      // entries with a flag
  // Each kind of TensorRT-internal name seen: its key ("unnamed_itensor", "unnamed_layer",
  // "onnxtrt") and a line explaining it.
  std::vector<std::pair<std::string, std::string>> name_kinds;
  // A worked example of the hex on the first non-zero activation ("example: ..."), or "".
  std::string example;
  std::string sidecar_path;
  std::vector<ClippedTensor> most_clipped;  // smallest ratio first
  std::string clipped_note;                 // why most_clipped is unknown, or ""
  std::optional<TableCoverage> coverage;    // with a model
};

struct InspectOptions {
  std::string model_path;  // "": no coverage
  int clipped = 3;         // how many of the most clipped tensors (0: none)
};

// Explains `table` entry by entry; the clipping comes from the sidecar next to table.path().
// Fails only when a model is given and does not load.
Result<TableInspection> InspectTable(const Table& table, const InspectOptions& options = {});

// ---- PyTorch scales (docs/fine-tuning.md)

struct PytorchScales {
  std::string json;          // the scales.json document
  int tensors = 0;           // activation entries written
  int with_module = 0;       // ... whose producer or a consumer has a module
  int input_quantizers = 0;  // weighted modules that get an input quantizer
};

// `table` mapped onto the modules of the PyTorch model `model_path` (an ONNX export) was exported
// from, using the table's sidecar for each tensor's observed range when it is readable. Appends
// warnings to `*warnings` (an unreadable sidecar, unmapped entries), also before a failure.
// Fails when the model cannot be read.
Result<PytorchScales> ToPytorchScales(const Table& table, const std::string& model_path,
                                      std::vector<std::string>* warnings = nullptr);

}  // namespace calib8
