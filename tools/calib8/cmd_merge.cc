// tools/calib8/cmd_merge.cc — `calib8 merge A B ... -o OUT [--on-conflict first|last|max|error]`:
// e.g. a backbone table plus a head (custom-layer) table into one; written atomically. When every
// input has its current calib8 sidecar, the merged table gets one too (table::MergeSidecars).
#include <filesystem>

#include "core/file_util.h"
#include "runtime/engine.h"
#include "table/fingerprint.h"
#include "table/sidecar.h"
#include "table/table_ops.h"
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
    auto policy = table::ParseConflictPolicy(o->on_conflict);
    if (!policy.ok()) return ReportError(policy.status());
    std::vector<table::NamedTable> inputs;
    for (const auto& path : o->tables) {
      auto t = o->in.Read(path);
      if (!t.ok()) return ReportError(t.status());
      inputs.push_back({path, std::move(t).value()});
    }
    // The parts' sidecars: all current, or no merged sidecar (and the reason).
    std::vector<table::SidecarPart> parts;
    std::string no_sidecar;
    for (const auto& in : inputs) {
      auto bytes = core::ReadFile(in.name, "table");
      if (!bytes.ok()) return ReportError(bytes.status());
      auto sc = table::ReadCurrentSidecar(in.name, *bytes, &no_sidecar);
      if (!sc.ok()) return ReportError(sc.status());
      if (!*sc) break;
      parts.push_back({in.name, &in.table, std::move(**sc)});
    }
    std::string model_fp;
    if (!o->model.empty()) {
      auto g = runtime::LoadModel(o->model);
      if (!g.ok()) return ReportError(g.status());
      model_fp = table::ModelFingerprint(*g);
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
    // The sidecar describes the table's bytes and is written first, as calibrate does: a kill -9
    // between the two writes leaves the old table (with the new sidecar, which says it is stale),
    // never the new table beside the old sidecar.
    table::WriteReport wrep;
    auto bytes = table::SerializeTable(*merged, to, {}, &wrep);
    if (!bytes.ok()) return ReportError(bytes.status());
    for (const auto& w : wrep.warnings) std::cerr << "calib8: warning: " << w << "\n";
    const std::string sidecar_path = table::SidecarPathFor(o->out);
    Status s = Status::Ok();
    std::string sidecar_note;
    if (parts.size() == inputs.size()) {
      table::Sidecar sc = table::MergeSidecars(parts, *merged);
      sc.table_file = std::filesystem::path(o->out).filename().string();
      sc.table_fingerprint = table::BytesFingerprint(*bytes);
      sc.model_file = o->model;
      sc.model_fingerprint = model_fp;
      s = table::WriteSidecarFile(sidecar_path, sc);
      if (!s.ok()) return ReportError(s);
      sidecar_note = "wrote " + sidecar_path + " (" + std::to_string(sc.tensors.size()) +
                     " tensor record(s) from the parts' sidecars" +
                     (model_fp.empty() ? "; no --model, so it names no model" : "") + ")\n";
    } else {
      std::error_code ec;
      std::filesystem::remove(sidecar_path, ec);  // an old one would describe other bytes
    }
    s = core::WriteFileAtomic(o->out, *bytes);
    if (!s.ok()) return ReportError(s);
    std::cout << "wrote " << o->out << " (" << table::FormatTitle(to) << ", " << merged->size()
              << " entries from " << inputs.size() << " tables, " << rep.conflicts
              << " conflicts resolved by '" << o->on_conflict << "')\n"
              << sidecar_note;
    if (parts.size() != inputs.size())
      std::cerr << "calib8: note: no sidecar for " << o->out << ": " << no_sidecar
                << " (run --int8 then uses the symmetric TensorRT encoding)\n";
    return 0;
  };
}

}  // namespace calib8::cli
