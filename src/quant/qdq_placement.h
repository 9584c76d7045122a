// quant/qdq_placement.h — explicit Q/DQ placement as a pass on calib8's IR (issue 11 item 1):
// the options and report of a Q/DQ export, the table look-ups and weight scales both placements
// share, and the --target tensorrt and --target ort placements (qdq_placement_ort.cc), which
// insert QuantizeLinear/DequantizeLinear nodes (opset 13 form) and their initializers into an
// ir::Graph. Protobuf-free: onnx/ writes the graph.
//
// Numeric contract (quant/quant_params.h, DESIGN §4): activations symmetric per tensor,
// y_scale = the table's float32 scale bits unchanged (= amax / 127), int8 zero point 0; weights
// symmetric per output channel, scale_c = max|W_c| / 127, int8 zero point 0. Placement:
// docs/qdq.md.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "ir/graph.h"
#include "table/calibration_table.h"

namespace calib8::quant {

// Which runtime the Q/DQ placement is written for (docs/qdq.md).
enum class QdqTarget {
  // TensorRT's recommendations: pairs on the inputs of weighted ops, pooling, Concat and the skip
  // branch of residual Adds; none on outputs; FP32 bias. Signed int8 only.
  kTensorRt,
  // ONNX Runtime's QDQ node units: DQ on every input and Q on the output of each weighted op
  // (bias as int32 DequantizeLinear), residual Add, pooling and Concat, so that ORT's graph
  // transformer replaces them by QLinearConv/QGemm/QLinearAdd/... kernels.
  kOrt,
};

// Activation types of a --target ort export.
enum class OrtActivations {
  // Non-negative tensors (Relu outputs, pools of them...) uint8 with zero point 0 and
  // scale = amax / 255 (calib8 --unsigned-activations); signed tensors uint8 with zero point 128
  // and the table's scale (the same grid as int8 with zero point 0). ORT drops a Relu before a
  // uint8 Q with zero point 0 and every node unit is uint8.
  kU8,
  // Non-negative tensors as kU8, signed ones int8 with zero point 0.
  kMixed,
  // Everything int8 with zero point 0 (the table's scale): ORT cannot drop a Relu then, so it
  // runs between a DQ and a Q in FP32 (the weighted op's output pair takes the Relu output's
  // scale).
  kS8,
};

// Weight types of a --target ort export.
enum class OrtWeights {
  // int8, zero point 0 (ONNX Runtime's QInt8, its u8s8 kernels).
  kS8,
  // uint8 with zero point 128 on the same grid (q_u8 = q_s8 + 128: identical values; ORT's
  // QUInt8, its u8u8 kernels). On x86 CPUs without VNNI ORT's u8s8 kernels saturate 16-bit pair
  // sums; its u8u8 kernels do not (docs/qdq.md).
  kU8,
};

struct QdqExportOptions {
  QdqTarget target = QdqTarget::kTensorRt;
  OrtActivations ort_activations = OrtActivations::kU8;
  OrtWeights ort_weights = OrtWeights::kS8;
  // --target ort with kU8: asymmetric ranges [lo, hi] per activation (from the table's calib8
  // sidecar, as `calib8 run --int8` uses them): those tensors get uint8 with the zero point and
  // scale of quant::AsymmetricParams instead of the table's symmetric scale.
  std::map<std::string, std::pair<float, float>> ranges;
  // Tensors that must stay FP32: no Q/DQ on them, and none on the inputs or weights of the nodes
  // that produce them (those nodes run in FP32).
  std::set<std::string> keep_fp32;
  // --target ort --placement plan: the activation tensors calib8's own INT8 plan holds in 8 bits
  // (quant::Int8Plan), and of those the ones it quantizes where they are used (their producer
  // runs FP32). When `from_plan` is set, only these tensors get a pair (an op whose output the
  // plan keeps float gets DequantizeLinear inputs and a float output), and a pair on a tensor of
  // `quantized_at_use` feeds only the nodes that read it in 8 bits: the float consumers keep the
  // float tensor, as in calib8's run. One exception: residual Adds of two activations keep ORT's
  // node unit (QLinearAdd), where calib8 adds in float. The exported model then computes what
  // `calib8 run --int8` computes up to those Adds.
  bool from_plan = false;
  std::set<std::string> int8_tensors;
  std::set<std::string> quantized_at_use;
  // --target tensorrt: custom ops ("domain::op_type") whose plugin has an INT8 compute, and
  // whether output 0 takes input 0's scale: they get input -> Q -> op -> DQ (docs/qdq.md).
  std::map<std::string, bool> int8_custom_ops;
  // Default-domain opset of the result: 0 = the model's own, raised to 13 when lower. Raising is
  // done only when no node's operator changed between the two opsets; otherwise refused.
  int64_t opset = 0;
  // Fail (instead of warning and leaving those tensors FP32) when the table does not cover every
  // activation the placement rule would quantize, or names tensors the model does not have.
  bool strict = false;
  // Written to the model's metadata (calib8.table_header) so that import-qdq restores it.
  std::string table_header;
};

struct QdqExportReport {
  int64_t opset_before = 0, opset_after = 0;
  std::vector<std::string> activations;  // tensors that got a pair, in graph order
  std::vector<std::string> weights;      // weight tensors that got a per-channel pair
  std::vector<std::string> biases;       // --target ort: biases written as int32 + DequantizeLinear
  // --target ort: pairs whose scale is carried over from another tensor ("tensor <- source: why"),
  // not taken from the tensor's own table entry (pooling outputs keep their input's scale).
  std::vector<std::string> carried;
  int unsigned_pairs = 0;              // --target ort: activation pairs written as uint8
  std::vector<std::string> uncovered;  // candidate tensors with no usable table entry
  std::vector<std::string>
      unused_entries;                   // table activation entries that got no pair: "name: why"
  std::vector<std::string> fp32_nodes;  // "node (Op): why" for weighted ops left FP32
  std::vector<std::string> warnings;
  std::vector<std::string> notes;
  int candidates = 0;  // activation tensors the placement rule asks for (keep_fp32 excluded)
};

enum class Lookup { kFound, kMissing, kZero };

// The table's scale bits for activation `t`. kMissing: no usable entry (the caller lists it as
// uncovered); kZero: amax 0 (a warning is added: QuantizeLinear cannot take a zero scale); an
// error for a NaN, infinite or negative scale.
Result<Lookup> LookupActivation(const table::CalibrationTable& table, const std::string& table_name,
                                const std::string& t, uint32_t* bits, QdqExportReport* rep);

// After placement: unused table entries, "the table matches the model", --strict.
Status FinishCoverage(const table::CalibrationTable& table, const std::string& table_name,
                      const std::string& source, const std::set<std::string>& tensors,
                      const std::set<std::string>& paired, const std::set<std::string>& asked,
                      const QdqExportOptions& options, QdqExportReport& rep,
                      const std::map<std::string, std::string>& carried_from = {});

// Per-channel symmetric weight scales along `axis` (-1: one scale), scale_c = max|W_c| / 127.
// An all-zero channel gets scale 1 (any positive scale maps 0 to 0 exactly; 0 is not allowed).
Result<std::vector<float>> WeightScales(const Tensor& w, int64_t axis, const std::string& where);

// --target tensorrt (docs/qdq.md): pairs on the activation inputs of weighted ops, pooling,
// Concat and the skip branch of residual Adds, per-channel pairs on their weights, FP32 bias;
// custom ops in options.int8_custom_ops get input -> Q -> op -> DQ. Each pair follows the node
// producing its tensor (graph inputs and initializers: at the start), so the order stays
// topological. `source` names the model in messages. Fills `rep` (not the opsets).
Status PlaceTensorRt(ir::Graph* g, const table::CalibrationTable& table,
                     const std::string& table_name, const std::string& source,
                     const QdqExportOptions& options, QdqExportReport* rep);

// --target ort (docs/qdq.md): ONNX Runtime's QDQ node units. Every activation input and the
// output of a weighted op, residual Add, pooling or Concat gets a pair (all consumers of a paired
// tensor read the DequantizeLinear, so the op's output feeds only the Q); a Relu that is the only
// consumer of a weighted op's or Add's output is left inside the unit (the pair goes on the Relu
// output: ORT removes a Relu in front of a uint8 Q with zero point 0); pooling and shape ops keep
// their input's scale; biases become int32 (round(b / (s_in * s_w))); activations are uint8 or
// int8 as options.ort_activations says, weights as options.ort_weights. `*sources` gets, one line
// per activation Q, "<Q input>\t<table entry>\t<hex bits>" (plus "<Q input>\t@asym\t<hex scale>"
// for an asymmetric range) or "<Q input>\t-\t<tensor its scale is carried from>", for import-qdq.
Status PlaceOrt(ir::Graph* g, const table::CalibrationTable& table, const std::string& table_name,
                const std::string& source, const QdqExportOptions& options, QdqExportReport* rep,
                std::string* sources);

}  // namespace calib8::quant
