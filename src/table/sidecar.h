// table/sidecar.h — the JSON sidecar written next to every calib8 table, and the decision whether
// a stored table may be reused.
//
// TensorRT reuses a calibration cache whenever its header matches, even when the network or the
// calibration images changed. calib8 records what the table was computed from (model and data
// fingerprints, method and every parameter, per-tensor statistics, weight scales) in
// `<table>.calib8.json` (schema: docs/table-sidecar.schema.json) and refuses silent reuse.
// All functions are pure or touch only the named file; values are plain and copyable.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "calib8/status.h"

namespace calib8::table {

class CalibrationTable;

inline constexpr int kSidecarFormatVersion = 1;

struct MethodSpec {
  std::string name;                               // "entropy", "percentile", "minmax", ...
  std::map<std::string, std::string> parameters;  // every parameter, value as canonical text
  bool operator==(const MethodSpec&) const = default;
};

struct DataProvenance {
  std::string fingerprint;  // DataFingerprintBuilder::Digest()
  int64_t num_samples = 0;
  std::string preprocessing;  // how the samples were turned into tensors
  std::string source;         // the folder or list the samples came from (informational)
};

struct TensorStatistics {
  std::string name;
  double min = 0, max = 0, absmax = 0;
  float amax = 0;                  // the chosen clipping value; the table's scale is amax / 127
  int64_t sample_count = 0;        // values observed
  std::vector<int64_t> histogram;  // optional, bins over [-histogram_range, +histogram_range]
  double histogram_range = 0;
  // The asymmetric range [lo, hi] (lo <= 0 <= hi) chosen for 8-bit activations with a zero point
  // (quant/quant_params.h, AsymmetricParams). Absent (has_range false) in sidecars written before
  // it existed and for tensors that were not calibrated asymmetrically; JSON key "asym".
  bool has_range = false;
  float lo = 0, hi = 0;
};

struct WeightScales {
  std::string name;  // the initializer
  int64_t axis = 0;  // output-channel axis
  std::vector<float> scales;
};

struct Sidecar {
  std::string calib8_version;
  std::string table_file;         // the table's file name, as written
  std::string table_fingerprint;  // BytesFingerprint of the table file's bytes
  MethodSpec method;
  std::string model_file;         // informational
  std::string model_fingerprint;  // ModelFingerprint
  DataProvenance data;
  std::vector<TensorStatistics> tensors;
  std::vector<WeightScales> weights;
};

// "<table path>.calib8.json".
std::string SidecarPathFor(const std::string& table_path);

Result<Sidecar> ParseSidecar(std::string_view bytes, std::string_view file_name);
std::string SerializeSidecar(const Sidecar& sidecar);
Result<Sidecar> ReadSidecarFile(const std::string& path);
Status WriteSidecarFile(const std::string& path, const Sidecar& sidecar);  // atomic

// The sidecar next to `table_path` when it was written for exactly these table bytes (its
// table_fingerprint matches); std::nullopt with `*why` saying why not (no sidecar, other bytes).
// A sidecar that exists but cannot be parsed is an error naming it.
Result<std::optional<Sidecar>> ReadCurrentSidecar(const std::string& table_path,
                                                  std::string_view table_bytes, std::string* why);
struct SidecarPart {
  std::string table_path;
  const CalibrationTable* table = nullptr;  // the part's own table (as read)
  Sidecar sidecar;                          // its current sidecar
};
// The sidecar of `merged` (calib8 merge of the parts' tables): per tensor, the record of the first
// part whose own entry has the merged entry's scale bits (so a conflict resolved by --on-conflict
// keeps the statistics of the value that won), then the parts' other records and weight scales
// (first wins); the method and data provenance when every part agrees, else method "merged"
// (parameters part1, part2, ...: each part's method) and no data fingerprint. table_file,
// table_fingerprint and the model fields are left to the caller (they belong to the output).
Sidecar MergeSidecars(const std::vector<SidecarPart>& parts, const CalibrationTable& merged);

// What the caller has now. Empty strings / null mean "not known, do not check".
struct ReuseQuery {
  std::string model_fingerprint;
  std::string data_fingerprint;
  const MethodSpec* method = nullptr;
  std::string table_fingerprint;  // of the table bytes about to be reused
};

struct ReuseDecision {
  bool reusable = true;
  std::vector<std::string> reasons;  // one line per mismatch; empty when reusable
  std::string Reason() const;        // reasons joined with "; "
};

// Reusable only when every known fingerprint, the method and its parameters all match. Each
// mismatch gives a reason naming both values, e.g. "model changed: table computed for
// xxh3-64:1111..., this model is xxh3-64:2222...".
ReuseDecision DecideReuse(const Sidecar& stored, const ReuseQuery& query);

}  // namespace calib8::table
