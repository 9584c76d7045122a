// calib/table_files.h — a calibration's files on disk: whether an existing table can be reused,
// and writing a new table with its sidecar (sidecar first, each atomically). `calib8 calibrate`
// and the library call (calib8/calibrate.h) both go through these two functions.
#pragma once

#include <string>

#include "calib/calibrate.h"
#include "ir/graph.h"
#include "table/sidecar.h"

namespace calib8::calib {

struct ReuseCheck {
  bool exists = false;        // a table is at the path
  bool sidecar_read = false;  // ... with a sidecar beside it that could be read
  bool reusable = false;      // ... which matches model, data and method
  std::string message;        // why not (no readable sidecar; which fingerprint changed), or empty
  table::Sidecar stored;      // the sidecar read (when readable)
  std::string data_fingerprint;  // of options.data_specs, when they were hashed (pass it on to
                                 // Calibrate through CalibrateOptions::data_fingerprint)
};

// Whether the table at `table_path` was computed for this model, these data (options.data_specs,
// preprocess, max_samples) and this method with these parameters, by its sidecar. Hashes the data
// only when the table and a readable sidecar exist. Fails on a bad method or unreadable data.
Result<ReuseCheck> CheckReuse(const ir::Graph& graph, const CalibrateOptions& options,
                              const std::string& table_path);

struct TableFilesOptions {
  std::string model_file;      // recorded in the sidecar (its file name only)
  std::string trt_calibrator;  // the TensorRT header; "" = TrtAlgorithmFor(method)
  int64_t trt_version = 0;     // table::WriteOptions::trt_version
};

// Ok when `name` is a TensorRT calibrator header (TrtCalibratorNames); else an error listing them.
Status CheckTrtCalibrator(const std::string& name);

// Writes `result`'s TensorRT cache to `table_path` and its sidecar beside it (SidecarPathFor):
// the sidecar first, then the table, each to a temporary file renamed into place, so a table
// never stands beside a sidecar that does not describe it. Returns the sidecar's path.
Result<std::string> WriteTableFiles(const CalibrationResult& result, const ir::Graph& graph,
                                    const std::string& table_path,
                                    const TableFilesOptions& options);

}  // namespace calib8::calib
