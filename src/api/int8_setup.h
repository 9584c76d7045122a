// api/int8_setup.h — the one translation of the public Int8Options (calib8/model.h) into the
// runtime's: the table read for INT8 (sidecar ranges or symmetric s8), the lowering switches and
// the --keep-fp32 file. Session::CreateInt8, the plan and compare share it, so `run --int8`,
// `plan` and `compare` mean the same by the same options. For the api module's own sources.
#pragma once

#include <string>

#include "calib8/model.h"
#include "runtime/int8_engine.h"
#include "table/calibration_table.h"

namespace calib8::detail {

struct Int8Setup {
  table::CalibrationTable table;
  runtime::Int8Options options;  // lowering ranges (asymmetric), switches, keep_fp32, strict
  runtime::Int8TableMode mode;   // which encoding and why (one line for the user)
};

// Reads the table at `table_path` for INT8 execution with `options` (calib8/model.h). The
// lowering's table_source (how messages name the table) is "table '<table_path>'".
Result<Int8Setup> PrepareInt8(const std::string& table_path, const Int8Options& options);
// The same; `mode`, when given, gets the encoding as soon as the table is read, so that a caller
// can name it also when a later step (the --keep-fp32 file) fails.
Result<Int8Setup> PrepareInt8(const std::string& table_path, const Int8Options& options,
                              runtime::Int8TableMode* mode);

}  // namespace calib8::detail
