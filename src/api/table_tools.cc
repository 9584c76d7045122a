// api/table_tools.cc — include/calib8/table_tools.h over the table module (table_ops, sidecar,
// fingerprint, model_check), onnx/pytorch_scales.h and the runtime's model loader.
#include "calib8/table_tools.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "api/access.h"
#include "core/file_util.h"
#include "onnx/pytorch_scales.h"
#include "runtime/engine.h"
#include "table/calibration_table.h"
#include "table/fingerprint.h"
#include "table/model_check.h"
#include "table/sidecar.h"
#include "table/table_ops.h"

namespace calib8 {

namespace {

using nlohmann::ordered_json;

const table::CalibrationTable& Internal(const Table& t) { return detail::Access::TableOf(t); }

// printf into a std::string.
__attribute__((format(printf, 1, 2))) std::string Printf(const char* format, ...) {
  va_list args, copy;
  va_start(args, format);
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string s(static_cast<size_t>(n > 0 ? n : 0) + 1, '\0');
  std::vsnprintf(s.data(), s.size(), format, args);
  va_end(args);
  s.resize(s.size() - 1);
  return s;
}

std::string Num(double v) { return table::ShortestDecimal(v); }

// The model as its file declares it: a table names the model's own tensors, before any folding.
Result<ir::Graph> LoadDeclared(const std::string& model_path) {
  runtime::LoadOptions lo;
  lo.optimize = false;
  return runtime::LoadModel(model_path, lo);
}

TableCoverage ToPublic(const table::ModelCoverage& cov, std::string model_fingerprint) {
  TableCoverage out;
  out.model_fingerprint = std::move(model_fingerprint);
  for (const table::EntryMatch& m : cov.entries)
    out.entries.push_back({m.name, m.matched, m.producer, m.shape, m.dtype});
  out.unmatched = cov.unmatched;
  out.uncovered = cov.uncovered;
  out.float_tensors = cov.float_tensors;
  out.covered = cov.covered;
  out.inferred_float = cov.inferred_float;
  out.inferred_note = table::InferredFloatNote(cov);
  return out;
}

TableCoverage Coverage(const Table& t, const ir::Graph& g) {
  return ToPublic(table::CheckAgainstModel(Internal(t), g), table::ModelFingerprint(g));
}

}  // namespace

std::string SidecarPathFor(const std::string& table_path) {
  return table::SidecarPathFor(table_path);
}

// ---- diff

TableDiff DiffTables(const Table& a, const Table& b) {
  table::DiffResult d = table::DiffTables(Internal(a), Internal(b));
  TableDiff out;
  for (const table::DiffRow& r : d.rows) {
    TableDiffRow row;
    row.name = r.name;
    row.side = static_cast<TableDiffRow::Side>(r.side);
    row.amax_a = r.amax_a;
    row.amax_b = r.amax_b;
    row.ratio = r.ratio;
    row.abs_log_ratio = r.abs_log_ratio;
    out.rows.push_back(std::move(row));
  }
  out.in_both = d.in_both;
  out.only_a = d.only_a;
  out.only_b = d.only_b;
  out.identical = d.identical;
  out.max_abs_log_ratio = d.max_abs_log_ratio;
  out.median_ratio = d.median_ratio;
  return out;
}
static_assert(static_cast<int>(table::DiffRow::Side::kOnlyB) ==
              static_cast<int>(TableDiffRow::Side::kOnlyB));

std::string TableDiff::Text(const std::string& a, const std::string& b) const {
  using Side = TableDiffRow::Side;
  std::string s = Printf("%-44s %-13s %-13s %s\n", "name", "amax A", "amax B", "B/A");
  for (const auto& r : rows) {
    if (r.side != Side::kBoth) continue;
    s += Printf("%-44s %-13s %-13s %s\n", r.name.c_str(), Num(r.amax_a).c_str(),
                Num(r.amax_b).c_str(), Num(r.ratio).c_str());
  }
  if (only_a) s += "\nonly in A (" + a + "): " + std::to_string(only_a) + "\n";
  for (const auto& r : rows)
    if (r.side == Side::kOnlyA) s += "  " + r.name + "  amax " + Num(r.amax_a) + "\n";
  if (only_b) s += "\nonly in B (" + b + "): " + std::to_string(only_b) + "\n";
  for (const auto& r : rows)
    if (r.side == Side::kOnlyB) s += "  " + r.name + "  amax " + Num(r.amax_b) + "\n";
  s += Printf(
      "\nsummary: %d in both (%d identical), %d only in A, %d only in B; median B/A %s, "
      "largest |ln(B/A)| %s\n",
      in_both, identical, only_a, only_b, Num(median_ratio).c_str(),
      Num(max_abs_log_ratio).c_str());
  return s;
}

std::string TableDiff::Json(const std::string& a, const std::string& b) const {
  using Side = TableDiffRow::Side;
  ordered_json j;
  j["a"] = a;
  j["b"] = b;
  j["rows"] = ordered_json::array();
  for (const auto& r : rows) {
    const char* side = r.side == Side::kBoth ? "both" : r.side == Side::kOnlyA ? "a" : "b";
    ordered_json jr = {{"name", r.name}, {"in", side}};
    if (r.side != Side::kOnlyB) jr["amax_a"] = Num(r.amax_a);
    if (r.side != Side::kOnlyA) jr["amax_b"] = Num(r.amax_b);
    if (r.side == Side::kBoth)
      jr["ratio"] = Num(r.ratio), jr["abs_log_ratio"] = Num(r.abs_log_ratio);
    j["rows"].push_back(jr);
  }
  j["summary"] = {{"in_both", in_both},
                  {"identical", identical},
                  {"only_a", only_a},
                  {"only_b", only_b},
                  {"median_ratio", Num(median_ratio)},
                  {"max_abs_log_ratio", Num(max_abs_log_ratio)}};
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

// ---- merge

Result<ConflictPolicy> ParseConflictPolicy(const std::string& name) {
  CALIB8_ASSIGN_OR_RETURN(table::ConflictPolicy p, table::ParseConflictPolicy(name));
  return static_cast<ConflictPolicy>(p);
}
static_assert(static_cast<int>(table::ConflictPolicy::kError) ==
              static_cast<int>(ConflictPolicy::kError));

namespace {

// The parts' current sidecars, in order, stopping at the first input without one (`*why`
// says why). An input's sidecar that exists but cannot be read is an error.
Result<std::vector<table::SidecarPart>> CurrentSidecars(const std::vector<Table>& tables,
                                                        std::string* why) {
  std::vector<table::SidecarPart> parts;
  for (const Table& t : tables) {
    CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(t.path(), "table"));
    CALIB8_ASSIGN_OR_RETURN(std::optional<table::Sidecar> sc,
                            table::ReadCurrentSidecar(t.path(), bytes, why));
    if (!sc) break;
    parts.push_back({t.path(), &Internal(t), std::move(*sc)});
  }
  return parts;
}

// Writes the merged sidecar of `out` (or removes an old one when some part has none), then the
// table bytes; the sidecar first, as calibrate does: a kill -9 between the two writes leaves the
// old table with a sidecar that says it is stale, never the new table beside the old sidecar.
Status WriteMerged(const std::vector<table::SidecarPart>& parts, size_t num_inputs,
                   const table::CalibrationTable& merged, const std::string& bytes,
                   const std::string& out, const MergeOptions& options,
                   const std::string& model_fingerprint, MergeSummary* summary) {
  summary->sidecar_path = table::SidecarPathFor(out);
  if (parts.size() == num_inputs) {
    table::Sidecar sc = table::MergeSidecars(parts, merged);
    sc.table_file = std::filesystem::path(out).filename().string();
    sc.table_fingerprint = table::BytesFingerprint(bytes);
    sc.model_file = options.model_path;
    sc.model_fingerprint = model_fingerprint;
    CALIB8_RETURN_IF_ERROR(table::WriteSidecarFile(summary->sidecar_path, sc));
    summary->wrote_sidecar = true;
    summary->sidecar_tensors = sc.tensors.size();
  } else {
    std::error_code ec;
    std::filesystem::remove(summary->sidecar_path, ec);  // an old one would describe other bytes
  }
  return core::WriteFileAtomic(out, bytes);
}

}  // namespace

Result<MergeSummary> MergeTables(const std::vector<Table>& tables, const std::string& out,
                                 const MergeOptions& options, std::vector<std::string>* messages) {
  if (tables.empty()) return InvalidArgument("merge: no tables given");
  MergeSummary summary;
  CALIB8_ASSIGN_OR_RETURN(std::vector<table::SidecarPart> parts,
                          CurrentSidecars(tables, &summary.no_sidecar));
  std::string model_fp;
  if (!options.model_path.empty()) {
    CALIB8_ASSIGN_OR_RETURN(Model model, Model::Load(options.model_path));
    model_fp = table::ModelFingerprint(detail::Access::GraphOf(model));
  }
  table::TableFormat to = Internal(tables.front()).header.source_format;
  if (!options.format.empty()) {
    CALIB8_ASSIGN_OR_RETURN(to, table::ParseFormatName(options.format));
  }
  if (!table::CanWrite(to)) to = table::TableFormat::kTensorRt;
  std::vector<table::NamedTable> inputs;
  for (const Table& t : tables) inputs.push_back({t.path(), Internal(t)});
  table::MergeReport rep;
  CALIB8_ASSIGN_OR_RETURN(
      table::CalibrationTable merged,
      table::MergeTables(inputs, static_cast<table::ConflictPolicy>(options.on_conflict), &rep));
  if (messages)
    for (const auto& n : rep.notes) messages->push_back("note: " + n);
  table::WriteReport wrep;
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, table::SerializeTable(merged, to, {}, &wrep));
  if (messages)
    for (const auto& w : wrep.warnings) messages->push_back("warning: " + w);
  summary.format = static_cast<TableFormat>(to);
  summary.entries = merged.size();
  summary.conflicts = rep.conflicts;
  CALIB8_RETURN_IF_ERROR(
      WriteMerged(parts, tables.size(), merged, bytes, out, options, model_fp, &summary));
  return summary;
}

// ---- a table against a model

Result<TableCoverage> CheckCoverage(const Table& table, const std::string& model_path) {
  CALIB8_ASSIGN_OR_RETURN(ir::Graph g, LoadDeclared(model_path));
  return Coverage(table, g);
}

Result<TableValidation> ValidateTable(const Table& table, const std::string& model_path,
                                      const ValidateOptions& options) {
  CALIB8_ASSIGN_OR_RETURN(ir::Graph g, LoadDeclared(model_path));
  TableValidation v;
  v.sidecar_path =
      options.sidecar_path.empty() ? table::SidecarPathFor(table.path()) : options.sidecar_path;
  std::error_code ec;
  if (!options.sidecar_path.empty() || std::filesystem::exists(v.sidecar_path, ec)) {
    CALIB8_ASSIGN_OR_RETURN(table::Sidecar sc, table::ReadSidecarFile(v.sidecar_path));
    CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(table.path(), "table"));
    table::ReuseQuery q;
    q.model_fingerprint = table::ModelFingerprint(g);
    if (!sc.table_fingerprint.empty()) q.table_fingerprint = table::BytesFingerprint(bytes);
    table::ReuseDecision d = table::DecideReuse(sc, q);
    v.sidecar = d.reusable ? TableValidation::Sidecar::kCurrent : TableValidation::Sidecar::kStale;
    v.stale_reason = d.reusable ? "" : d.Reason();
    if (!d.reusable) v.valid = false;
  } else if (options.require_sidecar) {
    v.valid = false;
  }
  v.coverage = Coverage(table, g);
  if (v.coverage.percent() < options.min_coverage) {
    v.below_min_coverage = true;
    v.valid = false;
  }
  return v;
}

// ---- inspection

namespace {

const char* KindKey(table::InternalName k) {
  return k == table::InternalName::kUnnamedITensor ? "unnamed_itensor"
         : k == table::InternalName::kUnnamedLayer ? "unnamed_layer"
                                                   : "onnxtrt";
}

// The `clipped` most clipped tensors of `t` (amax over the sidecar's observed max|x|), or in
// `*note` why they are unknown.
std::vector<ClippedTensor> MostClipped(const table::CalibrationTable& t,
                                       const std::string& sidecar_path, int clipped,
                                       std::string* note) {
  std::vector<ClippedTensor> clips;
  if (!std::filesystem::exists(sidecar_path)) {
    *note =
        "no sidecar " + sidecar_path + ": the observed ranges (and so the clipping) are unknown";
    return clips;
  }
  auto sc = table::ReadSidecarFile(sidecar_path);
  if (!sc.ok()) {
    *note = "sidecar unreadable: " + sc.status().message();
    return clips;
  }
  for (const auto& ts : sc->tensors) {
    int k = t.Find(ts.name);
    double amax = k >= 0 ? t.entries()[static_cast<size_t>(k)].amax() : ts.amax;
    if (ts.absmax > 0)
      clips.push_back({ts.name, amax / ts.absmax, amax, ts.absmax,
                       table::ShortestDecimal(static_cast<float>(amax)),
                       table::ShortestDecimal(static_cast<float>(ts.absmax))});
  }
  std::stable_sort(clips.begin(), clips.end(), [](const ClippedTensor& a, const ClippedTensor& b) {
    return a.ratio < b.ratio;
  });
  if (clips.size() > static_cast<size_t>(clipped)) clips.resize(static_cast<size_t>(clipped));
  return clips;
}

// A worked example of the hex on the first entry with a non-zero activation scale, or "".
std::string WorkedExample(const table::CalibrationTable& t) {
  for (const auto& e : t.entries())
    if (e.kind == table::EntryKind::kActivation && e.scale() > 0)
      return "example: '" + e.name + "': hex " + table::HexBits(e.bits()) +
             " is the IEEE-754 float32 bit pattern of the scale " +
             table::ShortestDecimal(e.scale()) +
             "; amax = 127 x scale = " + table::ShortestDecimal(e.amax()) +
             ", so INT8 value q means q x scale and values beyond +-amax are clipped to +-127";
  return "";
}

}  // namespace

Result<TableInspection> InspectTable(const Table& table, const InspectOptions& options) {
  TableInspection r;
  if (!options.model_path.empty()) {
    CALIB8_ASSIGN_OR_RETURN(r.coverage, CheckCoverage(table, options.model_path));
  }
  const table::CalibrationTable& t = Internal(table);
  r.sidecar_path = table::SidecarPathFor(table.path());
  if (options.clipped > 0)
    r.most_clipped = MostClipped(t, r.sidecar_path, options.clipped, &r.clipped_note);
  std::set<table::InternalName> kinds;
  for (const table::TableEntry& e : t.entries()) {
    InspectedEntry ie;
    ie.name = e.name;
    ie.weight = e.kind == table::EntryKind::kWeight;
    ie.channels = e.scale_bits.size();
    ie.hex = table::HexBits(e.bits());
    ie.scale = table::ShortestDecimal(e.scale());
    ie.amax = table::ShortestDecimal(e.amax());
    ie.flags = table::EntryFlags(e);
    if (!ie.flags.empty()) ++r.flagged;
    if (auto k = table::ClassifyName(e.name); k != table::InternalName::kNone) kinds.insert(k);
    r.entries.push_back(std::move(ie));
  }
  for (auto k : kinds) r.name_kinds.emplace_back(KindKey(k), table::ExplainInternalName(k));
  r.example = WorkedExample(t);
  return r;
}

// ---- PyTorch scales

Result<PytorchScales> ToPytorchScales(const Table& table, const std::string& model_path,
                                      std::vector<std::string>* warnings) {
  std::vector<std::string> ignored;
  if (!warnings) warnings = &ignored;
  onnx_io::PytorchScalesOptions po;
  po.table_name = table.path();
  // The sidecar, when there is one, gives each tensor's observed range (its signedness).
  table::Sidecar sidecar;
  const std::string sc_path = table::SidecarPathFor(table.path());
  if (std::filesystem::exists(sc_path)) {
    auto sc = table::ReadSidecarFile(sc_path);
    if (sc.ok()) {
      sidecar = std::move(*sc);
      po.sidecar = &sidecar;
    } else {
      warnings->push_back(sc.status().message() + " (sidecar ignored)");
    }
  }
  onnx_io::PytorchScalesReport rep;
  CALIB8_ASSIGN_OR_RETURN(std::string doc,
                          onnx_io::PytorchScalesJson(Internal(table), model_path, po, &rep));
  warnings->insert(warnings->end(), rep.warnings.begin(), rep.warnings.end());
  if (!rep.not_in_model.empty())
    warnings->push_back(std::to_string(rep.not_in_model.size()) +
                        " table entr(ies) name no tensor of '" + model_path +
                        "' (kept, with \"in_model\": false), first: '" + rep.not_in_model.front() +
                        "'");
  PytorchScales out;
  out.json = std::move(doc);
  out.tensors = rep.tensors;
  out.with_module = rep.with_module;
  out.input_quantizers = rep.input_quantizers;
  return out;
}

}  // namespace calib8
