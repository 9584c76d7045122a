// onnx/onnx_import.h — the only code in calib8 that touches ONNX protobuf (with onnx_write).
//
// Loads an ONNX model file into calib8's ir::Graph: initializers (raw and typed fields, external
// data next to the model), Constant nodes turned into initializers, attributes, opset imports,
// graph inputs/outputs with dynamic dims. Runs ONNX's own shape inference to fill value_info.
#pragma once

#include <string>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "ir/graph.h"

namespace onnx {
class GraphProto;
class ModelProto;
class TensorProto;
}  // namespace onnx

namespace calib8::onnx_io {

struct ImportOptions {
  bool infer_shapes = true;  // run ONNX shape inference (failures are not fatal)
};

// True when Debian's libonnx 1.12 shape inference would crash on `g` (null dereference, division
// by zero: conv/pool nodes with a rank < 3 input, mismatched ranks, a stride of 0 or sizes near
// 2^63, found by fuzz_onnx). Callers then skip the advisory shape inference.
bool ShapeInferenceWouldCrash(const onnx::GraphProto& g);

// Parses `bytes` into `model`: an error naming `source` when they are empty or not an ONNX
// ModelProto (or, with `need_graph`, one without a graph). Every reader of ONNX files uses it.
Status ParseModelProto(const std::string& bytes, const std::string& source, onnx::ModelProto* model,
                       bool need_graph);

// Reads and converts `path`. Errors name the file and, where it applies, the node or tensor.
Result<ir::Graph> LoadModel(const std::string& path, const ImportOptions& options = {});

// Same from bytes already in memory; `source` names them in messages; `dir` resolves external data.
Result<ir::Graph> LoadModelFromBytes(const std::string& bytes, const std::string& source,
                                     const std::string& dir, const ImportOptions& options = {});

// Same from a parsed model (shape inference, when asked for, runs on this copy).
Result<ir::Graph> GraphFromModel(onnx::ModelProto model, const std::string& source,
                                 const std::string& dir, const ImportOptions& options = {});

// The IR name of each node of `graph`, in file order: its own name, or "<op>_<index>" when it has
// none; a name an earlier node already took gets "_<index>" appended (again, until it is free).
// The names are unique; GraphFromModel gives its nodes these names.
std::vector<std::string> IrNodeNames(const onnx::GraphProto& graph);

// A TensorProto -> Tensor. `where` names it in messages; `dir` resolves external data.
Result<Tensor> TensorFromProto(const onnx::TensorProto& proto, const std::string& where,
                               const std::string& dir);

// Reads a serialized TensorProto file (the ONNX backend test data format: input_0.pb).
// On success also returns the tensor's name in *name if given.
Result<Tensor> LoadTensorProtoFile(const std::string& path, std::string* name = nullptr);

// Writes a Tensor as a serialized TensorProto file (atomic: temp file + rename).
Status SaveTensorProtoFile(const Tensor& t, const std::string& name, const std::string& path);

}  // namespace calib8::onnx_io
