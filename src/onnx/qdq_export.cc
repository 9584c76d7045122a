// onnx/qdq_export.cc — `calib8 export-qdq` (ExportQdq, ExportQdqFile; qdq.h): checks and prepares
// the model (no Q/DQ yet, external data inlined, the onnx checker, the opset), then
// imports it into calib8's IR, raises the opset there (ir::UpgradeOpsTo13), places the pairs with
// the IR passes quant::PlaceTensorRt or (after ir::FoldIntoConv) quant::PlaceOrt and
// writes the graph back (onnx_write.h): the export is a serializer of the IR; then it writes the
// metadata that import-qdq reads back. CLI: tools/calib8/cmd_qdq.cc. The placement
// rule and its sources: docs/qdq.md.
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "core/file_util.h"
#include "ir/opset_upgrade.h"
#include "ir/passes.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_write.h"
#include "onnx/qdq.h"
#include "onnx/qdq_util.h"
#include "quant/qdq_placement.h"

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

// The one check of an operator across the raise: `op` at opset `from` must mean the same at `to`
// (one definition, or CompatibleUpTo13 when `to` is 13). `label` names the node in messages.
Status CheckOpUnchanged(const std::string& op, const std::string& label, int64_t from, int64_t to,
                        const std::string& source) {
  if (from == to) return Status::Ok();
  const auto* old_schema = onnx::OpSchemaRegistry::Schema(op, static_cast<int>(from), "");
  const auto* new_schema = onnx::OpSchemaRegistry::Schema(op, static_cast<int>(to), "");
  if (!old_schema || !new_schema)
    return InvalidArgument(source, ": ", label, ": operator unknown to ONNX at opset ",
                           old_schema ? to : from, ", so raising the opset from ", from, " to ", to,
                           " cannot be checked; convert the model to opset ", to,
                           " first (onnx.version_converter)");
  bool same = old_schema->since_version() == new_schema->since_version();
  bool compatible = to <= kQdqMinOpset && CompatibleUpTo13(op, from);
  if ((!same && !compatible) || new_schema->Deprecated())
    return InvalidArgument(
        source, ": ", label, ": opset ", from, " means ", op, "-", old_schema->since_version(),
        " but opset ", to, " means ", op, "-", new_schema->since_version(),
        " (changed inputs or semantics); Q/DQ export needs opset >= ", kQdqMinOpset,
        " and calib8 does not rewrite this operator: convert the model first "
        "(python3 -c \"import onnx, onnx.version_converter as v; onnx.save(v.convert_version("
        "onnx.load('IN.onnx'), ",
        to, "), 'OUT.onnx')\")");
  return Status::Ok();
}

// The model's default-domain opset; an error when it imports none.
Result<int64_t> DefaultOpsetOf(const onnx::ModelProto& m, const std::string& source) {
  for (const auto& op : m.opset_import())
    if (IsDefaultDomain(op.domain())) return static_cast<int64_t>(op.version());
  return InvalidArgument(source,
                         ": the model imports no default-domain (ai.onnx) opset: "
                         "expected one, as the ONNX spec requires");
}

// The opset the export writes: `requested`, or the model's raised to 13. Refused below 13, below
// the model's own, or beyond what this build's ONNX library knows.
Result<int64_t> TargetOpset(int64_t from, int64_t requested, const std::string& source) {
  int64_t to = requested ? requested : std::max(from, kQdqMinOpset);
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
  return to;
}

std::string OpsetRaisedNote(int64_t from, int64_t to, bool rewritten) {
  return "opset raised from " + std::to_string(from) + " to " + std::to_string(to) +
         (rewritten ? " (the operators that changed were rewritten, as listed)"
                    : " (no operator of the model changed between the two)");
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

// Parses `model_bytes` into `model` and prepares it for the export: refuses a model that already
// has Q/DQ nodes, inlines external data and runs the onnx checker.
Status LoadForExport(const std::string& model_bytes, const std::string& source,
                     const std::string& dir, onnx::ModelProto& model, QdqExportReport& rep) {
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
  return Status::Ok();
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

// The export as a serializer of calib8's IR (both targets): the model as calib8 imports it
// (Constant nodes become initializers; no optimizing pass), raised to the target opset
// (ir::UpgradeOpsTo13 below 13, then every operator checked to mean the same at the target),
// for --target ort BatchNormalization and per-channel Mul/Add folded into the Conv before them
// (ir::FoldIntoConv, export form), the pairs placed by quant::PlaceTensorRt or quant::PlaceOrt
// (`*ort_sources`: its calib8.qdq_sources lines), and the graph written back by WriteModel with
// the original model's producer, domain, version, doc string and metadata.
Result<onnx::ModelProto> ExportOnIr(onnx::ModelProto original, const std::string& source,
                                    const std::string& dir, const table::CalibrationTable& table,
                                    const std::string& table_name, const QdqExportOptions& options,
                                    QdqExportReport& rep, std::string* ort_sources) {
  CALIB8_ASSIGN_OR_RETURN(int64_t from, DefaultOpsetOf(original, source));
  CALIB8_ASSIGN_OR_RETURN(int64_t to, TargetOpset(from, options.opset, source));
  rep.opset_before = from;
  rep.opset_after = to;
  WriteOptions wo;
  wo.producer_name = original.producer_name();
  wo.producer_version = original.producer_version();
  wo.doc_string = original.doc_string();
  for (const auto& kv : original.metadata_props()) wo.metadata_props[kv.key()] = kv.value();
  const int64_t ir_before = original.ir_version();
  onnx::ModelProto shell;  // the model-level fields WriteModel does not set
  shell.set_domain(original.domain());
  shell.set_model_version(original.model_version());
  // Shape inference gives the opset raise its ranks (Softmax keeps its form on the last axis);
  // the model is written with only the value_info it declared.
  std::set<std::string> declared;
  for (const auto& v : original.graph().value_info()) declared.insert(v.name());
  for (const auto& v : original.graph().input()) declared.insert(v.name());
  for (const auto& v : original.graph().output()) declared.insert(v.name());
  CALIB8_ASSIGN_OR_RETURN(ir::Graph g, GraphFromModel(std::move(original), source, dir));
  if (to != from) {
    ir::OpsetUpgradeReport upgrade;
    if (from < kQdqMinOpset) CALIB8_RETURN_IF_ERROR(ir::UpgradeOpsTo13(&g, &upgrade));
    const int64_t now = std::max(from, kQdqMinOpset);
    for (const auto& n : g.nodes)
      if (IsDefaultDomain(n.domain))
        CALIB8_RETURN_IF_ERROR(CheckOpUnchanged(
            n.op_type, "node '" + n.name + "' (" + n.op_type + ")", now, to, source));
    for (const auto& note : upgrade.notes) rep.notes.push_back(note);
    g.opsets[""] = to;
    rep.notes.push_back(OpsetRaisedNote(from, to, !upgrade.rewritten.empty()));
  }
  for (auto it = g.value_info.begin(); it != g.value_info.end();)
    it = declared.count(it->first) ? std::next(it) : g.value_info.erase(it);
  const size_t ir_note_at = rep.notes.size();  // the IR version note follows the opset's
  if (options.target == QdqTarget::kOrt) {
    ir::ConvFoldOptions fold;
    fold.remove_dead = false;  // a serializer: dead nodes stay
    fold.export_names = true;
    if (int folded = ir::FoldIntoConv(g, fold))
      rep.notes.push_back(std::to_string(folded) +
                          " BatchNormalization / per-channel Mul or Add node(s) folded into the "
                          "Conv before them (as calib8's loader does), so that the Conv writes a "
                          "tensor of the table and ORT can fuse it");
    CALIB8_RETURN_IF_ERROR(
        quant::PlaceOrt(&g, table, table_name, source, options, &rep, ort_sources));
  } else {
    CALIB8_RETURN_IF_ERROR(quant::PlaceTensorRt(&g, table, table_name, source, options, &rep));
  }
  wo.ir_version = std::max<int64_t>({ir_before, kMinIrVersionForOpset13, AutoIrVersion(g)});
  if (wo.ir_version > ir_before)
    rep.notes.insert(rep.notes.begin() + static_cast<std::ptrdiff_t>(ir_note_at),
                     "IR version raised from " + std::to_string(ir_before) + " to " +
                         std::to_string(wo.ir_version));
  CALIB8_ASSIGN_OR_RETURN(onnx::ModelProto m, WriteModel(g, wo));
  m.set_domain(shell.domain());
  m.set_model_version(shell.model_version());
  return m;
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
  CALIB8_RETURN_IF_ERROR(LoadForExport(model_bytes, source, dir, model, rep));

  std::string ort_sources;
  CALIB8_ASSIGN_OR_RETURN(model, ExportOnIr(std::move(model), source, dir, table, table_name,
                                            options, rep, &ort_sources));
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
