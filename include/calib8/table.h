// calib8/table.h — calibration tables in every format calib8 reads: TensorRT caches (any
// version, byte-exact on rewrite), calib8 JSON, ncnn, sampleINT8API ranges, ONNX Runtime's
// calibration.json/.cache/.flatbuffers (docs/table-format.md).
//
//   auto t = calib8::Table::Read("net.cache");            // format detected from the content
//   for (const auto& e : t->entries()) std::cout << e.name << " amax " << e.amax() << "\n";
//   t->Write("net.json", calib8::TableFormat::kCalib8Json);
//
//   calib8::TableReadOptions ro;                            // an ncnn file, past its problems
//   ro.format = calib8::TableFormat::kNcnn;
//   ro.lenient = true;
//   std::vector<std::string> warnings;
//   auto n = calib8::Table::Read("net.table", ro, &warnings);
//
// A table is a value: cheap to copy (copies share the entries), immutable. The table tools
// (diff, merge, validation against a model, inspection) are in calib8/table_tools.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "calib8/status.h"

namespace calib8 {

namespace detail {
struct TableImpl;
struct Access;
}  // namespace detail

enum class TableFormat {
  kTensorRt,        // TensorRT calibration cache ("trt")
  kCalib8Json,      // calib8 JSON table ("json")
  kNcnn,            // ncnn int8 scale table ("ncnn"; multipliers, 1 / scale)
  kRange,           // sampleINT8API dynamic-range file ("range")
  kOrtJson,         // ONNX Runtime calibration.json (read only)
  kOrtCache,        // ONNX Runtime calibration.cache (read only)
  kOrtFlatBuffers,  // ONNX Runtime calibration.flatbuffers (read only)
};
// The name `calib8 convert --to` takes ("trt", "json", ...).
std::string FormatName(TableFormat format);
// The format named `name` ("trt", "json", "ncnn", "range", "ort-json", "ort-cache",
// "ort-flatbuffers"); fails with InvalidArgument listing the names.
Result<TableFormat> ParseFormatName(const std::string& name);
// "TensorRT calibration cache", "calib8 JSON table", ...
std::string FormatTitle(TableFormat format);
// Whether Table::Write writes `format` (trt, json, ncnn, range; the ONNX Runtime ones are read
// only).
bool CanWrite(TableFormat format);

struct TableEntryInfo {
  std::string name;
  bool weight = false;        // a per-channel weight entry (ncnn); else an activation
  std::vector<float> scales;  // one for an activation; one per output channel for a weight
  int line = 0;               // 1-based line in the file read, 0 if none
  float scale() const { return scales.empty() ? 0.0f : scales.front(); }
  float amax() const { return 127.0f * scale(); }  // the symmetric clipping threshold
};

// What the table's header says about who wrote it. For `TRT-8601-EntropyCalibration2`:
// writer_version 8601, tensorrt "8.6.1", algorithm "EntropyCalibration2".
struct TableHeaderInfo {
  // The format the header comes from: the file's own, except for a calib8 JSON table, which
  // keeps the one of the table it was converted from.
  TableFormat source_format = TableFormat::kTensorRt;
  std::string raw;             // the header line ("" for headerless formats)
  int64_t writer_version = 0;  // TensorRT's NV_TENSORRT_VERSION number; 0 = unknown
  std::string tensorrt;        // writer_version as a release, "8.6.1", "10.12.0"
  std::string algorithm;       // "EntropyCalibration2", "MinMaxCalibration", ... or ""
  bool legacy_header = false;  // TensorRT <= 5.0 header `1` (entropy calibrator v1)
};

struct TableReadOptions {
  std::optional<TableFormat> format;  // the file's format; unset: detected
  // Go on past duplicate names (the later wins), NaN scales, blank lines and unknown
  // algorithms, each reported as a warning instead of an error.
  bool lenient = false;
};

struct TableWriteOptions {
  // TensorRT header version, e.g. 8601 or 101200; 1 writes the legacy header `1`. 0 keeps the
  // table's own TensorRT header, else 8601.
  int64_t trt_version = 0;
  std::string algorithm;  // TensorRT header algorithm; "" keeps the table's, else
                          // EntropyCalibration2
};

class Table {
 public:
  // Reads any format calib8 reads, detected from the content (and, for the ambiguous
  // `name value` text formats, the file name) unless `options.format` names it. Appends to
  // `*warnings` what a lenient read went past, also those found before a failure. Errors name
  // the file and the line.
  static Result<Table> Read(const std::string& path, const TableReadOptions& options = {},
                            std::vector<std::string>* warnings = nullptr);

  TableFormat format() const;       // of the file read
  const std::string& path() const;  // the file read; "" for a table made in memory
  // The TensorRT header the table carries, e.g. "TRT-8601-EntropyCalibration2" (a calib8 JSON
  // table keeps the one of the cache it came from); "" when it has none.
  std::string header() const;
  TableHeaderInfo header_info() const;
  size_t size() const;
  std::vector<TableEntryInfo> entries() const;  // in file order
  // The scale of activation `tensor`, or nothing when the table has no entry for it.
  std::optional<float> Scale(const std::string& tensor) const;

  // Writes the table in `format` (trt, json, ncnn or range) to a temporary file renamed into
  // place; on failure `path` is left as it was. Written back in its own format, a TensorRT cache
  // is the same bytes. Appends to `*warnings` what the format cannot hold (e.g. ncnn weight
  // entries in a TensorRT cache). Fails for a read-only format and for names or values the
  // format cannot write.
  Status Write(const std::string& path, TableFormat format, const TableWriteOptions& options = {},
               std::vector<std::string>* warnings = nullptr) const;

 private:
  friend struct detail::Access;
  Table() = default;
  std::shared_ptr<const detail::TableImpl> impl_;
  std::string path_;  // set by Read
};

}  // namespace calib8
