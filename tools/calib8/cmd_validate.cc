// tools/calib8/cmd_validate.cc — `calib8 validate TABLE --model M [--min-coverage P]`: fails (exit
// 1) when the table's sidecar says it was computed for another model or the table file changed
// since, or when fewer than P % of the model's float tensors have an entry.
#include <cstdio>
#include <filesystem>

#include "core/file_util.h"
#include "runtime/engine.h"
#include "table/fingerprint.h"
#include "table/model_check.h"
#include "table/sidecar.h"
#include "table_args.h"

namespace calib8::cli {

Command AddValidateCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("validate", "Check that a table fits a model and is not stale");
  struct Opts {
    TableReadArgs in;
    std::string table, model, sidecar;
    double min_coverage = 0;
    bool require_sidecar = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("TABLE", o->table, "Calibration table")->required();
  sub->add_option("--model", o->model, "ONNX model the table is meant for")->required();
  sub->add_option("--min-coverage", o->min_coverage,
                  "Fail when fewer than this % of float tensors have an entry (default 0)")
      ->check(CLI::Range(0.0, 100.0));
  sub->add_option("--sidecar", o->sidecar, "Sidecar JSON (default: TABLE.calib8.json)");
  sub->add_flag("--require-sidecar", o->require_sidecar, "Fail when there is no sidecar");
  o->in.Register(sub);
  return [o]() -> int {
    auto t = o->in.Read(o->table);
    if (!t.ok()) return ReportError(t.status());
    runtime::LoadOptions lo;
    lo.optimize = false;
    auto g = runtime::LoadModel(o->model, lo);
    if (!g.ok()) return ReportError(g.status());
    bool ok = true;
    std::string sidecar_path = o->sidecar.empty() ? table::SidecarPathFor(o->table) : o->sidecar;
    std::error_code ec;
    if (!o->sidecar.empty() || std::filesystem::exists(sidecar_path, ec)) {
      auto sc = table::ReadSidecarFile(sidecar_path);
      if (!sc.ok()) return ReportError(sc.status());
      auto bytes = core::ReadFile(o->table, "table");
      if (!bytes.ok()) return ReportError(bytes.status());
      table::ReuseQuery q;
      q.model_fingerprint = table::ModelFingerprint(*g);
      if (!sc->table_fingerprint.empty()) q.table_fingerprint = table::BytesFingerprint(*bytes);
      table::ReuseDecision d = table::DecideReuse(*sc, q);
      if (d.reusable) {
        std::cout << "sidecar: " << sidecar_path << ": fingerprints match (model "
                  << q.model_fingerprint << ")\n";
      } else {
        ok = false;
        std::cerr << "calib8: error: table '" << o->table << "' is stale: " << d.Reason() << "\n";
      }
    } else {
      std::string m = "no sidecar '" + sidecar_path +
                      "': which model and data the table came from cannot be checked";
      if (o->require_sidecar) {
        std::cerr << "calib8: error: " << m << "\n";
        ok = false;
      } else {
        std::cerr << "calib8: warning: " << m << "\n";
      }
    }
    table::ModelCoverage cov = table::CheckAgainstModel(*t, *g);
    std::printf(
        "coverage: %d of %d float tensors have an entry (%.1f%%); %zu entries match "
        "nothing in the model\n",
        cov.covered, cov.float_tensors, cov.coverage_percent(), cov.unmatched.size());
    if (std::string note = table::InferredFloatNote(cov); !note.empty()) std::cout << note << "\n";
    if (cov.coverage_percent() < o->min_coverage) {
      std::fprintf(stderr, "calib8: error: coverage %.1f%% is below --min-coverage %g\n",
                   cov.coverage_percent(), o->min_coverage);
      ok = false;
    }
    std::cout << (ok ? "valid\n" : "NOT valid\n");
    return ok ? 0 : 1;
  };
}

}  // namespace calib8::cli
