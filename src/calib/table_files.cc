// calib/table_files.cc — reuse check and table + sidecar writing (calib/table_files.h).
#include "calib/table_files.h"

#include <filesystem>

#include "core/file_util.h"
#include "runtime/engine.h"
#include "table/calibration_table.h"
#include "table/fingerprint.h"

namespace calib8::calib {

Result<ReuseCheck> CheckReuse(const ir::Graph& graph, const CalibrateOptions& options,
                              const std::string& table_path) {
  ReuseCheck check;
  if (!std::filesystem::exists(table_path)) return check;
  check.exists = true;
  table::MethodSpec spec;
  auto params = options.params;
  params["num_bins"] = std::to_string(options.num_bins);
  CALIB8_RETURN_IF_ERROR(MethodOptions(options.method, params, &spec).status());
  auto stored = table::ReadSidecarFile(table::SidecarPathFor(table_path));
  if (!stored.ok()) {
    check.message = "has no readable sidecar (" + stored.status().message() + ")";
    return check;
  }
  check.sidecar_read = true;
  check.stored = std::move(stored).value();
  data::OpenOptions oo = runtime::DataOptionsFor(graph, options.preprocess, options.max_samples);
  CALIB8_ASSIGN_OR_RETURN(data::MultiInputData d,
                          data::MultiInputData::Open(options.data_specs, oo));
  CALIB8_ASSIGN_OR_RETURN(check.data_fingerprint, d.Fingerprint(options.hashing_progress));
  table::ReuseQuery q;
  q.model_fingerprint = table::ModelFingerprint(graph);
  q.data_fingerprint = check.data_fingerprint;
  q.method = &spec;
  auto bytes = core::ReadFile(table_path, "table");
  if (bytes.ok()) q.table_fingerprint = table::BytesFingerprint(*bytes);
  table::ReuseDecision decision = table::DecideReuse(check.stored, q);
  check.reusable = decision.reusable;
  check.message = decision.Reason();
  return check;
}

Status CheckTrtCalibrator(const std::string& name) {
  std::string names;
  for (const auto& n : TrtCalibratorNames()) {
    if (n == name) return Status::Ok();
    names += (names.empty() ? "" : ", ") + n;
  }
  return InvalidArgument("'", name, "' is not a TensorRT calibrator: expected one of ", names);
}

Result<std::string> WriteTableFiles(const CalibrationResult& result, const ir::Graph& graph,
                                    const std::string& table_path,
                                    const TableFilesOptions& options) {
  namespace fs = std::filesystem;
  table::CalibrationTable t =
      MakeTable(result, options.trt_calibrator.empty() ? TrtAlgorithmFor(result.method.name)
                                                       : options.trt_calibrator);
  table::WriteOptions wo;
  wo.trt_version = options.trt_version;
  CALIB8_ASSIGN_OR_RETURN(std::string bytes,
                          table::SerializeTable(t, table::TableFormat::kTensorRt, wo));
  table::Sidecar sc = MakeSidecar(result, graph, fs::path(options.model_file).filename().string(),
                                  fs::path(table_path).filename().string(), bytes);
  const std::string sidecar_path = table::SidecarPathFor(table_path);
  CALIB8_RETURN_IF_ERROR(table::WriteSidecarFile(sidecar_path, sc));
  CALIB8_RETURN_IF_ERROR(core::WriteFileAtomic(table_path, bytes));
  return sidecar_path;
}

}  // namespace calib8::calib
