// onnx/qdq_util.h — internal to the Q/DQ export and import (qdq_export.cc, qdq_ort.cc,
// qdq_import.cc; not a public header): the helpers they share (names, attributes, building Q/DQ
// pairs and their initializers, weight scales, table look-ups, coverage, laying the pairs out) and
// the --target ort placement steps that ExportQdq calls (qdq_ort.cc).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "onnx/qdq.h"
#include "table/calibration_table.h"

namespace calib8::onnx_io::qdq_detail {

// Shared with the IR placement pass (quant/qdq_placement.h).
using quant::FinishCoverage;
using quant::Lookup;
using quant::LookupActivation;
using quant::WeightScales;

// Model metadata keys written by the export and read back by import-qdq.
inline constexpr char kHeaderKey[] = "calib8.table_header";
inline constexpr char kExportKey[] = "calib8.qdq_export";
// --target ort: where each activation Q's scale came from (see PlaceOrt), for import-qdq.
inline constexpr char kSourcesKey[] = "calib8.qdq_sources";

bool IsDefaultDomain(const std::string& d);

// Operators with a constant weight input 1 that TensorRT and ONNX Runtime run in INT8.
bool IsWeightedOp(const std::string& op);
// Operators whose activation inputs get a pair so that TensorRT runs them in INT8 (pooling, the
// residual Add, Concat): docs/qdq.md.
bool IsPoolingOp(const std::string& op);

int64_t IntAttr(const onnx::NodeProto& n, const std::string& name, int64_t dflt);
float FloatAttr(const onnx::NodeProto& n, const std::string& name, float dflt);

std::string NodeLabel(const onnx::NodeProto& n, int index);

// Every name in the graph (tensors, nodes, initializers), to make new names unique.
class NameSet {
 public:
  explicit NameSet(const onnx::GraphProto& g);
  std::string Unique(const std::string& base);

 private:
  std::set<std::string> names_;
};

onnx::TensorProto MakeFloatTensor(const std::string& name, const std::vector<float>& v,
                                  bool scalar);

// Zero point of a pair: int8 0 (symmetric, TensorRT's only kind), uint8 0 (a non-negative
// tensor, scale = amax / 255), uint8 128 (a signed tensor on the int8 grid: q_u8 = q_s8 + 128)
// or uint8 `u8_value` (the tensor's asymmetric range from the sidecar, quant::AsymmetricParams).
enum class ZeroPoint { kS8Zero, kU8Zero, kU8Mid, kU8Range };

onnx::TensorProto MakeZeroPoints(const std::string& name, size_t n, bool scalar, ZeroPoint zp,
                                 uint8_t u8_value = 0);

onnx::NodeProto MakeNode(const std::string& op, const std::string& name,
                         const std::vector<std::string>& in, const std::string& out, int64_t axis);

// One Q/DQ pair to insert: nodes, initializers, and where it goes (after node `after`, or -1 at
// the start of the graph).
struct Pair {
  std::vector<onnx::NodeProto> nodes;
  std::vector<onnx::TensorProto> inits;
  std::string q_output, dq_output;
  int after = -1;
};

Pair BuildPair(const std::string& tensor, const std::vector<float>& scales, int64_t axis, int after,
               NameSet* names, ZeroPoint zero_point = ZeroPoint::kS8Zero, uint8_t u8_value = 0);

// A weighted node whose activation input asked for a pair.
struct WeightedUse {
  int node = 0;
  std::string activation;
  std::string weight;
  int64_t axis = -1;  // -1: per tensor
};

using ConstantMap = std::map<std::string, const onnx::TensorProto*>;

// A weighted op (IsWeightedOp) at node i: 1 when it can run INT8 (`*axis`: the axis of its
// per-channel weight scales, -1 for one scale), 0 when it stays FP32 (the reason is appended to
// rep->fp32_nodes), -1 when there is nothing to quantize and nothing to say (no weight input, or
// a constant-only node the runtimes fold).
int CheckWeighted(const onnx::NodeProto& n, int i, const ConstantMap& constants,
                  const std::set<int>& kept_nodes, const std::set<std::string>& keep_fp32,
                  int64_t* axis, QdqExportReport* rep);

// Lays out the graph: every pair right after the node producing its tensor (graph inputs and
// initializers: at the start), so the order stays topological; adds the pairs' initializers.
void EmitPairs(onnx::GraphProto* g, const std::vector<const Pair*>& all);

// --target ort (qdq_ort.cc): folds a BatchNormalization, or a Mul/Add by a per-channel constant,
// that is the only consumer of a Conv's output into that Conv's weights and bias, as calib8's
// loader does (ir::FoldBatchNormIntoConv, ir::FoldConvAffine): the Conv then writes the folded
// node's output, which is the tensor the table has an entry for (calib8 never sees the raw Conv
// output), and ORT gets a Conv whose output can carry the Q of a node unit. New initializers are
// written; the old ones are removed when nothing reads them. Returns the number of nodes folded.
Result<int> FoldIntoConvForOrt(onnx::GraphProto* g, const std::string& source,
                               const std::string& dir, NameSet* names,
                               std::set<std::string>* replaced);

// --target ort (docs/qdq.md, qdq_ort.cc): ONNX Runtime's QDQ node units. Every activation input
// and the output of a weighted op, residual Add, pooling or Concat gets a pair (all consumers of a
// paired tensor read the DequantizeLinear, so the op's output feeds only the Q); a Relu that is
// the only consumer of a weighted op's or Add's output is left inside the unit (the pair goes on
// the Relu output: ORT removes a Relu in front of a uint8 Q with zero point 0); pooling outputs
// keep their input's scale (ORT fuses MaxPool only then; calib8 does the same); biases become
// int32. `*sources` gets, one line per activation Q, "<Q input>\t<table entry>\t<hex bits>" or
// "<Q input>\t-\t<tensor its scale is carried from>", for import-qdq.
Status PlaceOrt(onnx::GraphProto* g, const ConstantMap& constants,
                const std::map<std::string, int>& producer, const std::set<std::string>& tensors,
                const std::set<int>& kept_nodes, const table::CalibrationTable& table,
                const std::string& table_name, const std::string& source, const std::string& dir,
                const QdqExportOptions& options, QdqExportReport& rep, std::string* sources);

// What both placements (--target tensorrt and ort) read and fill: the graph, its constants and
// producers, the model's tensors, the nodes kept FP32, the table and where it came from, the
// options and the report. The placement structs derive from it.
struct PlacementInputs {
  onnx::GraphProto* g;
  const ConstantMap& constants;
  const std::map<std::string, int>& producer;
  const std::set<std::string>& tensors;
  const std::set<int>& kept_nodes;
  const table::CalibrationTable& table;
  const std::string& table_name;
  const std::string& source;
  const std::string& dir;
  const QdqExportOptions& options;
  QdqExportReport& rep;
};

}  // namespace calib8::onnx_io::qdq_detail
