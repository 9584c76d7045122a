// api/int8_setup.cc — public Int8Options -> runtime::Int8Options (api/int8_setup.h).
#include "api/int8_setup.h"

#include "quant/lowering.h"

namespace calib8::detail {

Result<Int8Setup> PrepareInt8(const std::string& table_path, const Int8Options& options) {
  return PrepareInt8(table_path, options, nullptr);
}

Result<Int8Setup> PrepareInt8(const std::string& table_path, const Int8Options& options,
                              runtime::Int8TableMode* mode) {
  Int8Setup s;
  CALIB8_ASSIGN_OR_RETURN(
      s.table, runtime::LoadInt8Table(table_path, options.symmetric, &s.options, &s.mode));
  // TensorRT mode runs every layer the table covers in INT8 (runtime::SetSpeedRule; docs/int8.md,
  // rule 6).
  if (!s.mode.asymmetric)
    s.mode.note += "; every layer the table covers runs INT8, as in TensorRT (no CPU speed rule)";
  if (mode) *mode = s.mode;
  s.options.strict = options.strict;
  quant::LoweringOptions& lo = s.options.lowering;
  lo.unsigned_activations = options.unsigned_activations;
  lo.nhwc = !options.nchw;
  lo.table_source = "table '" + table_path + "'";
  runtime::SetSpeedRule(&s.options, options.int8_all);
  if (!options.keep_fp32_file.empty()) {
    CALIB8_ASSIGN_OR_RETURN(lo.keep_fp32, quant::ReadKeepFp32File(options.keep_fp32_file));
  }
  return s;
}

}  // namespace calib8::detail
