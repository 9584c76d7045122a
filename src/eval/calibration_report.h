// eval/calibration_report.h — fills an eval::ReportInput from an calib::CalibrationResult.
//
// Header-only on purpose: the calib8::eval library stays free of api/stats/calib, and only the
// code that already links calib8::api (the CLI, the unit tests) pays for this include.
//   calib::CalibrationResult --CalibrationReportInput--> eval::ReportInput --RenderHtmlReport-->
//   HTML
#pragma once

#include <cstdio>
#include <string>

#include "calib/calibrate.h"
#include "data/data_source.h"
#include "eval/report.h"

namespace calib8::eval {

// `model_file` and `table_file` are shown as given (file names, not read).
inline ReportInput CalibrationReportInput(const calib::CalibrationResult& r,
                                          const std::string& model_file,
                                          const std::string& table_file) {
  ReportInput in;
  in.model = model_file;
  in.table = table_file;
  in.model_fingerprint = r.model_fingerprint;
  in.data_fingerprint = r.data_fingerprint;
  in.method = r.method.name;
  for (const auto& [k, v] : r.method.parameters) in.method_params.emplace_back(k, v);
  in.samples = r.stats.samples;
  if (!r.data_description.is_null()) in.data = data::DescriptionText(r.data_description);
  in.extra.emplace_back("histogram bins", std::to_string(r.stats.num_bins));
  char seconds[64];
  std::snprintf(seconds, sizeof seconds, "%.2f s (range) + %.2f s (histogram)", r.seconds_pass1,
                r.seconds_pass2);
  in.extra.emplace_back("time", seconds);
  if (r.stats.single_pass) in.extra.emplace_back("mode", "single pass (order-dependent)");
  in.warnings = r.warnings;
  for (const auto& tc : r.tensors) {
    ReportTensor t;
    t.name = tc.name;
    t.amax = tc.result.amax;
    if (tc.record) {
      const stats::TensorRecord& rec = *tc.record;
      t.producer = rec.producer;
      t.producer_name = rec.producer_name;
      if (rec.range.count) {
        t.min = rec.range.min;
        t.max = rec.range.max;
      }
      t.absmax = rec.range.absmax;
      if (!rec.hist.empty()) {
        t.hist = rec.hist.counts();
        t.hist_range = rec.hist.range();
      }
      if (rec.range.nonfinite) t.flags.push_back("non-finite");
    }
    if (tc.result.all_zero) t.flags.push_back("all-zero");
    if (tc.result.zero_amax) t.flags.push_back("zero-amax");
    if (t.absmax > 0 && t.amax > 0 && t.amax < 0.5 * t.absmax)
      t.flags.push_back("clips >50% of range");
    t.curve_metric = tc.result.curve_metric;
    t.curve.reserve(tc.result.curve.size());
    for (const auto& p : tc.result.curve) t.curve.push_back({p.threshold, p.value});
    in.tensors.push_back(std::move(t));
  }
  return in;
}

}  // namespace calib8::eval
