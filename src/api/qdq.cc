// api/qdq.cc — include/calib8/qdq.h over the modules below: onnx/qdq.h (ExportQdqFile,
// ImportQdqFile), onnx/qdq_strip.h (the plain model) and, for --placement plan, the INT8 plan
// (runtime/int8_engine.h).
#include "calib8/qdq.h"

#include "onnx/qdq.h"
#include "onnx/qdq_strip.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"
#include "table/calibration_table.h"

namespace calib8 {

namespace {

bool EndsWith8Bit(const std::string& t) {
  return t.size() >= 4 &&
         (t.compare(t.size() - 3, 3, ":s8") == 0 || t.compare(t.size() - 3, 3, ":u8") == 0);
}

// kOrt, placement plan: pairs on the tensors calib8's own INT8 plan holds in 8 bits. Without a
// plan: the error when the placement was asked for (kPlan), else a warning and node units.
Status PlaceFromPlan(const std::string& model_path, const table::CalibrationTable& table,
                     runtime::Int8Options& io, bool required, onnx_io::QdqExportOptions& eo,
                     QdqExportSummary& sum) {
  io.lowering.keep_fp32 = eo.keep_fp32;
  auto graph = runtime::LoadModel(model_path);
  Result<quant::Int8Plan> plan =
      graph.ok() ? runtime::PlanInt8(*graph, table, io) : Result<quant::Int8Plan>(graph.status());
  if (plan.ok()) {
    eo.from_plan = true;
    // 8-bit tensors are "<tensor>:s8" / "<tensor>:u8" in the plan's graph
    // (quant/lowering.h), whoever produces them (QConv, Quantize, a Reshape moving bytes).
    for (const auto& n : plan->graph.nodes)
      for (const auto& out : n.outputs) {
        if (!EndsWith8Bit(out)) continue;
        const std::string base = out.substr(0, out.size() - 3);
        eo.int8_tensors.insert(base);
        if (n.domain == quant::kInt8Domain && n.op_type == "Quantize")
          eo.quantized_at_use.insert(base);
      }
  } else if (required) {
    return plan.status();
  } else {
    // The model may still be exportable (ops calib8 cannot run; a bad table entry then gets
    // the export's own message): only an explicit kPlan fails here.
    sum.warnings.push_back("no INT8 plan for this model (" + plan.status().message() +
                           "): placing ONNX Runtime's node units instead (--placement units)");
  }
  return Status::Ok();
}

onnx_io::OrtActivations ToOrt(QdqOrtActivations a) {
  switch (a) {
    case QdqOrtActivations::kS8:
      return onnx_io::OrtActivations::kS8;
    case QdqOrtActivations::kMixed:
      return onnx_io::OrtActivations::kMixed;
    case QdqOrtActivations::kU8:
      break;
  }
  return onnx_io::OrtActivations::kU8;
}

template <typename T>
void Append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

void CopyReport(const onnx_io::QdqExportReport& rep, QdqExportSummary& sum) {
  sum.opset_before = rep.opset_before;
  sum.opset_after = rep.opset_after;
  sum.candidates = rep.candidates;
  sum.activations = rep.activations;
  sum.weights = rep.weights;
  sum.biases = rep.biases;
  sum.carried = rep.carried;
  sum.unsigned_pairs = rep.unsigned_pairs;
  sum.uncovered = rep.uncovered;
  sum.unused_entries = rep.unused_entries;
  sum.fp32_nodes = rep.fp32_nodes;
  sum.notes = rep.notes;
  Append(sum.warnings, rep.warnings);
}

Status ExportQdqTo(const std::string& model_path, const std::string& table_path,
                   const std::string& out_path, const QdqExportOptions& o, QdqExportSummary& sum) {
  // The table: the sidecar's asymmetric ranges only for kOrt with kU8 activations.
  runtime::Int8Options io;
  runtime::Int8TableMode mode;
  const bool ort = o.target == QdqTarget::kOrt;
  const bool ort_u8 = ort && o.ort_activations == QdqOrtActivations::kU8;
  CALIB8_ASSIGN_OR_RETURN(table::CalibrationTable table,
                          runtime::LoadInt8Table(table_path, o.symmetric || !ort_u8, &io, &mode));
  if (ort_u8) sum.table_note = mode.note;
  sum.table_entries = table.size();
  // The export's options.
  onnx_io::QdqExportOptions eo;
  eo.ranges = io.lowering.ranges;
  eo.opset = o.opset;
  eo.target = ort ? onnx_io::QdqTarget::kOrt : onnx_io::QdqTarget::kTensorRt;
  eo.ort_activations = ToOrt(o.ort_activations);
  eo.ort_weights =
      o.ort_weights == QdqOrtWeights::kU8 ? onnx_io::OrtWeights::kU8 : onnx_io::OrtWeights::kS8;
  eo.strict = o.strict;
  eo.table_header = table.header.raw;
  if (!ort) eo.int8_custom_ops = runtime::Int8PluginOps();
  if (!o.keep_fp32_file.empty()) {
    CALIB8_ASSIGN_OR_RETURN(eo.keep_fp32, onnx_io::ReadKeepFp32File(o.keep_fp32_file));
  }
  if (o.placement != QdqPlacement::kDefault && !ort)
    return InvalidArgument("--placement applies to --target ort only");
  if (o.ort_weights != QdqOrtWeights::kS8 && !ort)
    return InvalidArgument(
        "--ort-weights applies to --target ort only (TensorRT takes int8 weights)");
  if (ort && o.placement != QdqPlacement::kUnits) {
    CALIB8_RETURN_IF_ERROR(
        PlaceFromPlan(model_path, table, io, o.placement == QdqPlacement::kPlan, eo, sum));
  }
  // The export.
  onnx_io::QdqExportReport rep;
  Status s =
      onnx_io::ExportQdqFile(model_path, table, "table '" + table_path + "'", out_path, eo, &rep);
  CopyReport(rep, sum);
  if (s.ok() && !rep.uncovered.empty())
    sum.warnings.push_back(
        "table '" + table_path + "' covers " + std::to_string(rep.activations.size()) + " of " +
        std::to_string(rep.candidates) + " activation(s) the placement rule quantizes; " +
        std::to_string(rep.uncovered.size()) + " stay FP32 (--strict fails instead)");
  return s;
}

}  // namespace

Status ExportQdq(const std::string& model_path, const std::string& table_path,
                 const std::string& out_path, const QdqExportOptions& options,
                 QdqExportSummary* summary) {
  QdqExportSummary local;
  QdqExportSummary& sum = summary ? *summary : local;
  sum = QdqExportSummary();
  return ExportQdqTo(model_path, table_path, out_path, options, sum);
}

Status ImportQdq(const std::string& qdq_path, const std::string& table_path,
                 const QdqImportOptions& options, QdqImportSummary* summary) {
  QdqImportSummary local;
  QdqImportSummary& sum = summary ? *summary : local;
  sum = QdqImportSummary();
  CALIB8_ASSIGN_OR_RETURN(table::TableFormat fmt, table::ParseFormatName(options.format));
  if (fmt != table::TableFormat::kTensorRt && fmt != table::TableFormat::kCalib8Json)
    return InvalidArgument("--to ", options.format, ": expected trt or json");
  // The table.
  onnx_io::QdqImportReport rep;
  auto t = onnx_io::ImportQdqFile(qdq_path, &rep);
  sum.warnings = rep.warnings;
  if (!t.ok()) return t.status();
  if (t->size() == 0)
    return InvalidArgument("model '", qdq_path,
                           "': no QuantizeLinear on an "
                           "activation with a symmetric int8 scale: nothing to write");
  sum.entries = t->size();
  sum.weights = rep.weights;
  sum.skipped = rep.skipped;
  sum.converted = rep.converted;
  // The plain model first: a Q/DQ structure it cannot strip fails before the table is written.
  if (!options.model_out.empty()) {
    quant::QdqStripReport sr;
    Status ms = onnx_io::StripQdqFile(qdq_path, options.model_out, &sr);
    Append(sum.warnings, sr.warnings);
    if (!ms.ok()) return ms;
    sum.activation_pairs = sr.activation_pairs;
    sum.weight_pairs = sr.weight_pairs;
  }
  table::WriteReport wr;
  Status s = table::WriteTableFile(*t, table_path, fmt, {}, &wr);
  Append(sum.warnings, wr.warnings);
  if (!s.ok()) return s;
  sum.format_title = table::FormatTitle(fmt);
  return Status::Ok();
}

}  // namespace calib8
