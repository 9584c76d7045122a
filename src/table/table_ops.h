// table/table_ops.h — what the CLI's inspect, diff and merge compute, as library calls:
// per-entry flags with explanations, a table-to-table diff sorted by how far amax moved, and a
// merge with an explicit conflict policy. All functions are pure.
#pragma once

#include <string>
#include <vector>

#include "table/calibration_table.h"

namespace calib8::table {

// Names that TensorRT or its ONNX parser made up. They depend on the order the network was
// built in and on the parser version, so they only match the same build of the same network.
enum class InternalName { kNone, kUnnamedITensor, kUnnamedLayer, kOnnxTrt };
InternalName ClassifyName(std::string_view name);
// One line saying what such a name is and why it only matches the same network build.
const char* ExplainInternalName(InternalName kind);

// Thresholds for "extreme" values (amax = 127 * scale).
inline constexpr double kTinyAmax = 1e-6;  // e.g. 2^-23 ranges, an L2-normalise epsilon
inline constexpr double kHugeAmax = 1e6;   // e.g. ~2e34 from a broken QAT export

// Flags for an entry, in a fixed order: "zero", "inf", "nan", "denormal", "tiny", "huge",
// "trt-internal". A weight entry is flagged when any channel is.
std::vector<std::string> EntryFlags(const TableEntry& entry);

struct DiffRow {
  enum class Side { kBoth, kOnlyA, kOnlyB };
  std::string name;
  Side side = Side::kBoth;
  uint32_t bits_a = 0, bits_b = 0;  // first channel for weights
  double amax_a = 0, amax_b = 0;
  double ratio = 1;          // amax_b / amax_a (largest |log| channel for weights)
  double abs_log_ratio = 0;  // |ln ratio|; +inf when one side is 0, inf or NaN and the other not
};
struct DiffResult {
  std::vector<DiffRow> rows;  // both (by |log ratio|, largest first), then only-in-A, only-in-B
  int in_both = 0, only_a = 0, only_b = 0, identical = 0;
  double max_abs_log_ratio = 0;
  double median_ratio = 1;  // over entries in both whose ratio is finite
};
DiffResult DiffTables(const CalibrationTable& a, const CalibrationTable& b);

enum class ConflictPolicy { kFirst, kLast, kMax, kError };
Result<ConflictPolicy> ParseConflictPolicy(std::string_view name);  // first|last|max|error

struct NamedTable {
  std::string name;  // the file, for messages
  CalibrationTable table;
};
struct MergeReport {
  int conflicts = 0;               // same name, different bits
  std::vector<std::string> notes;  // one line per conflict resolved, header differences
};
// Entries keep first-seen order. The header is the first table's. kError fails on the first
// conflict and names both files, both values and the policies that would resolve it.
Result<CalibrationTable> MergeTables(const std::vector<NamedTable>& inputs, ConflictPolicy policy,
                                     MergeReport* report = nullptr);

}  // namespace calib8::table
