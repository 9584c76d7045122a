// quant/lowering.h — from an FP32 graph and a calibration table to an INT8 plan (issue 5 item 1).
//
// The plan says, per node, whether it runs in INT8 and, for every node that stays FP32, why. Its
// graph is an ordinary ir::Graph in which the quantized regions use internal ops of the domain
// "calib8.int8" (kernels in src/int8, math in quant/quant_params.h, format in docs/int8.md):
//   Quantize    f32 -> s8/u8              attrs scale, unsigned, nhwc (output is NHWC)
//   Dequantize  s8/u8 -> f32              attrs scale, nhwc (input is NHWC)
//   QConv       Conv (1-D, 2-D, 3-D), s8/u8 input, per-channel s8 weights, int32 bias, epilogue
//   QConvTranspose  ConvTranspose (W [C, M/G, k...] s8, scales per output channel), as QConv
//   QMatMul     Gemm / MatMul with constant weights (stored [N, K] s8), int32 bias, epilogue
//   QMaxPool, QAveragePool, QGlobalAveragePool   8-bit pass-through (output scale = input scale)
//   QConcat     8-bit concat, requantizing inputs whose scale differs from the output's
//   QPlugin:<domain>::<op>  a custom op whose plugin has compute_int8: s8 in, s8 out, scales as
//               attrs (every tensor at its border symmetric s8, as TensorRT hands INT8 plugins)
// Reshape, Flatten, Squeeze, Unsqueeze and Transpose keep their ONNX kernels, which move bytes of
// any type; they see 8-bit tensors in NCHW. Int8 tensors are named "<tensor>:s8" / "<tensor>:u8";
// every float tensor keeps its model name, so graph outputs and observers are unchanged.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "ir/graph.h"
#include "table/calibration_table.h"

namespace calib8::quant {

inline constexpr const char* kInt8Domain = "calib8.int8";

enum class Precision { kInt8, kFp32 };

// One node of the (fused) model, as the plan decided it.
struct NodeDecision {
  std::string node;     // node name
  std::string op_type;  // e.g. "Conv" (with "+Relu" etc. for fused epilogues)
  Precision precision = Precision::kFp32;
  std::string reason;  // FP32: why (one of the reasons in docs/int8.md); INT8: what runs
};

struct LoweringOptions {
  // Tensor or node names to keep in FP32 (--keep-fp32 FILE): a tensor named here is never held
  // in 8 bits (its producer and all its consumers run FP32); a node named here runs FP32.
  std::set<std::string> keep_fp32;
  // u8 with scale amax/255 for tensors that are never negative (after Relu, Clip(min>=0), ...).
  bool unsigned_activations = false;
  // Asymmetric ranges [lo, hi] per activation tensor (from the table's calib8 sidecar): a tensor
  // listed here is u8 with a zero point (quant_params.h AsymmetricParams) instead of the table's
  // symmetric scale; the table still decides which tensors are covered. Empty: symmetric, as
  // TensorRT runs a cache.
  std::map<std::string, std::pair<float, float>> ranges;
  // Keep 4-D 8-bit activations NHWC between INT8 layers (what oneDNN's VNNI/AMX kernels read).
  bool nhwc = true;
  std::string table_source = "table";  // how messages name the table (its path)
  // The "no speed benefit" rule (docs/int8.md): a Conv/ConvTranspose/Gemm/MatMul that would be
  // an INT8 island by itself (input quantized for it alone, output read as float32) stays FP32
  // when it does fewer multiply-accumulates per element crossing its borders than these
  // thresholds: the break-even of such islands measured by bench/speed_rule_bench.cc
  // (bench/RESULTS.md). Convolutions pay an NCHW <-> NHWC conversion at their borders as well,
  // hence the higher threshold. Off with `--int8-all`.
  bool speed_rule = true;
  double min_conv_macs_per_element = 128.0;
  double min_matmul_macs_per_element = 64.0;
  // Custom ops (plugins, include/calib8/plugin.h) that have an INT8 compute, by
  // "domain::op_type"; the value says whether output 0 takes input 0's scale
  // (CALIB8_PLUGIN_OUTPUT_HAS_INPUT_SCALE) instead of its own table entry. Every other custom op
  // runs FP32. runtime::PlanInt8 fills this from the op registry.
  std::map<std::string, bool> int8_custom_ops;
};

// The op type (in kInt8Domain) under which a plugin registers the INT8 compute of
// `domain`::`op_type`, and which the plan emits for it: kInt8PluginPrefix + "domain::op_type".
inline constexpr const char* kInt8PluginPrefix = "QPlugin:";
// The attributes of such a node: the scales of its inputs and outputs (one float each, symmetric
// s8), and the custom op it runs.
inline constexpr const char* kPluginInScalesAttr = "_calib8_in_scales";
inline constexpr const char* kPluginOutScalesAttr = "_calib8_out_scales";
inline constexpr const char* kPluginDomainAttr = "_calib8_domain";
inline constexpr const char* kPluginOpTypeAttr = "_calib8_op_type";
std::string Int8PluginOpType(const std::string& domain, const std::string& op_type);

// How much of the model the table covers: the activation tensors an INT8 node would need.
struct Coverage {
  int needed = 0;                    // distinct tensors an INT8 node would read or write in 8 bits
  int found = 0;                     // of those, with a usable (finite, non-zero) table entry
  std::vector<std::string> missing;  // needed tensors without an entry (model order)
  std::vector<std::string> zero;     // needed tensors whose amax is 0
  double ratio() const { return needed ? static_cast<double>(found) / needed : 1.0; }
};

struct Int8Plan {
  ir::Graph graph;  // the rewritten graph (fused, with calib8.int8 ops); run with SessionOptions
                    // fuse_epilogues = false
  std::vector<NodeDecision> nodes;  // one per node of the fused FP32 model, in order
  Coverage coverage;
  int num_int8 = 0, num_fp32 = 0;
  int num_quantize = 0, num_dequantize = 0;  // border nodes inserted
};

// Lowers `graph` (as runtime::LoadModel returns it: optimised, not yet fused). Fails on a table
// entry with an inf or NaN scale that the model uses (naming the table and the tensor).
Result<Int8Plan> LowerToInt8(const ir::Graph& graph, const table::CalibrationTable& table,
                             const LoweringOptions& options = {});

// Reads a --keep-fp32 file: one tensor (or node) name per line; '#' starts a comment line;
// surrounding blanks are trimmed; empty lines are skipped.
Result<std::set<std::string>> ReadKeepFp32File(const std::string& path);

// Human-readable plan: one line per node (precision, op, name, reason) and a summary.
std::string PlanToText(const Int8Plan& plan);
// The same as JSON: {"nodes":[{"node","op","precision","reason"}...],"coverage":{...},...}.
std::string PlanToJson(const Int8Plan& plan);

}  // namespace calib8::quant
