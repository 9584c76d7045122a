// api/plan.cc — include/calib8/plan.h over the modules below: the lowering's plan
// (runtime::PlanInt8, quant::PlanToText/PlanToJson) and int8/cpu_features.h.
#include "calib8/plan.h"

#include <utility>

#include "api/access.h"
#include "api/int8_setup.h"
#include "int8/cpu_features.h"
#include "quant/lowering.h"
#include "runtime/int8_engine.h"

namespace calib8 {

namespace {

// The parts of a quant::Int8Plan its renderings read (not the graph).
quant::Int8Plan ToQuantPlan(const Int8PlanInfo& info) {
  quant::Int8Plan p;
  for (const Int8PlanNode& n : info.nodes) {
    quant::NodeDecision d;
    d.node = n.node;
    d.op_type = n.op;
    d.precision = n.int8 ? quant::Precision::kInt8 : quant::Precision::kFp32;
    d.reason = n.reason;
    p.nodes.push_back(std::move(d));
  }
  p.coverage.needed = info.needed;
  p.coverage.found = info.found;
  p.coverage.missing = info.missing;
  p.coverage.zero = info.zero;
  p.num_int8 = info.int8_nodes;
  p.num_fp32 = info.fp32_nodes;
  p.num_quantize = info.quantize_nodes;
  p.num_dequantize = info.dequantize_nodes;
  return p;
}

}  // namespace

Status PlanInt8(const Model& model, const std::string& table_path, const Int8Options& options,
                Int8PlanInfo* plan) {
  *plan = Int8PlanInfo();
  // The table note is known even when the keep-fp32 file then fails (the CLI prints it first).
  runtime::Int8TableMode mode;
  auto prepared = detail::PrepareInt8(table_path, options, &mode);
  plan->table_note = mode.note;
  plan->asymmetric = mode.asymmetric;
  if (!prepared.ok()) return prepared.status();
  detail::Int8Setup setup = std::move(prepared).value();
  CALIB8_ASSIGN_OR_RETURN(quant::Int8Plan p, runtime::PlanInt8(detail::Access::GraphOf(model),
                                                               setup.table, setup.options));
  for (const quant::NodeDecision& d : p.nodes)
    plan->nodes.push_back({d.node, d.op_type, d.precision == quant::Precision::kInt8, d.reason});
  plan->int8_nodes = p.num_int8;
  plan->fp32_nodes = p.num_fp32;
  plan->quantize_nodes = p.num_quantize;
  plan->dequantize_nodes = p.num_dequantize;
  const quant::Coverage& c = p.coverage;
  plan->needed = c.needed;
  plan->found = c.found;
  plan->missing = c.missing;
  plan->zero = c.zero;
  plan->coverage = runtime::CoverageSummary(c);
  if (!c.missing.empty() || !c.zero.empty())
    plan->warnings.push_back("table '" + table_path + "' does not cover the model: " +
                             plan->coverage + "; those nodes run FP32");
  return Status::Ok();
}

std::string PlanText(const Int8PlanInfo& plan) { return quant::PlanToText(ToQuantPlan(plan)); }
std::string PlanJson(const Int8PlanInfo& plan) { return quant::PlanToJson(ToQuantPlan(plan)); }

CpuInt8Features DetectCpuInt8Features() {
  const int8::CpuInt8Features f = int8::DetectCpuInt8Features();
  CpuInt8Features out;
  out.model = f.model;
  out.avx2 = f.avx2;
  out.avx512bw = f.avx512bw;
  out.avx512_vnni = f.avx512_vnni;
  out.avx_vnni = f.avx_vnni;
  out.amx_int8 = f.amx_int8;
  return out;
}

}  // namespace calib8
