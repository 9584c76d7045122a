// tools/calib8/cmd_diff.cc — `calib8 diff A B [--json]`: per tensor the amax ratio B/A, sorted by
// |log ratio|, then tensors only in A and only in B, then a summary (calib8::DiffTables).
#include "calib8/table_tools.h"
#include "table_args.h"

namespace calib8::cli {

Command AddDiffCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("diff", "Compare two calibration tables tensor by tensor");
  struct Opts {
    TableReadArgs in;
    std::string a, b;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("A", o->a, "First table")->required();
  sub->add_option("B", o->b, "Second table")->required();
  sub->add_flag("--json", o->json, "Print JSON instead of text");
  o->in.Register(sub);
  return [o]() -> int {
    auto a = o->in.Read(o->a);
    if (!a.ok()) return ReportError(a.status());
    auto b = o->in.Read(o->b);
    if (!b.ok()) return ReportError(b.status());
    TableDiff d = DiffTables(*a, *b);
    std::cout << (o->json ? d.Json(o->a, o->b) : d.Text(o->a, o->b));
    return 0;
  };
}

}  // namespace calib8::cli
