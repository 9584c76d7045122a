// table/calibration_table.h — a calibration table held without losing a bit, and its codecs.
//
// Numerical contract (R2). An entry's value is a *scale* kept as the exact IEEE-754 float32 bit
// pattern TensorRT writes in its cache:
//
//     scale = amax / 127            dynamic range = [-amax, +amax] = [-127*scale, +127*scale]
//     ncnn multiplier = 127 / amax = 1 / scale      ONNX Q/DQ: y_scale = scale, zero_point = 0
//
// Example: bits 3c010a14 -> scale 0.0078759 -> amax 1.0002.
//
//   float32 bits:  s eeeeeeee mmmmmmmmmmmmmmmmmmmmmmm
//                  31 30   23 22                    0
//
// Formats that store decimals (ncnn, sampleINT8API ranges, ONNX Runtime) are converted to the
// nearest float32 scale once, when read; the decimal text is kept beside the bits so that writing
// the same format again reproduces it. Every reader reports problems as
//   "table 'x.cache': line 7: tensor 'conv1_out': expected up to 8 hex digits, got '3c01zz'"
// and never throws. Tables are plain values: copy freely, no shared state, thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "calib8/status.h"

namespace calib8::table {

// The formats, one list (R5). Names are what --from/--to accept and what calib8 JSON persists.
#define CALIB8_TABLE_FORMATS(X)                               \
  X(kTensorRt, "trt", "TensorRT calibration cache")           \
  X(kCalib8Json, "json", "calib8 JSON table")                 \
  X(kNcnn, "ncnn", "ncnn int8 scale table")                   \
  X(kRange, "range", "sampleINT8API dynamic-range file")      \
  X(kOrtJson, "ort-json", "ONNX Runtime calibration.json")    \
  X(kOrtCache, "ort-cache", "ONNX Runtime calibration.cache") \
  X(kOrtFlatBuffers, "ort-flatbuffers", "ONNX Runtime calibration.flatbuffers")

enum class TableFormat {
#define CALIB8_X(id, name, title) id,
  CALIB8_TABLE_FORMATS(CALIB8_X)
#undef CALIB8_X
};

const char* FormatName(TableFormat f);   // "trt"
const char* FormatTitle(TableFormat f);  // "TensorRT calibration cache"
Result<TableFormat> ParseFormatName(std::string_view name);
// Formats calib8 can write (the others are read only).
bool CanWrite(TableFormat f);
// False when calib8 was built without FlatBuffers: calibration.flatbuffers is then refused.
bool CanReadOrtFlatBuffers();

// What the file says about who wrote it. For TensorRT: `TRT-8601-EntropyCalibration2` gives
// writer_version 8601 and algorithm "EntropyCalibration2"; the old header `1` gives legacy_header.
struct TableHeader {
  TableFormat source_format = TableFormat::kTensorRt;
  std::string raw;             // the header line as read ("" for headerless formats)
  int64_t writer_version = 0;  // TensorRT's NV_TENSORRT_VERSION number; 0 = unknown
  std::string algorithm;       // "EntropyCalibration2", "MinMaxCalibration", ... or ""
  bool legacy_header = false;  // TensorRT <= 5.0 header `1` (entropy calibrator v1)
};

// "8.6.1" for 8601, "10.12.0" for 101200 (the numbering changed at TensorRT 10).
std::string DecodeTrtVersion(int64_t n);
// The algorithms TensorRT's CalibrationAlgoType names.
bool IsKnownTrtAlgorithm(std::string_view algorithm);

enum class EntryKind { kActivation, kWeight };

struct TableEntry {
  std::string name;
  EntryKind kind = EntryKind::kActivation;
  // One scale for an activation; one per output channel for a weight (ncnn `<layer>_param_0`).
  std::vector<uint32_t> scale_bits;
  // The decimals exactly as the source file spelt them (one per scale), and the format they
  // belong to; empty when the value came from bits (TensorRT, calib8 JSON) or was changed.
  std::vector<std::string> source_text;
  TableFormat source_format = TableFormat::kTensorRt;
  int line = 0;  // 1-based line in the source file, 0 if none

  uint32_t bits() const { return scale_bits.empty() ? 0u : scale_bits.front(); }
  float scale() const;
  float amax() const { return 127.0f * scale(); }
};

class CalibrationTable {
 public:
  TableHeader header;

  const std::vector<TableEntry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  // Index of `name`, or -1. O(1): a hash index over the names (issue 16: tables of hundreds of
  // thousands of entries parse in linear time).
  int Find(std::string_view name) const;
  // Appends (or replaces, keeping the position, when the name exists).
  void Put(TableEntry entry);
  // Room for `n` entries (a reader that knows its line count: no rehashing or moves on the way).
  void Reserve(size_t n);
  // Sets an activation scale from bits; forgets source text.
  void SetScaleBits(std::string_view name, uint32_t bits);

 private:
  // The name index: open addressing with linear probing over entry positions. A slot holds the
  // name's hash and position + 1 (0: empty), so a lookup touches one slot per probe, compares
  // names only when the hashes match, and the index holds no copy of any name.
  // 8 bytes: 32 bits of the hash, and a position (a table of 2^32 entries would need a 20 GB
  // file and hundreds of GB of entries, far beyond docs/limits.md).
  struct Slot {
    uint32_t hash = 0;
    uint32_t position_plus_1 = 0;
  };
  // The slot that holds `name`, or the empty slot where it would go.
  size_t Probe(std::string_view name, uint32_t hash) const;
  void Append(TableEntry entry, size_t slot, uint32_t hash);
  void Rehash(size_t min_slots);

  std::vector<TableEntry> entries_;
  std::vector<Slot> slots_;  // size 0 or a power of two, at most half full
};

float BitsToFloat(uint32_t bits);
uint32_t FloatToBits(float f);
// Lowercase unpadded hex, as TensorRT writes: 0 -> "0", 0x3c010a14 -> "3c010a14".
std::string HexBits(uint32_t bits);
// Shortest decimal that reads back to the same float (std::to_chars); "inf", "nan" otherwise.
std::string ShortestDecimal(float f);
std::string ShortestDecimal(double d);
// The float32 scale nearest to `amax / 127` (computed in double, rounded once).
uint32_t ScaleBitsFromAmax(double amax);
// The float32 scale nearest to `1 / multiplier` (ncnn).
uint32_t ScaleBitsFromMultiplier(double multiplier);
bool BitsAreNan(uint32_t bits);
bool BitsAreNegative(uint32_t bits);  // sign bit set (includes -0)

// How readers treat recoverable problems.
struct ReadOptions {
  // Duplicates (the later value wins) and NaN scales become warnings instead of errors.
  bool lenient = false;
};

// Problems a lenient read went past, and notes on non-canonical input.
struct ReadReport {
  std::vector<std::string> warnings;
  std::vector<std::string> notes;
};

struct WriteOptions {
  // TensorRT header. writer_version 0 keeps the table's own TensorRT header when it has one, else
  // uses kDefaultTrtVersion. A writer_version of 1 writes the legacy header `1`.
  int64_t trt_version = 0;
  std::string algorithm;  // "" keeps the table's algorithm, else EntropyCalibration2
};
inline constexpr int64_t kDefaultTrtVersion = 8601;

struct WriteReport {
  std::vector<std::string> warnings;  // e.g. weight lines a TensorRT cache cannot hold
};

// Picks the format from the content (and, for the ambiguous `name value` text, the file name).
Result<TableFormat> DetectFormat(std::string_view bytes, std::string_view file_name);

// Parses `bytes`. `file_name` is only used in messages and for format detection.
Result<CalibrationTable> ParseTable(std::string_view bytes, std::string_view file_name,
                                    TableFormat format, const ReadOptions& options = {},
                                    ReadReport* report = nullptr);
Result<std::string> SerializeTable(const CalibrationTable& table, TableFormat format,
                                   const WriteOptions& options = {}, WriteReport* report = nullptr);

// File helpers: read (detecting the format unless given; `*detected`, when given, receives the
// format the file was parsed as) and write atomically.
Result<CalibrationTable> ReadTableFile(const std::string& path, const TableFormat* format,
                                       const ReadOptions& options = {},
                                       ReadReport* report = nullptr,
                                       TableFormat* detected = nullptr);
Status WriteTableFile(const CalibrationTable& table, const std::string& path, TableFormat format,
                      const WriteOptions& options = {}, WriteReport* report = nullptr);

}  // namespace calib8::table
