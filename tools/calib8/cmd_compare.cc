// tools/calib8/cmd_compare.cc — `calib8 compare MODEL --table T --data SPEC [--labels FILE]
// [--max-samples N] [--batch N] [--keep-fp32 F] [--json] [--report R.html]`: FP32 against INT8
// on the same inputs, per tensor and per output. A thin layer over api/compare.h (the work) and
// eval/report.h (the HTML file); `calib8 sensitivity` (cmd_sensitivity.cc) shares the options.
#include <fstream>
#include <iostream>

#include "api/compare.h"
#include "api/engine.h"
#include "commands.h"
#include "core/file_util.h"
#include "eval/report.h"
#include "table/calibration_table.h"

namespace calib8::cli {
namespace {

struct CompareOpts {
  std::string model, table, labels, keep_fp32, report;
  std::vector<std::string> data;
  int64_t max_samples = 0;
  int batch = 32, threads = 0, top = 0;
  bool json = false, unsigned_act = false, strict = false, int8_all = false, symmetric = false;
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
}

// Loads what compare and sensitivity share; fills the options and returns the data.
Result<data::MultiInputData> LoadCompareInputs(const CompareOpts& o, ir::Graph* graph,
                                               table::CalibrationTable* table,
                                               std::vector<int64_t>* labels,
                                               api::CompareOptions* co) {
  CALIB8_ASSIGN_OR_RETURN(*graph, api::LoadModel(o.model));
  api::Int8TableMode mode;
  CALIB8_ASSIGN_OR_RETURN(*table, api::LoadInt8Table(o.table, o.symmetric, &co->int8, &mode));
  std::cerr << "int8: " << mode.note << "\n";
  if (!o.labels.empty()) {
    CALIB8_ASSIGN_OR_RETURN(*labels, api::ReadLabels(o.labels));
  }
  data::OpenOptions oo;
  oo.max_samples = o.max_samples;
  if (!graph->inputs.empty() && graph->inputs[0].has_shape)
    oo.sample_rank = static_cast<int>(graph->inputs[0].dims.size()) - 1;
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
  sub->add_option("--top", o->top, "Text output: show only the N worst tensors");
  return [o]() -> int {
    ir::Graph g;
    table::CalibrationTable t;
    std::vector<int64_t> labels;
    api::CompareOptions co;
    auto d = LoadCompareInputs(*o, &g, &t, &labels, &co);
    if (!d.ok()) return ReportError(d.status());
    auto r = api::CompareFp32Int8(g, t, *d, labels, co);
    if (!r.ok()) return ReportError(r.status());
    const quant::Coverage& c = r->plan.coverage;
    if (!c.missing.empty() || !c.zero.empty())
      std::cerr << "calib8: warning: table '" << o->table
                << "' does not cover the model: " << api::CoverageSummary(c)
                << "; those nodes run FP32 (--strict refuses)\n";
    std::cout << (o->json ? api::CompareToJson(*r)
                          : api::CompareToText(*r, static_cast<size_t>(std::max(0, o->top))));
    if (!o->report.empty()) {
      eval::ReportInput in;
      in.title = "calib8 compare report";
      in.model = o->model;
      in.table = o->table;
      in.samples = r->samples;
      in.data = d->Describe().dump();
      for (const auto& out : r->outputs) {
        std::string v = "SQNR " + std::to_string(out.metrics.sqnr_db) + " dB";
        if (out.classifier) {
          v += ", top-1 agreement " + std::to_string(100 * out.classes.top1_agreement) + "%";
          if (out.classes.labelled > 0)
            v += ", accuracy FP32 " + std::to_string(100 * out.classes.ref_accuracy) + "% / INT8 " +
                 std::to_string(100 * out.classes.test_accuracy) + "%";
        }
        in.extra.emplace_back("output " + out.name, v);
      }
      for (const auto& tr : r->tensors)
        in.layers.push_back(
            {tr.name, tr.metrics.sqnr_db, tr.metrics.cosine, tr.metrics.saturation_rate});
      for (const auto& n : r->plan.nodes)
        if (n.precision == quant::Precision::kFp32)
          in.fallbacks.push_back({n.node, n.op_type, "fp32", n.reason});
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
  auto bounds = std::make_shared<api::SensitivityOptions>();
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
  return [o, out, bounds]() -> int {
    ir::Graph g;
    table::CalibrationTable t;
    std::vector<int64_t> labels;
    api::SensitivityOptions so = *bounds;
    auto d = LoadCompareInputs(*o, &g, &t, &labels, &so.compare);
    if (!d.ok()) return ReportError(d.status());
    so.progress = [](const std::string& s) { std::cerr << "sensitivity: " << s << "\n"; };
    auto r = api::AnalyzeSensitivity(g, t, *d, labels, so);
    if (!r.ok()) return ReportError(r.status());
    std::cout << api::SensitivityToText(*r, so);
    if (!out->empty()) {
      Status s = core::WriteFileAtomic(*out, api::SensitivityPlanFile(*r, so, o->model, o->table));
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
