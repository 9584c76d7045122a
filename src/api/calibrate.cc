// api/calibrate.cc — calib8::Calibrate (include/calib8/calibrate.h) over the calib module: the
// reuse check, the calibration driver and the table + sidecar writer `calib8 calibrate` uses.
#include "calib8/calibrate.h"

#include "api/access.h"
#include "calib/calibrate.h"
#include "calib/calibrator.h"
#include "calib/table_files.h"

namespace calib8 {

std::vector<MethodInfo> Methods() {
  std::vector<MethodInfo> out;
  for (const auto& c : calib::Calibrators())
    out.push_back({std::string(c.name), std::string(c.summary)});
  return out;
}

std::string DefaultMethod() { return std::string(calib::kDefaultMethod); }

Result<CalibrationSummary> Calibrate(const Model& model, const CalibrateOptions& options,
                                     const std::string& table_path) {
  const ir::Graph& graph = detail::Access::GraphOf(model);
  calib::CalibrateOptions o;
  o.data_specs = options.data;
  o.preprocess = options.preprocess;
  o.max_samples = options.max_samples;
  o.batch = options.batch;
  o.threads = options.threads;
  if (!options.method.empty()) o.method = options.method;
  o.params = options.params;
  if (options.data.empty())
    return InvalidArgument("calibrate '", model.path(),
                           "': no data: CalibrateOptions::data is empty");

  if (!options.trt_calibrator.empty())
    CALIB8_RETURN_IF_ERROR(
        calib::CheckTrtCalibrator(options.trt_calibrator).WithContext("trt_calibrator"));
  CalibrationSummary summary;
  summary.table_path = table_path;
  if (!options.force) {
    CALIB8_ASSIGN_OR_RETURN(calib::ReuseCheck check, calib::CheckReuse(graph, o, table_path));
    summary.note = check.message;
    if (check.reusable) {
      summary.reused = true;
      summary.sidecar_path = table::SidecarPathFor(table_path);
      summary.tensors = check.stored.tensors.size();
      summary.samples = check.stored.data.num_samples;
      summary.method = check.stored.method.name;
      return summary;
    }
    o.data_fingerprint = check.data_fingerprint;
  }
  auto r = calib::Calibrate(graph, o);
  if (!r.ok()) return r.status().WithContext("calibrate '" + model.path() + "'");
  calib::TableFilesOptions fo;
  fo.model_file = model.path();
  fo.trt_calibrator = options.trt_calibrator;
  CALIB8_ASSIGN_OR_RETURN(summary.sidecar_path, calib::WriteTableFiles(*r, graph, table_path, fo));
  summary.tensors = r->tensors.size();
  summary.samples = r->stats.samples;
  summary.method = r->method.name;
  summary.warnings = r->warnings;
  if (!r->clip_warning.empty()) summary.warnings.push_back(r->clip_warning);
  return summary;
}

}  // namespace calib8
