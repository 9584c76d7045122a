// calib8/table.h — calibration tables in every format calib8 reads: TensorRT caches (any
// version, byte-exact on rewrite), calib8 JSON, ncnn, sampleINT8API ranges, ONNX Runtime's
// calibration.json/.cache/.flatbuffers (docs/table-format.md).
//
//   auto t = calib8::Table::Read("net.cache");            // format detected from the content
//   for (const auto& e : t->entries()) std::cout << e.name << " amax " << e.amax() << "\n";
//   t->Write("net.json", calib8::TableFormat::kCalib8Json);
//
// A table is a value: cheap to copy (copies share the entries), immutable.
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

struct TableEntryInfo {
  std::string name;
  bool weight = false;        // a per-channel weight entry (ncnn); else an activation
  std::vector<float> scales;  // one for an activation; one per output channel for a weight
  int line = 0;               // 1-based line in the file read, 0 if none
  float scale() const { return scales.empty() ? 0.0f : scales.front(); }
  float amax() const { return 127.0f * scale(); }  // the symmetric clipping threshold
};

class Table {
 public:
  // Reads any format calib8 reads, detected from the content (and, for the ambiguous
  // `name value` text formats, the file name). Errors name the file and the line.
  static Result<Table> Read(const std::string& path);

  TableFormat format() const;  // of the file read
  // The TensorRT header the table carries, e.g. "TRT-8601-EntropyCalibration2" (a calib8 JSON
  // table keeps the one of the cache it came from); "" when it has none.
  std::string header() const;
  size_t size() const;
  std::vector<TableEntryInfo> entries() const;  // in file order
  // The scale of activation `tensor`, or nothing when the table has no entry for it.
  std::optional<float> Scale(const std::string& tensor) const;

  // Writes the table in `format` (trt, json, ncnn or range) to a temporary file renamed into
  // place. Written back in its own format, a TensorRT cache is the same bytes.
  Status Write(const std::string& path, TableFormat format) const;

 private:
  friend struct detail::Access;
  Table() = default;
  std::shared_ptr<const detail::TableImpl> impl_;
};

}  // namespace calib8
