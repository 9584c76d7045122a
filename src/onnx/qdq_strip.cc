// onnx/qdq_strip.cc — the plain model behind a Q/DQ model (qdq_strip.h), on the ModelProto: Q/DQ
// pairs on activations removed, weights replaced by their dequantized values. ONNX's
// QuantizeLinear/DequantizeLinear arithmetic (opset 13): q = saturate(round_half_even(x / s) + z),
// x' = (q - z) * s, per tensor or along `axis` (default 1).
#include "onnx/qdq_strip.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "core/file_util.h"
#include "onnx/onnx_import.h"

namespace calib8::onnx_io {
namespace fs = std::filesystem;

namespace {

bool IsQdqDomain(const std::string& d) {
  return d.empty() || d == "ai.onnx" || d == "com.microsoft";
}

std::string Label(const onnx::NodeProto& n, int index) {
  std::string name = n.name().empty() ? "#" + std::to_string(index) : n.name();
  return "node '" + name + "' (" + n.op_type() + ")";
}

// Scale, zero point and axis of a QuantizeLinear/DequantizeLinear node, all constant.
struct QParams {
  std::vector<float> scale;
  std::vector<int32_t> zero;  // as many as scale (or one)
  int64_t axis = 1;
  int32_t lo = 0, hi = 255;  // the integer type's range (uint8 when there is no zero point)
};

class Constants {
 public:
  Constants(const onnx::GraphProto& g, std::string source, std::string dir)
      : source_(std::move(source)), dir_(std::move(dir)) {
    for (const auto& i : g.initializer()) protos_[i.name()] = &i;
    for (const auto& n : g.node()) {
      if (n.op_type() == "Constant" && n.output_size() == 1)
        for (const auto& a : n.attribute())
          if (a.name() == "value" && a.has_t()) protos_[n.output(0)] = &a.t();
      // torch's export reads deduplicated constants through Identity nodes.
      if (n.op_type() == "Identity" && n.input_size() == 1 && n.output_size() == 1 &&
          protos_.count(n.input(0)))
        protos_[n.output(0)] = protos_[n.input(0)];
    }
  }
  bool Has(const std::string& name) const { return protos_.count(name) > 0; }
  Result<Tensor> Get(const std::string& name, const std::string& where) const {
    auto it = protos_.find(name);
    if (it == protos_.end())
      return InvalidArgument(source_, ": ", where, ": '", name, "' is not a constant");
    return TensorFromProto(*it->second, source_ + ": " + where + ": '" + name + "'", dir_);
  }

 private:
  std::map<std::string, const onnx::TensorProto*> protos_;
  std::string source_, dir_;
};

Result<QParams> ReadQParams(const onnx::NodeProto& n, int index, const Constants& c,
                            const std::string& source) {
  const std::string where = Label(n, index);
  if (n.input_size() < 2) return InvalidArgument(source, ": ", where, ": expected a scale input");
  QParams p;
  CALIB8_ASSIGN_OR_RETURN(Tensor s, c.Get(n.input(1), where + " scale"));
  if (s.dtype() != DataType::kFloat32 || s.numel() == 0 || s.shape().size() > 1)
    return InvalidArgument(source, ": ", where, ": scale '", n.input(1),
                           "': expected a float32 scalar or 1-D tensor");
  p.scale.assign(s.data<float>(), s.data<float>() + s.numel());
  for (float v : p.scale)
    if (!std::isfinite(v) || !(v > 0.0f))
      return InvalidArgument(source, ": ", where, ": scale '", n.input(1), "' holds ", v,
                             ": expected finite positive scales");
  p.zero.assign(1, 0);
  if (n.input_size() > 2 && !n.input(2).empty()) {
    CALIB8_ASSIGN_OR_RETURN(Tensor z, c.Get(n.input(2), where + " zero point"));
    if (z.numel() != s.numel())
      return InvalidArgument(source, ": ", where, ": zero point '", n.input(2), "' has ", z.numel(),
                             " value(s) for ", s.numel(), " scale(s)");
    p.zero.clear();
    if (z.dtype() == DataType::kInt8) {
      p.lo = -128, p.hi = 127;
      for (int64_t i = 0; i < z.numel(); ++i) p.zero.push_back(z.data<int8_t>()[i]);
    } else if (z.dtype() == DataType::kUint8) {
      for (int64_t i = 0; i < z.numel(); ++i) p.zero.push_back(z.data<uint8_t>()[i]);
    } else if (z.dtype() == DataType::kInt32 && n.op_type() == "DequantizeLinear") {
      p.lo = INT32_MIN, p.hi = INT32_MAX;
      for (int64_t i = 0; i < z.numel(); ++i) p.zero.push_back(z.data<int32_t>()[i]);
    } else {
      return InvalidArgument(source, ": ", where, ": zero point '", n.input(2), "' is ",
                             DataTypeName(z.dtype()), ", expected int8 or uint8");
    }
  }
  for (const auto& a : n.attribute())
    if (a.name() == "axis") p.axis = a.i();
  return p;
}

// Channel index of every element of a tensor of `shape` for per-axis parameters of `n` values.
Result<std::vector<int64_t>> ChannelOf(const Shape& shape, int64_t axis, size_t n,
                                       const std::string& where) {
  const int64_t numel = NumElements(shape);
  std::vector<int64_t> ch(static_cast<size_t>(numel), 0);
  if (n == 1) return ch;
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank || shape[axis] != static_cast<int64_t>(n))
    return InvalidArgument(where, ": ", n, " scales along axis ", axis, " of a tensor of shape ",
                           ShapeToString(shape));
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= shape[d];
  for (int64_t i = 0; i < numel; ++i) ch[i] = (i / inner) % shape[axis];
  return ch;
}

onnx::TensorProto FloatProto(const std::string& name, const Shape& shape,
                             const std::vector<float>& v) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : shape) p.add_dims(d);
  p.set_raw_data(v.data(), v.size() * sizeof(float));
  return p;
}

// The float initializer `y` that replaces a weight pair: DQ(Q(W)) (W float32, quantized with
// q's parameters) or DQ(W_int), dequantized with dq's parameters.
Result<onnx::TensorProto> DequantizedWeight(const Constants& constants, const std::string& source,
                                            const std::string& where, const onnx::NodeProto* q,
                                            int qi, const QParams& dq, const std::string& src,
                                            const std::string& y) {
  CALIB8_ASSIGN_OR_RETURN(Tensor w, constants.Get(src, where + " input"));
  const int64_t n = w.numel();
  std::vector<int32_t> ints(static_cast<size_t>(n));
  if (q != nullptr) {
    CALIB8_ASSIGN_OR_RETURN(QParams qp, ReadQParams(*q, qi, constants, source));
    if (w.dtype() != DataType::kFloat32)
      return InvalidArgument(source, ": ", Label(*q, qi), ": input '", src, "' is ",
                             DataTypeName(w.dtype()), ", expected float32");
    CALIB8_ASSIGN_OR_RETURN(
        auto ch, ChannelOf(w.shape(), qp.axis, qp.scale.size(), source + ": " + Label(*q, qi)));
    const float* wv = w.data<float>();
    for (int64_t k = 0; k < n; ++k) {
      size_t c = qp.scale.size() == 1 ? 0 : static_cast<size_t>(ch[k]);
      double v = std::nearbyint(wv[k] / qp.scale[c]) + qp.zero[qp.zero.size() == 1 ? 0 : c];
      ints[k] = static_cast<int32_t>(std::clamp<double>(v, qp.lo, qp.hi));
    }
  } else {
    if (w.dtype() == DataType::kInt8)
      for (int64_t k = 0; k < n; ++k) ints[k] = w.data<int8_t>()[k];
    else if (w.dtype() == DataType::kUint8)
      for (int64_t k = 0; k < n; ++k) ints[k] = w.data<uint8_t>()[k];
    else if (w.dtype() == DataType::kInt32)
      for (int64_t k = 0; k < n; ++k) ints[k] = w.data<int32_t>()[k];
    else
      return InvalidArgument(source, ": ", where, ": constant input '", src, "' is ",
                             DataTypeName(w.dtype()), ", expected int8, uint8 or int32");
  }
  CALIB8_ASSIGN_OR_RETURN(auto dch,
                          ChannelOf(w.shape(), dq.axis, dq.scale.size(), source + ": " + where));
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    size_t c = dq.scale.size() == 1 ? 0 : static_cast<size_t>(dch[k]);
    out[k] = static_cast<float>(ints[k] - dq.zero[dq.zero.size() == 1 ? 0 : c]) * dq.scale[c];
  }
  return FloatProto(y, w.shape(), out);
}

// Drops the removed Q/DQ nodes, routes their readers to the Q's input, puts each Identity that
// writes a graph output where its DequantizeLinear was (nodes inside the graph may read that
// output: the order stays topological), and adds the dequantized weights.
void RewireNodes(onnx::GraphProto* g, const std::set<int>& removed,
                 const std::map<std::string, std::string>& rename,
                 std::map<int, onnx::NodeProto>& identities,
                 std::vector<onnx::TensorProto>& new_weights) {
  auto resolve = [&](std::string name) {
    for (int guard = 0; guard < 64; ++guard) {
      auto it = rename.find(name);
      if (it == rename.end()) break;
      name = it->second;
    }
    return name;
  };
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (auto& [at, id] : identities) *id.mutable_input(0) = resolve(id.input(0));
  for (int i = 0; i < g->node_size(); ++i) {
    if (removed.count(i)) {
      auto id = identities.find(i);
      if (id != identities.end()) *kept.Add() = std::move(id->second);
      continue;
    }
    onnx::NodeProto n = g->node(i);
    for (auto& in : *n.mutable_input()) in = resolve(in);
    *kept.Add() = std::move(n);
  }
  *g->mutable_node() = std::move(kept);
  for (auto& w : new_weights) *g->add_initializer() = std::move(w);
}

// Removes the constants, Constant/Identity nodes, graph inputs and value_info that nothing reads
// any more once the pairs are gone.
void RemoveUnused(onnx::GraphProto* g, const Constants& constants,
                  std::set<std::string>& maybe_unused) {
  // Constants nothing reads any more (scales, zero points, the FP32 weights behind a weight pair).
  std::set<std::string> read;
  for (const auto& n : g->node())
    for (const auto& in : n.input()) read.insert(in);
  for (const auto& o : g->output()) read.insert(o.name());
  auto unused = [&](const std::string& name) {
    return maybe_unused.count(name) && !read.count(name);
  };
  // Constant nodes, and Identity copies of constants (torch), that nothing reads any more. An
  // Identity removed may leave its source unread: repeat until nothing changes.
  for (const auto& n : g->node())
    if (n.op_type() == "Identity" && n.input_size() == 1 && constants.Has(n.output(0)))
      maybe_unused.insert(n.input(0));
  for (bool changed = true; changed;) {
    auto* nodes = g->mutable_node();
    const int before = nodes->size();
    nodes->erase(std::remove_if(nodes->begin(), nodes->end(),
                                [&](const onnx::NodeProto& n) {
                                  const bool constant =
                                      n.op_type() == "Constant" ||
                                      (n.op_type() == "Identity" && constants.Has(n.output(0)));
                                  return constant && n.output_size() == 1 && unused(n.output(0));
                                }),
                 nodes->end());
    changed = nodes->size() != before;
    read.clear();
    for (const auto& n : g->node())
      for (const auto& in : n.input()) read.insert(in);
    for (const auto& o : g->output()) read.insert(o.name());
  }
  auto* inits = g->mutable_initializer();
  inits->erase(std::remove_if(inits->begin(), inits->end(),
                              [&](const onnx::TensorProto& t) { return unused(t.name()); }),
               inits->end());
  auto* inputs = g->mutable_input();
  inputs->erase(std::remove_if(inputs->begin(), inputs->end(),
                               [&](const onnx::ValueInfoProto& v) { return unused(v.name()); }),
                inputs->end());
  // value_info of tensors that are gone (Q outputs, renamed DQ outputs).
  std::set<std::string> live;
  for (const auto& n : g->node())
    for (const auto& o : n.output()) live.insert(o);
  for (const auto& t : g->initializer()) live.insert(t.name());
  auto* vi = g->mutable_value_info();
  vi->erase(std::remove_if(vi->begin(), vi->end(),
                           [&](const onnx::ValueInfoProto& v) { return !live.count(v.name()); }),
            vi->end());
}

// Drops calib8's metadata, checks the plain model with the onnx checker and writes it atomically.
Status WritePlainModel(onnx::ModelProto& model, const std::string& source,
                       const std::string& out_path) {
  auto* meta = model.mutable_metadata_props();
  meta->erase(std::remove_if(meta->begin(), meta->end(),
                             [](const onnx::StringStringEntryProto& kv) {
                               return kv.key().rfind("calib8.", 0) == 0;
                             }),
              meta->end());
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return InvalidArgument(source,
                           ": the model without its Q/DQ pairs fails the onnx checker: ", e.what());
  }
  std::string out;
  if (!model.SerializeToString(&out))
    return Internal(source, ": serializing the plain model failed");
  return core::WriteFileAtomic(out_path, out);
}

}  // namespace

Status StripQdqFile(const std::string& qdq_path, const std::string& out_path,
                    QdqStripReport* report) {
  QdqStripReport local;
  QdqStripReport& rep = report ? *report : local;
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(qdq_path, "model"));
  const std::string source = "model '" + qdq_path + "'";
  std::string dir = fs::path(qdq_path).parent_path().string();
  if (dir.empty()) dir = ".";
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes) || !model.has_graph())
    return InvalidArgument(source, ": not a valid ONNX model (empty, truncated or not ONNX)");
  onnx::GraphProto* g = model.mutable_graph();
  const Constants constants(*g, source, dir);

  std::map<std::string, int> producer;
  std::map<std::string, std::vector<int>> readers;
  for (int i = 0; i < g->node_size(); ++i) {
    for (const auto& o : g->node(i).output()) producer[o] = i;
    for (const auto& in : g->node(i).input()) readers[in].push_back(i);
  }
  std::set<std::string> graph_outputs;
  for (const auto& o : g->output()) graph_outputs.insert(o.name());

  std::set<int> removed;
  std::map<std::string, std::string> rename;   // DQ output -> the Q's input
  std::vector<onnx::TensorProto> new_weights;  // DQ output -> dequantized values
  std::map<int, onnx::NodeProto> identities;   // graph outputs written by a removed DQ
  std::set<std::string> maybe_unused;          // constants the removed nodes read
  for (int i = 0; i < g->node_size(); ++i) {
    const auto& d = g->node(i);
    if (d.op_type() != "DequantizeLinear" || !IsQdqDomain(d.domain())) continue;
    const std::string where = Label(d, i);
    if (d.input_size() < 2 || d.output_size() < 1)
      return InvalidArgument(source, ": ", where, ": expected inputs x and x_scale");
    CALIB8_ASSIGN_OR_RETURN(QParams dq, ReadQParams(d, i, constants, source));
    const std::string& x = d.input(0);
    const std::string& y = d.output(0);
    for (int k = 1; k < d.input_size(); ++k) maybe_unused.insert(d.input(k));
    auto p = producer.find(x);
    const onnx::NodeProto* q = nullptr;
    int qi = -1;
    if (p != producer.end() && g->node(p->second).op_type() == "QuantizeLinear" &&
        IsQdqDomain(g->node(p->second).domain())) {
      qi = p->second;
      q = &g->node(qi);
    }
    if (q == nullptr && !constants.Has(x))
      return InvalidArgument(source, ": ", where, ": input '", x,
                             "' is neither a QuantizeLinear output nor a constant: the model "
                             "computes in integers here and has no float equivalent");
    if (q != nullptr) {
      for (int r : readers[x]) {
        const auto& rn = g->node(r);
        if (rn.op_type() != "DequantizeLinear")
          return InvalidArgument(source, ": ", Label(*q, qi), ": its output '", x, "' is read by ",
                                 Label(rn, r), ", expected only DequantizeLinear nodes");
      }
      if (graph_outputs.count(x))
        return InvalidArgument(source, ": ", Label(*q, qi), ": its output '", x,
                               "' is a graph output (integer), which a float model cannot write");
      removed.insert(qi);
      for (int k = 1; k < q->input_size(); ++k) maybe_unused.insert(q->input(k));
    }
    removed.insert(i);
    const std::string& src = q ? q->input(0) : x;
    if (q != nullptr && !constants.Has(src)) {
      // Activation pair.
      ++rep.activation_pairs;
      if (graph_outputs.count(y)) {
        onnx::NodeProto id;
        id.set_op_type("Identity");
        id.set_name(d.name().empty() ? y + "_Identity" : d.name());
        id.add_input(src);
        id.add_output(y);
        identities[i] = std::move(id);
      } else {
        rename[y] = src;
      }
      continue;
    }
    // Weight: DQ(Q(W)) or DQ(W_int) as a float initializer named as the DQ output.
    ++rep.weight_pairs;
    maybe_unused.insert(src);
    CALIB8_ASSIGN_OR_RETURN(onnx::TensorProto weight,
                            DequantizedWeight(constants, source, where, q, qi, dq, src, y));
    new_weights.push_back(std::move(weight));
  }
  if (removed.empty())
    return InvalidArgument(source, ": no QuantizeLinear/DequantizeLinear pair: nothing to strip");
  for (int i = 0; i < g->node_size(); ++i)
    if (g->node(i).op_type() == "QuantizeLinear" && IsQdqDomain(g->node(i).domain()) &&
        !removed.count(i))
      return InvalidArgument(source, ": ", Label(g->node(i), i),
                             ": not followed by a DequantizeLinear");

  RewireNodes(g, removed, rename, identities, new_weights);
  RemoveUnused(g, constants, maybe_unused);
  return WritePlainModel(model, source, out_path);
}

}  // namespace calib8::onnx_io
