// onnx/onnx_write.cc — calib8 IR -> ONNX protobuf (onnx_write.h). Protobuf exceptions stop here.
#include "onnx/onnx_write.h"

#include <onnx/defs/schema.h>

#include <algorithm>
#include <vector>

#include "calib8/files.h"

namespace calib8::onnx_io {
namespace {

// The lowest IR version of the ONNX release that introduced each default-domain opset (the
// release table of the ONNX docs, Versioning.md): opset 1..8 -> IR 3, 9 -> 4, 10 -> 5, 11 -> 6,
// 12..14 -> 7, 15..18 -> 8, 19..20 -> 9, 21..22 -> 10, 23 -> 11.
int64_t IrVersionForOpset(int64_t opset) {
  struct Row {
    int64_t first_opset, ir;
  };
  static const Row kTable[] = {{23, 11}, {21, 10}, {19, 9}, {15, 8}, {12, 7},
                               {11, 6},  {10, 5},  {9, 4},  {1, 3}};
  for (const Row& r : kTable)
    if (opset >= r.first_opset) return r.ir;
  return 3;
}

// A tensor as a TensorProto with raw little-endian data (calib8 runs on little-endian hosts).
Status FillTensor(const Tensor& t, const std::string& name, const std::string& where,
                  onnx::TensorProto* p) {
  if (!t.defined() || DataTypeSize(t.dtype()) == 0)
    return InvalidArgument(where, ": tensor '", name, "' has no data type calib8 can write");
  if (t.channels_last())
    return InvalidArgument(where, ": tensor '", name, "' is in channels-last layout");
  p->set_name(name);
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) p->add_dims(d);
  p->set_raw_data(t.nbytes() ? static_cast<const char*>(t.raw()) : "", t.nbytes());
  return Status::Ok();
}

void FillValueInfo(const ir::ValueInfo& v, onnx::ValueInfoProto* p) {
  p->set_name(v.name);
  // No type at all when nothing is known (onnx_import reads it back as undefined, no shape).
  if (v.dtype == DataType::kUndefined && !v.has_shape) return;
  auto* tt = p->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(v.dtype));
  if (!v.has_shape) return;
  auto* shape = tt->mutable_shape();
  for (const ir::Dim& d : v.dims) {
    auto* dp = shape->add_dim();
    if (d.known())
      dp->set_dim_value(d.value);
    else if (!d.param.empty())
      dp->set_dim_param(d.param);
  }
}

Status FillAttribute(const ir::Node& n, const std::string& key, const ir::Attribute& a,
                     const std::string& where, onnx::AttributeProto* p) {
  using K = ir::Attribute::Kind;
  p->set_name(key);
  switch (a.kind) {
    case K::kInt:
      p->set_type(onnx::AttributeProto::INT);
      p->set_i(a.i);
      break;
    case K::kFloat:
      p->set_type(onnx::AttributeProto::FLOAT);
      p->set_f(a.f);
      break;
    case K::kString:
      p->set_type(onnx::AttributeProto::STRING);
      p->set_s(a.s);
      break;
    case K::kTensor:
      p->set_type(onnx::AttributeProto::TENSOR);
      return FillTensor(a.t, "", where + ": node " + n.Describe() + ": attribute '" + key + "'",
                        p->mutable_t());
    case K::kInts:
      p->set_type(onnx::AttributeProto::INTS);
      for (int64_t v : a.ints) p->add_ints(v);
      break;
    case K::kFloats:
      p->set_type(onnx::AttributeProto::FLOATS);
      for (float v : a.floats) p->add_floats(v);
      break;
    case K::kStrings:
      p->set_type(onnx::AttributeProto::STRINGS);
      for (const auto& v : a.strings) p->add_strings(v);
      break;
    case K::kGraph: {
      // The sub-graph bytes onnx_import kept (ir::Attribute); a graph built without them has no
      // body to write.
      const bool list = a.i == 1;
      bool ok = list ? !a.strings.empty() : !a.s.empty();
      if (list)
        for (const auto& b : a.strings) ok = ok && p->add_graphs()->ParseFromString(b);
      else
        ok = ok && p->mutable_g()->ParseFromString(a.s);
      if (!ok)
        return Unimplemented(where, ": node ", n.Describe(), " has a sub-graph attribute '", key,
                             "' without its body: calib8 cannot write this node");
      p->set_type(list ? onnx::AttributeProto::GRAPHS : onnx::AttributeProto::GRAPH);
      break;
    }
  }
  return Status::Ok();
}

// Bytes of tensor data the model will hold, to refuse a model protobuf cannot serialize before
// copying anything.
uint64_t TensorBytes(const ir::Graph& g) {
  uint64_t total = 0;
  for (const auto& [name, t] : g.initializers) total += t.nbytes();
  for (const auto& n : g.nodes)
    for (const auto& [key, a] : n.attrs)
      if (a.kind == ir::Attribute::Kind::kTensor) total += a.t.nbytes();
  return total;
}

template <typename Map>
std::vector<std::string> SortedKeys(const Map& m) {
  std::vector<std::string> keys;
  keys.reserve(m.size());
  for (const auto& kv : m) keys.push_back(kv.first);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// An ai.onnx node whose operator ONNX defines only from a later opset than the graph imports (a
// pass fused HardSwish, opset 14, into an opset-11 graph) would make an invalid model.
Status CheckOpset(const ir::Graph& g, const ir::Node& n, const std::string& where) {
  if (!n.domain.empty()) return Status::Ok();
  const auto* latest = onnx::OpSchemaRegistry::Schema(n.op_type);
  if (latest == nullptr) return Status::Ok();  // unknown to libonnx: ONNX Runtime will judge
  const int64_t opset = g.DefaultOpset();
  if (opset <= 0 || onnx::OpSchemaRegistry::Schema(n.op_type, static_cast<int>(opset)) != nullptr)
    return Status::Ok();
  int since = latest->SinceVersion();  // the first version after `opset` that defines it
  for (int v = static_cast<int>(opset) + 1; v < since; ++v) {
    if (const auto* s = onnx::OpSchemaRegistry::Schema(n.op_type, v)) {
      since = s->SinceVersion();
      break;
    }
  }
  return InvalidArgument(where, ": node ", n.Describe(), " is an ONNX operator from opset ", since,
                         " on, but the graph imports opset ", opset,
                         " of ai.onnx: raise the graph's opset first (the writer writes nodes "
                         "at the graph's opsets)");
}

Status FillGraph(const ir::Graph& g, const std::string& where, onnx::GraphProto* gp) {
  gp->set_name(g.name.empty() ? "calib8" : g.name);
  for (const auto& v : g.inputs) FillValueInfo(v, gp->add_input());
  for (const auto& v : g.outputs) FillValueInfo(v, gp->add_output());
  // value_info: what is not already a graph input or output, in name order (deterministic).
  std::map<std::string, bool> io;
  for (const auto& v : g.inputs) io[v.name] = true;
  for (const auto& v : g.outputs) io[v.name] = true;
  for (const auto& name : SortedKeys(g.value_info))
    if (!io.count(name)) FillValueInfo(g.value_info.at(name), gp->add_value_info());
  for (const auto& name : SortedKeys(g.initializers))
    CALIB8_RETURN_IF_ERROR(
        FillTensor(g.initializers.at(name), name, where + ": initializer", gp->add_initializer()));
  for (const auto& n : g.nodes) {
    CALIB8_RETURN_IF_ERROR(CheckOpset(g, n, where));
    auto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    np->set_domain(n.domain);
    for (const auto& i : n.inputs) np->add_input(i);
    for (const auto& o : n.outputs) np->add_output(o);
    for (const auto& [key, a] : n.attrs)
      CALIB8_RETURN_IF_ERROR(FillAttribute(n, key, a, where, np->add_attribute()));
  }
  return Status::Ok();
}

std::string Where(const ir::Graph& g) {
  return g.source.empty() ? std::string("writing the model") : "writing " + g.source;
}

}  // namespace

int64_t AutoIrVersion(const ir::Graph& g) {
  auto it = g.opsets.find("");
  const int64_t opset = it == g.opsets.end() ? 1 : it->second;
  return std::max<int64_t>(4, IrVersionForOpset(opset));
}

Result<onnx::ModelProto> WriteModel(const ir::Graph& g, const WriteOptions& o) {
  const std::string where = Where(g);
  const uint64_t data = TensorBytes(g);
  if (data > kMaxModelBytes)
    return InvalidArgument(where, ": the model holds ", data,
                           " bytes of tensor data, over the 2 GiB protobuf can serialize in one "
                           "file (calib8 does not write external data)");
  onnx::ModelProto m;
  m.set_ir_version(o.ir_version > 0 ? o.ir_version : AutoIrVersion(g));
  m.set_producer_name(o.producer_name);
  m.set_producer_version(o.producer_version);
  if (!o.doc_string.empty()) m.set_doc_string(o.doc_string);
  for (const auto& [domain, version] : g.opsets) {
    auto* op = m.add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  for (const auto& [key, value] : o.metadata_props) {
    auto* p = m.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
  }
  CALIB8_RETURN_IF_ERROR(FillGraph(g, where, m.mutable_graph()));
  return m;
}

Status SaveModel(const ir::Graph& g, const WriteOptions& o, const std::string& path) {
  CALIB8_ASSIGN_OR_RETURN(onnx::ModelProto m, WriteModel(g, o));
  const size_t size = m.ByteSizeLong();
  if (size > kMaxModelBytes)
    return InvalidArgument(Where(g), " to '", path, "': the serialized model is ", size,
                           " bytes, over the 2 GiB protobuf can write in one file");
  std::string bytes;
  try {
    if (!m.SerializeToString(&bytes))
      return Internal(Where(g), " to '", path, "': protobuf could not serialize the model");
  } catch (const std::exception& e) {
    return Internal(Where(g), " to '", path, "': ", e.what());
  }
  return WriteFileAtomic(path, bytes);
}

}  // namespace calib8::onnx_io
