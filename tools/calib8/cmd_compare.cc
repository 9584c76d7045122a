// tools/calib8/cmd_compare.cc — `calib8 compare MODEL --table T --data SPEC [--labels FILE]
// [--max-samples N] [--batch N] [--keep-fp32 F] [--json] [--report R.html]`: FP32 against INT8
// on the same inputs, per tensor and per output. A thin layer over eval/compare.h (the work) and
// eval/report.h (the HTML file); `calib8 sensitivity` (cmd_sensitivity.cc) shares the options.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "eval/compare.h"
#include "eval/compare_report.h"
#include "eval/report.h"
#include "eval/sensitivity.h"
#include "runtime/engine.h"
#include "stats/stats_io.h"
#include "table/calibration_table.h"
#include "table/sidecar.h"

namespace calib8::cli {
namespace {

struct CompareOpts {
  std::string model, table, labels, keep_fp32, report, stats;
  std::vector<std::string> data;
  int64_t max_samples = 0;
  int batch = 32, threads = 0, top = 0;
  bool json = false, unsigned_act = false, strict = false, int8_all = false, symmetric = false,
       quiet = false;
};

void AddCommonOptions(CLI::App* sub, CompareOpts& o) {
  sub->add_option("MODEL", o.model, "ONNX model file")->required();
  sub->add_option("--table,-t", o.table, "Calibration table (any format calib8 reads)")->required();
  sub->add_option("--data,-d", o.data,
                  "Input samples: SPEC or NAME=SPEC per input "
                  "(docs/data-sources.md)")
      ->required();
  sub->add_option("--labels", o.labels,
                  "Class labels: a text file with one integer per line, or idx:PATH (IDX file)");
  sub->add_option("--batch", o.batch, "Samples per run (default 32)");
  sub->add_option("--keep-fp32", o.keep_fp32, "File of tensor (or node) names to keep FP32");
  sub->add_flag("--symmetric", o.symmetric,
                "TensorRT mode: symmetric s8 from the table's scales, ignoring the sidecar's "
                "asymmetric ranges");
  sub->add_flag("--unsigned-activations", o.unsigned_act,
                "u8 (scale amax/255) for tensors that are never negative");
  sub->add_flag("--strict", o.strict, "Fail when the table does not cover the model");
  sub->add_flag("--int8-all", o.int8_all,
                "Run every layer that can run INT8 in INT8: turn off the no-speed-benefit rule "
                "(isolated small layers stay FP32 otherwise; docs/int8.md)");
  sub->add_option("--threads", o.threads, "Threads (default: all cores)");
  sub->add_flag("--quiet,-q", o.quiet, "No progress output (stderr)");
}

// Loads what compare and sensitivity share; fills the options and returns the data.
Result<data::MultiInputData> LoadCompareInputs(const CompareOpts& o, ir::Graph* graph,
                                               table::CalibrationTable* table,
                                               std::vector<int64_t>* labels,
                                               eval::CompareOptions* co) {
  CALIB8_ASSIGN_OR_RETURN(*graph, runtime::LoadModel(o.model));
  runtime::Int8TableMode mode;
  CALIB8_ASSIGN_OR_RETURN(*table, runtime::LoadInt8Table(o.table, o.symmetric, &co->int8, &mode));
  if (!o.quiet) std::cerr << "int8: " << mode.note << "\n";
  if (!o.labels.empty()) {
    CALIB8_ASSIGN_OR_RETURN(*labels, eval::ReadLabels(o.labels));
  }
  data::OpenOptions oo = runtime::DataOptionsFor(*graph, {}, o.max_samples);
  CALIB8_ASSIGN_OR_RETURN(data::MultiInputData d, data::MultiInputData::Open(o.data, oo));
  co->batch = o.batch;
  co->session.num_threads = o.threads;
  co->table_name = "table '" + o.table + "'";
  co->int8.strict = o.strict;
  co->int8.lowering.unsigned_activations = o.unsigned_act;
  co->int8.lowering.speed_rule = !o.int8_all;
  co->int8.lowering.table_source = co->table_name;
  if (!o.keep_fp32.empty()) {
    CALIB8_ASSIGN_OR_RETURN(co->int8.lowering.keep_fp32, quant::ReadKeepFp32File(o.keep_fp32));
  }
  return d;
}

}  // namespace

Command AddCompareCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("compare",
                                 "Run FP32 and INT8 on the same inputs and compare "
                                 "every tensor and output");
  auto o = std::make_shared<CompareOpts>();
  AddCommonOptions(sub, *o);
  sub->add_option("--max-samples", o->max_samples, "Use at most N samples (default: all)");
  sub->add_flag("--json", o->json, "Print JSON instead of text");
  sub->add_option("--report", o->report, "Also write a self-contained HTML report here");
  sub->add_option("--stats", o->stats,
                  "Report: histograms and method curves from this statistics file "
                  "(calibrate --save-stats); without it the report shows the sidecar's "
                  "per-tensor statistics only");
  sub->add_option("--top", o->top, "Text output: show only the N worst tensors");
  return [o]() -> int {
    if (!o->stats.empty() && o->report.empty())
      return ReportError(InvalidArgument("--stats is for the report: give --report R.html too"));
    ir::Graph g;
    table::CalibrationTable t;
    std::vector<int64_t> labels;
    eval::CompareOptions co;
    auto d = LoadCompareInputs(*o, &g, &t, &labels, &co);
    if (!d.ok()) return ReportError(d.status());
    // What the report needs besides the comparison, read first so that bad input fails early:
    // the table's sidecar (per-tensor statistics, method) and, with --stats, the histograms.
    eval::CompareReportSources src;
    Result<table::Sidecar> sc = NotFound("no sidecar");
    Result<calib::CalibrationResult> st = NotFound("no stats");
    if (!o->report.empty()) {
      src.model_file = o->model;
      src.table_file = o->table;
      src.graph = &g;
      src.table = &t;
      src.data_description = d->Describe();
      src.sidecar_path = table::SidecarPathFor(o->table);
      if (std::filesystem::exists(src.sidecar_path)) {
        sc = table::ReadSidecarFile(src.sidecar_path);
        if (sc.ok())
          src.sidecar = &*sc;
        else
          src.sidecar_problem = sc.status().message();
      }
      if (!o->stats.empty()) {
        auto loaded = stats::LoadStats(o->stats);
        if (!loaded.ok()) return ReportError(loaded.status());
        // Recompute the method's curves from the histograms with the sidecar's method.
        calib::CalibrateOptions co2;
        co2.method = src.sidecar ? src.sidecar->method.name : "minmax";
        co2.want_curves = true;
        if (src.sidecar)
          for (const char* k : {"percentile", "threshold", "zero_bin", "start_bin"}) {
            auto it = src.sidecar->method.parameters.find(k);
            if (it != src.sidecar->method.parameters.end()) co2.params[k] = it->second;
          }
        if (!calib::MethodOptions(co2.method, co2.params, nullptr).ok()) co2.params.clear();
        st = calib::CalibrateFromStats(g, std::move(loaded).value(), co2);
        if (!st.ok()) return ReportError(st.status().WithContext("--stats '" + o->stats + "'"));
        src.stats = &*st;
        src.stats_path = o->stats;
      }
    }
    core::ProgressReporter progress(core::DefaultProgressStyle(o->quiet));
    co.progress = progress.Callback();
    auto r = eval::CompareFp32Int8(g, t, *d, labels, co);
    progress.Finish();
    if (!r.ok()) return ReportError(r.status());
    const quant::Coverage& c = r->plan.coverage;
    if (!c.missing.empty() || !c.zero.empty())
      std::cerr << "calib8: warning: table '" << o->table
                << "' does not cover the model: " << runtime::CoverageSummary(c)
                << "; those nodes run FP32 (--strict refuses)\n";
    std::cout << (o->json ? eval::CompareToJson(*r)
                          : eval::CompareToText(*r, static_cast<size_t>(std::max(0, o->top))));
    if (!o->report.empty()) {
      eval::ReportInput in = eval::CompareReportInput(*r, src);
      Status s = core::WriteFileAtomic(o->report, eval::RenderHtmlReport(in));
      if (!s.ok()) return ReportError(s);
      std::cerr << "report: " << o->report << "\n";
    }
    return 0;
  };
}

Command AddSensitivityCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("sensitivity",
                                 "Rank layers by what INT8 costs and write the "
                                 "fewest FP32 layers that meet --max-drop");
  auto o = std::make_shared<CompareOpts>();
  auto out = std::make_shared<std::string>();
  auto bounds = std::make_shared<eval::SensitivityOptions>();
  o->max_samples = 200;
  AddCommonOptions(sub, *o);
  sub->add_option("--max-samples", o->max_samples, "Use at most N samples (default 200)");
  sub->add_option("--max-drop", bounds->max_drop,
                  "Allowed drop, in percentage points, of top-1 agreement with FP32 (of accuracy "
                  "with --labels); default 0.5");
  sub->add_option("--min-sqnr", bounds->min_sqnr_db,
                  "Bound for models without a classifier output: worst output SQNR in dB "
                  "(default 30)");
  sub->add_option("-o,--output", *out, "Write the plan (a --keep-fp32 file) here");
  auto table_out = std::make_shared<std::string>();
  sub->add_option("--table-out", *table_out,
                  "Before keeping a layer FP32, try other ranges for its activations; write the "
                  "table (and sidecar) with the ranges that helped here (the plan is for it)");
  return [o, out, bounds, table_out]() -> int {
    ir::Graph g;
    table::CalibrationTable t;
    std::vector<int64_t> labels;
    eval::SensitivityOptions so = *bounds;
    auto d = LoadCompareInputs(*o, &g, &t, &labels, &so.compare);
    if (!d.ok()) return ReportError(d.status());
    so.try_ranges = !table_out->empty();
    if (so.try_ranges) so.observed = eval::ObservedRanges(o->table);
    core::ProgressReporter progress(core::DefaultProgressStyle(o->quiet));
    so.progress = progress.Callback();
    auto r = eval::AnalyzeSensitivity(g, t, *d, labels, so);
    progress.Finish();
    if (!r.ok()) return ReportError(r.status());
    std::cout << eval::SensitivityToText(*r, so);
    if (!table_out->empty()) {
      Status s = eval::ApplyRangeChanges(o->table, r->ranges, *table_out);
      if (!s.ok()) return ReportError(s);
      std::cout << "wrote " << *table_out << " (" << r->ranges.size() << " range(s) changed)\n";
    }
    if (!out->empty()) {
      const std::string& planned = table_out->empty() ? o->table : *table_out;
      Status s = core::WriteFileAtomic(*out, eval::SensitivityPlanFile(*r, so, o->model, planned));
      if (!s.ok()) return ReportError(s);
      std::cout << "wrote " << *out << " (" << r->keep.size() << " tensor(s) to keep FP32)\n";
    }
    if (!r->met)
      std::cerr << "calib8: warning: the bound cannot be met by keeping INT8 compute layers FP32 "
                   "(see 'plan:' above); the file lists every layer tried\n";
    return 0;
  };
}

}  // namespace calib8::cli
