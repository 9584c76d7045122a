// tools/calib8/cmd_inspect.cc — `calib8 inspect TABLE [--model M] [--json]`: what the hex numbers
// mean. Header decoded, one row per entry (hex, scale, amax = 127*scale, range, flags), a line
// explaining each kind of TensorRT-internal name seen, and with --model the match against a graph.
// The numbers come from calib8::InspectTable; this file renders them.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "calib8/table_tools.h"
#include "table_args.h"

namespace calib8::cli {

namespace {
using nlohmann::ordered_json;

std::string HeaderLine(const TableHeaderInfo& h) {
  if (h.source_format != TableFormat::kTensorRt && h.raw.empty())
    return "none (" + FormatTitle(h.source_format) + ")";
  if (h.legacy_header) return "'1': TensorRT 5.0 or earlier, entropy calibrator (v1)";
  return "'" + h.raw + "': TensorRT " + h.tensorrt + " (" + std::to_string(h.writer_version) +
         "), " + h.algorithm;
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

// The text rows: a header line, then one row per entry.
static void PrintInspectRows(const TableInspection& r) {
  const auto& cov = r.coverage;
  std::printf("%-4s %-44s %-9s %-13s %-13s %-24s %s\n", "#", "name", "hex", "scale", "amax",
              "range", cov ? "flags | producer shape" : "flags");
  for (size_t i = 0; i < r.entries.size(); ++i) {
    const InspectedEntry& e = r.entries[i];
    std::string extra = Join(e.flags, ",");
    if (e.weight)
      extra = "weight x" + std::to_string(e.channels) + (extra.empty() ? "" : ",") + extra;
    if (cov) {
      const auto& m = cov->entries[i];
      extra += " | " + (m.matched ? m.producer + " " + m.shape : std::string("NO MATCH"));
    }
    std::string range = "[-" + e.amax + ", " + e.amax + "]";
    std::printf("%-4zu %-44s %-9s %-13s %-13s %-24s %s\n", i + 1, e.name.c_str(), e.hex.c_str(),
                e.scale.c_str(), e.amax.c_str(), range.c_str(), extra.c_str());
  }
}

// --json: the whole inspection as one JSON document.
static void PrintInspectJson(const InspectArgs& o, const Table& t, const TableInspection& r,
                             int warnings) {
  const TableHeaderInfo h = t.header_info();
  ordered_json j;
  j["table"] = o.table;
  j["format"] = FormatName(h.source_format);
  j["header"] = {{"raw", h.raw},
                 {"writer_version", h.writer_version},
                 {"tensorrt", h.tensorrt},
                 {"algorithm", h.algorithm},
                 {"legacy_header", h.legacy_header}};
  j["entries"] = ordered_json::array();
  for (size_t i = 0; i < r.entries.size(); ++i) {
    const InspectedEntry& e = r.entries[i];
    ordered_json je = {{"name", e.name},
                       {"hex", e.hex},
                       {"scale", e.scale},
                       {"amax", e.amax},
                       {"range", {"-" + e.amax, e.amax}},
                       {"flags", e.flags}};
    if (e.weight) {
      je["kind"] = "weight";
      je["channels"] = e.channels;
    }
    if (r.coverage) {
      const auto& m = r.coverage->entries[i];
      je["matched"] = m.matched;
      je["producer"] = m.producer;
      je["shape"] = m.shape;
    }
    j["entries"].push_back(je);
  }
  j["flagged"] = r.flagged;
  j["warnings"] = warnings;
  j["explanations"] = ordered_json::object();
  for (const auto& [key, text] : r.name_kinds) j["explanations"][key] = text;
  if (o.clipped > 0) {
    j["most_clipped"] = ordered_json::array();
    for (const auto& c : r.most_clipped)
      j["most_clipped"].push_back({{"name", c.name},
                                   {"amax", c.amax},
                                   {"absmax", c.absmax},
                                   {"amax_over_absmax", c.ratio}});
    if (!r.clipped_note.empty()) j["most_clipped_note"] = r.clipped_note;
  }
  if (const auto& cov = r.coverage) {
    j["model"] = {{"file", o.model},
                  {"fingerprint", cov->model_fingerprint},
                  {"float_tensors", cov->float_tensors},
                  {"covered", cov->covered},
                  {"coverage_percent", cov->percent()},
                  {"unmatched_entries", cov->unmatched},
                  {"float_tensors_without_entry", cov->uncovered},
                  {"float_tensors_typed_by_calib8", cov->inferred_float}};
  }
  std::cout << j.dump(2, ' ', false, ordered_json::error_handler_t::replace) << "\n";
}

// Text: what follows the rows (flags, name kinds, a worked example, clipping, model coverage).
static void PrintInspectText(const InspectArgs& o, const TableInspection& r, int warnings) {
  std::cout << "\n" << r.flagged << " of " << r.entries.size() << " entries flagged";
  if (warnings) std::cout << ", " << warnings << " warnings (--lenient)";
  std::cout << "\nflags: zero = range 0 (every value quantizes to 0), inf/nan = unusable, "
               "denormal/tiny = amax < 1e-6, huge = amax > 1e6, trt-internal = see below\n";
  for (const auto& kind : r.name_kinds) std::cout << "  " << kind.second << "\n";
  if (!r.example.empty()) std::cout << r.example << "\n";
  if (o.clipped > 0) {
    if (!r.clipped_note.empty()) {
      std::cout << "most clipped: " << r.clipped_note << "\n";
    } else if (!r.most_clipped.empty()) {
      std::cout << "most clipped (amax / observed max|x|, from " << r.sidecar_path
                << "; 1 = nothing clipped):\n";
      for (const auto& c : r.most_clipped)
        std::printf("  %6.3f  %s  (amax %s, max|x| %s)\n", c.ratio, c.name.c_str(),
                    c.amax_text.c_str(), c.absmax_text.c_str());
    }
  }
  if (const auto& cov = r.coverage) {
    std::printf("\nmodel: %s (%s)\ncoverage: %d of %d float tensors have an entry (%.1f%%)\n",
                o.model.c_str(), cov->model_fingerprint.c_str(), cov->covered, cov->float_tensors,
                cov->percent());
    if (!cov->inferred_note.empty()) std::cout << cov->inferred_note << "\n";
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
  InspectOptions io;
  io.model_path = o.model;
  io.clipped = o.clipped;
  auto r = InspectTable(*t, io);
  if (!r.ok()) return ReportError(r.status());
  if (o.json) {
    PrintInspectJson(o, *t, *r, warnings);
    return 0;
  }
  std::cout << "table: " << o.table << " (" << FormatTitle(t->header_info().source_format)
            << ")\nheader: " << HeaderLine(t->header_info()) << "\nentries: " << t->size()
            << "\nvalue: float32 bits of scale = amax/127; range = [-amax, +amax]\n\n";
  PrintInspectRows(*r);
  PrintInspectText(o, *r, warnings);
  return 0;
}

Command AddInspectCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("inspect", "Explain a calibration table entry by entry");
  auto o = std::make_shared<InspectArgs>();
  DeclareInspectOptions(sub, o.get());
  return [o]() -> int { return RunInspect(*o); };
}

}  // namespace calib8::cli
