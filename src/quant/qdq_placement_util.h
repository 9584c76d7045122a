// quant/qdq_placement_util.h — internal to the Q/DQ placement passes (qdq_placement.cc for
// --target tensorrt, qdq_placement_ort.cc for --target ort; not a public header): unique names,
// one Q/DQ pair and its initializers, laying the pairs out in the graph, and the check of a
// weighted op.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "calib8/tensor.h"
#include "ir/graph.h"
#include "quant/qdq_placement.h"

namespace calib8::quant::qdq_internal {

bool IsDefaultDomain(const std::string& d);

std::string Label(const ir::Node& n);

// Every name in the graph (tensors, nodes, initializers), to make new names unique.
class Names {
 public:
  explicit Names(const ir::Graph& g);
  std::string Unique(const std::string& base);

 private:
  std::set<std::string> names_;
};

// Zero point of a pair: int8 0 (symmetric, TensorRT's only kind), uint8 0 (a non-negative
// tensor, scale = amax / 255), uint8 128 (a signed tensor on the int8 grid: q_u8 = q_s8 + 128)
// or uint8 `u8_value` (the tensor's asymmetric range from the sidecar, quant::AsymmetricParams).
enum class ZeroPoint { kS8Zero, kU8Zero, kU8Mid, kU8Range };

// One Q/DQ pair to insert: nodes, initializers, and where it goes (after node `after`, or -1 at
// the start of the graph).
struct Pair {
  std::vector<ir::Node> nodes;
  std::vector<std::pair<std::string, Tensor>> inits;
  std::string q_output, dq_output;
  int after = -1;
};

Tensor Floats(const std::vector<float>& v, bool scalar);
Tensor ZeroPoints(size_t n, bool scalar, ZeroPoint zp, uint8_t u8_value = 0);

ir::Node QdqNode(const std::string& op, const std::string& name,
                 const std::vector<std::string>& inputs, const std::string& output, int64_t axis);

// A pair on `tensor` (per channel along `axis`, or per tensor when -1) with zero points of kind
// `zero_point`.
Pair BuildPair(const std::string& tensor, const std::vector<float>& scales, int64_t axis, int after,
               Names* names, ZeroPoint zero_point = ZeroPoint::kS8Zero, uint8_t u8_value = 0);

// Lays out the graph: every pair right after the node producing its tensor (graph inputs and
// initializers: at the start), so the order stays topological; adds the pairs' initializers.
void EmitPairs(ir::Graph* g, const std::vector<Pair*>& all);

// A weighted op at node i: 1 when it can run INT8 (`*axis`: the axis of its per-channel weight
// scales, -1 for one scale), 0 when it stays FP32 (the reason is appended to rep->fp32_nodes), -1
// when there is nothing to quantize and nothing to say (no weight input, or a constant-only node
// the runtimes fold).
int CheckWeighted(const ir::Graph& g, int i, const std::set<int>& kept_nodes,
                  const std::set<std::string>& keep_fp32, int64_t* axis, QdqExportReport* rep);

// What both placements index first: the producer of every tensor, the activations (graph inputs
// and node outputs), and the nodes whose output is in --keep-fp32. A --keep-fp32 name that is no
// tensor of the model is warned about ("... is not a tensor of <source>").
struct GraphIndex {
  std::map<std::string, int> producer;
  std::set<std::string> tensors;
  std::set<int> kept_nodes;
};
GraphIndex IndexGraph(const ir::Graph& g, const std::set<std::string>& keep_fp32,
                      const std::string& source, std::vector<std::string>* warnings);

// A weighted node whose activation input asked for a pair.
struct WeightedUse {
  int node = 0;
  std::string activation;
  std::string weight;
  int64_t axis = -1;  // -1: per tensor
};

}  // namespace calib8::quant::qdq_internal
