// calib8/plan.h — the INT8 plan of a model with a table: which nodes run INT8 and why the others
// stay FP32 (calib8 plan), and which INT8 instructions this CPU has (calib8 doctor).
//
//   auto model = calib8::Model::Load("net.onnx");
//   calib8::Int8PlanInfo plan;
//   calib8::Status s = calib8::PlanInt8(*model, "net.cache", {}, &plan);
//   if (!s.ok()) { std::cerr << s.message() << "\n"; return 1; }
//   for (const auto& n : plan.nodes) if (!n.int8) std::cout << n.node << ": " << n.reason << "\n";
//   std::cout << calib8::PlanText(plan);                     // what `calib8 plan` prints
//
// The plan is the one Session::CreateInt8 runs with the same table and options (calib8/model.h).
#pragma once

#include <string>
#include <vector>

#include "calib8/model.h"
#include "calib8/status.h"

namespace calib8 {

// One node of the fused FP32 model.
struct Int8PlanNode {
  std::string node;
  std::string op;  // e.g. "Conv", "Conv+Relu" for a fused epilogue
  bool int8 = false;
  std::string reason;  // FP32: why (docs/int8.md); INT8: what runs
};

struct Int8PlanInfo {
  std::string table_note;           // which activation encoding the table gave and why (one line)
  bool asymmetric = false;          // u8 with zero points from the sidecar, else symmetric
  std::vector<Int8PlanNode> nodes;  // in model order
  int int8_nodes = 0, fp32_nodes = 0;
  int quantize_nodes = 0, dequantize_nodes = 0;  // border nodes inserted
  // Coverage: tensors an INT8 node needs in 8 bits, and of those the ones with a usable entry.
  int needed = 0, found = 0;
  std::vector<std::string> missing;   // needed, no entry (model order)
  std::vector<std::string> zero;      // needed, amax 0
  std::string coverage;               // "coverage 12/14 (85.7%); missing: a, b, ..."
  std::vector<std::string> warnings;  // a table that does not cover the model
};

// Plans `model` with the table at `table_path` and `options` as Session::CreateInt8 would
// (options.threads and options.nchw aside). Fills `plan` as it goes: on failure `table_note` is
// set once the table was read. Fails on an unreadable table or keep-fp32 file, a table entry
// with an inf or NaN scale the model uses, and with options.strict on a table that misses a
// tensor an INT8 node needs.
Status PlanInt8(const Model& model, const std::string& table_path, const Int8Options& options,
                Int8PlanInfo* plan);

// `calib8 plan`'s text: one aligned line per node (precision, op, node, reason), the summary and
// the coverage.
std::string PlanText(const Int8PlanInfo& plan);
// `calib8 plan --json`: {"nodes":[{"node","op","precision","reason"}...],"coverage":{...},
// "summary":{...}}, indented by 2, with a final newline.
std::string PlanJson(const Int8PlanInfo& plan);

// Which 8-bit dot-product instructions this CPU has (/proc/cpuinfo flags, CPUID as the fallback).
struct CpuInt8Features {
  std::string model;  // "Intel(R) Xeon(R) ..." or "" if unknown
  bool avx2 = false;
  bool avx512bw = false;
  bool avx512_vnni = false;
  bool avx_vnni = false;
  bool amx_int8 = false;
  bool any_vnni() const { return avx512_vnni || avx_vnni || amx_int8; }
};

CpuInt8Features DetectCpuInt8Features();

}  // namespace calib8
