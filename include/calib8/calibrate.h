// calib8/calibrate.h — calibrate a model on data and write its TensorRT cache and calib8 sidecar.
//
//   calib8::CalibrateOptions o;
//   o.data = {"idx:t10k-images-idx3-ubyte.gz"};   // NAME=SPEC or SPEC, as `calibrate --data`
//   o.max_samples = 500;
//   auto r = calib8::Calibrate(*model, o, "net.cache");   // writes net.cache +
//   net.cache.calib8.json
//
// The defaults are the CLI's: the accuracy-first method (entropy2-floored for the symmetric cache,
// the asymmetric range search scored at the model's output for the sidecar; docs/calibration.md).
// The result does not depend on the batch size or the sample order. A table already at the path
// whose sidecar matches this model, these data and this method is reused, not recomputed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "calib8/model.h"
#include "calib8/status.h"

namespace calib8 {

// A calibration method (`calibrate --method NAME`).
struct MethodInfo {
  std::string name;
  std::string summary;  // one line, with the peer it matches
};
// Every method, in the CLI's display order, and the default one.
std::vector<MethodInfo> Methods();
std::string DefaultMethod();

struct CalibrateOptions {
  // Data sources, NAME=SPEC or SPEC (docs/data.md): FILE.npy, a TensorProto .pb, idx:FILE,
  // images:DIR, a list file ...
  std::vector<std::string> data;
  std::string preprocess;   // for images:DIR, as `--preprocess`
  int64_t max_samples = 0;  // 0: all
  int batch = 1;            // samples per inference (no effect on the result)
  int threads = 0;          // 0: all cores
  std::string method;       // "" = DefaultMethod()
  // Method parameters by name, as text, validated against the method (`calibrate --help` lists
  // them): percentile, floor_percentile, threshold, zero_bin, start_bin, asym_percentile,
  // asym_search, asym_search_at.
  std::map<std::string, std::string> params;
  std::string trt_calibrator;  // the TensorRT header; "" = the one that goes with the method
  bool force = false;          // recompute even when the table at the path is current
};

struct CalibrationSummary {
  bool reused = false;  // the table at the path was current; nothing was computed
  std::string note;     // why it was (not) reused; empty for a new path
  std::string table_path, sidecar_path;
  size_t tensors = 0;   // entries in the table
  int64_t samples = 0;  // samples the table was computed on
  std::string method;
  std::vector<std::string> warnings;  // all-zero tensors, heavy clipping, ...
};

// Runs `model` over the data (two passes: ranges, then histograms), computes every activation's
// range and writes the cache to `table_path` with its sidecar beside it, sidecar first, each
// atomically. Nothing is written on failure.
Result<CalibrationSummary> Calibrate(const Model& model, const CalibrateOptions& options,
                                     const std::string& table_path);

}  // namespace calib8
