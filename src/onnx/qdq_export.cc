// onnx/qdq_export.cc — `calib8 export-qdq` (ExportQdq, ExportQdqFile; qdq.h) on the ONNX
// ModelProto itself (not on calib8's IR), so the exported model keeps the original nodes, names and
// initializers: checks and prepares the model (opset, external data), places the pairs for
// TensorRT here (INT8 custom ops included) or for ONNX Runtime (qdq_ort.cc), and writes the
// metadata that import-qdq reads back. Sits in the onnx module because only src/onnx touches ONNX
// protobuf; the table side comes from calib8::table, the numbers from quant/quant_params.h. CLI:
// tools/calib8/cmd_qdq.cc. The placement rule and its sources: docs/qdq.md.
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "core/file_util.h"
#include "onnx/onnx_import.h"
#include "onnx/opset_upgrade.h"
#include "onnx/qdq.h"
#include "onnx/qdq_util.h"

namespace calib8::onnx_io {
namespace fs = std::filesystem;
using namespace qdq_detail;  // NOLINT(google-build-using-namespace): the Q/DQ files' own helpers

namespace {

constexpr int64_t kMinIrVersionForOpset13 = 7;
constexpr size_t kProtobufLimit = (size_t{1} << 31) - (size_t{1} << 20);  // 2 GiB less headroom

// Operators whose revisions from opset `first` up to 13 only added types (bfloat16, more integer
// types), negative axes or optional inputs/outputs with the old behaviour as default: a model valid
// at an opset >= `first` means the same at opset 13. Everything else must have one definition
// across the two opsets (same since_version), else the raise is refused. docs/qdq.md lists the
// sources.
bool CompatibleUpTo13(const std::string& op, int64_t from) {
  static const std::map<std::string, int64_t> kFirst = {{"Abs", 6},
                                                        {"Add", 7},
                                                        {"And", 7},
                                                        {"ArgMax", 1},
                                                        {"ArgMin", 1},
                                                        {"AveragePool", 1},
                                                        {"BatchNormalization", 9},
                                                        {"Cast", 6},
                                                        {"Ceil", 6},
                                                        {"Clip", 11},
                                                        {"Concat", 4},
                                                        {"Constant", 1},
                                                        {"ConstantOfShape", 9},
                                                        {"Conv", 1},
                                                        {"ConvTranspose", 1},
                                                        {"CumSum", 11},
                                                        {"DepthToSpace", 1},
                                                        {"Div", 7},
                                                        {"Dropout", 12},
                                                        {"Einsum", 12},
                                                        {"Elu", 6},
                                                        {"Equal", 7},
                                                        {"Erf", 9},
                                                        {"Exp", 6},
                                                        {"Expand", 8},
                                                        {"Flatten", 1},
                                                        {"Floor", 6},
                                                        {"Gather", 1},
                                                        {"GatherElements", 11},
                                                        {"GatherND", 11},
                                                        {"Gemm", 7},
                                                        {"GlobalAveragePool", 1},
                                                        {"GlobalMaxPool", 1},
                                                        {"Greater", 7},
                                                        {"HardSigmoid", 6},
                                                        {"Identity", 1},
                                                        {"InstanceNormalization", 6},
                                                        {"LeakyRelu", 6},
                                                        {"Less", 7},
                                                        {"Log", 6},
                                                        {"LRN", 1},
                                                        {"MatMul", 1},
                                                        {"Max", 8},
                                                        {"MaxPool", 1},
                                                        {"Mean", 8},
                                                        {"Min", 8},
                                                        {"Mod", 10},
                                                        {"Mul", 7},
                                                        {"Neg", 6},
                                                        {"Not", 1},
                                                        {"Or", 7},
                                                        {"Pad", 11},
                                                        {"Pow", 7},
                                                        {"PRelu", 7},
                                                        {"Range", 11},
                                                        {"Reciprocal", 6},
                                                        {"ReduceL1", 1},
                                                        {"ReduceL2", 1},
                                                        {"ReduceLogSumExp", 1},
                                                        {"ReduceMax", 1},
                                                        {"ReduceMean", 1},
                                                        {"ReduceMin", 1},
                                                        {"ReduceProd", 1},
                                                        {"ReduceSumSquare", 1},
                                                        {"Relu", 6},
                                                        {"Reshape", 5},
                                                        {"Resize", 11},
                                                        {"Round", 11},
                                                        {"ScatterND", 11},
                                                        {"Selu", 6},
                                                        {"Shape", 1},
                                                        {"Sigmoid", 6},
                                                        {"Sign", 9},
                                                        {"Slice", 10},
                                                        {"Softplus", 1},
                                                        {"Softsign", 1},
                                                        {"SpaceToDepth", 1},
                                                        {"Sqrt", 6},
                                                        {"Sub", 7},
                                                        {"Sum", 8},
                                                        {"Tanh", 6},
                                                        {"Tile", 6},
                                                        {"TopK", 11},
                                                        {"Transpose", 1},
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
        CALIB8_ASSIGN_OR_RETURN(found,
                                LookupActivation(table, table_name, n->input(0), &bits, rep));
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

// One --target tensorrt placement (docs/qdq.md): which activation inputs ask for a pair, the pairs
// of the activations, of the INT8 custom ops and of the weights, and the rewiring of the graph to
// them. The graph is not changed before PlacePluginsInt8.
struct TrtPlacement : PlacementInputs {
  explicit TrtPlacement(const PlacementInputs& in) : PlacementInputs(in), names(*g) {}

  // Asks for a pair on activation `t` for input `input` of node `node`.
  void Ask(const std::string& t, int node, int input) {
    if (t.empty() || constants.count(t) || options.keep_fp32.count(t)) return;
    if (!uses.count(t)) order.push_back(t);
    uses[t].push_back({node, input});
  }

  // Whether `t` is the output of a weighted op with a constant weight.
  bool IsWeightedOutput(const std::string& t) const {
    auto it = producer.find(t);
    if (it == producer.end()) return false;
    const auto& p = g->node(it->second);
    return IsDefaultDomain(p.domain()) && IsWeightedOp(p.op_type()) && p.input_size() > 1 &&
           constants.count(p.input(1));
  }

  // Placement (docs/qdq.md): which activation inputs ask for a pair.
  void ChooseInputs() {
    for (int i = 0; i < g->node_size(); ++i) {
      const auto& n = g->node(i);
      if (!IsDefaultDomain(n.domain())) {
        if (!options.int8_custom_ops.count(n.domain() + "::" + n.op_type()) || kept_nodes.count(i))
          continue;
        plugins.push_back(i);
        for (int j = 0; j < n.input_size(); ++j) Ask(n.input(j), i, j);
        continue;
      }
      const std::string& op = n.op_type();
      if (IsWeightedOp(op)) {
        int64_t axis = -1;
        if (CheckWeighted(n, i, constants, kept_nodes, options.keep_fp32, &axis, &rep) != 1)
          continue;
        Ask(n.input(0), i, 0);
        weighted.push_back({i, n.input(0), n.input(1), axis});
      } else if (kept_nodes.count(i)) {
        continue;
      } else if (IsPoolingOp(op)) {
        Ask(n.input(0), i, 0);
      } else if (op == "Concat") {
        for (int j = 0; j < n.input_size(); ++j) Ask(n.input(j), i, j);
      } else if (op == "Add" && n.input_size() == 2 && !constants.count(n.input(0)) &&
                 !constants.count(n.input(1))) {
        // Residual Add: quantize the skip branch; the branch straight out of a weighted op stays
        // FP32 so that TensorRT fuses the Add into that op's epilogue.
        bool w0 = IsWeightedOutput(n.input(0)), w1 = IsWeightedOutput(n.input(1));
        if (!w0) Ask(n.input(0), i, 0);
        if (!w1 || w0) Ask(n.input(1), i, 1);
      }
    }
  }

  // Resolves each asked tensor against the table, checks the coverage and places the INT8
  // custom ops.
  Status PairActivations() {
    for (const auto& t : order) {
      ++rep.candidates;
      uint32_t bits = 0;
      CALIB8_ASSIGN_OR_RETURN(Lookup found, LookupActivation(table, table_name, t, &bits, &rep));
      if (found == Lookup::kMissing) rep.uncovered.push_back(t);
      if (found != Lookup::kFound) continue;
      int after = producer.count(t) ? producer.at(t) : -1;
      pairs[t] = BuildPair(t, {table::BitsToFloat(bits)}, -1, after, &names);
      paired.insert(t);
      rep.activations.push_back(t);
    }
    std::set<std::string> asked;
    for (const auto& [t, list] : uses) asked.insert(t);
    CALIB8_RETURN_IF_ERROR(
        FinishCoverage(table, table_name, source, tensors, paired, asked, options, rep));

    return PlacePluginsInt8(g, table, table_name, options, plugins, paired, &pairs, &uses, &names,
                            &rep);
  }

  // Weights of the weighted nodes whose activation got a pair.
  Status PairWeights() {
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
        CALIB8_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(*constants.at(w.weight), where, dir));
        CALIB8_ASSIGN_OR_RETURN(std::vector<float> scales, WeightScales(t, w.axis, where));
        int after = producer.count(w.weight) ? producer.at(w.weight) : -1;
        Pair p = BuildPair(w.weight, scales, w.axis, after, &names);
        weight_done[key] = p.dq_output;
        pairs[w.weight + "\n" + std::to_string(w.axis)] = std::move(p);
        rep.weights.push_back(w.weight);
      }
      weight_dq[w.node] = weight_done[key];
    }
    return Status::Ok();
  }

  // Rewires the chosen consumer inputs and lays out the nodes: pairs right after the node
  // producing their tensor (graph inputs and initializers: at the start), so the order stays
  // topological.
  void RewireAndEmit() {
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
  }

  UseMap uses;  // tensor -> (node, input)
  std::vector<std::string> order;
  std::vector<WeightedUse> weighted;
  std::vector<int> plugins;  // custom ops with an INT8 compute (options.int8_custom_ops)
  NameSet names;
  std::map<std::string, Pair> pairs;
  std::set<std::string> paired;
  std::map<int, std::string> weight_dq;  // node -> dequantized weight tensor
};

// --target tensorrt: places the pairs (TrtPlacement) and lays them out in `g`.
Status PlaceTensorRt(onnx::GraphProto* g, const ConstantMap& constants,
                     const std::map<std::string, int>& producer,
                     const std::set<std::string>& tensors, const std::set<int>& kept_nodes,
                     const table::CalibrationTable& table, const std::string& table_name,
                     const std::string& source, const std::string& dir,
                     const QdqExportOptions& options, QdqExportReport& rep) {
  TrtPlacement p(
      {g, constants, producer, tensors, kept_nodes, table, table_name, source, dir, options, rep});
  p.ChooseInputs();
  CALIB8_RETURN_IF_ERROR(p.PairActivations());
  CALIB8_RETURN_IF_ERROR(p.PairWeights());
  p.RewireAndEmit();
  return Status::Ok();
}

// Parses `model_bytes` into `model` and prepares it for the export: refuses a model that already
// has Q/DQ nodes, inlines external data, runs the onnx checker and sets the opset (SetOpset).
Status LoadForExport(const std::string& model_bytes, const std::string& source,
                     const std::string& dir, const QdqExportOptions& options,
                     onnx::ModelProto& model, QdqExportReport& rep) {
  CALIB8_RETURN_IF_ERROR(ParseModelProto(model_bytes, source, &model, false));
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
  return Status::Ok();
}

// What the placement reads about the (prepared) graph.
struct ModelIndex {
  // Constants: initializers and Constant node outputs (name -> proto with the value).
  std::map<std::string, const onnx::TensorProto*> constants;
  std::map<std::string, int> producer;
  std::set<std::string> tensors;  // activations: graph inputs and node outputs
  std::set<int> kept_nodes;       // nodes whose output is in --keep-fp32
};

// Indexes `g` (ModelIndex); warns about --keep-fp32 names that are no tensor of the model.
ModelIndex IndexModel(const onnx::GraphProto& g, const std::string& source,
                      const QdqExportOptions& options, QdqExportReport& rep) {
  ModelIndex ix;
  for (const auto& i : g.initializer()) ix.constants[i.name()] = &i;
  for (const auto& i : g.input())
    if (!ix.constants.count(i.name())) ix.tensors.insert(i.name());
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    for (const auto& o : n.output()) {
      ix.producer[o] = i;
      if (n.op_type() == "Constant" && IsDefaultDomain(n.domain())) {
        for (const auto& a : n.attribute())
          if (a.name() == "value" && a.has_t()) ix.constants[o] = &a.t();
      } else {
        ix.tensors.insert(o);
      }
    }
  }
  for (const auto& k : options.keep_fp32)
    if (!ix.tensors.count(k) && !ix.constants.count(k))
      rep.warnings.push_back("--keep-fp32: '" + k + "' is not a tensor of " + source);
  for (const auto& k : options.keep_fp32)
    if (ix.producer.count(k)) ix.kept_nodes.insert(ix.producer[k]);
  return ix;
}

// Writes the model's metadata: the table's header (for import-qdq), a line on what was
// exported, and with --target ort where each activation Q's scale came from.
void WriteMetadata(onnx::ModelProto& model, const QdqExportOptions& options,
                   const std::string& ort_sources, const QdqExportReport& rep) {
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

Result<std::string> ExportQdq(const std::string& model_bytes, const std::string& source,
                              const std::string& dir, const table::CalibrationTable& table,
                              const std::string& table_name, const QdqExportOptions& options,
                              QdqExportReport* report) {
  QdqExportReport local;
  QdqExportReport& rep = report ? *report : local;
  onnx::ModelProto model;
  CALIB8_RETURN_IF_ERROR(LoadForExport(model_bytes, source, dir, options, model, rep));

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
  ModelIndex ix = IndexModel(*g, source, options, rep);

  std::string ort_sources;
  if (options.target == QdqTarget::kOrt) {
    CALIB8_RETURN_IF_ERROR(PlaceOrt(g, ix.constants, ix.producer, ix.tensors, ix.kept_nodes, table,
                                    table_name, source, dir, options, rep, &ort_sources));
  } else {
    CALIB8_RETURN_IF_ERROR(PlaceTensorRt(g, ix.constants, ix.producer, ix.tensors, ix.kept_nodes,
                                         table, table_name, source, dir, options, rep));
  }
  WriteMetadata(model, options, ort_sources, rep);

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

}  // namespace calib8::onnx_io
