// quant/lowering_internal.h — internal to the INT8 lowering (lowering.cc, lowering_decide.cc,
// lowering_resolve.cc, lowering_emit.cc; not a public header): the Lowerer that holds the state of
// one LowerToInt8 call, and what it records per node. Its steps, in order (Run): index the graph,
// decide per node (lowering_decide.cc), resolve which outputs are 8-bit and apply the "no speed
// benefit" rule, choose layouts (lowering_resolve.cc), and emit the plan (lowering_emit.cc).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "calib8/status.h"
#include "ir/graph.h"
#include "quant/lowering.h"
#include "quant/quant_params.h"
#include "table/calibration_table.h"

namespace calib8::quant::lowering_detail {

enum class Kind { kFp32, kConv, kMatMul, kPool, kMove, kConcat, kPlugin };

struct NodeInfo {
  Kind kind = Kind::kFp32;
  bool transposed = false;  // kConv: ConvTranspose
  int spatial = 0;          // kConv: 1, 2 or 3 spatial dims
  std::string reason;
  bool out_int8 = false;  // produces an 8-bit output (else the compute op writes float32)
  bool has_residual = false;
  std::string residual;  // the residual tensor (fused Add)
};

// The 8-bit encoding of an activation tensor in the plan (scale, zero point, signedness).
using QTensor = QParams;

class Lowerer {
 public:
  Lowerer(const ir::Graph& g, const table::CalibrationTable& t, const LoweringOptions& o)
      : g_(g), table_(t), opt_(o) {}

  // Lowers the graph: the steps below in order.
  Result<Int8Plan> Run();

 private:
  enum class ScaleState { kOk, kMissing, kZero };

  // Indexes the consumers and producer of every tensor and the graph outputs.
  void Index();

  // The rank of tensor `name` from what is known (rank4_, value_info, graph inputs); -1 if none.
  int Rank(const std::string& name) const;

  // The table's scale for an activation; records coverage; fails on inf/NaN.
  Result<ScaleState> Lookup(const std::string& name, float* scale);

  // Why `what` '`name`' has no usable scale (`s` is kMissing or kZero), for a reason text.
  static std::string Why(ScaleState s, const std::string& what, const std::string& name);

  // Whether the user keeps node n FP32: by its name, or by a tensor it reads, or one it writes
  // unless it is a compute node (Conv/ConvTranspose/Gemm/MatMul): that one stays INT8 and writes
  // the kept tensor as float32 (DecideCompute), so only the consumers of the tensor pay.
  bool Kept(const ir::Node& n, std::string* which) const;

  // The table scale of `name` as this plan uses it: u8 with a zero point when the options give
  // its asymmetric range; u8 amax / 255 when allowed; s8 amax / 127 otherwise.
  QTensor TableQ(const std::string& name, float s127) const;

  // Records n's output as never negative when n makes it so (as --unsigned-activations uses).
  void MarkNonNegative(const ir::Node& n);

  // Whether `x` can be read in 8 bits by an INT8 compute node: produced in 8 bits, or quantized
  // at the border with its table scale.
  Result<bool> InputQuantizable(const std::string& x, const std::string& what, std::string* why);

  // Decides, node by node in order, whether each node runs in INT8 (info_), and why not.
  Status Decide();

  // The tensors around custom ops that can run INT8 (not kept FP32 by the user): they are held
  // symmetric s8, zero point 0, whatever the sidecar's ranges say, because that is what a plugin's
  // compute_int8 receives and returns (TensorRT's INT8 I/O for plugins).
  void MarkPluginBorders();

  // A custom op with an INT8 compute: runs in 8 bits when every input is an activation that can
  // be held s8 (a table entry, or produced s8 with zero point 0) and every output has a scale
  // (its table entry; input 0's with output_has_input_scale).
  Status DecidePlugin(size_t i, bool output_has_input_scale);

  // Conv, ConvTranspose, Gemm or MatMul node i: INT8 when supported and its input has a scale;
  // its output is 8-bit when that has a scale too (and its fused residual, if any).
  Status DecideCompute(size_t i);
  // Whether compute node i has what its INT8 kernel needs (one output; constant float32
  // weights, of rank 3 to 5 for a convolution, 2 for Gemm/MatMul; a constant float32 bias or
  // row vector C; no transA or alpha for Gemm; no 1-D MatMul input). Sets info_[i].reason when
  // not, and info_[i].transposed/spatial for a convolution.
  bool ComputeSupported(size_t i);
  // Refuses a weight or bias of compute node i holding a NaN or inf (docs/int8.md).
  Status CheckFiniteParams(size_t i) const;

  // A 2-D pool reading an 8-bit input: 8-bit pass-through with its input's scale.
  void DecidePool(size_t i);

  // A Concat of 8-bit inputs: 8-bit, requantizing the inputs whose encoding differs.
  Status DecideConcat(size_t i);

  // The inputs of node i that it reads in 8 bits (when it runs INT8).
  std::vector<std::string> Int8Inputs(size_t i) const;

  // Decides, from the consumers backwards, which compute nodes write 8 bits and which tensors are
  // needed in 8 bits and/or in float32.
  void ResolveOutputs();

  // Work of compute node i: MACs per element that crosses an FP32 border around it (its input
  // quantized, its output written as float), from channels, kernel and stride only (so it does
  // not depend on the image size), and the MACs of one sample when the input shape is known
  // (-1 otherwise). `what` describes the layer for the reason text.
  struct Work {
    double macs_per_element = 0;
    double macs = -1;
    std::string what;
  };
  Work WorkOf(size_t i) const;

  // The "no speed benefit" rule (docs/int8.md, measured in bench/RESULTS.md): a compute node that
  // would be an INT8 island by itself — its input quantized for it alone (produced in float32, no
  // other INT8 reader) and its output written as float32 (no INT8 consumer) — stays FP32 when it
  // does fewer MACs per element crossing those borders than opt_.min_conv_macs_per_element
  // (Conv, ConvTranspose) or opt_.min_matmul_macs_per_element (Gemm, MatMul). Returns whether
  // any node was demoted.
  bool ApplySpeedRule();

  // Whether `t` is written in 8 bits by the INT8 node that produces it.
  bool ProducedInt8(const std::string& t) const;

  // Whether node k reads and writes 4-D tensors in either layout (2-D QConv, QConvTranspose,
  // 8-bit pools). 1-D and 3-D convolutions keep channels-first tensors between ops.
  bool Nhwc4d(size_t k) const;

  // Holds an 8-bit tensor NHWC (opt_.nhwc) when its producer and all its INT8 readers take
  // 4-D tensors in either layout.
  void DecideLayouts();

  // The name of the 8-bit tensor of `t`: "<t>:s8" or "<t>:u8".
  std::string QName(const std::string& t) const;

  // The 8-bit name of `t`, emitting a Quantize node first when `t` is float32 here.
  std::string EnsureInt8(const std::string& t, std::vector<ir::Node>& out);

  // Emits the Dequantize node that gives the float32 `t` back from its 8-bit tensor.
  void EmitDequantize(const std::string& t, std::vector<ir::Node>& out);

  // Per-output-channel s8 weights as [channels, per] (quant_params.h), their scales.
  struct QWeights {
    Tensor q;
    std::vector<float> scales;
  };
  // Where the output channels of a weight tensor are.
  enum class WeightLayout {
    kRows,           // [channels, ...]: Conv [M, C/G, k...], Gemm transB [N, K], stored as is
    kGemmKN,         // [K, N], channels along N; stored [N, K]
    kConvTranspose,  // [C, M/G, k...]: channel m = g*(M/G) + o is W[g*C/G .. +C/G, o, k...]
  };
  static QWeights QuantizeWeights(const Tensor& w, WeightLayout layout, int64_t group = 1);

  // Emits QConv/QConvTranspose/QMatMul for compute node i, with its s8 weights and int32 bias.
  void EmitCompute(size_t i, std::vector<ir::Node>& out);

  // Emits the QPlugin node of INT8 custom op i.
  void EmitPlugin(size_t i, std::vector<ir::Node>& out);

  // Emits 8-bit pass-through, pool or QConcat node i.
  void EmitOther(size_t i, std::vector<ir::Node>& out);

  // Writes the plan: its graph of calib8.int8 nodes, each node's decision, the coverage.
  Status Emit();

  ir::Graph g_;
  const table::CalibrationTable& table_;
  const LoweringOptions& opt_;
  Int8Plan plan_;
  std::vector<NodeInfo> info_;
  std::unordered_map<std::string, std::vector<size_t>> consumers_;
  std::unordered_map<std::string, size_t> producer_;
  std::unordered_set<std::string> graph_outputs_;
  std::unordered_set<std::string> avail_, nonneg_, rank4_, needs_f32_, nhwc_, quantized_;
  std::unordered_set<std::string> plugin_border_;  // tensors an INT8 plugin reads or writes
  std::unordered_map<std::string, QTensor> q_;
  std::map<std::string, std::vector<size_t>> int8_users_;
  std::map<size_t, std::string> out_note_;
  std::unordered_set<std::string> needed_, found_, zero_;
  std::vector<std::string> needed_order_;
  std::map<std::string, Tensor> new_inits_;
};

}  // namespace calib8::quant::lowering_detail
