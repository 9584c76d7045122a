// tools/calib8/cmd_validate.cc — `calib8 validate TABLE --model M [--min-coverage P]`: fails (exit
// 1) when the table's sidecar says it was computed for another model or the table file changed
// since, or when fewer than P % of the model's float tensors have an entry (calib8::ValidateTable).
#include <cstdio>

#include "calib8/table_tools.h"
#include "table_args.h"

namespace calib8::cli {

Command AddValidateCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("validate", "Check that a table fits a model and is not stale");
  struct Opts {
    TableReadArgs in;
    std::string table, model;
    ValidateOptions check;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("TABLE", o->table, "Calibration table")->required();
  sub->add_option("--model", o->model, "ONNX model the table is meant for")->required();
  sub->add_option("--min-coverage", o->check.min_coverage,
                  "Fail when fewer than this % of float tensors have an entry (default 0)")
      ->check(CLI::Range(0.0, 100.0));
  sub->add_option("--sidecar", o->check.sidecar_path, "Sidecar JSON (default: TABLE.calib8.json)");
  sub->add_flag("--require-sidecar", o->check.require_sidecar, "Fail when there is no sidecar");
  o->in.Register(sub);
  return [o]() -> int {
    auto t = o->in.Read(o->table);
    if (!t.ok()) return ReportError(t.status());
    auto v = ValidateTable(*t, o->model, o->check);
    if (!v.ok()) return ReportError(v.status());
    const TableCoverage& cov = v->coverage;
    switch (v->sidecar) {
      case TableValidation::Sidecar::kCurrent:
        std::cout << "sidecar: " << v->sidecar_path << ": fingerprints match (model "
                  << cov.model_fingerprint << ")\n";
        break;
      case TableValidation::Sidecar::kStale:
        std::cerr << "calib8: error: table '" << o->table << "' is stale: " << v->stale_reason
                  << "\n";
        break;
      case TableValidation::Sidecar::kMissing:
        std::cerr << (o->check.require_sidecar ? "calib8: error: " : "calib8: warning: ")
                  << "no sidecar '" << v->sidecar_path
                  << "': which model and data the table came from cannot be checked\n";
        break;
    }
    std::printf(
        "coverage: %d of %d float tensors have an entry (%.1f%%); %zu entries match "
        "nothing in the model\n",
        cov.covered, cov.float_tensors, cov.percent(), cov.unmatched.size());
    if (!cov.inferred_note.empty()) std::cout << cov.inferred_note << "\n";
    if (v->below_min_coverage)
      std::fprintf(stderr, "calib8: error: coverage %.1f%% is below --min-coverage %g\n",
                   cov.percent(), o->check.min_coverage);
    std::cout << (v->valid ? "valid\n" : "NOT valid\n");
    return v->valid ? 0 : 1;
  };
}

}  // namespace calib8::cli
