// eval/compare_report.h — fills an eval::ReportInput for `calib8 compare --report`.
//
// Header-only like calibration_report.h (the eval library stays free of api/stats/table). What
// goes where:
//   summary      model, table, the compared data (DescriptionText), outputs (SQNR, top-1
//                agreement, FP32/INT8 accuracy), the calibration method, data and fingerprints
//                from the table's sidecar
//   tensors      the sidecar's per-tensor min/max/absmax/amax; without a sidecar the table's amax
//                only, and a note saying why
//   layers, fallbacks   the CompareResult
//   plots        histograms (and the method's curve) when statistics exist: a stats file of
//                `calibrate --save-stats` (CompareReportSources::stats, recomputed with the
//                sidecar's method), or histograms stored in the sidecar; otherwise a note on how
//                to get them
#pragma once

#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "calib/calibrate.h"
#include "data/data_source.h"
#include "eval/calibration_report.h"
#include "eval/compare.h"
#include "eval/report.h"
#include "ir/graph.h"
#include "table/calibration_table.h"
#include "table/sidecar.h"

namespace calib8::eval {

struct CompareReportSources {
  std::string model_file;  // as shown
  std::string table_file;
  const ir::Graph* graph = nullptr;
  const table::CalibrationTable* table = nullptr;
  const table::Sidecar* sidecar = nullptr;  // null: none next to the table (or unreadable)
  std::string sidecar_path;                 // where it was looked for
  std::string sidecar_problem;              // why it could not be read ("" when absent or fine)
  const calib::CalibrationResult* stats = nullptr;  // from a --stats file: histograms and curves
  std::string stats_path;
  nlohmann::json data_description;  // the compared data (MultiInputData::Describe)
};

inline std::string ReportPercent(double fraction) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * fraction);
  return b;
}

inline std::string ReportDb(double db) {
  if (std::isinf(db)) return db > 0 ? "+inf dB" : "-inf dB";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f dB", db);
  return b;
}

// |x| histogram from a signed one (bins over [-range, +range], an even count): bin i of the
// result holds the two bins at distance i from 0.
inline std::vector<double> FoldSignedHistogram(const std::vector<int64_t>& h) {
  std::vector<double> out;
  if (h.empty() || h.size() % 2) return out;
  const size_t half = h.size() / 2;
  out.resize(half);
  for (size_t i = 0; i < half; ++i)
    out[i] = static_cast<double>(h[half + i]) + static_cast<double>(h[half - 1 - i]);
  return out;
}

namespace compare_report_internal {

// Summary lines: each output's SQNR (and top-1 agreement, accuracy), the size of the INT8 plan.
inline void AddOutputLines(const eval::CompareResult& r, ReportInput& in) {
  for (const auto& out : r.outputs) {
    std::string v = "SQNR " + ReportDb(out.metrics.sqnr_db);
    if (out.classifier) {
      v += ", top-1 agreement " + ReportPercent(out.classes.top1_agreement);
      if (out.classes.labelled > 0)
        v += ", accuracy FP32 " + ReportPercent(out.classes.ref_accuracy) + " / INT8 " +
             ReportPercent(out.classes.test_accuracy) + " (" +
             std::to_string(out.classes.labelled) + " labelled samples)";
    }
    in.extra.emplace_back("output " + out.name, v);
  }
  int int8_nodes = 0, fp32_nodes = 0;
  for (const auto& n : r.plan.nodes)
    ++(n.precision == quant::Precision::kInt8 ? int8_nodes : fp32_nodes);
  in.extra.emplace_back("INT8 plan", std::to_string(int8_nodes) + " node(s) INT8, " +
                                         std::to_string(fp32_nodes) + " FP32 (table coverage " +
                                         ReportPercent(r.plan.coverage.ratio()) + ")");
}

// Summary from the table's sidecar: the calibration method, model fingerprint and data.
inline void AddSidecarLines(const table::Sidecar* sc, ReportInput& in) {
  in.method = sc->method.name;
  for (const auto& [k, v] : sc->method.parameters) in.method_params.emplace_back(k, v);
  in.model_fingerprint = sc->model_fingerprint;
  std::string cal = sc->data.source;
  try {
    cal = data::DescriptionText(nlohmann::json::parse(sc->data.source));
  } catch (const nlohmann::json::exception&) {
  }
  in.extra.emplace_back("calibration data", cal + " (" + std::to_string(sc->data.num_samples) +
                                                " samples, fingerprint " + sc->data.fingerprint +
                                                ")");
}

// Tensors from the statistics recomputed from a stats file; where the table's amax differs it is
// shown (the table is what ran), with a warning.
inline void AddTensorsFromStats(const CompareReportSources& s,
                                const std::map<std::string, double>& table_amax, ReportInput& in) {
  int differ = 0;
  ReportInput st = CalibrationReportInput(*s.stats, "", "");
  for (auto& t : st.tensors) {
    auto it = table_amax.find(t.name);
    if (it != table_amax.end() &&
        std::fabs(it->second - t.amax) > 1e-4 * std::max(1.0, it->second)) {
      ++differ;
      t.amax = it->second;  // the table is what ran
    }
    in.tensors.push_back(std::move(t));
  }
  // A table whose scales the symmetric scale search chose (calibrate --sym-search, recorded in
  // the sidecar's method) differs from the method's amax by design.
  const bool searched = s.sidecar && s.sidecar->method.parameters.count("sym_search");
  if (differ && searched) {
    in.tensors_note += (in.tensors_note.empty() ? "" : " ") + std::to_string(differ) +
                       " tensor(s) hold the amax the symmetric scale search chose (sidecar: "
                       "sym_search=" +
                       s.sidecar->method.parameters.at("sym_search") +
                       "), not the method's from the statistics; the table's amax is shown.";
  } else if (differ) {
    in.warnings.push_back(
        std::to_string(differ) +
        " tensor(s) have a different amax in the table "
        "than the method computes from '" +
        s.stats_path + "': is the stats file from another calibration? The table's amax is shown.");
  }
}

// Tensors from the sidecar's per-tensor min/max/absmax/amax (histograms when it stores them).
inline void AddTensorsFromSidecar(
    const CompareReportSources& s, const table::Sidecar* sc,
    const std::map<std::string, std::pair<std::string, std::string>>& producer,
    const std::map<std::string, double>& table_amax, ReportInput& in) {
  auto flags = [](ReportTensor& t) {
    if (t.absmax > 0 && t.amax > 0 && t.amax < 0.5 * t.absmax)
      t.flags.push_back("clips >50% of range");
    if (t.amax == 0 && t.absmax > 0) t.flags.push_back("zero-amax");
    if (t.absmax == 0 && t.max == 0 && t.min == 0) t.flags.push_back("all-zero");
  };
  bool any_hist = false;
  for (const auto& ts : sc->tensors) {
    ReportTensor t;
    t.name = ts.name;
    auto p = producer.find(ts.name);
    if (p != producer.end()) {
      t.producer = p->second.first;
      t.producer_name = p->second.second;
    }
    t.min = ts.min;
    t.max = ts.max;
    t.absmax = ts.absmax;
    auto it = table_amax.find(ts.name);
    t.amax = it != table_amax.end() ? it->second : ts.amax;
    if (!ts.histogram.empty() && ts.histogram_range > 0) {
      t.hist = FoldSignedHistogram(ts.histogram);
      t.hist_range = ts.histogram_range;
      any_hist = any_hist || !t.hist.empty();
    }
    flags(t);
    in.tensors.push_back(std::move(t));
  }
  if (!any_hist)
    in.plots_note = "No histograms: the sidecar '" + s.sidecar_path +
                    "' stores min, max, absmax and amax per tensor, not histograms. To see them, "
                    "run calib8 calibrate with --save-stats STATS.json and give compare "
                    "--stats STATS.json (or use calibrate --report).";
}

// Tensors from the table alone (amax only), with notes saying why the rest is missing.
inline void AddTensorsFromTable(
    const CompareReportSources& s,
    const std::map<std::string, std::pair<std::string, std::string>>& producer, ReportInput& in) {
  const double nan = std::nan("");
  if (s.table)
    for (const auto& e : s.table->entries()) {
      if (e.kind != table::EntryKind::kActivation) continue;
      ReportTensor t;
      t.name = e.name;
      auto p = producer.find(e.name);
      if (p != producer.end()) {
        t.producer = p->second.first;
        t.producer_name = p->second.second;
      }
      t.min = t.max = t.absmax = nan;
      t.amax = e.amax();
      in.tensors.push_back(std::move(t));
    }
  in.tensors_note = "No sidecar next to the table (" + s.sidecar_path + ")" +
                    (s.sidecar_problem.empty() ? "" : ": " + s.sidecar_problem) +
                    ", so min, max and absmax are unknown and amax comes from the table's scales. "
                    "calib8 calibrate writes the sidecar next to the table it writes.";
  in.plots_note =
      "No histograms: they come from calibration statistics; run calib8 calibrate "
      "with --save-stats STATS.json and give compare --stats STATS.json.";
}

}  // namespace compare_report_internal

inline ReportInput CompareReportInput(const eval::CompareResult& r, const CompareReportSources& s) {
  ReportInput in;
  in.title = "calib8 compare report";
  in.model = s.model_file;
  in.table = s.table_file;
  in.samples = r.samples;
  if (!s.data_description.is_null()) in.data = data::DescriptionText(s.data_description);
  compare_report_internal::AddOutputLines(r, in);

  // Producer of each tensor, from the model.
  std::map<std::string, std::pair<std::string, std::string>> producer;
  if (s.graph)
    for (const auto& n : s.graph->nodes)
      for (const auto& o : n.outputs) producer[o] = {n.op_type, n.name};

  const table::Sidecar* sc = s.sidecar;
  if (sc) compare_report_internal::AddSidecarLines(sc, in);

  // Tensors: the recomputed statistics, else the sidecar, else the table.
  std::map<std::string, double> table_amax;
  if (s.table)
    for (const auto& e : s.table->entries())
      if (e.kind == table::EntryKind::kActivation) table_amax[e.name] = e.amax();
  if (s.stats && s.stats->tensors.empty())
    in.warnings.push_back("the statistics file '" + s.stats_path +
                          "' has no statistics for any tensor of this model: is it from another "
                          "model? The report uses the sidecar instead.");
  if (s.stats && !s.stats->tensors.empty()) {
    compare_report_internal::AddTensorsFromStats(s, table_amax, in);
  } else if (sc) {
    compare_report_internal::AddTensorsFromSidecar(s, sc, producer, table_amax, in);
  } else {
    compare_report_internal::AddTensorsFromTable(s, producer, in);
  }
  for (const auto& tr : r.tensors)
    in.layers.push_back(
        {tr.name, tr.metrics.sqnr_db, tr.metrics.cosine, tr.metrics.saturation_rate});
  for (const auto& n : r.plan.nodes)
    if (n.precision == quant::Precision::kFp32)
      in.fallbacks.push_back({n.node, n.op_type, "fp32", n.reason});
  if (in.fallbacks.empty())
    in.fallbacks_note = "All " + std::to_string(r.plan.nodes.size()) +
                        " nodes of the INT8 plan run INT8: none stays FP32.";
  return in;
}

}  // namespace calib8::eval
