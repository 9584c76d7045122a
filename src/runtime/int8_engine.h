// runtime/int8_engine.h — INT8 execution as a library call: lower a graph with a calibration table
// (quant/lowering.h) and plan a Session over the rewritten graph with the calib8.int8 kernels
// (int8/qkernels.h) beside the built-in FP32 ops. The CLI (`calib8 run --int8`, `calib8 plan`)
// is a thin layer over these.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "exec/session.h"
#include "quant/lowering.h"
#include "table/calibration_table.h"

namespace calib8::runtime {

struct Int8Options {
  quant::LoweringOptions lowering;
  // Fail (instead of falling back to FP32 with a warning) when the table does not cover every
  // tensor an INT8 node would need.
  bool strict = false;
};

// Lowers `graph` (from LoadModel) with `table`. With options.strict, a table that leaves any
// needed tensor uncovered (missing or amax 0) is an error that shows the coverage.
Result<quant::Int8Plan> PlanInt8(const ir::Graph& graph, const table::CalibrationTable& table,
                                 const Int8Options& options = {});

// A Session over plan.graph (fuse_epilogues is turned off: the plan is already fused).
Result<std::unique_ptr<exec::Session>> CreateInt8Session(const quant::Int8Plan& plan,
                                                         exec::SessionOptions options = {});

// Both steps; `plan_out` (optional) receives the plan.
Result<std::unique_ptr<exec::Session>> CreateInt8Session(const ir::Graph& graph,
                                                         const table::CalibrationTable& table,
                                                         const Int8Options& options,
                                                         exec::SessionOptions session_options = {},
                                                         quant::Int8Plan* plan_out = nullptr);

// How LoadInt8Table chose the activation encoding.
struct Int8TableMode {
  bool asymmetric = false;  // u8 with zero points from the sidecar's ranges
  std::string note;         // one line for the user: which mode and why
};

// Reads a table for INT8 execution (any format calib8 reads). When `symmetric` is false and the
// calib8 sidecar next to it (<table>.calib8.json) was written for these very table bytes and
// holds asymmetric ranges, they go into options->lowering.ranges: u8 activations with zero
// points, calib8's default. A bare cache, a sidecar for other bytes (an edited or merged
// table), or `symmetric` (TensorRT mode) give symmetric s8 scales, as TensorRT runs the cache.
// A sidecar that exists but cannot be parsed is an error naming it.
Result<table::CalibrationTable> LoadInt8Table(const std::string& path, bool symmetric,
                                              Int8Options* options, Int8TableMode* mode);

// The no-speed-benefit rule (quant/lowering.h) is calib8's CPU choice for the asymmetric mode
// (options->lowering.ranges set, as LoadInt8Table leaves them); TensorRT mode (symmetric, no
// ranges) predicts what TensorRT runs, which is every layer the table covers in INT8. `int8_all`
// turns the rule off in both. Set the ranges first.
void SetSpeedRule(Int8Options* options, bool int8_all);

// The custom ops whose plugin (runtime/plugin.h) registered an INT8 compute, by "domain::op_type",
// with whether output 0 takes input 0's scale (CALIB8_PLUGIN_OUTPUT_HAS_INPUT_SCALE). PlanInt8
// puts them into the lowering options; export-qdq --target tensorrt places Q/DQ for them.
std::map<std::string, bool> Int8PluginOps();

// "coverage 12/14 (85.7%); missing: a, b, ...; amax 0: c" — for warnings and errors.
std::string CoverageSummary(const quant::Coverage& c, size_t max_names = 8);

}  // namespace calib8::runtime
