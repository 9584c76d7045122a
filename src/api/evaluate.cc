// api/evaluate.cc — include/calib8/evaluate.h over eval/compare.h (the runs and metrics),
// eval/sensitivity.h (the search, the plan file, the range write-back) and eval/report.h (HTML).
#include "calib8/evaluate.h"

#include <filesystem>
#include <utility>

#include "api/access.h"
#include "api/int8_setup.h"
#include "calib/calibrate.h"
#include "eval/compare.h"
#include "eval/compare_report.h"
#include "eval/report.h"
#include "eval/sensitivity.h"
#include "quant/lowering.h"
#include "runtime/engine.h"
#include "stats/stats_io.h"
#include "table/sidecar.h"

namespace calib8 {
namespace {

// What compare and sensitivity read before they run: the table for INT8 (then the note), the
// labels, the data, the keep-FP32 file, in this order, so that the first bad input is the one
// reported and the note comes first.
struct Inputs {
  table::CalibrationTable table;
  std::vector<int64_t> labels;
  std::unique_ptr<data::MultiInputData> data;
};

Result<Inputs> LoadInputs(const ir::Graph& graph, const std::string& table_path,
                          const EvaluateOptions& o, eval::CompareOptions* co) {
  Int8Options table_only = o.int8;  // the keep-FP32 file is read last
  table_only.keep_fp32_file.clear();
  CALIB8_ASSIGN_OR_RETURN(detail::Int8Setup setup, detail::PrepareInt8(table_path, table_only));
  if (o.on_int8_note) o.on_int8_note(setup.mode.note);
  Inputs in;
  in.table = std::move(setup.table);
  if (!o.labels.empty()) {
    CALIB8_ASSIGN_OR_RETURN(in.labels, eval::ReadLabels(o.labels));
  }
  data::OpenOptions oo = runtime::DataOptionsFor(graph, {}, o.max_samples);
  CALIB8_ASSIGN_OR_RETURN(data::MultiInputData d, data::MultiInputData::Open(o.data, oo));
  in.data = std::make_unique<data::MultiInputData>(std::move(d));
  co->int8 = std::move(setup.options);
  co->batch = o.batch;
  co->session.num_threads = o.threads;
  co->table_name = co->int8.lowering.table_source;
  if (!o.int8.keep_fp32_file.empty()) {
    CALIB8_ASSIGN_OR_RETURN(co->int8.lowering.keep_fp32,
                            quant::ReadKeepFp32File(o.int8.keep_fp32_file));
  }
  return in;
}

// What the HTML report reads besides the comparison: the table's sidecar (per-tensor statistics,
// method) and, with report_stats, the histograms with the sidecar method's curves.
struct ReportFiles {
  eval::CompareReportSources src;
  Result<table::Sidecar> sidecar = NotFound("no sidecar");
  Result<calib::CalibrationResult> stats = NotFound("no stats");
};

Status LoadReportFiles(const Model& model, const std::string& table_path, const Inputs& in,
                       const std::string& stats_path, ReportFiles* f) {
  eval::CompareReportSources& src = f->src;
  const ir::Graph& g = detail::Access::GraphOf(model);
  src.model_file = model.path();
  src.table_file = table_path;
  src.graph = &g;
  src.table = &in.table;
  src.data_description = in.data->Describe();
  src.sidecar_path = table::SidecarPathFor(table_path);
  if (std::filesystem::exists(src.sidecar_path)) {
    f->sidecar = table::ReadSidecarFile(src.sidecar_path);
    if (f->sidecar.ok())
      src.sidecar = &*f->sidecar;
    else
      src.sidecar_problem = f->sidecar.status().message();
  }
  if (stats_path.empty()) return Status::Ok();
  CALIB8_ASSIGN_OR_RETURN(stats::StatsState loaded, stats::LoadStats(stats_path));
  // Recompute the method's curves from the histograms with the sidecar's method.
  calib::CalibrateOptions co;
  co.method = src.sidecar ? src.sidecar->method.name : "minmax";
  co.want_curves = true;
  if (src.sidecar)
    for (const char* k : {"percentile", "threshold", "zero_bin", "start_bin"}) {
      auto it = src.sidecar->method.parameters.find(k);
      if (it != src.sidecar->method.parameters.end()) co.params[k] = it->second;
    }
  if (!calib::MethodOptions(co.method, co.params, nullptr).ok()) co.params.clear();
  f->stats = calib::CalibrateFromStats(g, std::move(loaded), co);
  if (!f->stats.ok()) return f->stats.status().WithContext("--stats '" + stats_path + "'");
  src.stats = &*f->stats;
  src.stats_path = stats_path;
  return Status::Ok();
}

TensorMetrics ToPublic(const eval::TensorMetrics& m) {
  TensorMetrics t;
  t.count = m.count;
  t.nonfinite = m.nonfinite;
  t.sqnr_db = m.sqnr_db;
  t.cosine = m.cosine;
  t.max_abs_error = m.max_abs_error;
  t.relative_error = m.relative_error;
  t.saturation_rate = m.saturation_rate;
  t.ref_absmax = m.ref_absmax;
  return t;
}

void FillMetrics(const eval::CompareResult& r, CompareResult* out) {
  out->samples = r.samples;
  for (const auto& t : r.tensors)
    out->tensors.push_back({t.name, t.producer, t.held, ToPublic(t.metrics)});
  for (const auto& o : r.outputs) {
    ComparedOutput p;
    p.name = o.name;
    p.classifier = o.classifier;
    p.per_position = o.per_position;
    p.metrics = ToPublic(o.metrics);
    p.rows = o.classes.samples;
    p.agree = o.classes.agree;
    p.top1_agreement = o.classes.top1_agreement;
    p.labelled = o.classes.labelled;
    p.fp32_accuracy = o.classes.ref_accuracy;
    p.int8_accuracy = o.classes.test_accuracy;
    out->outputs.push_back(std::move(p));
  }
  out->int8_nodes = r.plan.num_int8;
  out->fp32_nodes = r.plan.num_fp32;
  const quant::Coverage& c = r.plan.coverage;
  if (!c.missing.empty() || !c.zero.empty()) out->uncovered = runtime::CoverageSummary(c);
}

void FillSensitivity(const eval::SensitivityResult& r, SensitivityResult* out) {
  out->metric = r.metric;
  out->classifier = r.classifier;
  out->labelled = r.labelled;
  out->fp32_score = r.fp32_score;
  out->int8_score = r.int8_score;
  out->final_score = r.final_score;
  for (const auto& l : r.layers)
    out->layers.push_back({l.node, l.op, l.output, l.input, l.alone, l.keep, l.harm, l.gain});
  out->keep = r.keep;
  out->met = r.met;
  for (const auto& c : r.ranges)
    out->ranges.push_back(
        {c.tensor, c.asymmetric, c.lo_before, c.hi_before, c.lo, c.hi, c.score_before, c.score});
  out->samples = r.samples;
  out->evaluations = r.evaluations;
}

}  // namespace

Result<CompareResult> Compare(const Model& model, const std::string& table_path,
                              const CompareOptions& options) {
  if (!options.report_stats.empty() && !options.html_report)
    return InvalidArgument("CompareOptions::report_stats is for the report: set html_report too");
  const ir::Graph& g = detail::Access::GraphOf(model);
  eval::CompareOptions co;
  CALIB8_ASSIGN_OR_RETURN(Inputs in, LoadInputs(g, table_path, options, &co));
  // Read before the runs, so that bad input fails early.
  ReportFiles files;
  if (options.html_report) {
    CALIB8_RETURN_IF_ERROR(LoadReportFiles(model, table_path, in, options.report_stats, &files));
  }
  co.progress = options.progress;
  CALIB8_ASSIGN_OR_RETURN(eval::CompareResult r,
                          eval::CompareFp32Int8(g, in.table, *in.data, in.labels, co));
  CompareResult out;
  FillMetrics(r, &out);
  out.text = eval::CompareToText(r, options.text_top);
  out.json = eval::CompareToJson(r);
  if (options.html_report)
    out.html_report = eval::RenderHtmlReport(eval::CompareReportInput(r, files.src));
  return out;
}

Result<SensitivityResult> Sensitivity(const Model& model, const std::string& table_path,
                                      const SensitivityOptions& options) {
  const ir::Graph& g = detail::Access::GraphOf(model);
  eval::SensitivityOptions so;
  so.max_drop = options.max_drop;
  so.min_sqnr_db = options.min_sqnr_db;
  CALIB8_ASSIGN_OR_RETURN(Inputs in, LoadInputs(g, table_path, options, &so.compare));
  so.try_ranges = !options.table_out.empty();
  if (so.try_ranges) so.observed = eval::ObservedRanges(table_path);
  so.progress = options.progress;
  CALIB8_ASSIGN_OR_RETURN(eval::SensitivityResult r,
                          eval::AnalyzeSensitivity(g, in.table, *in.data, in.labels, so));
  SensitivityResult out;
  FillSensitivity(r, &out);
  out.text = eval::SensitivityToText(r, so);
  const std::string& planned = options.table_out.empty() ? table_path : options.table_out;
  out.plan_file = eval::SensitivityPlanFile(r, so, model.path(), planned);
  return out;
}

Status WriteRangeChanges(const std::string& table_path, const std::vector<RangeChange>& changes,
                         const std::string& out_path) {
  std::vector<eval::RangeChange> c;
  // The search's ranges are floats (RangeChange holds them as double, exactly).
  auto f = [](double v) { return static_cast<float>(v); };
  for (const auto& x : changes)
    c.push_back({x.tensor, x.asymmetric, f(x.lo_before), f(x.hi_before), f(x.lo), f(x.hi),
                 x.score_before, x.score});
  return eval::ApplyRangeChanges(table_path, c, out_path);
}

}  // namespace calib8
