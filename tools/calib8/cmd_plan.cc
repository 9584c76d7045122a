// tools/calib8/cmd_plan.cc — `calib8 plan MODEL --table T [--keep-fp32 FILE]
// [--unsigned-activations] [--strict] [--int8-all] [--json]`: prints the INT8 plan
// (api/int8_engine.h): each node's precision and the reason, the coverage of the table, and the
// border nodes inserted.
#include <fstream>

#include "commands.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"
#include "table/calibration_table.h"

namespace calib8::cli {

Command AddPlanCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("plan", "Show which nodes run INT8 and why the others stay FP32");
  struct Opts {
    std::string model, table, keep_fp32;
    bool unsigned_act = false, strict = false, json = false, int8_all = false, symmetric = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("MODEL", o->model, "ONNX model file")->required();
  sub->add_option("--table,-t", o->table, "Calibration table (any format calib8 reads)")
      ->required();
  sub->add_option("--keep-fp32", o->keep_fp32,
                  "File of tensor (or node) names to keep FP32, one per line, '#' comments");
  sub->add_flag("--unsigned-activations", o->unsigned_act,
                "u8 (scale amax/255) for tensors that are never negative");
  sub->add_flag("--symmetric", o->symmetric,
                "TensorRT mode: symmetric s8 from the table's scales, ignoring the sidecar's "
                "asymmetric ranges");
  sub->add_flag("--strict", o->strict, "Exit 1 when the table does not cover the model");
  sub->add_flag("--int8-all", o->int8_all,
                "Run every layer that can run INT8 in INT8: turn off the no-speed-benefit rule "
                "(isolated small layers stay FP32 otherwise; docs/int8.md)");
  sub->add_flag("--json", o->json, "Print the plan as JSON");
  return [o]() -> int {
    auto g = runtime::LoadModel(o->model);
    if (!g.ok()) return ReportError(g.status());
    runtime::Int8Options io;
    runtime::Int8TableMode mode;
    auto t = runtime::LoadInt8Table(o->table, o->symmetric, &io, &mode);
    if (!t.ok()) return ReportError(t.status());
    std::cerr << "int8: " << mode.note << "\n";
    io.strict = o->strict;
    io.lowering.unsigned_activations = o->unsigned_act;
    io.lowering.speed_rule = !o->int8_all;
    io.lowering.table_source = "table '" + o->table + "'";
    if (!o->keep_fp32.empty()) {
      auto k = quant::ReadKeepFp32File(o->keep_fp32);
      if (!k.ok()) return ReportError(k.status());
      io.lowering.keep_fp32 = std::move(k).value();
    }
    auto plan = runtime::PlanInt8(*g, *t, io);
    if (!plan.ok()) return ReportError(plan.status());
    const quant::Coverage& c = plan->coverage;
    if (!c.missing.empty() || !c.zero.empty())
      std::cerr << "calib8: warning: table '" << o->table
                << "' does not cover the model: " << runtime::CoverageSummary(c)
                << "; those nodes run FP32\n";
    std::cout << (o->json ? quant::PlanToJson(*plan) : quant::PlanToText(*plan));
    return 0;
  };
}

}  // namespace calib8::cli
