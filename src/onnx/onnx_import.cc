// onnx/onnx_import.cc — ONNX protobuf -> calib8 IR. Protobuf and ONNX exceptions stop here.
#include "onnx/onnx_import.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/file_util.h"

namespace calib8::onnx_io {
namespace fs = std::filesystem;

namespace {

template <typename Src, typename Dst>
void CopyField(const google::protobuf::RepeatedField<Src>& f, Dst* dst) {
  for (int i = 0; i < f.size(); ++i) dst[i] = static_cast<Dst>(f.Get(i));
}

// A decimal offset or length from external_data: digits only, below 2^62.
bool ParseExternalNumber(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *out = std::stoll(text);
  return true;
}

// Where the bytes of an external tensor lie, checked against the file before anything is
// allocated: `want` bytes at `offset` must be inside the file.
Status LocateExternal(const onnx::TensorProto& p, const std::string& where, const std::string& dir,
                      uint64_t want, fs::path* file, int64_t* offset) {
  std::string location;
  int64_t length = -1;
  *offset = 0;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") location = kv.value();
    if ((kv.key() == "offset" && !ParseExternalNumber(kv.value(), offset)) ||
        (kv.key() == "length" && !ParseExternalNumber(kv.value(), &length)))
      return InvalidArgument(where, ": external data '", kv.key(), "' is '",
                             kv.value().substr(0, 40), "': expected a non-negative decimal number");
  }
  if (location.empty()) return InvalidArgument(where, ": external data without a 'location' entry");
  // As the ONNX checker requires: a relative path that stays beside the model.
  const fs::path loc(location);
  bool escapes = loc.is_absolute() || location.find('\0') != std::string::npos;
  for (const auto& part : loc) escapes |= part == "..";
  if (escapes)
    return InvalidArgument(where, ": external data location '", location.substr(0, 80),
                           "' leaves the model's directory: expected a relative path without '..'");
  *file = fs::path(dir) / location;
  std::error_code ec;
  const uint64_t size = fs::file_size(*file, ec);
  if (ec)
    return NotFound(where, ": external data file '", file->string(),
                    "' cannot be opened (it must sit beside the model, as the model says)");
  if (length >= 0 && static_cast<uint64_t>(length) != want)
    return InvalidArgument(where, ": external data length ", length, " != ", want,
                           " bytes expected");
  if (static_cast<uint64_t>(*offset) > size || want > size - static_cast<uint64_t>(*offset))
    return InvalidArgument(where, ": external data file '", file->string(), "' has ", size,
                           " bytes: too short for ", want, " bytes at offset ", *offset);
  return Status::Ok();
}

Status ReadExternal(const fs::path& file, int64_t offset, const std::string& where, Tensor* t) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return NotFound(where, ": external data file '", file.string(),
                    "' cannot be opened (it must sit beside the model, as the model says)");
  size_t want = t->nbytes();
  in.seekg(offset);
  in.read(static_cast<char*>(t->raw()), static_cast<std::streamsize>(want));
  if (static_cast<size_t>(in.gcount()) != want)
    return InvalidArgument(where, ": external data file '", file.string(),
                           "' is too short at offset ", offset);
  return Status::Ok();
}

Result<ir::ValueInfo> ConvertValueInfo(const onnx::ValueInfoProto& v) {
  ir::ValueInfo vi;
  vi.name = v.name();
  if (v.has_type() && !v.type().has_tensor_type())
    return Unimplemented("value '", v.name(),
                         "' is not a tensor (sequence, map and optional types "
                         "are not supported by calib8)");
  if (v.type().has_tensor_type()) {
    const auto& tt = v.type().tensor_type();
    vi.dtype = DataTypeFromOnnx(tt.elem_type());
    if (tt.has_shape()) {
      vi.has_shape = true;
      for (const auto& d : tt.shape().dim()) {
        ir::Dim dim;
        if (d.has_dim_value()) dim.value = d.dim_value();
        if (d.has_dim_param()) dim.param = d.dim_param();
        vi.dims.push_back(dim);
      }
    }
  }
  return vi;
}

Result<ir::Attribute> ConvertAttribute(const onnx::AttributeProto& a, const std::string& where,
                                       const std::string& dir) {
  using K = ir::Attribute::Kind;
  ir::Attribute out;
  switch (a.type()) {
    case onnx::AttributeProto::INT:
      out.kind = K::kInt;
      out.i = a.i();
      break;
    case onnx::AttributeProto::FLOAT:
      out.kind = K::kFloat;
      out.f = a.f();
      break;
    case onnx::AttributeProto::STRING:
      out.kind = K::kString;
      out.s = a.s();
      break;
    case onnx::AttributeProto::INTS:
      out.kind = K::kInts;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      out.kind = K::kFloats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::STRINGS:
      out.kind = K::kStrings;
      out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case onnx::AttributeProto::TENSOR: {
      out.kind = K::kTensor;
      CALIB8_ASSIGN_OR_RETURN(
          out.t, TensorFromProto(a.t(), where + ": attribute '" + a.name() + "'", dir));
      break;
    }
    case onnx::AttributeProto::GRAPH:
      out.kind = K::kGraph;
      out.s = a.g().SerializeAsString();
      break;
    case onnx::AttributeProto::GRAPHS:
      out.kind = K::kGraph;
      out.i = 1;
      for (const auto& sg : a.graphs()) out.strings.push_back(sg.SerializeAsString());
      break;
    default:
      // Older writers leave `type` unset; infer it from the populated field.
      if (a.has_i()) {
        out.kind = K::kInt;
        out.i = a.i();
      } else if (a.has_f()) {
        out.kind = K::kFloat;
        out.f = a.f();
      } else if (a.has_s()) {
        out.kind = K::kString;
        out.s = a.s();
      } else if (a.ints_size()) {
        out.kind = K::kInts;
        out.ints.assign(a.ints().begin(), a.ints().end());
      } else if (a.floats_size()) {
        out.kind = K::kFloats;
        out.floats.assign(a.floats().begin(), a.floats().end());
      } else if (a.has_t()) {
        out.kind = K::kTensor;
        CALIB8_ASSIGN_OR_RETURN(out.t, TensorFromProto(a.t(), where, dir));
      } else if (a.strings_size()) {
        out.kind = K::kStrings;
        out.strings.assign(a.strings().begin(), a.strings().end());
      } else {
        out.kind = K::kInts;  // an empty list
      }
  }
  return out;
}

// Constant node -> tensor (value, value_float(s), value_int(s)).
Result<Tensor> ConstantValue(const ir::Node& n, const std::string& where) {
  if (const auto* a = n.FindAttr("value")) return a->t;
  if (const auto* a = n.FindAttr("value_float")) return Tensor::FromVector<float>({}, {a->f});
  if (const auto* a = n.FindAttr("value_floats"))
    return Tensor::FromVector<float>({static_cast<int64_t>(a->floats.size())}, a->floats);
  if (const auto* a = n.FindAttr("value_int")) return Tensor::FromVector<int64_t>({}, {a->i});
  if (const auto* a = n.FindAttr("value_ints"))
    return Tensor::FromVector<int64_t>({static_cast<int64_t>(a->ints.size())}, a->ints);
  return Unimplemented(where, ": Constant node ", n.Describe(),
                       " has no value calib8 supports (value, value_float(s), value_int(s))");
}

}  // namespace

// Debian's libonnx 1.12 crashes in convPoolShapeInference on inputs its checks let through
// (found by fuzz_onnx): it dereferences null when a convolution's or pooling's input has fewer
// than 3 dims or another rank than its weight (a checker-valid QLinearConv on a [7,7] input), and
// divides by zero on a stride of 0. Sizes near 2^63 would overflow its int64 arithmetic. Shape
// inference is advisory, so such a model loads without it and calib8's own checks report the node.
bool ShapeInferenceWouldCrash(const onnx::GraphProto& g) {
  constexpr int64_t kHuge = int64_t{1} << 40;
  std::map<std::string, const onnx::TensorShapeProto*> shape;
  std::map<std::string, int> rank;
  auto note = [&](const onnx::ValueInfoProto& v) {
    if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return;
    shape[v.name()] = &v.type().tensor_type().shape();
    rank[v.name()] = v.type().tensor_type().shape().dim_size();
  };
  // Graph outputs too: ONNX's inference seeds a tensor's type from an output of the same name.
  for (const auto& v : g.input()) note(v);
  for (const auto& v : g.output()) note(v);
  for (const auto& v : g.value_info()) note(v);
  for (const auto& t : g.initializer()) rank[t.name()] = t.dims_size();
  auto rank_of = [&](const onnx::NodeProto& n, int i) {
    auto it = i < n.input_size() ? rank.find(n.input(i)) : rank.end();
    return it == rank.end() ? -1 : it->second;
  };
  auto bad_sizes = [&](const onnx::NodeProto& n) {
    for (const auto& a : n.attribute()) {
      const std::string& name = a.name();
      const bool positive = name == "strides" || name == "dilations" || name == "kernel_shape";
      if (!positive && name != "pads") continue;
      for (int64_t v : a.ints())
        if ((positive && v <= 0) || v < -kHuge || v > kHuge) return true;
    }
    auto it = n.input_size() > 0 ? shape.find(n.input(0)) : shape.end();
    if (it != shape.end())
      for (const auto& d : it->second->dim())
        if (d.has_dim_value() && (d.dim_value() < 0 || d.dim_value() > kHuge)) return true;
    return false;
  };
  for (const auto& n : g.node()) {
    const std::string& op = n.op_type();
    const bool conv = op == "Conv" || op == "ConvTranspose" || op == "ConvInteger";
    const bool qconv = op == "QLinearConv";
    const bool pool = op == "MaxPool" || op == "AveragePool" || op == "LpPool";
    if (!conv && !qconv && !pool) continue;
    const int x = rank_of(n, 0);
    const int w = conv ? rank_of(n, 1) : qconv ? rank_of(n, 3) : -1;
    if ((x >= 0 && x < 3) || (w >= 0 && w < 3) || (x >= 0 && w >= 0 && x != w)) return true;
    if (bad_sizes(n)) return true;
  }
  return false;
}

// Fills `t` (shape and type set) from the typed value field of `p` that ONNX uses for its type,
// which must hold exactly one value per element.
static Status CopyTypedField(const onnx::TensorProto& p, const std::string& where, Tensor& t) {
  const int64_t n = t.numel();
  auto count_error = [&](int64_t got) {
    return InvalidArgument(where, ": tensor '", p.name(), "' has ", got, " values, expected ", n,
                           " for shape ", ShapeToString(t.shape()));
  };
  switch (t.dtype()) {
    case DataType::kFloat32:
      if (p.float_data_size() != n) return count_error(p.float_data_size());
      CopyField(p.float_data(), t.data<float>());
      break;
    case DataType::kFloat64:
      if (p.double_data_size() != n) return count_error(p.double_data_size());
      CopyField(p.double_data(), t.data<double>());
      break;
    case DataType::kInt64:
      if (p.int64_data_size() != n) return count_error(p.int64_data_size());
      CopyField(p.int64_data(), t.data<int64_t>());
      break;
    case DataType::kUint32:
    case DataType::kUint64:
      if (p.uint64_data_size() != n) return count_error(p.uint64_data_size());
      if (t.dtype() == DataType::kUint32)
        CopyField(p.uint64_data(), t.data<uint32_t>());
      else
        CopyField(p.uint64_data(), t.data<uint64_t>());
      break;
    case DataType::kInt32:
    case DataType::kInt16:
    case DataType::kInt8:
    case DataType::kUint16:
    case DataType::kUint8:
    case DataType::kBool:
    case DataType::kFloat16:
      if (p.int32_data_size() != n) return count_error(p.int32_data_size());
      switch (t.dtype()) {
        case DataType::kInt32:
          CopyField(p.int32_data(), t.data<int32_t>());
          break;
        case DataType::kInt16:
          CopyField(p.int32_data(), t.data<int16_t>());
          break;
        case DataType::kInt8:
          CopyField(p.int32_data(), t.data<int8_t>());
          break;
        case DataType::kUint8:
          CopyField(p.int32_data(), t.data<uint8_t>());
          break;
        case DataType::kBool:
          CopyField(p.int32_data(), t.data<bool>());
          break;
        default:
          CopyField(p.int32_data(), t.data<uint16_t>());
          break;
      }
      break;
    default:
      return Unimplemented(where, ": tensor '", p.name(), "': data type ", DataTypeName(t.dtype()));
  }
  return Status::Ok();
}

Result<Tensor> TensorFromProto(const onnx::TensorProto& p, const std::string& where,
                               const std::string& dir) {
  DataType dt = DataTypeFromOnnx(p.data_type());
  if (dt == DataType::kUndefined)
    return Unimplemented(where, ": tensor '", p.name(), "' has ONNX data type ", p.data_type(),
                         ", which calib8 does not support");
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape)
    if (d < 0) return InvalidArgument(where, ": tensor '", p.name(), "' has a negative dimension");
  // Check the size the dims imply against the bytes present before allocating anything.
  uint64_t elems = 0, bytes = 0;
  if (!CheckedSize(shape, dt, &elems, &bytes))
    return InvalidArgument(where, ": tensor '", p.name(), "' declares shape ", ShapeToString(shape),
                           " of ", DataTypeName(dt), ", which overflows: more than 2^62 bytes");
  const bool external = p.data_location() == onnx::TensorProto::EXTERNAL;
  fs::path external_file;
  int64_t external_offset = 0;
  if (external) {
    CALIB8_RETURN_IF_ERROR(LocateExternal(p, where + ": tensor '" + p.name() + "'", dir, bytes,
                                          &external_file, &external_offset));
  } else {
    // Typed fields hold one value per element; raw_data exactly the bytes (checked below).
    const uint64_t present =
        p.has_raw_data() ? p.raw_data().size()
                         : 8 * static_cast<uint64_t>(p.float_data_size() + p.double_data_size() +
                                                     p.int32_data_size() + p.int64_data_size() +
                                                     p.uint64_data_size());
    if (elems != 0 && bytes > present)
      return InvalidArgument(where, ": tensor '", p.name(), "' declares shape ",
                             ShapeToString(shape), " of ", DataTypeName(dt), " (", bytes,
                             " bytes) but holds ", present, " bytes (truncated or not a tensor)");
  }
  Tensor t(dt, shape);
  const int64_t n = t.numel();
  if (external) {
    CALIB8_RETURN_IF_ERROR(
        ReadExternal(external_file, external_offset, where + ": tensor '" + p.name() + "'", &t));
    return t;
  }
  if (p.has_raw_data()) {
    if (p.raw_data().size() != t.nbytes())
      return InvalidArgument(where, ": tensor '", p.name(), "' has ", p.raw_data().size(),
                             " bytes of raw data, expected ", t.nbytes(), " for ", DataTypeName(dt),
                             ShapeToString(shape));
    if (n) std::memcpy(t.raw(), p.raw_data().data(), t.nbytes());
    return t;
  }
  CALIB8_RETURN_IF_ERROR(CopyTypedField(p, where, t));
  return t;
}

Status ParseModelProto(const std::string& bytes, const std::string& source, onnx::ModelProto* model,
                       bool need_graph) {
  if (bytes.empty()) return InvalidArgument(source, ": the file is empty, expected an ONNX model");
  if (!model->ParseFromString(bytes) || (need_graph && !model->has_graph()))
    return InvalidArgument(source,
                           ": not a valid ONNX model (protobuf parsing failed: the file is "
                           "truncated, corrupt or not ONNX)");
  return Status::Ok();
}

Result<ir::Graph> LoadModelFromBytes(const std::string& bytes, const std::string& source,
                                     const std::string& dir, const ImportOptions& options) {
  onnx::ModelProto model;
  CALIB8_RETURN_IF_ERROR(ParseModelProto(bytes, source, &model, false));
  return GraphFromModel(std::move(model), source, dir, options);
}

std::vector<std::string> IrNodeNames(const onnx::GraphProto& graph) {
  std::vector<std::string> names;
  std::set<std::string> taken;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& np = graph.node(i);
    // Built with append: `"_" + std::to_string(i)` trips GCC 12's -Wrestrict false positive.
    const std::string suffix = std::string(1, '_').append(std::to_string(i));
    std::string name = np.name().empty() ? np.op_type() + suffix : np.name();
    while (taken.count(name)) name += suffix;
    taken.insert(name);
    names.push_back(std::move(name));
  }
  return names;
}

Result<ir::Graph> GraphFromModel(onnx::ModelProto model, const std::string& source,
                                 const std::string& dir, const ImportOptions& options) {
  if (!model.has_graph() || model.graph().node_size() == 0)
    return InvalidArgument(source, ": the ONNX model has no graph nodes (is this an ONNX file?)");

  ir::Graph g;
  g.source = source;
  g.name = model.graph().name();
  for (const auto& op : model.opset_import()) {
    std::string d = op.domain() == "ai.onnx" ? "" : op.domain();
    g.opsets[d] = op.version();
  }
  if (g.opsets.empty()) g.opsets[""] = 1;

  if (options.infer_shapes && !ShapeInferenceWouldCrash(model.graph())) {
    try {
      onnx::ShapeInferenceOptions sio{false, 0, true};
      onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), sio);
    } catch (const std::exception&) {
      // Shape inference is advisory: models with custom ops or odd shapes still load.
    }
  }
  const auto& gp = model.graph();
  for (const auto& init : gp.initializer()) {
    CALIB8_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(init, source + ": initializer", dir));
    g.initializers[init.name()] = std::move(t);
  }
  for (const auto& in : gp.input()) {
    if (g.initializers.count(in.name())) continue;
    auto vi = ConvertValueInfo(in);
    if (!vi.ok()) return vi.status().WithContext(source + ": graph input");
    g.inputs.push_back(std::move(vi).value());
  }
  for (const auto& out : gp.output()) {
    auto vi = ConvertValueInfo(out);
    if (!vi.ok()) return vi.status().WithContext(source + ": graph output");
    g.outputs.push_back(std::move(vi).value());
  }
  for (const auto& v : gp.value_info()) {
    auto vi = ConvertValueInfo(v);
    if (vi.ok()) g.value_info[vi->name] = *vi;  // non-tensor intermediates are not described
  }
  for (const auto& v : g.outputs) g.value_info[v.name] = v;
  for (const auto& v : g.inputs) g.value_info[v.name] = v;

  const std::vector<std::string> names = IrNodeNames(gp);
  size_t index = 0;
  for (const auto& np : gp.node()) {
    ir::Node n;
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.name = names[index++];
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& a : np.attribute()) {
      CALIB8_ASSIGN_OR_RETURN(ir::Attribute attr,
                              ConvertAttribute(a, source + ": node " + n.Describe(), dir));
      n.attrs[a.name()] = std::move(attr);
    }
    if (n.op_type == "Constant" && n.domain.empty() && n.outputs.size() == 1) {
      CALIB8_ASSIGN_OR_RETURN(Tensor t, ConstantValue(n, source));
      g.initializers[n.outputs[0]] = std::move(t);
      continue;
    }
    g.nodes.push_back(std::move(n));
  }
  // A graph output that is an initializer (a constant output) is served from the initializers.
  CALIB8_RETURN_IF_ERROR(g.TopologicalSort());
  std::set<std::string> produced_names;  // linear in the model (a file may list many outputs)
  for (const auto& i : g.inputs) produced_names.insert(i.name);
  for (const auto& n : g.nodes) produced_names.insert(n.outputs.begin(), n.outputs.end());
  for (const auto& o : g.outputs) {
    bool produced = g.initializers.count(o.name) > 0 || produced_names.count(o.name) > 0;
    if (!produced)
      return InvalidArgument(source, ": graph output '", o.name, "' is not produced by any node");
  }
  return g;
}

Result<ir::Graph> LoadModel(const std::string& path, const ImportOptions& options) {
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "model"));
  std::string dir = fs::path(path).parent_path().string();
  return LoadModelFromBytes(bytes, "model '" + path + "'", dir.empty() ? "." : dir, options);
}

Result<Tensor> LoadTensorProtoFile(const std::string& path, std::string* name) {
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "tensor"));
  onnx::TensorProto p;
  if (!p.ParseFromString(bytes))
    return InvalidArgument("tensor file '", path, "': not a valid ONNX TensorProto");
  if (name) *name = p.name();
  std::string dir = fs::path(path).parent_path().string();
  return TensorFromProto(p, "tensor file '" + path + "'", dir.empty() ? "." : dir);
}

Status SaveTensorProtoFile(const Tensor& t, const std::string& name, const std::string& path) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(static_cast<int>(t.dtype()));
  for (int64_t d : t.shape()) p.add_dims(d);
  p.set_raw_data(t.raw(), t.nbytes());
  return core::WriteFileAtomic(path, p.SerializeAsString());
}

}  // namespace calib8::onnx_io
