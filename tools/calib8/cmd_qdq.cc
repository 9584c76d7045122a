// tools/calib8/cmd_qdq.cc — `calib8 export-qdq MODEL --table T -o OUT.onnx` and
// `calib8 import-qdq QDQ.onnx -o TABLE`: thin CLI over onnx_io::ExportQdqFile / ImportQdqFile
// (src/onnx/qdq.h). Prints coverage, the pairs placed, what stayed FP32 and why; exit 1 on bad
// input (and, with --strict, on a table that does not cover the model).
#include <iostream>

#include "commands.h"
#include "onnx/qdq.h"
#include "onnx/qdq_strip.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"
#include "table/calibration_table.h"

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
                                            placement = "plan";
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

// --target ort --placement plan: Q/DQ pairs on the tensors calib8's own INT8 plan holds in 8
// bits; without a plan, a warning (placement units) unless --placement was given explicitly.
static Status PlaceFromPlan(const ExportQdqArgs& o, const table::CalibrationTable& table,
                            runtime::Int8Options& io, onnx_io::QdqExportOptions& eo,
                            bool explicit_placement) {
  io.lowering.keep_fp32 = eo.keep_fp32;
  auto graph = runtime::LoadModel(o.model);
  Result<quant::Int8Plan> plan =
      graph.ok() ? runtime::PlanInt8(*graph, table, io) : Result<quant::Int8Plan>(graph.status());
  if (plan.ok()) {
    eo.from_plan = true;
    // 8-bit tensors are "<tensor>:s8" / "<tensor>:u8" in the plan's graph
    // (quant/lowering.h), whoever produces them (QConv, Quantize, a Reshape moving bytes).
    for (const auto& n : plan->graph.nodes)
      for (const auto& out : n.outputs) {
        if (out.size() < 4 || (out.compare(out.size() - 3, 3, ":s8") != 0 &&
                               out.compare(out.size() - 3, 3, ":u8") != 0))
          continue;
        const std::string base = out.substr(0, out.size() - 3);
        eo.int8_tensors.insert(base);
        if (n.domain == quant::kInt8Domain && n.op_type == "Quantize")
          eo.quantized_at_use.insert(base);
      }
  } else if (explicit_placement) {
    return plan.status();
  } else {
    // The model may still be exportable (ops calib8 cannot run; a bad table entry then gets
    // the export's own message): only an explicit --placement plan fails here.
    std::cerr << "calib8: warning: no INT8 plan for this model (" << plan.status().message()
              << "): placing ONNX Runtime's node units instead (--placement units)\n";
  }
  return Status::Ok();
}

// What the export did: coverage, pairs placed, what stayed FP32, the file written.
static void PrintExportSummary(const ExportQdqArgs& o, const table::CalibrationTable& table,
                               const onnx_io::QdqExportOptions& eo,
                               const onnx_io::QdqExportReport& rep) {
  for (const auto& n : rep.notes) std::cout << "note: " << n << "\n";
  std::cout << "model:    " << o.model << " (opset " << rep.opset_before << " -> "
            << rep.opset_after << ")\ntable:    " << o.table << " (" << table.size()
            << " entries)\ncoverage: " << rep.activations.size() << " of " << rep.candidates
            << " activation(s) to quantize\nQ/DQ:     " << rep.activations.size()
            << " activation pair(s) (per tensor), " << rep.weights.size()
            << " weight pair(s) (per output channel)\n";
  if (eo.target == onnx_io::QdqTarget::kOrt)
    std::cout << "target:   ort (" << o.ort_acts << "): " << rep.unsigned_pairs
              << " activation pair(s) uint8, " << rep.carried.size()
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
  runtime::Int8Options io;
  runtime::Int8TableMode mode;
  const bool ort_u8 = o.target == "ort" && o.ort_acts == "u8";
  auto table = runtime::LoadInt8Table(o.table, o.symmetric || !ort_u8, &io, &mode);
  if (!table.ok()) return ReportError(table.status());
  if (ort_u8 && !o.quiet) std::cerr << "export-qdq: " << mode.note << "\n";
  onnx_io::QdqExportOptions eo;
  eo.ranges = io.lowering.ranges;
  eo.opset = o.opset;
  eo.target = o.target == "ort" ? onnx_io::QdqTarget::kOrt : onnx_io::QdqTarget::kTensorRt;
  eo.ort_activations = o.ort_acts == "s8"      ? onnx_io::OrtActivations::kS8
                       : o.ort_acts == "mixed" ? onnx_io::OrtActivations::kMixed
                                               : onnx_io::OrtActivations::kU8;
  eo.strict = o.strict;
  eo.table_header = table->header.raw;
  if (eo.target == onnx_io::QdqTarget::kTensorRt) eo.int8_custom_ops = runtime::Int8PluginOps();
  if (!o.keep_file.empty()) {
    auto keep = onnx_io::ReadKeepFp32File(o.keep_file);
    if (!keep.ok()) return ReportError(keep.status());
    eo.keep_fp32 = *keep;
  }
  const bool explicit_placement = placement->count() > 0;
  if (explicit_placement && eo.target != onnx_io::QdqTarget::kOrt)
    return ReportError(InvalidArgument("--placement applies to --target ort only"));
  if (eo.target == onnx_io::QdqTarget::kOrt && o.placement == "plan") {
    Status placed = PlaceFromPlan(o, *table, io, eo, explicit_placement);
    if (!placed.ok()) return ReportError(placed);
  }
  onnx_io::QdqExportReport rep;
  Status s = onnx_io::ExportQdqFile(o.model, *table, "table '" + o.table + "'", o.out, eo, &rep);
  for (const auto& w : rep.warnings) std::cerr << "calib8: warning: " << w << "\n";
  if (s.ok() && !rep.uncovered.empty())
    std::cerr << "calib8: warning: table '" << o.table << "' covers " << rep.activations.size()
              << " of " << rep.candidates << " activation(s) the placement rule quantizes; "
              << rep.uncovered.size() << " stay FP32 (--strict fails instead)\n";
  if (!s.ok()) {
    if (rep.candidates)
      std::cerr << "coverage: " << rep.activations.size() << " of " << rep.candidates
                << " activation(s) to quantize have a usable table entry\n";
    return ReportError(s);
  }
  if (o.quiet) return 0;
  PrintExportSummary(o, *table, eo, rep);
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
    auto fmt = table::ParseFormatName(o->to);
    if (!fmt.ok()) return ReportError(fmt.status());
    if (*fmt != table::TableFormat::kTensorRt && *fmt != table::TableFormat::kCalib8Json)
      return ReportError(InvalidArgument("--to ", o->to, ": expected trt or json"));
    onnx_io::QdqImportReport rep;
    auto t = onnx_io::ImportQdqFile(o->model, &rep);
    for (const auto& w : rep.warnings) std::cerr << "calib8: warning: " << w << "\n";
    if (!t.ok()) return ReportError(t.status());
    if (t->size() == 0)
      return ReportError(
          InvalidArgument("model '", o->model,
                          "': no QuantizeLinear on an "
                          "activation with a symmetric int8 scale: nothing to write"));
    table::WriteReport wr;
    onnx_io::QdqStripReport sr;
    if (!o->model_out.empty()) {
      // The plain model first: a Q/DQ structure it cannot strip fails before the table is written.
      Status ms = onnx_io::StripQdqFile(o->model, o->model_out, &sr);
      for (const auto& w : sr.warnings) std::cerr << "calib8: warning: " << w << "\n";
      if (!ms.ok()) return ReportError(ms);
    }
    Status s = table::WriteTableFile(*t, o->out, *fmt, {}, &wr);
    for (const auto& w : wr.warnings) std::cerr << "calib8: warning: " << w << "\n";
    if (!s.ok()) return ReportError(s);
    if (o->quiet) return 0;
    std::cout << "model: " << o->model << "\nactivations: " << t->size() << " entr"
              << (t->size() == 1 ? "y" : "ies") << "\n";
    PrintList("weight Q/DQ (reported, not in the table)", rep.weights);
    PrintList("QuantizeLinear nodes with no table entry", rep.skipped);
    PrintList("uint8 scales converted (amax = 255 x scale)", rep.converted);
    std::cout << "wrote: " << o->out << " (" << table::FormatTitle(*fmt) << ")\n";
    if (!o->model_out.empty())
      std::cout << "wrote: " << o->model_out << " (plain model: " << sr.activation_pairs
                << " activation pair(s) removed, " << sr.weight_pairs
                << " constant(s) (weights, int32 biases) replaced by their dequantized values)\n";
    return 0;
  };
}

}  // namespace calib8::cli
