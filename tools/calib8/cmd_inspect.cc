// tools/calib8/cmd_inspect.cc — `calib8 inspect TABLE [--model M] [--json]`: what the hex numbers
// mean. Header decoded, one row per entry (hex, scale, amax = 127*scale, range, flags), a line
// explaining each kind of TensorRT-internal name seen, and with --model the match against a graph.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/engine.h"
#include "table/fingerprint.h"
#include "table/model_check.h"
#include "table/sidecar.h"
#include "table/table_ops.h"
#include "table_args.h"

namespace calib8::cli {

namespace {
using nlohmann::ordered_json;

std::string HeaderLine(const table::TableHeader& h) {
  if (h.source_format != table::TableFormat::kTensorRt && h.raw.empty())
    return std::string("none (") + table::FormatTitle(h.source_format) + ")";
  if (h.legacy_header) return "'1': TensorRT 5.0 or earlier, entropy calibrator (v1)";
  return "'" + h.raw + "': TensorRT " + table::DecodeTrtVersion(h.writer_version) + " (" +
         std::to_string(h.writer_version) + "), " + h.algorithm;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// The options of `calib8 inspect`.
struct InspectArgs {
  TableReadArgs in;
  std::string table, model;
  bool json = false;
  int clipped = 3;
};

// A tensor's clipping: amax over the observed max|x|.
struct Clip {
  std::string name;
  double ratio, amax, absmax;
};

}  // namespace

// Declares the options of `calib8 inspect` on `sub`, stored in `o`.
static void DeclareInspectOptions(CLI::App* sub, InspectArgs* o) {
  sub->add_option("TABLE", o->table, "Calibration table")->required();
  sub->add_option("--model", o->model, "ONNX model: producer op, shape and coverage");
  sub->add_flag("--json", o->json, "Print JSON instead of text");
  sub->add_option("--clipped", o->clipped,
                  "Show the N most clipped tensors (amax / observed max|x|, from the sidecar next "
                  "to the table; default 3, 0: none)");
  o->in.Register(sub);
}

// The --clipped most clipped tensors of `t` (amax over the sidecar's observed max|x|), or in
// `clip_note` why they are unknown.
static void CollectClips(const InspectArgs& o, const table::CalibrationTable& t,
                         const std::string& sidecar_path, std::vector<Clip>& clips,
                         std::string& clip_note) {
  if (!std::filesystem::exists(sidecar_path)) {
    clip_note =
        "no sidecar " + sidecar_path + ": the observed ranges (and so the clipping) are unknown";
  } else if (auto sc = table::ReadSidecarFile(sidecar_path); !sc.ok()) {
    clip_note = "sidecar unreadable: " + sc.status().message();
  } else {
    for (const auto& ts : sc->tensors) {
      int k = t.Find(ts.name);
      double amax = k >= 0 ? t.entries()[static_cast<size_t>(k)].amax() : ts.amax;
      if (ts.absmax > 0) clips.push_back({ts.name, amax / ts.absmax, amax, ts.absmax});
    }
    std::stable_sort(clips.begin(), clips.end(),
                     [](const Clip& a, const Clip& b) { return a.ratio < b.ratio; });
    if (clips.size() > static_cast<size_t>(o.clipped)) clips.resize(static_cast<size_t>(o.clipped));
  }
}

// One row per entry: printed as text, or added to j["entries"]; counts the flagged entries and
// collects the kinds of TensorRT-internal names seen.
static void ListEntries(const InspectArgs& o, const table::CalibrationTable& t,
                        const std::optional<table::ModelCoverage>& cov, ordered_json& j,
                        std::set<table::InternalName>& kinds, int& flagged) {
  for (size_t i = 0; i < t.size(); ++i) {
    const auto& e = t.entries()[i];
    auto flags = table::EntryFlags(e);
    if (!flags.empty()) ++flagged;
    auto kind = table::ClassifyName(e.name);
    if (kind != table::InternalName::kNone) kinds.insert(kind);
    std::string hex = table::HexBits(e.bits());
    std::string scale = table::ShortestDecimal(e.scale());
    std::string amax = table::ShortestDecimal(e.amax());
    if (o.json) {
      ordered_json je = {{"name", e.name},
                         {"hex", hex},
                         {"scale", scale},
                         {"amax", amax},
                         {"range", {"-" + amax, amax}},
                         {"flags", flags}};
      if (e.kind == table::EntryKind::kWeight) {
        je["kind"] = "weight";
        je["channels"] = e.scale_bits.size();
      }
      if (cov) {
        const auto& m = cov->entries[i];
        je["matched"] = m.matched;
        je["producer"] = m.producer;
        je["shape"] = m.shape;
      }
      j["entries"].push_back(je);
      continue;
    }
    std::string extra = Join(flags, ",");
    if (e.kind == table::EntryKind::kWeight)
      extra = "weight x" + std::to_string(e.scale_bits.size()) + (extra.empty() ? "" : ",") + extra;
    if (cov) {
      const auto& m = cov->entries[i];
      extra += " | " + (m.matched ? m.producer + " " + m.shape : std::string("NO MATCH"));
    }
    std::string range = "[-" + amax + ", " + amax + "]";
    std::printf("%-4zu %-44s %-9s %-13s %-13s %-24s %s\n", i + 1, e.name.c_str(), hex.c_str(),
                scale.c_str(), amax.c_str(), range.c_str(), extra.c_str());
  }
}

// --json: completes `j` (counts, explanations, clipping, model coverage) and prints it.
static void PrintInspectJson(const InspectArgs& o, ordered_json& j, int flagged, int warnings,
                             const std::set<table::InternalName>& kinds,
                             const std::vector<Clip>& clips, const std::string& clip_note,
                             const std::optional<table::ModelCoverage>& cov,
                             const std::string& model_fp) {
  j["flagged"] = flagged;
  j["warnings"] = warnings;
  j["explanations"] = ordered_json::object();
  for (auto k : kinds)
    j["explanations"][k == table::InternalName::kUnnamedITensor ? "unnamed_itensor"
                      : k == table::InternalName::kUnnamedLayer ? "unnamed_layer"
                                                                : "onnxtrt"] =
        table::ExplainInternalName(k);
  if (o.clipped > 0) {
    j["most_clipped"] = ordered_json::array();
    for (const auto& c : clips)
      j["most_clipped"].push_back({{"name", c.name},
                                   {"amax", c.amax},
                                   {"absmax", c.absmax},
                                   {"amax_over_absmax", c.ratio}});
    if (!clip_note.empty()) j["most_clipped_note"] = clip_note;
  }
  if (cov) {
    j["model"] = {{"file", o.model},
                  {"fingerprint", model_fp},
                  {"float_tensors", cov->float_tensors},
                  {"covered", cov->covered},
                  {"coverage_percent", cov->coverage_percent()},
                  {"unmatched_entries", cov->unmatched},
                  {"float_tensors_without_entry", cov->uncovered},
                  {"float_tensors_typed_by_calib8", cov->inferred_float}};
  }
  std::cout << j.dump(2, ' ', false, ordered_json::error_handler_t::replace) << "\n";
}

// Text: what follows the rows (flags, name kinds, a worked example, clipping, model coverage).
static void PrintInspectText(const InspectArgs& o, const table::CalibrationTable& t, int flagged,
                             int warnings, const std::set<table::InternalName>& kinds,
                             const std::vector<Clip>& clips, const std::string& clip_note,
                             const std::string& sidecar_path,
                             const std::optional<table::ModelCoverage>& cov,
                             const std::string& model_fp) {
  std::cout << "\n" << flagged << " of " << t.size() << " entries flagged";
  if (warnings) std::cout << ", " << warnings << " warnings (--lenient)";
  std::cout << "\nflags: zero = range 0 (every value quantizes to 0), inf/nan = unusable, "
               "denormal/tiny = amax < 1e-6, huge = amax > 1e6, trt-internal = see below\n";
  for (auto k : kinds) std::cout << "  " << table::ExplainInternalName(k) << "\n";
  // A worked example of the hex: the first entry with a non-zero activation scale.
  for (const auto& e : t.entries())
    if (e.kind == table::EntryKind::kActivation && e.scale() > 0) {
      std::cout << "example: '" << e.name << "': hex " << table::HexBits(e.bits())
                << " is the IEEE-754 float32 bit pattern of the scale "
                << table::ShortestDecimal(e.scale())
                << "; amax = 127 x scale = " << table::ShortestDecimal(e.amax())
                << ", so INT8 value q means q x scale and "
                << "values beyond +-amax are clipped to +-127\n";
      break;
    }
  if (o.clipped > 0) {
    if (!clip_note.empty()) {
      std::cout << "most clipped: " << clip_note << "\n";
    } else if (!clips.empty()) {
      std::cout << "most clipped (amax / observed max|x|, from " << sidecar_path
                << "; 1 = nothing clipped):\n";
      for (const auto& c : clips)
        std::printf("  %6.3f  %s  (amax %s, max|x| %s)\n", c.ratio, c.name.c_str(),
                    table::ShortestDecimal(static_cast<float>(c.amax)).c_str(),
                    table::ShortestDecimal(static_cast<float>(c.absmax)).c_str());
    }
  }
  if (cov) {
    std::printf("\nmodel: %s (%s)\ncoverage: %d of %d float tensors have an entry (%.1f%%)\n",
                o.model.c_str(), model_fp.c_str(), cov->covered, cov->float_tensors,
                cov->coverage_percent());
    if (std::string note = table::InferredFloatNote(*cov); !note.empty()) std::cout << note << "\n";
    std::cout << "entries that match nothing in the model: " << cov->unmatched.size() << "\n";
    for (const auto& n : cov->unmatched) std::cout << "  " << n << "\n";
    std::cout << "float tensors with no entry (they stay FP32): " << cov->uncovered.size() << "\n";
    for (const auto& n : cov->uncovered) std::cout << "  " << n << "\n";
  }
}

// `calib8 inspect`: explains the table entry by entry (text or --json).
static int RunInspect(const InspectArgs& o) {
  int warnings = 0;
  auto t = o.in.Read(o.table, &warnings);
  if (!t.ok()) return ReportError(t.status());
  std::optional<table::ModelCoverage> cov;
  std::string model_fp;
  if (!o.model.empty()) {
    runtime::LoadOptions lo;
    lo.optimize = false;  // the table names the model's own tensors, before any folding
    auto g = runtime::LoadModel(o.model, lo);
    if (!g.ok()) return ReportError(g.status());
    cov = table::CheckAgainstModel(*t, *g);
    model_fp = table::ModelFingerprint(*g);
  }
  // Clipping needs the observed max|x|, which only the sidecar has.
  std::vector<Clip> clips;
  std::string sidecar_path = table::SidecarPathFor(o.table), clip_note;
  if (o.clipped > 0) CollectClips(o, *t, sidecar_path, clips, clip_note);
  std::set<table::InternalName> kinds;
  int flagged = 0;
  ordered_json j;
  j["table"] = o.table;
  j["format"] = table::FormatName(t->header.source_format);
  j["header"] = {{"raw", t->header.raw},
                 {"writer_version", t->header.writer_version},
                 {"tensorrt", table::DecodeTrtVersion(t->header.writer_version)},
                 {"algorithm", t->header.algorithm},
                 {"legacy_header", t->header.legacy_header}};
  j["entries"] = ordered_json::array();
  if (!o.json) {
    std::cout << "table: " << o.table << " (" << table::FormatTitle(t->header.source_format)
              << ")\nheader: " << HeaderLine(t->header) << "\nentries: " << t->size()
              << "\nvalue: float32 bits of scale = amax/127; range = [-amax, +amax]\n\n";
    std::printf("%-4s %-44s %-9s %-13s %-13s %-24s %s\n", "#", "name", "hex", "scale", "amax",
                "range", cov ? "flags | producer shape" : "flags");
  }
  ListEntries(o, *t, cov, j, kinds, flagged);
  if (o.json) {
    PrintInspectJson(o, j, flagged, warnings, kinds, clips, clip_note, cov, model_fp);
    return 0;
  }
  PrintInspectText(o, *t, flagged, warnings, kinds, clips, clip_note, sidecar_path, cov, model_fp);
  return 0;
}

Command AddInspectCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("inspect", "Explain a calibration table entry by entry");
  auto o = std::make_shared<InspectArgs>();
  DeclareInspectOptions(sub, o.get());
  return [o]() -> int { return RunInspect(*o); };
}

}  // namespace calib8::cli
