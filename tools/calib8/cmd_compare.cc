// tools/calib8/cmd_compare.cc — `calib8 compare MODEL --table T --data SPEC [--labels FILE]
// [--max-samples N] [--batch N] [--keep-fp32 F] [--json] [--report R.html]`: FP32 against INT8
// on the same inputs, per tensor and per output, and `calib8 sensitivity`, which shares the
// options. A thin layer over calib8/evaluate.h; the INT8 options are the shared group
// (int8_args.h).
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>

#include "calib8/evaluate.h"
#include "calib8/files.h"
#include "calib8/model.h"
#include "calib8/progress.h"
#include "commands.h"
#include "int8_args.h"

namespace calib8::cli {
namespace {

struct CompareOpts {
  std::string model;
  Int8Args int8;
  bool quiet = false;
};

void AddCommonOptions(CLI::App* sub, CompareOpts& o, EvaluateOptions& e) {
  sub->add_option("MODEL", o.model, "ONNX model file")->required();
  o.int8.Register(sub, "Calibration table (any format calib8 reads)");
  sub->get_option("--table")->required();
  sub->add_option("--data,-d", e.data,
                  "Input samples: SPEC or NAME=SPEC per input "
                  "(docs/data-sources.md)")
      ->required();
  sub->add_option("--labels", e.labels,
                  "Class labels: a text file with one integer per line, or idx:PATH (IDX file)");
  sub->add_option("--batch", e.batch, "Samples per run (default 32)");
  sub->add_option("--threads", e.threads, "Threads (default: all cores)");
  sub->add_flag("--quiet,-q", o.quiet, "No progress output (stderr)");
}

// The progress reporter starts with the runs' first update, not while the inputs load.
class Progress {
 public:
  explicit Progress(bool quiet) : quiet_(quiet) {}
  ProgressCallback Callback() {
    if (DefaultProgressMode(quiet_) == ProgressMode::kQuiet) return {};
    return [this](const ProgressUpdate& u) {
      if (!reporter_) reporter_.emplace(DefaultProgressStyle(quiet_));
      reporter_->Update(u);
    };
  }
  void Finish() {
    if (reporter_) reporter_->Finish();
  }

 private:
  bool quiet_;
  std::optional<ProgressReporter> reporter_;
};

// Loads the model and fills what the option group and the command line give.
Result<Model> Prepare(const CompareOpts& o, EvaluateOptions& e, Progress& progress) {
  CALIB8_ASSIGN_OR_RETURN(Model m, Model::Load(o.model));
  e.int8 = o.int8.options;
  e.progress = progress.Callback();
  if (!o.quiet)
    e.on_int8_note = [](const std::string& note) { std::cerr << "int8: " << note << "\n"; };
  return m;
}

}  // namespace

Command AddCompareCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("compare",
                                 "Run FP32 and INT8 on the same inputs and compare "
                                 "every tensor and output");
  auto o = std::make_shared<CompareOpts>();
  auto co = std::make_shared<CompareOptions>();
  auto report = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto top = std::make_shared<int>(0);
  AddCommonOptions(sub, *o, *co);
  sub->add_option("--max-samples", co->max_samples, "Use at most N samples (default: all)");
  sub->add_flag("--json", *json, "Print JSON instead of text");
  sub->add_option("--report", *report, "Also write a self-contained HTML report here");
  sub->add_option("--stats", co->report_stats,
                  "Report: histograms and method curves from this statistics file "
                  "(calibrate --save-stats); without it the report shows the sidecar's "
                  "per-tensor statistics only");
  sub->add_option("--top", *top, "Text output: show only the N worst tensors");
  return [o, co, report, json, top]() -> int {
    if (!co->report_stats.empty() && report->empty())
      return ReportError(InvalidArgument("--stats is for the report: give --report R.html too"));
    Progress progress(o->quiet);
    auto model = Prepare(*o, *co, progress);
    if (!model.ok()) return ReportError(model.status());
    co->html_report = !report->empty();
    co->text_top = static_cast<size_t>(std::max(0, *top));
    auto r = Compare(*model, o->int8.table, *co);
    progress.Finish();
    if (!r.ok()) return ReportError(r.status());
    if (!r->uncovered.empty())
      std::cerr << "calib8: warning: table '" << o->int8.table
                << "' does not cover the model: " << r->uncovered
                << "; those nodes run FP32 (--strict refuses)\n";
    std::cout << (*json ? r->json : r->text);
    if (!report->empty()) {
      Status s = WriteFileAtomic(*report, r->html_report);
      if (!s.ok()) return ReportError(s);
      std::cerr << "report: " << *report << "\n";
    }
    return 0;
  };
}

Command AddSensitivityCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("sensitivity",
                                 "Rank layers by what INT8 costs and write the "
                                 "fewest FP32 layers that meet --max-drop");
  auto o = std::make_shared<CompareOpts>();
  auto so = std::make_shared<SensitivityOptions>();  // max_samples 200
  auto out = std::make_shared<std::string>();
  AddCommonOptions(sub, *o, *so);
  sub->add_option("--max-samples", so->max_samples, "Use at most N samples (default 200)");
  sub->add_option("--max-drop", so->max_drop,
                  "Allowed drop, in percentage points, of top-1 agreement with FP32 (of accuracy "
                  "with --labels); default 0.5");
  sub->add_option("--min-sqnr", so->min_sqnr_db,
                  "Bound for models without a classifier output: worst output SQNR in dB "
                  "(default 30)");
  sub->add_option("-o,--output", *out, "Write the plan (a --keep-fp32 file) here");
  sub->add_option("--table-out", so->table_out,
                  "Before keeping a layer FP32, try other ranges for its activations; write the "
                  "table (and sidecar) with the ranges that helped here (the plan is for it)");
  return [o, so, out]() -> int {
    Progress progress(o->quiet);
    auto model = Prepare(*o, *so, progress);
    if (!model.ok()) return ReportError(model.status());
    auto r = Sensitivity(*model, o->int8.table, *so);
    progress.Finish();
    if (!r.ok()) return ReportError(r.status());
    std::cout << r->text;
    if (!so->table_out.empty()) {
      Status s = WriteRangeChanges(o->int8.table, r->ranges, so->table_out);
      if (!s.ok()) return ReportError(s);
      std::cout << "wrote " << so->table_out << " (" << r->ranges.size() << " range(s) changed)\n";
    }
    if (!out->empty()) {
      Status s = WriteFileAtomic(*out, r->plan_file);
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
