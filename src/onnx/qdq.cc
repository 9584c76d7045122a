// onnx/qdq.cc — Q/DQ export and import on the ONNX ModelProto itself (not on calib8's IR), so the
// exported model keeps the original nodes, names and initializers. Sits in the onnx module because
// only src/onnx touches ONNX protobuf; the table side comes from calib8::table, the numbers from
// quant/quant_params.h. Used by `calib8 export-qdq` and `calib8 import-qdq`
// (tools/calib8/cmd_qdq.cc). The placement rule and its sources: docs/qdq.md.
#include "onnx/qdq.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include "core/file_util.h"
#include "onnx/onnx_import.h"
#include "onnx/opset_upgrade.h"
#include "quant/quant_params.h"

namespace calib8::onnx_io {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kMinIrVersionForOpset13 = 7;
constexpr size_t kProtobufLimit = (size_t{1} << 31) - (size_t{1} << 20);  // 2 GiB less headroom
const char kHeaderKey[] = "calib8.table_header";
const char kExportKey[] = "calib8.qdq_export";
// --target ort: where each activation Q's scale came from (see PlaceOrt), for import-qdq.
const char kSourcesKey[] = "calib8.qdq_sources";

bool IsDefaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// Operators with a constant weight input 1 that TensorRT and ONNX Runtime run in INT8.
bool IsWeightedOp(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}
// Operators whose activation inputs get a pair so that TensorRT runs them in INT8 (pooling, the
// residual Add, Concat): docs/qdq.md.
bool IsPoolingOp(const std::string& op) {
  return op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" ||
         op == "GlobalMaxPool";
}

int64_t IntAttr(const onnx::NodeProto& n, const std::string& name, int64_t dflt) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return dflt;
}
float FloatAttr(const onnx::NodeProto& n, const std::string& name, float dflt) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.f();
  return dflt;
}

std::string NodeLabel(const onnx::NodeProto& n, int index) {
  std::string name = n.name().empty() ? "#" + std::to_string(index) : n.name();
  return "node '" + name + "' (" + n.op_type() + ")";
}

// Every name in the graph (tensors, nodes, initializers), to make new names unique.
class NameSet {
 public:
  explicit NameSet(const onnx::GraphProto& g) {
    for (const auto& i : g.input()) names_.insert(i.name());
    for (const auto& o : g.output()) names_.insert(o.name());
    for (const auto& i : g.initializer()) names_.insert(i.name());
    for (const auto& v : g.value_info()) names_.insert(v.name());
    for (const auto& n : g.node()) {
      names_.insert(n.name());
      for (const auto& s : n.input()) names_.insert(s);
      for (const auto& s : n.output()) names_.insert(s);
    }
  }
  std::string Unique(const std::string& base) {
    std::string name = base;
    for (int i = 1; names_.count(name); ++i) name = base + "_" + std::to_string(i);
    names_.insert(name);
    return name;
  }

 private:
  std::set<std::string> names_;
};

// Operators whose revisions from opset `first` up to 13 only added types (bfloat16, more integer
// types), negative axes or optional inputs/outputs with the old behaviour as default: a model valid
// at an opset >= `first` means the same at opset 13. Everything else must have one definition
// across the two opsets (same since_version), else the raise is refused. docs/qdq.md lists the
// sources.
bool CompatibleUpTo13(const std::string& op, int64_t from) {
  static const std::map<std::string, int64_t> kFirst = {
      {"Abs", 6},           {"Add", 7},
      {"And", 7},           {"ArgMax", 1},
      {"ArgMin", 1},        {"AveragePool", 1},
      {"BatchNormalization", 9},
      {"Cast", 6},          {"Ceil", 6},
      {"Clip", 11},         {"Concat", 4},
      {"Constant", 1},      {"ConstantOfShape", 9},
      {"Conv", 1},          {"ConvTranspose", 1},
      {"CumSum", 11},       {"DepthToSpace", 1},
      {"Div", 7},           {"Dropout", 7},
      {"Einsum", 12},       {"Elu", 6},
      {"Equal", 7},         {"Erf", 9},
      {"Exp", 6},           {"Expand", 8},
      {"Flatten", 1},       {"Floor", 6},
      {"Gather", 1},        {"GatherElements", 11},
      {"GatherND", 11},     {"Gemm", 7},
      {"GlobalAveragePool", 1},
      {"GlobalMaxPool", 1}, {"Greater", 7},
      {"HardSigmoid", 6},   {"Identity", 1},
      {"InstanceNormalization", 6},
      {"LeakyRelu", 6},     {"Less", 7},
      {"Log", 6},           {"LRN", 1},
      {"MatMul", 1},        {"Max", 8},
      {"MaxPool", 1},       {"Mean", 8},
      {"Min", 8},           {"Mod", 10},
      {"Mul", 7},           {"Neg", 6},
      {"Not", 1},           {"Or", 7},
      {"Pad", 11},          {"Pow", 7},
      {"PRelu", 7},         {"Range", 11},
      {"Reciprocal", 6},    {"ReduceL1", 1},
      {"ReduceL2", 1},      {"ReduceLogSumExp", 1},
      {"ReduceMax", 1},     {"ReduceMean", 1},
      {"ReduceMin", 1},     {"ReduceProd", 1},
      {"ReduceSumSquare", 1},
      {"Relu", 6},          {"Reshape", 5},
      {"Resize", 11},       {"Round", 11},
      {"ScatterND", 11},    {"Selu", 6},
      {"Shape", 1},         {"Sigmoid", 6},
      {"Sign", 9},          {"Slice", 10},
      {"Softplus", 1},      {"Softsign", 1},
      {"SpaceToDepth", 1},  {"Sqrt", 6},
      {"Sub", 7},           {"Sum", 8},
      {"Tanh", 6},          {"Tile", 6},
      {"TopK", 11},         {"Transpose", 1},
      {"Where", 9}};
  auto it = kFirst.find(op);
  return it != kFirst.end() && from >= it->second;
}

// Default-domain opset of the model, and raising it when every node's operator is the same
// definition at both opsets (so nothing changes meaning). Subgraphs are checked too.
// Nodes named in `opset13` (by first output) are already in their opset-13 form (UpgradeOpsTo13)
// and are checked from 13.
Status CheckOpsUnchanged(const onnx::GraphProto& g, int64_t model_from, int64_t to,
                         const std::string& source, const std::set<std::string>& opset13) {
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    for (const auto& a : n.attribute()) {
      if (a.has_g())
        CALIB8_RETURN_IF_ERROR(CheckOpsUnchanged(a.g(), model_from, to, source, opset13));
      for (const auto& sg : a.graphs())
        CALIB8_RETURN_IF_ERROR(CheckOpsUnchanged(sg, model_from, to, source, opset13));
    }
    if (!IsDefaultDomain(n.domain())) continue;
    const int64_t from =
        n.output_size() > 0 && opset13.count(n.output(0)) ? kQdqMinOpset : model_from;
    if (from == to) continue;
    const auto* old_schema =
        onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(from), "");
    const auto* new_schema = onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(to), "");
    if (!old_schema || !new_schema)
      return InvalidArgument(source, ": ", NodeLabel(n, i), ": operator unknown to ONNX at opset ",
                             old_schema ? to : from, ", so raising the opset from ", from, " to ",
                             to, " cannot be checked; convert the model to opset ", to,
                             " first (onnx.version_converter)");
    bool same = old_schema->since_version() == new_schema->since_version();
    bool compatible = to <= kQdqMinOpset && CompatibleUpTo13(n.op_type(), from);
    if ((!same && !compatible) || new_schema->Deprecated())
      return InvalidArgument(
          source, ": ", NodeLabel(n, i), ": opset ", from, " means ", n.op_type(), "-",
          old_schema->since_version(), " but opset ", to, " means ", n.op_type(), "-",
          new_schema->since_version(),
          " (changed inputs or semantics); Q/DQ export needs opset >= ", kQdqMinOpset,
          " and calib8 does not rewrite this operator: convert the model first "
          "(python3 -c \"import onnx, onnx.version_converter as v; onnx.save(v.convert_version("
          "onnx.load('IN.onnx'), ",
          to, "), 'OUT.onnx')\")");
  }
  return Status::Ok();
}

Status SetOpset(onnx::ModelProto* m, int64_t requested, const std::string& source,
                QdqExportReport* rep) {
  onnx::OperatorSetIdProto* def = nullptr;
  for (auto& op : *m->mutable_opset_import())
    if (IsDefaultDomain(op.domain())) def = &op;
  if (!def)
    return InvalidArgument(source,
                           ": the model imports no default-domain (ai.onnx) opset: "
                           "expected one, as the ONNX spec requires");
  int64_t from = def->version();
  int64_t to = requested ? requested : std::max(from, kQdqMinOpset);
  rep->opset_before = from;
  rep->opset_after = to;
  if (to < kQdqMinOpset)
    return InvalidArgument("--opset ", to, ": Q/DQ export needs opset >= ", kQdqMinOpset,
                           " (per-channel QuantizeLinear/DequantizeLinear)");
  if (to < from)
    return InvalidArgument("--opset ", to, ": model ", source, " is at opset ", from,
                           "; calib8 does not lower a model's opset");
  const int64_t known =
      onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("").second;
  if (to > known)
    return InvalidArgument(source, ": opset ", to,
                           " is newer than this build's ONNX library knows (", known,
                           "): the checker could not validate the result");
  if (to != from) {
    OpsetUpgradeReport upgrade;
    if (from < kQdqMinOpset) CALIB8_RETURN_IF_ERROR(UpgradeOpsTo13(m, from, source, &upgrade));
    CALIB8_RETURN_IF_ERROR(CheckOpsUnchanged(m->graph(), from, to, source, upgrade.opset13_nodes));
    for (const auto& note : upgrade.notes) rep->notes.push_back(note);
    def->set_version(to);
    rep->notes.push_back("opset raised from " + std::to_string(from) + " to " + std::to_string(to) +
                         (upgrade.notes.empty()
                              ? " (no operator of the model changed between the two)"
                              : " (the operators that changed were rewritten, as listed)"));
  }
  if (m->ir_version() < kMinIrVersionForOpset13) {
    rep->notes.push_back("IR version raised from " + std::to_string(m->ir_version()) + " to " +
                         std::to_string(kMinIrVersionForOpset13));
    m->set_ir_version(kMinIrVersionForOpset13);
  }
  return Status::Ok();
}

// Loads external initializer data into the model so that the result is one self-contained file.
Status InlineExternalData(onnx::ModelProto* m, const std::string& source, const std::string& dir,
                          QdqExportReport* rep) {
  size_t total = 0, inlined = 0;
  for (auto& init : *m->mutable_graph()->mutable_initializer()) {
    if (init.data_location() != onnx::TensorProto::EXTERNAL) {
      total += init.ByteSizeLong();
      continue;
    }
    CALIB8_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(init, source + ": initializer", dir));
    total += t.nbytes();
    if (total > kProtobufLimit)
      return Unimplemented(source, ": initializer '", init.name(),
                           "' uses external data and the "
                           "weights exceed the 2 GiB a single-file ONNX model can hold: calib8 "
                           "export-qdq writes single-file models only");
    init.clear_external_data();
    init.set_data_location(onnx::TensorProto::DEFAULT);
    init.set_raw_data(t.raw(), t.nbytes());
    ++inlined;
  }
  if (inlined)
    rep->notes.push_back(std::to_string(inlined) +
                         " initializer(s) stored as external data were "
                         "inlined: the exported model is one file");
  return Status::Ok();
}

onnx::TensorProto MakeFloatTensor(const std::string& name, const std::vector<float>& v,
                                  bool scalar) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(onnx::TensorProto::FLOAT);
  if (!scalar) p.add_dims(static_cast<int64_t>(v.size()));
  p.set_raw_data(v.data(), v.size() * sizeof(float));
  return p;
}

// Zero point of a pair: int8 0 (symmetric, TensorRT's only kind), uint8 0 (a non-negative
// tensor, scale = amax / 255), uint8 128 (a signed tensor on the int8 grid: q_u8 = q_s8 + 128)
// or uint8 `u8_value` (the tensor's asymmetric range from the sidecar, quant::AsymmetricParams).
enum class ZeroPoint { kS8Zero, kU8Zero, kU8Mid, kU8Range };

onnx::TensorProto MakeZeroPoints(const std::string& name, size_t n, bool scalar, ZeroPoint zp,
                                 uint8_t u8_value = 0) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(zp == ZeroPoint::kS8Zero ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8);
  if (!scalar) p.add_dims(static_cast<int64_t>(n));
  char v = zp == ZeroPoint::kU8Mid     ? '\x80'
           : zp == ZeroPoint::kU8Range ? static_cast<char>(u8_value)
                                       : '\0';
  p.set_raw_data(std::string(n, v));
  return p;
}

onnx::NodeProto MakeNode(const std::string& op, const std::string& name,
                         const std::vector<std::string>& in, const std::string& out, int64_t axis) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const auto& s : in) n.add_input(s);
  n.add_output(out);
  if (axis >= 0) {
    auto* a = n.add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(axis);
  }
  return n;
}

// One Q/DQ pair to insert: nodes, initializers, and where it goes (after node `after`, or -1 at
// the start of the graph).
struct Pair {
  std::vector<onnx::NodeProto> nodes;
  std::vector<onnx::TensorProto> inits;
  std::string q_output, dq_output;
  int after = -1;
};

Pair BuildPair(const std::string& tensor, const std::vector<float>& scales, int64_t axis, int after,
               NameSet* names, ZeroPoint zero_point = ZeroPoint::kS8Zero, uint8_t u8_value = 0) {
  Pair p;
  p.after = after;
  const bool scalar = axis < 0;
  std::string scale = names->Unique(tensor + "_scale");
  std::string zp = names->Unique(tensor + "_zero_point");
  std::string q_out = names->Unique(tensor + "_quantized");
  p.q_output = q_out;
  p.dq_output = names->Unique(tensor + "_dequantized");
  p.inits.push_back(MakeFloatTensor(scale, scales, scalar));
  p.inits.push_back(MakeZeroPoints(zp, scales.size(), scalar, zero_point, u8_value));
  p.nodes.push_back(MakeNode("QuantizeLinear", names->Unique(tensor + "_QuantizeLinear"),
                             {tensor, scale, zp}, q_out, axis));
  p.nodes.push_back(MakeNode("DequantizeLinear", names->Unique(tensor + "_DequantizeLinear"),
                             {q_out, scale, zp}, p.dq_output, axis));
  return p;
}

// An int32 bias behind a DequantizeLinear (ONNX Runtime's QDQ Conv/Gemm node unit): q_c =
// round(b_c / (s_in * s_w,c)) as calib8's own lowering does (quant::QuantizeBias), DQ scale
// s_in * s_w,c, int32 zero point 0, axis 0.
Pair BuildBias(const std::string& bias, const std::vector<int32_t>& q,
               const std::vector<float>& scales, NameSet* names) {
  Pair p;
  std::string qname = names->Unique(bias + "_int32");
  std::string scale = names->Unique(bias + "_scale");
  std::string zp = names->Unique(bias + "_zero_point");
  p.dq_output = names->Unique(bias + "_dequantized");
  onnx::TensorProto qt;
  qt.set_name(qname);
  qt.set_data_type(onnx::TensorProto::INT32);
  qt.add_dims(static_cast<int64_t>(q.size()));
  qt.set_raw_data(q.data(), q.size() * sizeof(int32_t));
  p.inits.push_back(qt);
  p.inits.push_back(MakeFloatTensor(scale, scales, false));
  onnx::TensorProto z;
  z.set_name(zp);
  z.set_data_type(onnx::TensorProto::INT32);
  z.add_dims(static_cast<int64_t>(q.size()));
  z.set_raw_data(std::string(q.size() * sizeof(int32_t), '\0'));
  p.inits.push_back(z);
  p.nodes.push_back(MakeNode("DequantizeLinear", names->Unique(bias + "_DequantizeLinear"),
                             {qname, scale, zp}, p.dq_output, 0));
  return p;
}

// Per-channel symmetric weight scales along `axis` (-1: one scale), scale_c = max|W_c| / 127.
// An all-zero channel gets scale 1 (any positive scale maps 0 to 0 exactly; 0 is not allowed).
Result<std::vector<float>> WeightScales(const Tensor& w, int64_t axis, const std::string& where) {
  const auto& shape = w.shape();
  int64_t channels = axis < 0 ? 1 : shape[axis];
  int64_t inner = 1;
  if (axis >= 0)
    for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  std::vector<float> amax(channels, 0.0f);
  const float* v = w.data<float>();
  for (int64_t i = 0; i < w.numel(); ++i) {
    float a = std::fabs(v[i]);
    if (!std::isfinite(a))
      return InvalidArgument(where, ": value ", i, " is ", v[i], ": expected finite weights");
    int64_t c = axis < 0 ? 0 : (i / inner) % channels;
    if (a > amax[c]) amax[c] = a;
  }
  std::vector<float> scales(channels);
  for (int64_t c = 0; c < channels; ++c)
    scales[c] = amax[c] > 0.0f ? quant::ScaleFromAmax(amax[c]) : 1.0f;
  return scales;
}

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
                  int64_t* axis, QdqExportReport* rep) {
  const std::string& op = n.op_type();
  if (n.input_size() < 2) return -1;
  if (!constants.count(n.input(1))) {
    if (op != "MatMul" || !constants.count(n.input(0))) {
      rep->fp32_nodes.push_back(NodeLabel(n, i) + ": input 1 '" + n.input(1) +
                                "' is not a constant weight");
      return 0;
    }
    return -1;
  }
  if (kept_nodes.count(i)) {
    rep->fp32_nodes.push_back(NodeLabel(n, i) + ": its output is in --keep-fp32");
    return 0;
  }
  if (constants.count(n.input(0))) return -1;  // constant-only: folded by the runtimes
  const auto* wp = constants.at(n.input(1));
  int64_t rank = wp->dims_size();
  *axis = 0;
  if (op == "ConvTranspose") *axis = 1;
  if (op == "Gemm") *axis = IntAttr(n, "transB", 0) ? 0 : 1;
  if (op == "MatMul") *axis = rank >= 2 ? rank - 1 : -1;
  if (wp->data_type() != onnx::TensorProto::FLOAT || (*axis >= 0 && *axis >= rank)) {
    rep->fp32_nodes.push_back(NodeLabel(n, i) + ": weight '" + n.input(1) +
                              "' is not a float32 tensor of rank > " + std::to_string(*axis));
    return 0;
  }
  if (keep_fp32.count(n.input(0))) {
    rep->fp32_nodes.push_back(NodeLabel(n, i) + ": its input '" + n.input(0) +
                              "' is in --keep-fp32");
    return 0;
  }
  return 1;
}

enum class Lookup { kFound, kMissing, kZero };

// The table's scale bits for activation `t`. kMissing: no usable entry (the caller lists it as
// uncovered); kZero: amax 0 (a warning is added: QuantizeLinear cannot take a zero scale); an
// error for a NaN, infinite or negative scale.
Result<Lookup> LookupActivation(const table::CalibrationTable& table, const std::string& table_name,
                                const std::string& t, uint32_t* bits, QdqExportReport* rep) {
  int idx = table.Find(t);
  if (idx < 0 || table.entries()[idx].kind != table::EntryKind::kActivation ||
      table.entries()[idx].scale_bits.empty())
    return Lookup::kMissing;
  *bits = table.entries()[idx].bits();
  float scale = table::BitsToFloat(*bits);
  std::string where = table_name + ": tensor '" + t + "'";
  if (std::isnan(scale) || std::isinf(scale))
    return InvalidArgument(where, ": scale bits ", table::HexBits(*bits), " are ",
                           std::isnan(scale) ? "NaN" : "inf",
                           ": expected a finite positive scale (amax / 127)");
  if (table::BitsAreNegative(*bits) && scale != 0.0f)
    return InvalidArgument(where, ": scale ", table::ShortestDecimal(scale),
                           " is negative: expected a finite positive scale (amax / 127)");
  if (!std::isnormal(scale)) {  // 0, or denormal (1/scale overflows; TensorRT flushes it to 0)
    std::string m = where + ": scale is ";
    if (scale == 0.0f) {
      m += "0 (amax 0)";
    } else {
      m += "denormal (";
      m += table::ShortestDecimal(scale);
      m += ")";
    }
    m += ": no Q/DQ on it, its consumers read FP32 (QuantizeLinear cannot take a zero scale)";
    rep->warnings.push_back(m);
    return Lookup::kZero;
  }
  return Lookup::kFound;
}

// After placement: unused table entries, "the table matches the model", --strict.
Status FinishCoverage(const table::CalibrationTable& table, const std::string& table_name,
                      const std::string& source, const std::set<std::string>& tensors,
                      const std::set<std::string>& paired, const std::set<std::string>& asked,
                      const QdqExportOptions& options, QdqExportReport& rep,
                      const std::map<std::string, std::string>& carried_from = {}) {
  for (const auto& e : table.entries()) {
    if (e.kind != table::EntryKind::kActivation || paired.count(e.name)) continue;
    auto c = carried_from.find(e.name);
    std::string why = c != carried_from.end()  ? "its pair carries the scale of '" + c->second + "'"
                      : !tensors.count(e.name) ? "not a tensor of the model"
                      : options.keep_fp32.count(e.name) ? "in --keep-fp32"
                      : asked.count(e.name)             ? "zero scale"
                                            : "no op the placement rule quantizes reads it";
    rep.unused_entries.push_back(e.name + ": " + why);
  }
  int matching = 0;
  for (const auto& e : table.entries()) matching += tensors.count(e.name) ? 1 : 0;
  if (matching == 0)
    return InvalidArgument(table_name, ": none of its ", table.size(),
                           " entries names a tensor of ", source,
                           ": expected the table calibrated for this model");
  if (options.strict) {
    if (!rep.uncovered.empty())
      return InvalidArgument("--strict: ", table_name, " has no usable entry for ",
                             rep.uncovered.size(), " of ", rep.candidates,
                             " activation(s) the placement rule quantizes, first '",
                             rep.uncovered.front(), "'");
    if (matching != static_cast<int>(table.size()))
      return InvalidArgument("--strict: ", table.size() - matching, " entr",
                             table.size() - matching == 1 ? "y" : "ies", " of ", table_name,
                             " name no tensor of ", source);
  }
  return Status::Ok();
}

// Lays out the graph: every pair right after the node producing its tensor (graph inputs and
// initializers: at the start), so the order stays topological; adds the pairs' initializers.
void EmitPairs(onnx::GraphProto* g, const std::vector<const Pair*>& all) {
  std::map<int, std::vector<const Pair*>> by_position;
  for (const Pair* p : all) by_position[p->after].push_back(p);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  auto emit = [&](int position) {
    for (const Pair* p : by_position[position])
      for (const auto& n : p->nodes) *nodes.Add() = n;
  };
  emit(-1);
  for (int i = 0; i < g->node_size(); ++i) {
    *nodes.Add() = g->node(i);
    emit(i);
  }
  g->mutable_node()->Swap(&nodes);
  for (const Pair* p : all)
    for (const auto& init : p->inits) *g->add_initializer() = init;
}

// Removes the initializers and Constant nodes named in `names` that nothing reads any more (the
// weights/biases an --target ort export replaced; ORT warns about unused initializers).
void DropUnread(onnx::GraphProto* g, const std::set<std::string>& names) {
  std::set<std::string> read;
  for (const auto& n : g->node())
    for (const auto& in : n.input()) read.insert(in);
  for (const auto& o : g->output()) read.insert(o.name());
  for (const auto& i : g->input()) read.insert(i.name());
  auto dead = [&](const std::string& t) { return names.count(t) && !read.count(t); };
  google::protobuf::RepeatedPtrField<onnx::TensorProto> inits;
  for (auto& init : *g->mutable_initializer())
    if (!dead(init.name())) *inits.Add() = init;
  g->mutable_initializer()->Swap(&inits);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& n : *g->mutable_node())
    if (!(n.op_type() == "Constant" && n.output_size() == 1 && dead(n.output(0)))) *nodes.Add() = n;
  g->mutable_node()->Swap(&nodes);
}

// --target ort: folds a BatchNormalization, or a Mul/Add by a per-channel constant, that is the
// only consumer of a Conv's output into that Conv's weights and bias, as calib8's loader does
// (ir::FoldBatchNormIntoConv, ir::FoldConvAffine): the Conv then writes the folded node's output,
// which is the tensor the table has an entry for (calib8 never sees the raw Conv output), and ORT
// gets a Conv whose output can carry the Q of a node unit. New initializers are written; the old
// ones are removed when nothing reads them. Returns the number of nodes folded.
Result<int> FoldIntoConvForOrt(onnx::GraphProto* g, const std::string& source,
                               const std::string& dir, NameSet* names,
                               std::set<std::string>* replaced) {
  int folded = 0;
  for (bool changed = true; changed;) {
    changed = false;
    std::map<std::string, const onnx::TensorProto*> inits;  // initializers and Constant nodes
    for (const auto& i : g->initializer()) inits[i.name()] = &i;
    for (const auto& n : g->node())
      if (n.op_type() == "Constant" && IsDefaultDomain(n.domain()) && n.output_size() == 1)
        for (const auto& a : n.attribute())
          if (a.name() == "value" && a.has_t()) inits[n.output(0)] = &a.t();
    std::set<std::string> graph_outputs;
    for (const auto& o : g->output()) graph_outputs.insert(o.name());
    std::map<std::string, std::vector<int>> consumers;
    for (int i = 0; i < g->node_size(); ++i)
      for (const auto& in : g->node(i).input())
        if (!in.empty()) consumers[in].push_back(i);
    auto f32 = [&](const std::string& name, const std::string& what) -> std::optional<Tensor> {
      auto it = inits.find(name);
      if (it == inits.end() || it->second->data_type() != onnx::TensorProto::FLOAT)
        return std::nullopt;
      auto t = TensorFromProto(*it->second, source + ": " + what + " '" + name + "'", dir);
      if (!t.ok()) return std::nullopt;
      return std::move(*t);
    };
    for (int ci = 0; ci < g->node_size() && !changed; ++ci) {
      const auto& conv = g->node(ci);
      if (conv.op_type() != "Conv" || !IsDefaultDomain(conv.domain()) || conv.output_size() != 1 ||
          conv.input_size() < 2)
        continue;
      const std::string& y = conv.output(0);
      auto cit = consumers.find(y);
      if (graph_outputs.count(y) || cit == consumers.end() || cit->second.size() != 1) continue;
      const int ni = cit->second[0];
      const auto& next = g->node(ni);
      if (!IsDefaultDomain(next.domain()) || next.output_size() < 1) continue;
      auto w = f32(conv.input(1), "weight");
      if (!w || w->shape().size() < 3) continue;
      const int64_t oc = w->shape()[0];
      std::optional<Tensor> b;
      if (conv.input_size() > 2 && !conv.input(2).empty()) {
        b = f32(conv.input(2), "bias");
        if (!b || b->numel() != oc) continue;
      }
      std::vector<float> scale(oc, 1.0f), shift(oc, 0.0f);  // y' = y * scale + shift
      if (next.op_type() == "BatchNormalization" && next.input_size() >= 5) {
        bool extra = false;
        for (int k = 1; k < next.output_size(); ++k) extra |= !next.output(k).empty();
        if (extra) continue;
        auto gamma = f32(next.input(1), "scale"), beta = f32(next.input(2), "B"),
             mean = f32(next.input(3), "mean"), var = f32(next.input(4), "var");
        if (!gamma || !beta || !mean || !var || gamma->numel() != oc || beta->numel() != oc ||
            mean->numel() != oc || var->numel() != oc)
          continue;
        float eps = FloatAttr(next, "epsilon", 1e-5f);
        for (int64_t o = 0; o < oc; ++o) {
          scale[o] = gamma->data<float>()[o] / std::sqrt(var->data<float>()[o] + eps);
          shift[o] = beta->data<float>()[o] - mean->data<float>()[o] * scale[o];
        }
      } else if ((next.op_type() == "Mul" || next.op_type() == "Add") && next.input_size() == 2 &&
                 next.output_size() == 1) {
        const std::string& other = next.input(0) == y ? next.input(1) : next.input(0);
        auto k = f32(other, "constant");
        if (!k) continue;
        // One value, or one per channel shaped [..., OC, 1, ..., 1] (the spatial axes are 1).
        const size_t spatial = w->shape().size() - 2;
        const auto& ks = k->shape();
        bool ok = k->numel() == 1;
        if (!ok && k->numel() == oc && ks.size() >= spatial + 1 && ks.size() <= spatial + 2) {
          ok = true;
          for (size_t d = 0; d < ks.size(); ++d)
            ok = ok && (d == ks.size() - spatial - 1 ? ks[d] == oc : ks[d] == 1);
        }
        if (!ok) continue;
        for (int64_t o = 0; o < oc; ++o) {
          float v = k->data<float>()[k->numel() == 1 ? 0 : o];
          if (next.op_type() == "Mul")
            scale[o] = v;
          else
            shift[o] = v;
        }
      } else {
        continue;
      }
      const int64_t per = w->numel() / oc;
      std::vector<float> nw(w->data<float>(), w->data<float>() + w->numel()), nb(oc);
      for (int64_t o = 0; o < oc; ++o) {
        for (int64_t e = 0; e < per; ++e) nw[o * per + e] *= scale[o];
        nb[o] = (b ? b->data<float>()[o] : 0.0f) * scale[o] + shift[o];
      }
      std::string base = conv.name().empty() ? y : conv.name();
      onnx::TensorProto wt = MakeFloatTensor(names->Unique(base + "_folded_W"), nw, false);
      wt.clear_dims();
      for (int64_t d : w->shape()) wt.add_dims(d);
      onnx::TensorProto bt = MakeFloatTensor(names->Unique(base + "_folded_B"), nb, false);
      *g->add_initializer() = wt;
      *g->add_initializer() = bt;
      auto* c = g->mutable_node(ci);
      replaced->insert(c->input(1));
      if (c->input_size() > 2) replaced->insert(c->input(2));
      c->set_input(1, wt.name());
      if (c->input_size() > 2)
        c->set_input(2, bt.name());
      else
        c->add_input(bt.name());
      c->set_output(0, next.output(0));
      for (const auto& in : next.input()) replaced->insert(in);
      g->mutable_node()->DeleteSubrange(ni, 1);
      ++folded;
      changed = true;
    }
  }
  DropUnread(g, *replaced);
  return folded;
}

// Clip's lower bound when it is a constant (input 1, or the `min` attribute before opset 11).
bool ClipMinNonNegative(const onnx::NodeProto& n, const ConstantMap& constants,
                        const std::string& dir) {
  for (const auto& a : n.attribute())
    if (a.name() == "min") return a.f() >= 0.0f;
  if (n.input_size() < 2 || n.input(1).empty() || !constants.count(n.input(1))) return false;
  auto t = TensorFromProto(*constants.at(n.input(1)), "Clip min", dir);
  return t.ok() && t->dtype() == DataType::kFloat32 && t->numel() == 1 && t->data<float>()[0] >= 0;
}

// --target ort (docs/qdq.md): ONNX Runtime's QDQ node units. Every activation input and the
// output of a weighted op, residual Add, pooling or Concat gets a pair (all consumers of a paired
// tensor read the DequantizeLinear, so the op's output feeds only the Q); a Relu that is the only
// consumer of a weighted op's or Add's output is left inside the unit (the pair goes on the Relu
// output: ORT removes a Relu in front of a uint8 Q with zero point 0); pooling outputs keep their
// input's scale (ORT fuses MaxPool only then; calib8 does the same); biases become int32.
// `*sources` gets, one line per activation Q, "<Q input>\t<table entry>\t<hex bits>" or
// "<Q input>\t-\t<tensor its scale is carried from>", for import-qdq.
Status PlaceOrt(onnx::GraphProto* g, const ConstantMap& constants,
                const std::map<std::string, int>& producer, const std::set<std::string>& tensors,
                const std::set<int>& kept_nodes, const table::CalibrationTable& table,
                const std::string& table_name, const std::string& source, const std::string& dir,
                const QdqExportOptions& options, QdqExportReport& rep, std::string* sources) {
  const OrtActivations mode = options.ort_activations;
  std::map<std::string, std::vector<std::pair<int, int>>> consumers;
  for (int i = 0; i < g->node_size(); ++i)
    for (int j = 0; j < g->node(i).input_size(); ++j)
      if (!g->node(i).input(j).empty()) consumers[g->node(i).input(j)].push_back({i, j});
  std::set<std::string> graph_outputs;
  for (const auto& o : g->output()) graph_outputs.insert(o.name());

  // Tensors that are never negative by construction (as calib8's --unsigned-activations).
  std::set<std::string> nonneg;
  for (int i = 0; i < g->node_size(); ++i) {
    const auto& n = g->node(i);
    if (!IsDefaultDomain(n.domain()) || n.output_size() < 1 || n.input_size() < 1) continue;
    const std::string& op = n.op_type();
    bool nn = op == "Relu" || op == "Sigmoid" || op == "HardSigmoid" ||
              (op == "Clip" && ClipMinNonNegative(n, constants, dir));
    static const std::set<std::string> kFollow = {
        "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Reshape",
        "Flatten", "Squeeze",     "Unsqueeze",         "Transpose",     "Identity"};
    if (kFollow.count(op) && nonneg.count(n.input(0))) nn = true;
    if (op == "Concat") {
      nn = true;
      for (const auto& in : n.input()) nn = nn && nonneg.count(in);
    }
    if (nn) nonneg.insert(n.output(0));
  }

  // Which tensors get a pair, and where each pair's scale comes from (the tensor itself, or the
  // tensor it is carried from).
  std::vector<std::string> order;
  std::map<std::string, std::string> scale_from;
  std::map<std::string, std::string> carried_why;
  const bool plan = options.from_plan;
  bool residual_unit = false;  // inside a residual Add's node unit (kept under the plan placement)
  auto ask = [&](const std::string& t) {
    if (t.empty() || constants.count(t) || options.keep_fp32.count(t)) return;
    if (plan && !residual_unit && !options.int8_tensors.count(t)) return;
    if (!scale_from.count(t)) {
      order.push_back(t);
      scale_from[t] = t;
    }
  };
  auto carry = [&](const std::string& t, const std::string& from, const std::string& why) {
    if (t.empty() || constants.count(t) || options.keep_fp32.count(t)) return;
    if (plan && !options.int8_tensors.count(t)) return;
    if (!scale_from.count(t)) order.push_back(t);
    scale_from[t] = from;
    carried_why[t] = why;
  };
  // The output of a unit (weighted op or Add): through a Relu that only it feeds.
  auto unit_output = [&](int i, bool float_ok) {
    const std::string& u = g->node(i).output(0);
    auto it = consumers.find(u);
    bool one_relu = it != consumers.end() && it->second.size() == 1 && !graph_outputs.count(u) &&
                    g->node(it->second[0].first).op_type() == "Relu" &&
                    IsDefaultDomain(g->node(it->second[0].first).domain()) &&
                    !kept_nodes.count(it->second[0].first);
    std::string out = one_relu ? g->node(it->second[0].first).output(0) : u;
    // Gemm/MatMul whose result only leaves the graph: ORT runs them with a float output, as
    // calib8 does (no requantize of the logits).
    if (float_ok && !consumers.count(out)) return;
    if (one_relu && mode == OrtActivations::kS8) {
      carry(u, out,
            "int8 with zero point 0 cannot absorb the Relu: the op's output takes the "
            "Relu output's scale");
    } else {
      ask(u == out ? u : out);
    }
  };

  auto in_table = [&](const std::string& t) { return table.Find(t) >= 0; };
  std::vector<WeightedUse> weighted;
  std::set<int> reads_8bit;  // nodes whose activation inputs were asked for (the node units)
  for (int i = 0; i < g->node_size(); ++i) {
    const auto& n = g->node(i);
    if (!IsDefaultDomain(n.domain()) || n.output_size() < 1) continue;
    const std::string& op = n.op_type();
    if (IsWeightedOp(op)) {
      int64_t axis = -1;
      if (CheckWeighted(n, i, constants, kept_nodes, options.keep_fp32, &axis, &rep) != 1) continue;
      ask(n.input(0));
      reads_8bit.insert(i);
      weighted.push_back({i, n.input(0), n.input(1), axis});
      unit_output(i, op == "Gemm" || op == "MatMul");
    } else if (kept_nodes.count(i)) {
      continue;
    } else if (IsPoolingOp(op)) {
      ask(n.input(0));
      reads_8bit.insert(i);
      carry(n.output(0), n.input(0), "pooling keeps its input's scale");
    } else if (op == "Concat") {
      // Only float activations the table knows (not shape arithmetic on int64 tensors): a node
      // unit with a missing pair gains nothing in ORT, and calib8 runs such a Concat FP32 too.
      bool all = in_table(n.output(0));
      for (const auto& in : n.input()) all = all && !constants.count(in) && in_table(in);
      if (!all) continue;
      for (const auto& in : n.input()) ask(in);
      reads_8bit.insert(i);
      ask(n.output(0));
    } else if (op == "Add" && n.input_size() == 2 && !constants.count(n.input(0)) &&
               !constants.count(n.input(1)) && in_table(n.input(0)) && in_table(n.input(1))) {
      // Under the plan placement too: ORT runs a residual Add of two activations as QLinearAdd
      // (calib8 adds in float); keeping the unit keeps ResNet-style models integer in ORT, and
      // it did not cost accuracy where the float epilogues did (docs/qdq.md).
      residual_unit = true;
      ask(n.input(0));
      ask(n.input(1));
      reads_8bit.insert(i);
      unit_output(i, false);
      residual_unit = false;
    }
  }
  // Shape ops between paired tensors keep their input's scale, as calib8's INT8 run does (ORT then
  // drops the DQ -> Reshape/Flatten/... -> Q around them).
  static const std::set<std::string> kShapeOps = {"Reshape",   "Flatten",   "Squeeze",
                                                  "Unsqueeze", "Transpose", "Identity"};
  for (int i = 0; i < g->node_size(); ++i) {
    const auto& n = g->node(i);
    if (!IsDefaultDomain(n.domain()) || !kShapeOps.count(n.op_type()) || n.input_size() < 1 ||
        n.output_size() < 1 || kept_nodes.count(i))
      continue;
    auto it = scale_from.find(n.output(0));
    if (it != scale_from.end() && it->second == n.output(0) && scale_from.count(n.input(0)))
      carry(n.output(0), n.input(0), n.op_type() + " keeps its input's scale");
  }
  // A Relu absorbed into its unit in s8 mode still needs its own pair (it runs FP32 between them).
  if (mode == OrtActivations::kS8)
    for (const auto& [t, from] : std::map<std::string, std::string>(scale_from))
      if (from != t) {
        auto p = producer.find(from);
        if (p != producer.end() && g->node(p->second).op_type() == "Relu") ask(from);
      }

  // Resolve: own entries from the table, carried ones from their source's resolved scale.
  struct Q {
    uint32_t bits = 0;  // the table's (int8) scale bits
    std::string entry;  // table entry it came from
    ZeroPoint zp = ZeroPoint::kS8Zero;
    uint8_t u8_value = 0;  // kU8Range
    bool asym = false;     // scale and zero point from the tensor's asymmetric range
    float scale = 0;
  };
  std::map<std::string, Q> resolved;
  std::set<std::string> failed;
  std::function<Result<bool>(const std::string&)> resolve =
      [&](const std::string& t) -> Result<bool> {
    if (resolved.count(t)) return true;
    if (failed.count(t)) return false;
    Q q;
    const std::string& from = scale_from.count(t) ? scale_from[t] : t;
    if (from != t) {
      CALIB8_ASSIGN_OR_RETURN(bool ok, resolve(from));
      if (!ok) {
        failed.insert(t);
        return false;
      }
      q = resolved[from];
    } else {
      ++rep.candidates;
      CALIB8_ASSIGN_OR_RETURN(Lookup found, LookupActivation(table, table_name, t, &q.bits, &rep));
      if (found == Lookup::kMissing) rep.uncovered.push_back(t);
      if (found != Lookup::kFound) {
        failed.insert(t);
        return false;
      }
      q.entry = t;
      float s = table::BitsToFloat(q.bits);
      q.scale = s;
      auto range = options.ranges.find(t);
      const quant::QParams asym = range == options.ranges.end()
                                      ? quant::QParams{}
                                      : quant::AsymmetricParams(range->second.first,
                                                                range->second.second);
      if (mode == OrtActivations::kU8 && asym.scale > 0.0f) {
        q.zp = asym.zero_point == 0 ? ZeroPoint::kU8Zero : ZeroPoint::kU8Range;
        q.u8_value = static_cast<uint8_t>(asym.zero_point);
        q.scale = asym.scale;
        q.asym = true;
      } else if (mode != OrtActivations::kS8 && nonneg.count(t)) {
        q.zp = ZeroPoint::kU8Zero;
        q.scale = quant::ScaleFromAmax(quant::AmaxFromScale(s), true);
      } else if (mode == OrtActivations::kU8) {
        q.zp = ZeroPoint::kU8Mid;
      }
    }
    resolved[t] = q;
    return true;
  };
  for (const auto& t : order) CALIB8_RETURN_IF_ERROR(resolve(t).status());

  NameSet names(*g);
  std::map<std::string, Pair> pairs;
  std::set<std::string> paired;
  std::ostringstream meta;
  std::vector<std::pair<int, std::string>> renames;  // producer output renamed (graph outputs)
  for (const auto& t : order) {
    if (!resolved.count(t)) continue;
    const Q& q = resolved[t];
    auto pit = producer.find(t);
    int after = pit != producer.end() ? pit->second : -1;
    Pair p = BuildPair(t, {q.scale}, -1, after, &names, q.zp, q.u8_value);
    std::string q_input = t;
    if (graph_outputs.count(t) && after >= 0) {
      // The op must feed only the Q: it writes a new tensor, the DQ writes the graph output.
      q_input = names.Unique(t + "_float");
      p.nodes[0].set_input(0, q_input);
      p.nodes[1].set_output(0, t);
      p.dq_output = t;
      renames.push_back({after, t});
    }
    if (q.entry == t) {
      paired.insert(t);
      rep.activations.push_back(t);
      meta << q_input << '\t' << t << '\t' << table::HexBits(q.bits) << '\n';
      // An asymmetric pair's scale is not derived from the table's: record it so that import
      // can tell the export's own pair from an edited one.
      if (q.asym) meta << q_input << "\t@asym\t" << table::HexBits(table::FloatToBits(q.scale)) << '\n';
    } else {
      rep.carried.push_back(t + " <- " + scale_from[t] + ": " + carried_why[t]);
      meta << q_input << "\t-\t" << scale_from[t] << '\n';
    }
    if (q.zp != ZeroPoint::kS8Zero) ++rep.unsigned_pairs;
    pairs[t] = std::move(p);
  }
  std::set<std::string> asked(order.begin(), order.end());
  std::map<std::string, std::string> carried_from;
  for (const auto& [t, from] : scale_from)
    if (from != t) carried_from[t] = from;
  CALIB8_RETURN_IF_ERROR(FinishCoverage(table, table_name, source, tensors, paired, asked, options,
                                        rep, carried_from));

  // Weights and int32 biases of the weighted ops whose activation got a pair.
  std::map<std::pair<std::string, int64_t>, std::pair<std::string, std::vector<float>>> weight_done;
  std::vector<Pair> extra;                                       // weight and bias pairs
  std::map<int, std::pair<std::string, std::string>> rewire_wb;  // node -> (weight dq, bias dq)
  for (const auto& w : weighted) {
    const auto& n = g->node(w.node);
    if (!resolved.count(w.activation)) {
      rep.fp32_nodes.push_back(
          NodeLabel(n, w.node) + ": activation '" + w.activation +
          (plan && !options.int8_tensors.count(w.activation)
               ? "' is not held in 8 bits by calib8's INT8 plan (`calib8 plan` says why)"
               : "' has no usable table entry"));
      continue;
    }
    auto key = std::make_pair(w.weight, w.axis);
    if (!weight_done.count(key)) {
      std::string where = source + ": " + NodeLabel(n, w.node) + ": weight '" + w.weight + "'";
      CALIB8_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(*constants.at(w.weight), where, dir));
      CALIB8_ASSIGN_OR_RETURN(std::vector<float> scales, WeightScales(t, w.axis, where));
      auto pw = producer.find(w.weight);
      Pair p = BuildPair(w.weight, scales, w.axis, pw != producer.end() ? pw->second : -1, &names);
      weight_done[key] = {p.dq_output, scales};
      extra.push_back(std::move(p));
      rep.weights.push_back(w.weight);
    }
    const auto& [wdq, wscales] = weight_done[key];
    rewire_wb[w.node].first = wdq;
    // Bias: Conv/ConvTranspose input 2; Gemm C when alpha = beta = 1 and C is one row of N.
    const std::string& op = n.op_type();
    if (n.input_size() < 3 || n.input(2).empty() || !constants.count(n.input(2))) continue;
    if (op == "MatMul") continue;
    const auto* bp = constants.at(n.input(2));
    if (bp->data_type() != onnx::TensorProto::FLOAT) continue;
    if (op == "Gemm" && (FloatAttr(n, "alpha", 1.0f) != 1.0f || FloatAttr(n, "beta", 1.0f) != 1.0f))
      continue;
    std::string where = source + ": " + NodeLabel(n, w.node) + ": bias '" + n.input(2) + "'";
    CALIB8_ASSIGN_OR_RETURN(Tensor b, TensorFromProto(*bp, where, dir));
    int64_t count = b.numel();
    bool row = b.shape().size() == 1 || (b.shape().size() == 2 && b.shape()[0] == 1);
    if (!row || (wscales.size() != 1 && static_cast<int64_t>(wscales.size()) != count)) continue;
    const float s_in = resolved[w.activation].scale;
    std::vector<int32_t> q(count);
    std::vector<float> bs(count);
    for (int64_t c = 0; c < count; ++c) {
      float sw = wscales.size() == 1 ? wscales[0] : wscales[c];
      q[c] = quant::QuantizeBias(b.data<float>()[c], s_in, sw);
      bs[c] = s_in * sw;
    }
    Pair p = BuildBias(n.input(2), q, bs, &names);
    rewire_wb[w.node].second = p.dq_output;
    extra.push_back(std::move(p));
    rep.biases.push_back(n.input(2));
  }

  // Rewire: every consumer of a paired tensor reads the DQ output.
  for (const auto& [t, p] : pairs) {
    auto it = consumers.find(t);
    if (it == consumers.end() || p.dq_output == t) continue;
    const bool only_8bit = plan && options.quantized_at_use.count(t);
    for (const auto& [node, input] : it->second)
      if (!only_8bit || reads_8bit.count(node)) g->mutable_node(node)->set_input(input, p.dq_output);
  }
  for (const auto& [node, out] : renames) {
    auto* n = g->mutable_node(node);
    for (int k = 0; k < n->output_size(); ++k)
      if (n->output(k) == out) n->set_output(k, pairs[out].nodes[0].input(0));
  }
  for (const auto& [node, wb] : rewire_wb) {
    auto* n = g->mutable_node(node);
    n->set_input(1, wb.first);
    if (!wb.second.empty()) n->set_input(2, wb.second);
  }
  // Drop the FP32 biases nothing reads any more (before the pairs are laid out: EmitPairs
  // keys on node positions).
  std::set<std::string> biases(rep.biases.begin(), rep.biases.end());

  std::vector<const Pair*> all;
  for (const auto& [t, p] : pairs) all.push_back(&p);
  for (const auto& p : extra) all.push_back(&p);
  EmitPairs(g, all);
  DropUnread(g, biases);
  *sources = meta.str();
  return Status::Ok();
}

}  // namespace

Result<std::set<std::string>> ReadKeepFp32File(const std::string& path) {
  CALIB8_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path, "--keep-fp32 file"));
  std::set<std::string> names;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    auto b = line.find_first_not_of(" \t\r");
    auto e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos) continue;
    names.insert(line.substr(b, e - b + 1));
  }
  return names;
}

// --target tensorrt, custom ops whose plugin has an INT8 compute: input -> Q -> plugin -> DQ, the
// form TensorRT accepts for an INT8 plugin (a Q -> DQ -> plugin -> Q -> DQ sandwich fails with
// "All of the candidates were removed", TensorRT issue 3055; docs/custom-layers.md). Each input
// that got a pair is read as its QuantizeLinear output; each output y is written as int8 to a new
// tensor and a DequantizeLinear with y's table scale (output 0: input 0's scale when the plugin
// says so) gives y back, which also serves consumers that asked for a pair on y. A plugin whose
// inputs or outputs lack a table scale stays FP32 and reads float inputs.
using UseMap = std::map<std::string, std::vector<std::pair<int, int>>>;
Status PlacePluginsInt8(onnx::GraphProto* g, const table::CalibrationTable& table,
                        const std::string& table_name, const QdqExportOptions& options,
                        const std::vector<int>& plugins, const std::set<std::string>& paired,
                        std::map<std::string, Pair>* pairs, UseMap* uses, NameSet* names,
                        QdqExportReport* rep) {
  for (int i : plugins) {
    onnx::NodeProto* n = g->mutable_node(i);
    auto drop_uses = [&] {
      for (auto& [t, list] : *uses)
        list.erase(std::remove_if(list.begin(), list.end(),
                                  [i](const std::pair<int, int>& u) { return u.first == i; }),
                   list.end());
    };
    std::string why;
    for (const auto& x : n->input())
      if (!x.empty() && why.empty() && (!paired.count(x) || !pairs->count(x)))
        why = paired.count(x) ? "input '" + x + "' is written by another INT8 custom op"
                              : "input '" + x + "' has no usable table entry";
    std::vector<float> out_scales;
    const bool same =
        options.int8_custom_ops.at(n->domain() + "::" + n->op_type()) && n->input_size() > 0;
    for (int k = 0; k < n->output_size() && why.empty(); ++k) {
      const std::string& y = n->output(k);
      uint32_t bits = 0;
      Lookup found = Lookup::kMissing;
      if (k == 0 && same) {
        CALIB8_ASSIGN_OR_RETURN(found, LookupActivation(table, table_name, n->input(0), &bits, rep));
      } else {
        CALIB8_ASSIGN_OR_RETURN(found, LookupActivation(table, table_name, y, &bits, rep));
      }
      if (found != Lookup::kFound) why = "output '" + y + "' has no usable table entry";
      out_scales.push_back(table::BitsToFloat(bits));
    }
    drop_uses();
    const std::string label = NodeLabel(*n, i);
    if (!why.empty()) {
      rep->fp32_nodes.push_back(label + ": custom op with INT8 compute left FP32: " + why);
      continue;
    }
    for (int j = 0; j < n->input_size(); ++j)
      if (!n->input(j).empty()) n->set_input(j, (*pairs)[n->input(j)].q_output);
    for (int k = 0; k < n->output_size(); ++k) {
      const std::string y = n->output(k);
      pairs->erase(y);  // the DQ below is y's pair
      Pair p;
      p.after = i;
      const std::string yq = names->Unique(y + "_quantized");
      const std::string scale = names->Unique(y + "_scale"), zp = names->Unique(y + "_zero_point");
      p.inits.push_back(MakeFloatTensor(scale, {out_scales[static_cast<size_t>(k)]}, true));
      p.inits.push_back(MakeZeroPoints(zp, 1, true, ZeroPoint::kS8Zero));
      p.nodes.push_back(MakeNode("DequantizeLinear", names->Unique(y + "_DequantizeLinear"),
                                 {yq, scale, zp}, y, -1));
      p.q_output = yq;
      p.dq_output = y;
      n->set_output(k, yq);
      (*pairs)[y + "\n" + label] = std::move(p);
      (*uses)[y].clear();
    }
    rep->notes.push_back(label + ": INT8 (input -> Q -> plugin -> DQ, the plugin's compute_int8)");
  }
  return Status::Ok();
}

Result<std::string> ExportQdq(const std::string& model_bytes, const std::string& source,
                              const std::string& dir, const table::CalibrationTable& table,
                              const std::string& table_name, const QdqExportOptions& options,
                              QdqExportReport* report) {
  QdqExportReport local;
  QdqExportReport& rep = report ? *report : local;
  onnx::ModelProto model;
  if (model_bytes.empty())
    return InvalidArgument(source, ": the file is empty, expected an ONNX model");
  if (!model.ParseFromString(model_bytes))
    return InvalidArgument(source,
                           ": not a valid ONNX model (protobuf parsing failed: the file is "
                           "truncated, corrupt or not ONNX)");
  if (!model.has_graph() || model.graph().node_size() == 0)
    return InvalidArgument(source, ": the ONNX model has no graph nodes (is this an ONNX file?)");
  for (const auto& n : model.graph().node())
    if (n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear")
      return InvalidArgument(source, ": the model already has Q/DQ nodes (", n.op_type(), " '",
                             n.name(), "'): expected an FP32 model; import-qdq reads its table");
  CALIB8_RETURN_IF_ERROR(InlineExternalData(&model, source, dir, &rep));
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return InvalidArgument(
        source, ": the input model fails the onnx checker before any change: ", e.what());
  }
  CALIB8_RETURN_IF_ERROR(SetOpset(&model, options.opset, source, &rep));

  onnx::GraphProto* g = model.mutable_graph();
  if (options.target == QdqTarget::kOrt) {
    NameSet fold_names(*g);
    std::set<std::string> replaced;
    CALIB8_ASSIGN_OR_RETURN(int folded, FoldIntoConvForOrt(g, source, dir, &fold_names, &replaced));
    if (folded)
      rep.notes.push_back(std::to_string(folded) +
                          " BatchNormalization / per-channel Mul or Add node(s) folded into the "
                          "Conv before them (as calib8's loader does), so that the Conv writes a "
                          "tensor of the table and ORT can fuse it");
  }
  // Constants: initializers and Constant node outputs (name -> proto with the value).
  std::map<std::string, const onnx::TensorProto*> constants;
  for (const auto& i : g->initializer()) constants[i.name()] = &i;
  std::map<std::string, int> producer;
  std::set<std::string> tensors;  // activations: graph inputs and node outputs
  for (const auto& i : g->input())
    if (!constants.count(i.name())) tensors.insert(i.name());
  for (int i = 0; i < g->node_size(); ++i) {
    const auto& n = g->node(i);
    for (const auto& o : n.output()) {
      producer[o] = i;
      if (n.op_type() == "Constant" && IsDefaultDomain(n.domain())) {
        for (const auto& a : n.attribute())
          if (a.name() == "value" && a.has_t()) constants[o] = &a.t();
      } else {
        tensors.insert(o);
      }
    }
  }
  for (const auto& k : options.keep_fp32)
    if (!tensors.count(k) && !constants.count(k))
      rep.warnings.push_back("--keep-fp32: '" + k + "' is not a tensor of " + source);
  std::set<int> kept_nodes;
  for (const auto& k : options.keep_fp32)
    if (producer.count(k)) kept_nodes.insert(producer[k]);

  std::string ort_sources;
  if (options.target == QdqTarget::kOrt) {
    CALIB8_RETURN_IF_ERROR(PlaceOrt(g, constants, producer, tensors, kept_nodes, table, table_name,
                                    source, dir, options, rep, &ort_sources));
  } else {
    // Placement (docs/qdq.md): which activation inputs ask for a pair.
    std::map<std::string, std::vector<std::pair<int, int>>> uses;  // tensor -> (node, input)
    std::vector<std::string> order;
    std::vector<WeightedUse> weighted;
    auto ask = [&](const std::string& t, int node, int input) {
      if (t.empty() || constants.count(t) || options.keep_fp32.count(t)) return;
      if (!uses.count(t)) order.push_back(t);
      uses[t].push_back({node, input});
    };
    auto is_weighted_output = [&](const std::string& t) {
      auto it = producer.find(t);
      if (it == producer.end()) return false;
      const auto& p = g->node(it->second);
      return IsDefaultDomain(p.domain()) && IsWeightedOp(p.op_type()) && p.input_size() > 1 &&
             constants.count(p.input(1));
    };
    std::vector<int> plugins;  // custom ops with an INT8 compute (options.int8_custom_ops)
    for (int i = 0; i < g->node_size(); ++i) {
      const auto& n = g->node(i);
      if (!IsDefaultDomain(n.domain())) {
        if (!options.int8_custom_ops.count(n.domain() + "::" + n.op_type()) || kept_nodes.count(i))
          continue;
        plugins.push_back(i);
        for (int j = 0; j < n.input_size(); ++j) ask(n.input(j), i, j);
        continue;
      }
      const std::string& op = n.op_type();
      if (IsWeightedOp(op)) {
        int64_t axis = -1;
        if (CheckWeighted(n, i, constants, kept_nodes, options.keep_fp32, &axis, &rep) != 1)
          continue;
        ask(n.input(0), i, 0);
        weighted.push_back({i, n.input(0), n.input(1), axis});
      } else if (kept_nodes.count(i)) {
        continue;
      } else if (IsPoolingOp(op)) {
        ask(n.input(0), i, 0);
      } else if (op == "Concat") {
        for (int j = 0; j < n.input_size(); ++j) ask(n.input(j), i, j);
      } else if (op == "Add" && n.input_size() == 2 && !constants.count(n.input(0)) &&
                 !constants.count(n.input(1))) {
        // Residual Add: quantize the skip branch; the branch straight out of a weighted op stays
        // FP32 so that TensorRT fuses the Add into that op's epilogue.
        bool w0 = is_weighted_output(n.input(0)), w1 = is_weighted_output(n.input(1));
        if (!w0) ask(n.input(0), i, 0);
        if (!w1 || w0) ask(n.input(1), i, 1);
      }
    }

    // Resolve each asked tensor against the table.
    std::map<std::string, Pair> pairs;
    NameSet names(*g);
    std::set<std::string> paired;
    for (const auto& t : order) {
      ++rep.candidates;
      uint32_t bits = 0;
      CALIB8_ASSIGN_OR_RETURN(Lookup found, LookupActivation(table, table_name, t, &bits, &rep));
      if (found == Lookup::kMissing) rep.uncovered.push_back(t);
      if (found != Lookup::kFound) continue;
      int after = producer.count(t) ? producer[t] : -1;
      pairs[t] = BuildPair(t, {table::BitsToFloat(bits)}, -1, after, &names);
      paired.insert(t);
      rep.activations.push_back(t);
    }
    std::set<std::string> asked;
    for (const auto& [t, list] : uses) asked.insert(t);
    CALIB8_RETURN_IF_ERROR(
        FinishCoverage(table, table_name, source, tensors, paired, asked, options, rep));

    CALIB8_RETURN_IF_ERROR(PlacePluginsInt8(g, table, table_name, options, plugins, paired, &pairs,
                                            &uses, &names, &rep));

    // Weights of the weighted nodes whose activation got a pair.
    std::map<int, std::string> weight_dq;  // node -> dequantized weight tensor
    std::map<std::pair<std::string, int64_t>, std::string> weight_done;
    for (const auto& w : weighted) {
      const auto& n = g->node(w.node);
      if (!paired.count(w.activation)) {
        rep.fp32_nodes.push_back(NodeLabel(n, w.node) + ": activation '" + w.activation +
                                 "' has no usable table entry");
        continue;
      }
      auto key = std::make_pair(w.weight, w.axis);
      if (!weight_done.count(key)) {
        std::string where = source + ": " + NodeLabel(n, w.node) + ": weight '" + w.weight + "'";
        CALIB8_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(*constants[w.weight], where, dir));
        CALIB8_ASSIGN_OR_RETURN(std::vector<float> scales, WeightScales(t, w.axis, where));
        int after = producer.count(w.weight) ? producer[w.weight] : -1;
        Pair p = BuildPair(w.weight, scales, w.axis, after, &names);
        weight_done[key] = p.dq_output;
        pairs[w.weight + "\n" + std::to_string(w.axis)] = std::move(p);
        rep.weights.push_back(w.weight);
      }
      weight_dq[w.node] = weight_done[key];
    }

    // Rewire the chosen consumer inputs and lay out the nodes: pairs right after the node producing
    // their tensor (graph inputs and initializers: at the start), so the order stays topological.
    for (const auto& [t, list] : uses) {
      if (!pairs.count(t)) continue;
      for (const auto& [node, input] : list) {
        if (kept_nodes.count(node)) continue;
        g->mutable_node(node)->set_input(input, pairs[t].dq_output);
      }
    }
    for (const auto& [node, dq] : weight_dq) g->mutable_node(node)->set_input(1, dq);
    // A pair whose DequantizeLinear nothing reads any more (an INT8 plugin reads the Q output
    // directly) keeps only its QuantizeLinear; one read by nobody is dropped.
    std::set<std::string> read;
    for (const auto& n : g->node())
      for (const auto& x : n.input()) read.insert(x);
    for (const auto& [key, p] : pairs)
      for (const auto& x : p.nodes)
        for (const auto& in : x.input()) read.insert(in);
    std::vector<const Pair*> all;
    for (auto& [key, p] : pairs) {
      if (p.nodes.size() == 2 && !p.q_output.empty() && !read.count(p.dq_output)) {
        if (!read.count(p.q_output)) continue;
        p.nodes.pop_back();  // the DequantizeLinear (BuildPair: Q, then DQ)
      }
      all.push_back(&p);
    }
    EmitPairs(g, all);
  }  // --target tensorrt

  auto set_meta = [&](const std::string& key, const std::string& value) {
    for (auto& kv : *model.mutable_metadata_props())
      if (kv.key() == key) return kv.set_value(value);
    auto* kv = model.add_metadata_props();
    kv->set_key(key);
    kv->set_value(value);
  };
  if (!options.table_header.empty()) set_meta(kHeaderKey, options.table_header);
  if (options.target == QdqTarget::kOrt) {
    set_meta(kSourcesKey, ort_sources);
    set_meta(kExportKey, std::string("calib8 ") + CALIB8_VERSION + " export-qdq --target ort: " +
                             std::to_string(rep.activations.size()) + " activation, " +
                             std::to_string(rep.carried.size()) + " carried-scale and " +
                             std::to_string(rep.weights.size()) + " weight Q/DQ pairs, " +
                             std::to_string(rep.biases.size()) + " int32 biases");
  } else {
    set_meta(kExportKey, std::string("calib8 ") + CALIB8_VERSION + " export-qdq: " +
                             std::to_string(rep.activations.size()) + " activation and " +
                             std::to_string(rep.weights.size()) + " weight Q/DQ pairs");
  }

  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return Internal(source,
                    ": the exported Q/DQ model fails the onnx checker (a calib8 bug): ", e.what());
  }
  if (model.ByteSizeLong() > kProtobufLimit)
    return Unimplemented(source,
                         ": the exported model exceeds the 2 GiB a single-file ONNX model "
                         "can hold");
  return model.SerializeAsString();
}

Status ExportQdqFile(const std::string& model_path, const table::CalibrationTable& table,
                     const std::string& table_name, const std::string& out_path,
                     const QdqExportOptions& options, QdqExportReport* report) {
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(model_path, "model"));
  std::string dir = fs::path(model_path).parent_path().string();
  CALIB8_ASSIGN_OR_RETURN(std::string out,
                          ExportQdq(bytes, "model '" + model_path + "'", dir.empty() ? "." : dir,
                                    table, table_name, options, report));
  return core::WriteFileAtomic(out_path, out);
}

Result<table::CalibrationTable> ImportQdqFile(const std::string& path, QdqImportReport* report) {
  QdqImportReport local;
  QdqImportReport& rep = report ? *report : local;
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "model"));
  const std::string source = "model '" + path + "'";
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  onnx::ModelProto model;
  if (bytes.empty()) return InvalidArgument(source, ": the file is empty, expected an ONNX model");
  if (!model.ParseFromString(bytes) || !model.has_graph())
    return InvalidArgument(source,
                           ": not a valid ONNX model (protobuf parsing failed: the file is "
                           "truncated, corrupt or not ONNX)");
  const auto& g = model.graph();
  std::map<std::string, const onnx::TensorProto*> constants;
  for (const auto& i : g.initializer()) constants[i.name()] = &i;
  for (const auto& n : g.node()) {
    if (n.op_type() == "Constant" && IsDefaultDomain(n.domain()) && n.output_size() == 1)
      for (const auto& a : n.attribute())
        if (a.name() == "value" && a.has_t()) constants[n.output(0)] = &a.t();
    // torch's export deduplicates equal constants and reads the copies through Identity nodes
    // (`Identity(onnx::QuantizeLinear_59) -> onnx::QuantizeLinear_61`, a shared zero point).
    if (n.op_type() == "Identity" && IsDefaultDomain(n.domain()) && n.input_size() == 1 &&
        n.output_size() == 1 && constants.count(n.input(0)))
      constants[n.output(0)] = constants[n.input(0)];
  }

  table::CalibrationTable out;
  for (const auto& kv : model.metadata_props()) {
    if (kv.key() != kHeaderKey) continue;
    auto parsed = table::ParseTable(kv.value() + "\n", path, table::TableFormat::kTensorRt);
    if (parsed.ok())
      out.header = parsed->header;
    else
      rep.warnings.push_back(source + ": metadata " + kHeaderKey + " is not a TensorRT header");
  }
  // --target ort exports: Q input -> (table entry, its int8 scale bits), or carried-over scales.
  std::map<std::string, std::pair<std::string, uint32_t>> sources;
  std::map<std::string, std::string> carried;
  std::map<std::string, uint32_t> asym_scale;  // asymmetric pairs: their scale bits
  for (const auto& kv : model.metadata_props()) {
    if (kv.key() != kSourcesKey) continue;
    std::istringstream in(kv.value());
    std::string line;
    while (std::getline(in, line)) {
      auto t1 = line.find('\t'), t2 = line.rfind('\t');
      if (t1 == std::string::npos || t2 == t1) continue;
      std::string q = line.substr(0, t1), entry = line.substr(t1 + 1, t2 - t1 - 1),
                  last = line.substr(t2 + 1);
      const bool hex = last.size() == 8 &&
                       last.find_first_not_of("0123456789abcdef") == std::string::npos;
      if (entry == "-") {
        carried[q] = last;
      } else if (entry == "@asym") {
        if (hex) asym_scale[q] = static_cast<uint32_t>(std::stoul(last, nullptr, 16));
      } else if (last.size() == 8 &&
                 last.find_first_not_of("0123456789abcdef") == std::string::npos) {
        sources[q] = {entry, static_cast<uint32_t>(std::stoul(last, nullptr, 16))};
      }
    }
  }
  int quantize_nodes = 0;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (n.op_type() != "QuantizeLinear" ||
        !(IsDefaultDomain(n.domain()) || n.domain() == "com.microsoft"))
      continue;
    ++quantize_nodes;
    const std::string label = NodeLabel(n, i);
    if (n.input_size() < 2) {
      rep.skipped.push_back(label + ": no y_scale input");
      continue;
    }
    std::string x = n.input(0);
    auto sp = constants.find(n.input(1));
    if (sp == constants.end()) {
      rep.skipped.push_back(label + ": y_scale '" + n.input(1) + "' is not a constant");
      continue;
    }
    CALIB8_ASSIGN_OR_RETURN(Tensor scale,
                            TensorFromProto(*sp->second, source + ": " + label + ": y_scale", dir));
    if (scale.dtype() != DataType::kFloat32) {
      rep.skipped.push_back(label + ": y_scale is " + DataTypeName(scale.dtype()) +
                            ", expected float32");
      continue;
    }
    if (constants.count(x) || scale.numel() != 1) {
      std::string axis = scale.numel() > 1 ? ", axis " + std::to_string(IntAttr(n, "axis", 1)) : "";
      rep.weights.push_back(x + ": " + std::to_string(scale.numel()) + " scale(s)" + axis);
      continue;
    }
    if (carried.count(x)) {
      rep.skipped.push_back(label + ": tensor '" + x + "': scale carried over from '" + carried[x] +
                            "' by calib8's --target ort export (not its own table entry)");
      continue;
    }
    // Zero point: int8 0 (or none), uint8 128 (the int8 grid shifted) or uint8 0 (non-negative).
    bool u8_zero = false;
    if (n.input_size() > 2 && !n.input(2).empty()) {
      auto zp = constants.find(n.input(2));
      if (zp == constants.end()) {
        rep.skipped.push_back(label + ": zero point '" + n.input(2) + "' is not a constant");
        continue;
      }
      CALIB8_ASSIGN_OR_RETURN(Tensor z, TensorFromProto(*zp->second, source + ": " + label, dir));
      if (z.dtype() != DataType::kInt8 && z.dtype() != DataType::kUint8) {
        rep.skipped.push_back(label + ": tensor '" + x + "': zero point is " +
                              DataTypeName(z.dtype()) + ", expected int8 or uint8");
        continue;
      }
      int zv = z.numel() != 1                 ? -1
               : z.dtype() == DataType::kInt8 ? z.data<int8_t>()[0]
                                              : z.data<uint8_t>()[0];
      bool ok = z.dtype() == DataType::kInt8 ? zv == 0 : (zv == 0 || zv == 128);
      auto as = asym_scale.find(x);
      const bool own_asym = z.dtype() == DataType::kUint8 && as != asym_scale.end() &&
                            sources.count(x) && as->second == table::FloatToBits(scale.data<float>()[0]);
      if (own_asym) {
        // calib8's own asymmetric pair (zero point from the sidecar's range): the table entry
        // is the export's record.
        const auto& rec = sources[x];
        int idx = out.Find(rec.first);
        if (idx < 0) {
          table::TableEntry e;
          e.name = rec.first;
          e.kind = table::EntryKind::kActivation;
          e.scale_bits = {rec.second};
          out.Put(std::move(e));
        }
        continue;
      }
      if (!ok) {
        rep.skipped.push_back(
            label + ": tensor '" + x + "': " + DataTypeName(z.dtype()) + " zero point " +
            std::to_string(zv) +
            (z.dtype() == DataType::kInt8 ? ", expected 0" : ", expected 0 or 128") +
            " (asymmetric quantization has no TensorRT entry)");
        continue;
      }
      u8_zero = z.dtype() == DataType::kUint8 && zv == 0;
    }
    float s = scale.data<float>()[0];
    uint32_t bits = table::FloatToBits(s);
    if (!std::isfinite(s) || !(s > 0.0f))
      return InvalidArgument(source, ": ", label, ": tensor '", x, "': y_scale ",
                             table::ShortestDecimal(s), " (bits ", table::HexBits(bits),
                             "): expected a finite positive scale");
    std::string entry_name = x;
    auto src = sources.find(x);
    // The export's own record, used only when it agrees with the model's scale.
    bool from_meta = false;
    if (src != sources.end()) {
      float s127 = table::BitsToFloat(src->second.second);
      float want = u8_zero ? quant::ScaleFromAmax(quant::AmaxFromScale(s127), true) : s127;
      if (table::FloatToBits(want) == bits) {
        entry_name = src->second.first;
        bits = src->second.second;
        from_meta = true;
      } else {
        rep.warnings.push_back(source + ": " + label + ": tensor '" + x +
                               "': scale does not match the export's record in " + kSourcesKey +
                               " (model edited?): the scale in the graph is used");
      }
    }
    if (u8_zero && !from_meta) {
      // amax = 255 * scale, written as a TensorRT scale amax / 127.
      bits = table::FloatToBits(quant::ScaleFromAmax(quant::AmaxFromScale(s, true)));
      rep.converted.push_back(x + ": uint8 with zero point 0, amax = 255 x scale");
    }
    x = entry_name;
    int idx = out.Find(x);
    if (idx >= 0) {
      if (out.entries()[idx].bits() != bits)
        rep.warnings.push_back(source + ": " + label + ": tensor '" + x +
                               "' is quantized again with another scale (" + table::HexBits(bits) +
                               " vs " + table::HexBits(out.entries()[idx].bits()) +
                               "): the first is kept");
      continue;
    }
    table::TableEntry e;
    e.name = x;
    e.kind = table::EntryKind::kActivation;
    e.scale_bits = {bits};
    out.Put(std::move(e));
  }
  // The outputs of INT8 custom ops (export-qdq --target tensorrt: input -> Q -> plugin -> DQ):
  // their scale is on the DequantizeLinear that reads the plugin's int8 output.
  std::map<std::string, const onnx::NodeProto*> producer;
  for (const auto& n : g.node())
    for (const auto& o : n.output()) producer[o] = &n;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (n.op_type() != "DequantizeLinear" || !IsDefaultDomain(n.domain()) || n.input_size() < 2 ||
        n.output_size() != 1 || out.Find(n.output(0)) >= 0)
      continue;
    auto p = producer.find(n.input(0));
    auto sp = constants.find(n.input(1));
    if (p == producer.end() || IsDefaultDomain(p->second->domain()) ||
        p->second->domain() == "com.microsoft" || sp == constants.end())
      continue;
    const std::string label = NodeLabel(n, i);
    CALIB8_ASSIGN_OR_RETURN(Tensor scale,
                            TensorFromProto(*sp->second, source + ": " + label + ": x_scale", dir));
    if (scale.dtype() != DataType::kFloat32 || scale.numel() != 1) continue;
    if (n.input_size() > 2 && !n.input(2).empty()) {
      auto zp = constants.find(n.input(2));
      if (zp == constants.end()) continue;
      CALIB8_ASSIGN_OR_RETURN(Tensor z, TensorFromProto(*zp->second, source + ": " + label, dir));
      if (z.dtype() != DataType::kInt8 || z.numel() != 1 || z.data<int8_t>()[0] != 0) {
        rep.skipped.push_back(label + ": the output of custom op '" + p->second->name() +
                              "' has a zero point other than int8 0 (no TensorRT entry)");
        continue;
      }
    }
    const float s = scale.data<float>()[0];
    if (!std::isfinite(s) || !(s > 0.0f))
      return InvalidArgument(source, ": ", label, ": x_scale ", table::ShortestDecimal(s),
                             ": expected a finite positive scale");
    table::TableEntry e;
    e.name = n.output(0);
    e.kind = table::EntryKind::kActivation;
    e.scale_bits = {table::FloatToBits(s)};
    out.Put(std::move(e));
  }
  if (quantize_nodes == 0)
    return InvalidArgument(source, ": no QuantizeLinear node: expected a Q/DQ model");
  return out;
}

}  // namespace calib8::onnx_io
