// eval/report.h — the self-contained HTML report of `calib8 calibrate --report` (and, later,
// `calib8 compare --report`).
//
// One file, inline CSS and inline SVG, no script and nothing fetched: it opens offline and in a
// mail attachment viewer. Sections (docs/report.md):
//   summary       model, method and parameters, samples, fingerprints, warnings
//   tensors       name, producer op, min, max, absmax, amax, amax/absmax, flags
//   layer errors  per-layer SQNR bar chart + table (compare; omitted when `layers` is empty)
//   fallbacks     nodes that stay FP32 and why (compare/plan; omitted when `fallbacks` is empty)
//   plots         per tensor: |x| histogram (log counts, downsampled to <= max_plot_points) with
//                 the chosen amax marked, and the method's curve (KL or MSE against threshold)
// Every piece of text is HTML-escaped (tensor names contain <, >, &, quotes). The input is plain
// data so that the eval module depends on nothing but core; eval/calibration_report.h fills it
// from a calib::CalibrationResult.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace calib8::eval {

struct ReportPoint {
  double x = 0, y = 0;
};

struct ReportTensor {
  std::string name;
  std::string producer;       // op type ("" for a graph input)
  std::string producer_name;  // node name
  double min = 0, max = 0, absmax = 0;
  double amax = 0;
  std::vector<std::string> flags;  // e.g. "all-zero", "zero-amax", "clipped"
  // |x| histogram: counts of num_bins equal bins on [0, hist_range]; empty: no plot of counts.
  std::vector<double> hist;
  double hist_range = 0;
  // The method's search curve (x = threshold, y = KL or MSE); empty when the method has none.
  std::string curve_metric;  // "kl" or "mse"
  std::vector<ReportPoint> curve;
};

// One row of the per-layer error section (filled by `calib8 compare`).
struct LayerError {
  std::string name;
  double sqnr_db = 0;
  double cosine = 0;
  double saturation = 0;  // fraction in [0, 1]; NaN if unknown
};

// One node that stays FP32 in the INT8 plan, and why (filled by `calib8 compare` / plan).
struct Fallback {
  std::string node;
  std::string op;
  std::string precision;  // "fp32", "int8", ...
  std::string reason;
};

struct ReportInput {
  std::string title = "calib8 calibration report";
  std::string model;  // file name
  std::string model_fingerprint;
  std::string table;  // file name of the table written
  std::string method;
  std::vector<std::pair<std::string, std::string>> method_params;
  int64_t samples = 0;
  std::string data;  // what the samples were (source, preprocessing)
  std::string data_fingerprint;
  // Further summary rows (tool version, timings, outputs' top-1 agreement, ...), in order.
  std::vector<std::pair<std::string, std::string>> extra;
  std::vector<std::string> warnings;
  std::vector<ReportTensor> tensors;
  // Shown when the section is empty or incomplete: why, and how to get what is missing (one or
  // two sentences, e.g. "The sidecar stores no histograms: ... --save-stats ... --stats").
  std::string tensors_note;
  std::string plots_note;
  std::vector<LayerError> layers;
  std::vector<Fallback> fallbacks;
  // Shown (with the section) when `fallbacks` is empty, e.g. "All 7 nodes run INT8."; empty: the
  // section is omitted.
  std::string fallbacks_note;
};

struct ReportOptions {
  int max_plot_points = 256;  // histogram and curve points per plot after downsampling
};

// The whole HTML document.
std::string RenderHtmlReport(const ReportInput& input, const ReportOptions& options = {});

// Text -> HTML text or attribute value (& < > " ' escaped; invalid UTF-8 bytes become U+FFFD).
std::string HtmlEscape(std::string_view text);

// Sums `counts` into at most `max_points` groups of consecutive bins (the last may be shorter);
// returns each group's total. Totals are preserved exactly.
std::vector<double> DownsampleCounts(const std::vector<double>& counts, int max_points);

}  // namespace calib8::eval
