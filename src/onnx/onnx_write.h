// onnx/onnx_write.h — calib8 IR -> ONNX protobuf: the inverse of onnx_import.
//
// Writes an ir::Graph as an ONNX ModelProto exactly at the graph's opsets (no op is rewritten):
// opset imports of every domain, graph inputs/outputs/value_info with their element types and
// dims (known -> dim_value, symbolic -> dim_param, unknown -> an empty dim; no shape when the
// rank is unknown, which libonnx's checker refuses on graph inputs and outputs, but ONNX Runtime
// accepts), every initializer as raw little-endian data, and the nodes in order with every
// attribute kind; sub-graphs are written back from the bytes onnx_import kept (a kGraph
// attribute without them is refused by name).
//
// Initializers are written as initializers only, never as graph inputs as well: ir::Graph keeps
// no record of which initializers the source also listed as inputs (onnx_import drops them from
// g.inputs), so a written model treats them as constants. That needs IR version 4 or later, the
// floor of the automatic IR version. A model loaded without the optimizing passes and written
// loads again to an equal ir::Graph (nodes, attributes, initializer bytes, opsets, inputs,
// outputs).
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <string>

#include "calib8/status.h"
#include "ir/graph.h"

namespace calib8::onnx_io {

struct WriteOptions {
  std::string producer_name = "calib8";
  std::string producer_version = CALIB8_VERSION;
  // 0: the lowest IR version the default domain's opset needs (ONNX's release table), and at
  // least 4 (initializers that are not graph inputs).
  int64_t ir_version = 0;
  std::map<std::string, std::string> metadata_props;
  std::string doc_string;
};

// The IR version WriteOptions::ir_version = 0 picks for `g`.
int64_t AutoIrVersion(const ir::Graph& g);

// protobuf cannot serialize a message of 2 GiB or more; the writer refuses such models.
inline constexpr uint64_t kMaxModelBytes = (uint64_t{1} << 31) - 1;

// The model for `g`. Errors: a sub-graph attribute without its body (naming the node), a tensor
// calib8 cannot write, more than kMaxModelBytes of tensor data.
Result<onnx::ModelProto> WriteModel(const ir::Graph& g, const WriteOptions& o = {});

// WriteModel, serialized and written atomically to `path` (temporary file + rename).
// Also refuses a serialized size over kMaxModelBytes.
Status SaveModel(const ir::Graph& g, const WriteOptions& o, const std::string& path);

}  // namespace calib8::onnx_io
