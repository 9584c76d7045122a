// tools/calib8/cmd_merge.cc — `calib8 merge A B ... -o OUT [--on-conflict first|last|max|error]`:
// e.g. a backbone table plus a head (custom-layer) table into one; written atomically. When every
// input has its current calib8 sidecar, the merged table gets one too (calib8::MergeTables).
#include "calib8/table_tools.h"
#include "table_args.h"

namespace calib8::cli {

Command AddMergeCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("merge", "Merge calibration tables into one");
  struct Opts {
    TableReadArgs in;
    std::vector<std::string> tables;
    std::string out, on_conflict = "error", to, model;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("TABLES", o->tables, "Tables, in priority order")->required()->expected(2, -1);
  sub->add_option("-o,--output", o->out, "Output file (written atomically)")->required();
  sub->add_option("--on-conflict", o->on_conflict,
                  "Same tensor, different values: first|last|max|error (default error)");
  sub->add_option("--to", o->to, "Output format (default: the first table's, trt if unwritable)");
  sub->add_option("--model", o->model,
                  "The whole model the parts were calibrated from: its fingerprint goes into the "
                  "merged sidecar (stale-table checks); without it the sidecar names no model");
  o->in.Register(sub);
  return [o]() -> int {
    auto policy = ParseConflictPolicy(o->on_conflict);
    if (!policy.ok()) return ReportError(policy.status());
    std::vector<Table> inputs;
    for (const auto& path : o->tables) {
      auto t = o->in.Read(path);
      if (!t.ok()) return ReportError(t.status());
      inputs.push_back(std::move(t).value());
    }
    MergeOptions mo;
    mo.on_conflict = *policy;
    mo.format = o->to;
    mo.model_path = o->model;
    std::vector<std::string> messages;
    auto merged = MergeTables(inputs, o->out, mo, &messages);
    for (const auto& m : messages) std::cerr << "calib8: " << m << "\n";
    if (!merged.ok()) return ReportError(merged.status());
    std::cout << "wrote " << o->out << " (" << FormatTitle(merged->format) << ", "
              << merged->entries << " entries from " << inputs.size() << " tables, "
              << merged->conflicts << " conflicts resolved by '" << o->on_conflict << "')\n";
    if (merged->wrote_sidecar) {
      std::cout << "wrote " << merged->sidecar_path << " (" << merged->sidecar_tensors
                << " tensor record(s) from the parts' sidecars"
                << (o->model.empty() ? "; no --model, so it names no model" : "") << ")\n";
    } else {
      std::cerr << "calib8: note: no sidecar for " << o->out << ": " << merged->no_sidecar
                << " (run --int8 then uses the symmetric TensorRT encoding)\n";
    }
    return 0;
  };
}

}  // namespace calib8::cli
