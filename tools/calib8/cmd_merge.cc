// tools/calib8/cmd_merge.cc — `calib8 merge A B ... -o OUT [--on-conflict first|last|max|error]`:
// e.g. a backbone table plus a head (custom-layer) table into one; written atomically.
#include "table/table_ops.h"
#include "table_args.h"

namespace calib8::cli {

Command AddMergeCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("merge", "Merge calibration tables into one");
  struct Opts {
    TableReadArgs in;
    std::vector<std::string> tables;
    std::string out, on_conflict = "error", to;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("TABLES", o->tables, "Tables, in priority order")->required()->expected(2, -1);
  sub->add_option("-o,--output", o->out, "Output file (written atomically)")->required();
  sub->add_option("--on-conflict", o->on_conflict,
                  "Same tensor, different values: first|last|max|error (default error)");
  sub->add_option("--to", o->to, "Output format (default: the first table's, trt if unwritable)");
  o->in.Register(sub);
  return [o]() -> int {
    auto policy = table::ParseConflictPolicy(o->on_conflict);
    if (!policy.ok()) return ReportError(policy.status());
    std::vector<table::NamedTable> inputs;
    for (const auto& path : o->tables) {
      auto t = o->in.Read(path);
      if (!t.ok()) return ReportError(t.status());
      inputs.push_back({path, std::move(t).value()});
    }
    table::TableFormat to = inputs.front().table.header.source_format;
    if (!o->to.empty()) {
      auto f = table::ParseFormatName(o->to);
      if (!f.ok()) return ReportError(f.status());
      to = *f;
    }
    if (!table::CanWrite(to)) to = table::TableFormat::kTensorRt;
    table::MergeReport rep;
    auto merged = table::MergeTables(inputs, *policy, &rep);
    if (!merged.ok()) return ReportError(merged.status());
    for (const auto& n : rep.notes) std::cerr << "calib8: note: " << n << "\n";
    table::WriteReport wrep;
    Status s = table::WriteTableFile(*merged, o->out, to, {}, &wrep);
    if (!s.ok()) return ReportError(s);
    for (const auto& w : wrep.warnings) std::cerr << "calib8: warning: " << w << "\n";
    std::cout << "wrote " << o->out << " (" << table::FormatTitle(to) << ", " << merged->size()
              << " entries from " << inputs.size() << " tables, " << rep.conflicts
              << " conflicts resolved by '" << o->on_conflict << "')\n";
    return 0;
  };
}

}  // namespace calib8::cli
