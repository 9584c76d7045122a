// tools/calib8/cmd_qdq.cc — `calib8 export-qdq MODEL --table T -o OUT.onnx` and
// `calib8 import-qdq QDQ.onnx -o TABLE`: thin CLI over calib8::ExportQdq / ImportQdq
// (calib8/qdq.h). Prints coverage, the pairs placed, what stayed FP32 and why; exit 1 on bad
// input (and, with --strict, on a table that does not cover the model).
#include <iostream>
#include <string>
#include <vector>

#include "calib8/qdq.h"
#include "commands.h"

namespace calib8::cli {

namespace {
void PrintList(const char* title, const std::vector<std::string>& items, size_t limit = 20) {
  if (items.empty()) return;
  std::cout << title << " (" << items.size() << "):\n";
  for (size_t i = 0; i < items.size() && i < limit; ++i) std::cout << "  " << items[i] << "\n";
  if (items.size() > limit) std::cout << "  ... " << items.size() - limit << " more\n";
}

// The options of `calib8 export-qdq`.
struct ExportQdqArgs {
  std::string model, table, out, keep_file, target = "tensorrt", ort_acts = "u8",
                                            ort_weights = "s8", placement = "plan";
  int64_t opset = 0;
  bool strict = false, quiet = false, symmetric = false;
};

}  // namespace

// Declares the options of `calib8 export-qdq` on `sub`, stored in `o`; returns --placement.
static CLI::Option* DeclareExportQdqOptions(CLI::App* sub, ExportQdqArgs* o) {
  sub->add_option("MODEL", o->model, "FP32 ONNX model file")->required();
  sub->add_option("--table", o->table, "Calibration table (any format calib8 reads)")->required();
  sub->add_option("-o,--output", o->out, "Q/DQ ONNX model to write (atomically)")->required();
  sub->add_option("--keep-fp32", o->keep_file,
                  "File of tensor names (one a line, # comments) to keep FP32: no Q/DQ on them "
                  "nor on the nodes that produce them");
  sub->add_option("--opset", o->opset,
                  "Default-domain opset of the result (>= 13; default: the model's, raised to 13 "
                  "when lower and safe)");
  sub->add_option("--target", o->target,
                  "Placement: tensorrt (default: Q/DQ on the inputs of weighted ops, FP32 bias) or "
                  "ort (ONNX Runtime's QDQ node units: Q/DQ on inputs and outputs, int32 bias, so "
                  "ORT runs QLinearConv/QGemm/QLinearAdd...)")
      ->check(CLI::IsMember({"tensorrt", "ort"}));
  sub->add_option("--ort-activations", o->ort_acts,
                  "--target ort activation types: u8 (default: non-negative tensors uint8 zero "
                  "point 0, scale amax/255; signed ones uint8 zero point 128), mixed (signed ones "
                  "int8) or s8 (all int8 zero point 0; Relus stay FP32 in ORT)")
      ->check(CLI::IsMember({"u8", "mixed", "s8"}));
  sub->add_option("--ort-weights", o->ort_weights,
                  "--target ort weight type: s8 (default: int8 zero point 0, ONNX Runtime's u8s8 "
                  "kernels, which saturate on x86 CPUs without VNNI) or u8 (uint8 zero point 128, "
                  "the same values; its u8u8 kernels, exact on every CPU)")
      ->check(CLI::IsMember({"s8", "u8"}));
  auto* placement =
      sub->add_option("--placement", o->placement,
                      "--target ort: plan (default: pairs on the tensors calib8's own INT8 plan "
                      "holds in 8 bits, plus ORT's residual-Add units, so ORT computes what "
                      "`calib8 run --int8` computes up to those Adds; "
                      "falls back to units, with a warning, when calib8 cannot plan the model) or "
                      "units (ONNX Runtime's QDQ node units on every weighted op, residual Add, "
                      "pool and Concat: more integer kernels in ORT, less accuracy on some models)")
          ->check(CLI::IsMember({"units", "plan"}));
  sub->add_flag("--strict", o->strict,
                "Fail when the table does not cover every activation the placement rule "
                "quantizes or names tensors the model lacks");
  sub->add_flag("-q,--quiet", o->quiet, "Print only warnings and errors");
  sub->add_flag("--symmetric", o->symmetric,
                "--target ort: symmetric scales from the table even when its sidecar holds "
                "asymmetric ranges (by default those give uint8 with zero points, as `calib8 run "
                "--int8` uses them)");
  return placement;
}

// What the export did: coverage, pairs placed, what stayed FP32, the file written.
static void PrintExportSummary(const ExportQdqArgs& o, const QdqExportSummary& rep) {
  for (const auto& n : rep.notes) std::cout << "note: " << n << "\n";
  std::cout << "model:    " << o.model << " (opset " << rep.opset_before << " -> "
            << rep.opset_after << ")\ntable:    " << o.table << " (" << rep.table_entries
            << " entries)\ncoverage: " << rep.activations.size() << " of " << rep.candidates
            << " activation(s) to quantize\nQ/DQ:     " << rep.activations.size()
            << " activation pair(s) (per tensor), " << rep.weights.size()
            << " weight pair(s) (per output channel)\n";
  if (o.target == "ort")
    std::cout << "target:   ort (" << o.ort_acts << (o.ort_weights == "u8" ? ", u8 weights" : "")
              << "): " << rep.unsigned_pairs << " activation pair(s) uint8, " << rep.carried.size()
              << " with a carried-over scale, " << rep.biases.size() << " int32 bias(es)\n";
  PrintList("activations with Q/DQ", rep.activations);
  PrintList("pairs with a carried-over scale", rep.carried);
  PrintList("activations without a usable entry (FP32)", rep.uncovered);
  PrintList("weighted nodes left FP32", rep.fp32_nodes);
  PrintList("table entries with no Q/DQ pair", rep.unused_entries);
  std::cout << "wrote:    " << o.out << " (passes onnx::checker::check_model)\n";
}

// `calib8 export-qdq`: writes the model with Q/DQ pairs from the table.
static int RunExportQdq(const ExportQdqArgs& o, const CLI::Option* placement) {
  QdqExportOptions eo;
  eo.target = o.target == "ort" ? QdqTarget::kOrt : QdqTarget::kTensorRt;
  eo.ort_activations = o.ort_acts == "s8"      ? QdqOrtActivations::kS8
                       : o.ort_acts == "mixed" ? QdqOrtActivations::kMixed
                                               : QdqOrtActivations::kU8;
  eo.ort_weights = o.ort_weights == "u8" ? QdqOrtWeights::kU8 : QdqOrtWeights::kS8;
  if (placement->count() > 0)
    eo.placement = o.placement == "units" ? QdqPlacement::kUnits : QdqPlacement::kPlan;
  eo.keep_fp32_file = o.keep_file;
  eo.opset = o.opset;
  eo.strict = o.strict;
  eo.symmetric = o.symmetric;
  QdqExportSummary rep;
  Status s = ExportQdq(o.model, o.table, o.out, eo, &rep);
  if (!rep.table_note.empty() && !o.quiet) std::cerr << "export-qdq: " << rep.table_note << "\n";
  for (const auto& w : rep.warnings) std::cerr << "calib8: warning: " << w << "\n";
  if (!s.ok()) {
    if (rep.candidates)
      std::cerr << "coverage: " << rep.activations.size() << " of " << rep.candidates
                << " activation(s) to quantize have a usable table entry\n";
    return ReportError(s);
  }
  if (o.quiet) return 0;
  PrintExportSummary(o, rep);
  return 0;
}

Command AddExportQdqCommand(CLI::App& app) {
  auto* sub =
      app.add_subcommand("export-qdq",
                         "Write the model with QuantizeLinear/DequantizeLinear pairs from a table "
                         "(explicit INT8 for TensorRT 10+ and ONNX Runtime)");
  auto o = std::make_shared<ExportQdqArgs>();
  CLI::Option* placement = DeclareExportQdqOptions(sub, o.get());
  return [o, placement]() -> int { return RunExportQdq(*o, placement); };
}

Command AddImportQdqCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("import-qdq",
                                 "Recover the activation calibration table from a Q/DQ ONNX model "
                                 "(amax = 127 x scale, scale bits kept exactly)");
  struct Opts {
    std::string model, out, to = "trt", model_out;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("QDQ_MODEL", o->model, "ONNX model with QuantizeLinear/DequantizeLinear")
      ->required();
  sub->add_option("-o,--output", o->out, "Table to write (atomically)")->required();
  sub->add_option("--to", o->to, "Output format: trt|json (default trt)");
  sub->add_option("--model-out", o->model_out,
                  "Also write the model without its Q/DQ pairs, weights replaced by their "
                  "dequantized values (what `run --int8 --table TABLE` runs to compute what the "
                  "Q/DQ model computes; docs/fine-tuning.md)");
  sub->add_flag("-q,--quiet", o->quiet, "Print only warnings and errors");
  return [o]() -> int {
    QdqImportOptions io;
    io.format = o->to;
    io.model_out = o->model_out;
    QdqImportSummary rep;
    Status s = ImportQdq(o->model, o->out, io, &rep);
    for (const auto& w : rep.warnings) std::cerr << "calib8: warning: " << w << "\n";
    if (!s.ok()) return ReportError(s);
    if (o->quiet) return 0;
    std::cout << "model: " << o->model << "\nactivations: " << rep.entries << " entr"
              << (rep.entries == 1 ? "y" : "ies") << "\n";
    PrintList("weight Q/DQ (reported, not in the table)", rep.weights);
    PrintList("QuantizeLinear nodes with no table entry", rep.skipped);
    PrintList("uint8 scales converted (amax = 255 x scale)", rep.converted);
    std::cout << "wrote: " << o->out << " (" << rep.format_title << ")\n";
    if (!o->model_out.empty())
      std::cout << "wrote: " << o->model_out << " (plain model: " << rep.activation_pairs
                << " activation pair(s) removed, " << rep.weight_pairs
                << " constant(s) (weights, int32 biases) replaced by their dequantized values)\n";
    return 0;
  };
}

}  // namespace calib8::cli
