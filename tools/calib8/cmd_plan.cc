// tools/calib8/cmd_plan.cc — `calib8 plan MODEL --table T [--keep-fp32 FILE]
// [--unsigned-activations] [--strict] [--int8-all] [--json]`: prints the INT8 plan
// (calib8/plan.h): each node's precision and the reason, the coverage of the table, and the
// border nodes inserted.
#include <iostream>
#include <memory>
#include <string>

#include "calib8/model.h"
#include "calib8/plan.h"
#include "commands.h"
#include "int8_args.h"

namespace calib8::cli {

Command AddPlanCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("plan", "Show which nodes run INT8 and why the others stay FP32");
  struct Opts {
    std::string model;
    Int8Args int8;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("MODEL", o->model, "ONNX model file")->required();
  o->int8.Register(sub, "Calibration table (any format calib8 reads)");
  sub->get_option("--table")->required();
  sub->add_flag("--json", o->json, "Print the plan as JSON");
  return [o]() -> int {
    auto model = Model::Load(o->model);
    if (!model.ok()) return ReportError(model.status());
    Int8PlanInfo plan;
    Status s = PlanInt8(*model, o->int8.table, o->int8.options, &plan);
    if (!plan.table_note.empty()) std::cerr << "int8: " << plan.table_note << "\n";
    if (!s.ok()) return ReportError(s);
    for (const auto& w : plan.warnings) std::cerr << "calib8: warning: " << w << "\n";
    std::cout << (o->json ? PlanJson(plan) : PlanText(plan));
    return 0;
  };
}

}  // namespace calib8::cli
