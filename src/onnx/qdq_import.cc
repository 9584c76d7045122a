// onnx/qdq_import.cc — `calib8 import-qdq` (ImportQdqFile; qdq.h): parses the Q/DQ model, builds
// calib8's IR (no shape inference) and reads the table with the IR pass quant::ReadQdqTable,
// giving it the model's metadata and the file's node order and names. A model the IR cannot hold
// is not a valid ONNX model (a dangling input, a cycle, no nodes, an initializer whose bytes do not
// match its shape, external data that is missing) or holds a tensor type calib8 does not know:
// it is refused with GraphFromModel's error, which names the node or tensor.
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "onnx/onnx_import.h"
#include "onnx/qdq.h"
#include "onnx/qdq_util.h"
#include "quant/qdq_read.h"

namespace calib8::onnx_io {
namespace fs = std::filesystem;
using namespace qdq_detail;  // NOLINT(google-build-using-namespace): the Q/DQ files' own helpers

namespace {

// What quant::ReadQdqTable needs from the file besides the graph: the metadata, each node's file
// index and name under the name GraphFromModel gives it (onnx_io::IrNodeNames), and the Constant
// nodes it turned into initializers.
quant::QdqModelInfo ModelInfo(const onnx::ModelProto& model, const std::string& path,
                              const std::string& source) {
  quant::QdqModelInfo meta;
  meta.source = source;
  meta.path = path;
  for (const auto& kv : model.metadata_props()) meta.metadata.emplace_back(kv.key(), kv.value());
  const auto& g = model.graph();
  const std::vector<std::string> ir_names = IrNodeNames(g);
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    meta.nodes.emplace(ir_names[static_cast<size_t>(i)], std::make_pair(i, n.name()));
    if (n.op_type() != "Constant" || !IsDefaultDomain(n.domain()) || n.output_size() != 1) continue;
    bool value = false;
    for (const auto& a : n.attribute()) value = value || (a.name() == "value" && a.has_t());
    (value ? meta.constant_nodes : meta.other_constants)[n.output(0)] = i;
  }
  return meta;
}

}  // namespace

Result<table::CalibrationTable> ImportQdqFile(const std::string& path, QdqImportReport* report) {
  QdqImportReport local;
  QdqImportReport& rep = report ? *report : local;
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "model"));
  const std::string source = "model '" + path + "'";
  const fs::path parent = fs::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  onnx::ModelProto model;
  CALIB8_RETURN_IF_ERROR(ParseModelProto(bytes, source, &model, true));
  ImportOptions io;
  io.infer_shapes = false;
  CALIB8_ASSIGN_OR_RETURN(ir::Graph g, GraphFromModel(model, source, dir, io));
  const quant::QdqModelInfo meta = ModelInfo(model, path, source);
  return quant::ReadQdqTable(g, meta, &rep);
}

}  // namespace calib8::onnx_io
