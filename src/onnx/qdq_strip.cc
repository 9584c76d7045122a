// onnx/qdq_strip.cc — `import-qdq --model-out` (StripQdqFile; qdq_strip.h): parse, import into the
// IR, raise the opset to 13 if below, quant::StripQdq, write back with onnx_io::WriteModel, check
// with the onnx checker, write atomically.
#include "onnx/qdq_strip.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <filesystem>

#include "core/file_util.h"
#include "ir/opset_upgrade.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_write.h"

namespace calib8::onnx_io {
namespace fs = std::filesystem;

Status StripQdqFile(const std::string& qdq_path, const std::string& out_path,
                    quant::QdqStripReport* report) {
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(qdq_path, "model"));
  const std::string source = "model '" + qdq_path + "'";
  const std::string parent = fs::path(qdq_path).parent_path().string();
  const std::string dir = parent.empty() ? std::string(".") : parent;
  onnx::ModelProto model;
  CALIB8_RETURN_IF_ERROR(ParseModelProto(bytes, source, &model, true));
  // The model-level fields the graph does not carry; calib8's own metadata is dropped.
  WriteOptions wo;
  wo.producer_name = model.producer_name();
  wo.producer_version = model.producer_version();
  wo.doc_string = model.doc_string();
  for (const auto& kv : model.metadata_props())
    if (kv.key().rfind("calib8.", 0) != 0) wo.metadata_props[kv.key()] = kv.value();
  const int64_t ir_before = model.ir_version();
  const std::string domain = model.domain();
  const int64_t model_version = model.model_version();

  ImportOptions io;
  io.infer_shapes = false;
  CALIB8_ASSIGN_OR_RETURN(ir::Graph g, GraphFromModel(std::move(model), source, dir, io));
  if (g.DefaultOpset() < 13) CALIB8_RETURN_IF_ERROR(ir::UpgradeOpsTo13(&g, nullptr));
  CALIB8_RETURN_IF_ERROR(quant::StripQdq(&g, source, report));
  wo.ir_version = std::max(ir_before, AutoIrVersion(g));
  CALIB8_ASSIGN_OR_RETURN(onnx::ModelProto out, WriteModel(g, wo));
  out.set_domain(domain);
  out.set_model_version(model_version);
  try {
    onnx::checker::check_model(out);
  } catch (const std::exception& e) {
    return InvalidArgument(source,
                           ": the model without its Q/DQ pairs fails the onnx checker: ", e.what());
  }
  std::string serialized;
  if (!out.SerializeToString(&serialized))
    return Internal(source, ": serializing the plain model failed");
  return core::WriteFileAtomic(out_path, serialized);
}

}  // namespace calib8::onnx_io
