// table/fingerprint.h — what a calibration table was computed from, as short stable digests.
//
// A TensorRT cache is only valid for the network and calibration set it came from, and TensorRT
// leaves noticing a change to the application. calib8 records these two digests in the sidecar
// (table/sidecar.h) and compares them before reusing a table.
//
// Model fingerprint: XXH3-64 over the graph *as calib8 imported it* (not the file bytes), so
// re-saving the same model — other producer string, doc strings, field order, node names —
// keeps it, while any change to an op, an attribute, a tensor name, a shape or a weight byte
// changes it. Written "xxh3-64:0123456789abcdef".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ir/graph.h"

namespace calib8::table {

// Covered: opsets; graph inputs and outputs (name, dtype, dims); every node in order (op type,
// domain, input and output names, attributes by name with their values); initializers sorted by
// name (name, dtype, shape, raw bytes). Not covered: graph and node names, doc strings, metadata,
// value_info (inferred, not part of the computation). Thread-safe (pure function).
std::string ModelFingerprint(const ir::Graph& graph);

// Streaming digest of a calibration set: each sample's name and bytes in the order they were
// read, plus a description of the preprocessing (resize, mean/std, layout...), so the same files
// read another way give another fingerprint. Not thread-safe; one builder per thread.
class DataFingerprintBuilder {
 public:
  DataFingerprintBuilder();
  ~DataFingerprintBuilder();
  DataFingerprintBuilder(const DataFingerprintBuilder&) = delete;
  DataFingerprintBuilder& operator=(const DataFingerprintBuilder&) = delete;

  void AddSample(std::string_view name, std::string_view bytes);
  void SetPreprocessing(std::string_view description);
  int64_t num_samples() const { return num_samples_; }
  // "xxh3-64:..."; the builder can keep going after this.
  std::string Digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::string preprocessing_;
  int64_t num_samples_ = 0;
};

// XXH3-64 of arbitrary bytes, written "xxh3-64:<16 hex digits>" (used for table files too).
std::string BytesFingerprint(std::string_view bytes);

}  // namespace calib8::table
