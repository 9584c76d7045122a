// quant/qdq_strip.cc — the plain graph behind a Q/DQ graph as an IR pass (StripQdq; qdq_strip.h):
// every DequantizeLinear is visited (read-only: the graph changes only once all of them pass),
// activation pairs are removed and their readers rewired, weight pairs become float
// initializers holding DQ(Q(W)) computed with quant_params.h, and the constants nothing reads any
// more are removed.
#include "quant/qdq_strip.h"

#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "quant/qdq_placement_util.h"
#include "quant/quant_params.h"

namespace calib8::quant {
namespace {

using qdq_internal::Label;

bool IsQdqDomain(const std::string& d) {
  return qdq_internal::IsDefaultDomain(d) || d == "com.microsoft";
}

bool IsConstantIdentity(const ir::Node& n) {
  return n.op_type == "Identity" && qdq_internal::IsDefaultDomain(n.domain) &&
         n.inputs.size() == 1 && n.outputs.size() == 1;
}

// Scales, zero points and axis of one QuantizeLinear/DequantizeLinear node, all constant.
struct NodeParams {
  std::vector<float> scale;
  std::vector<int32_t> zero;  // as many as scale (or one)
  bool is_unsigned = true;    // the integer type is uint8 (also without a zero point)
  int64_t axis = 1;
  // The encoding of channel c (the range is int8's or uint8's; DequantizeLinear ignores it).
  QParams At(size_t c) const {
    return {scale[scale.size() == 1 ? 0 : c], zero[zero.size() == 1 ? 0 : c], is_unsigned};
  }
};

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

// One run of the pass: the graph's index, what the visit decided, then the rewrite.
class Stripper {
 public:
  Stripper(ir::Graph* g, const std::string& source, QdqStripReport& rep)
      : g_(*g), source_(source), rep_(rep) {
    for (const auto& [name, t] : g_.initializers) constants_[name] = &t;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const ir::Node& n = g_.nodes[i];
      for (const auto& o : n.outputs) producer_[o] = static_cast<int>(i);
      for (const auto& in : n.inputs) readers_[in].push_back(static_cast<int>(i));
      // Nodes are in topological order: a chain of Identity copies resolves in one sweep.
      if (IsConstantIdentity(n) && constants_.count(n.inputs[0]))
        constants_[n.outputs[0]] = constants_[n.inputs[0]];
    }
    for (const auto& o : g_.outputs) graph_outputs_.insert(o.name);
  }

  // Visits every DequantizeLinear, checks the QuantizeLinear nodes, then rewrites the graph.
  Status Run() {
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const ir::Node& d = g_.nodes[i];
      if (d.op_type == "DequantizeLinear" && IsQdqDomain(d.domain))
        CALIB8_RETURN_IF_ERROR(VisitDequantize(static_cast<int>(i)));
    }
    if (removed_.empty())
      return InvalidArgument(source_,
                             ": no QuantizeLinear/DequantizeLinear pair: nothing to strip");
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const ir::Node& n = g_.nodes[i];
      if (n.op_type == "QuantizeLinear" && IsQdqDomain(n.domain) &&
          !removed_.count(static_cast<int>(i)))
        return InvalidArgument(source_, ": ", Label(n), ": not followed by a DequantizeLinear");
    }
    Rewire();
    RemoveUnused();
    return Status::Ok();
  }

 private:
  Result<const Tensor*> Constant(const std::string& name, const std::string& where) const {
    auto it = constants_.find(name);
    if (it == constants_.end())
      return InvalidArgument(source_, ": ", where, ": '", name, "' is not a constant");
    return it->second;
  }

  // The scales, zero points and axis of node `n`.
  Result<NodeParams> ReadParams(const ir::Node& n) const {
    const std::string where = Label(n);
    if (n.inputs.size() < 2)
      return InvalidArgument(source_, ": ", where, ": expected a scale input");
    NodeParams p;
    CALIB8_ASSIGN_OR_RETURN(const Tensor* s, Constant(n.inputs[1], where + " scale"));
    if (s->dtype() != DataType::kFloat32 || s->numel() == 0 || s->shape().size() > 1)
      return InvalidArgument(source_, ": ", where, ": scale '", n.inputs[1],
                             "': expected a float32 scalar or 1-D tensor");
    p.scale.assign(s->data<float>(), s->data<float>() + s->numel());
    for (float v : p.scale)
      if (!std::isfinite(v) || !(v > 0.0f))
        return InvalidArgument(source_, ": ", where, ": scale '", n.inputs[1], "' holds ", v,
                               ": expected finite positive scales");
    p.zero.assign(1, 0);
    p.axis = n.GetInt("axis", 1);
    if (n.input(2).empty()) return p;
    CALIB8_ASSIGN_OR_RETURN(const Tensor* z, Constant(n.inputs[2], where + " zero point"));
    if (z->numel() != s->numel())
      return InvalidArgument(source_, ": ", where, ": zero point '", n.inputs[2], "' has ",
                             z->numel(), " value(s) for ", s->numel(), " scale(s)");
    p.zero.clear();
    p.is_unsigned = z->dtype() == DataType::kUint8;
    if (z->dtype() == DataType::kInt8) {
      p.zero.assign(z->data<int8_t>(), z->data<int8_t>() + z->numel());
    } else if (z->dtype() == DataType::kUint8) {
      p.zero.assign(z->data<uint8_t>(), z->data<uint8_t>() + z->numel());
    } else if (z->dtype() == DataType::kInt32 && n.op_type == "DequantizeLinear") {
      p.zero.assign(z->data<int32_t>(), z->data<int32_t>() + z->numel());
    } else {
      return InvalidArgument(source_, ": ", where, ": zero point '", n.inputs[2], "' is ",
                             DataTypeName(z->dtype()), ", expected int8 or uint8");
    }
    return p;
  }

  // The integers a weight pair's DequantizeLinear `where` reads: Q(W) with the parameters of
  // QuantizeLinear `q` (W float32), or the constant `src` itself (int8, uint8 or int32).
  Result<std::vector<int32_t>> Integers(const std::string& where, const ir::Node* q,
                                        const Tensor& w, const std::string& src) const {
    const int64_t n = w.numel();
    std::vector<int32_t> ints(static_cast<size_t>(n));
    if (q == nullptr) {
      if (w.dtype() == DataType::kInt8)
        ints.assign(w.data<int8_t>(), w.data<int8_t>() + n);
      else if (w.dtype() == DataType::kUint8)
        ints.assign(w.data<uint8_t>(), w.data<uint8_t>() + n);
      else if (w.dtype() == DataType::kInt32)
        ints.assign(w.data<int32_t>(), w.data<int32_t>() + n);
      else
        return InvalidArgument(source_, ": ", where, ": constant input '", src, "' is ",
                               DataTypeName(w.dtype()), ", expected int8, uint8 or int32");
      return ints;
    }
    CALIB8_ASSIGN_OR_RETURN(NodeParams qp, ReadParams(*q));
    if (w.dtype() != DataType::kFloat32)
      return InvalidArgument(source_, ": ", Label(*q), ": input '", src, "' is ",
                             DataTypeName(w.dtype()), ", expected float32");
    CALIB8_ASSIGN_OR_RETURN(
        auto ch, ChannelOf(w.shape(), qp.axis, qp.scale.size(), source_ + ": " + Label(*q)));
    const float* wv = w.data<float>();
    for (int64_t k = 0; k < n; ++k) ints[k] = QuantizeQ(wv[k], qp.At(static_cast<size_t>(ch[k])));
    return ints;
  }

  // The float initializer that replaces a weight pair: DQ(Q(W)) or DQ(W_int), dequantized with
  // the DequantizeLinear's parameters `dq`.
  Result<Tensor> Dequantized(const std::string& where, const ir::Node* q, const NodeParams& dq,
                             const std::string& src) const {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* w, Constant(src, where + " input"));
    CALIB8_ASSIGN_OR_RETURN(std::vector<int32_t> ints, Integers(where, q, *w, src));
    CALIB8_ASSIGN_OR_RETURN(
        auto ch, ChannelOf(w->shape(), dq.axis, dq.scale.size(), source_ + ": " + where));
    Tensor out(DataType::kFloat32, w->shape());
    float* ov = out.data<float>();
    for (size_t k = 0; k < ints.size(); ++k)
      ov[k] = DequantizeQ(ints[k], dq.At(static_cast<size_t>(ch[k])));
    return out;
  }

  // DequantizeLinear node i: its pair (with the QuantizeLinear before it, if any) recorded as an
  // activation pair to remove or a weight to replace.
  Status VisitDequantize(int i) {
    const ir::Node& d = g_.nodes[i];
    const std::string where = Label(d);
    if (d.inputs.size() < 2 || d.outputs.empty())
      return InvalidArgument(source_, ": ", where, ": expected inputs x and x_scale");
    CALIB8_ASSIGN_OR_RETURN(NodeParams dq, ReadParams(d));
    const std::string& x = d.inputs[0];
    const std::string& y = d.outputs[0];
    for (size_t k = 1; k < d.inputs.size(); ++k) maybe_unused_.insert(d.inputs[k]);
    const ir::Node* q = nullptr;
    auto p = producer_.find(x);
    if (p != producer_.end() && g_.nodes[p->second].op_type == "QuantizeLinear" &&
        IsQdqDomain(g_.nodes[p->second].domain))
      q = &g_.nodes[p->second];
    if (q == nullptr && !constants_.count(x))
      return InvalidArgument(source_, ": ", where, ": input '", x,
                             "' is neither a QuantizeLinear output nor a constant: the model "
                             "computes in integers here and has no float equivalent");
    if (q != nullptr) {
      for (int r : readers_[x])
        if (g_.nodes[r].op_type != "DequantizeLinear")
          return InvalidArgument(source_, ": ", Label(*q), ": its output '", x, "' is read by ",
                                 Label(g_.nodes[r]), ", expected only DequantizeLinear nodes");
      if (graph_outputs_.count(x))
        return InvalidArgument(source_, ": ", Label(*q), ": its output '", x,
                               "' is a graph output (integer), which a float model cannot write");
      removed_.insert(p->second);
      for (size_t k = 1; k < q->inputs.size(); ++k) maybe_unused_.insert(q->inputs[k]);
    }
    removed_.insert(i);
    const std::string& src = q ? q->inputs[0] : x;
    if (q != nullptr && !constants_.count(src)) {
      // Activation pair: the readers of y read src; a graph output y gets an Identity.
      ++rep_.activation_pairs;
      if (graph_outputs_.count(y)) {
        ir::Node id;
        id.op_type = "Identity";
        id.name = d.name;
        id.inputs = {src};
        id.outputs = {y};
        identities_[i] = std::move(id);
      } else {
        rename_[y] = src;
      }
      return Status::Ok();
    }
    // Weight: DQ(Q(W)) or DQ(W_int) as a float initializer named as the DQ output.
    ++rep_.weight_pairs;
    maybe_unused_.insert(src);
    CALIB8_ASSIGN_OR_RETURN(new_weights_[y], Dequantized(where, q, dq, src));
    return Status::Ok();
  }

  // Drops the removed Q/DQ nodes, routes their readers to the Q's input, puts each Identity that
  // writes a graph output where its DequantizeLinear was (the order stays topological), and adds
  // the dequantized weights.
  void Rewire() {
    auto resolve = [&](std::string name) {
      for (int guard = 0; guard < 64; ++guard) {
        auto it = rename_.find(name);
        if (it == rename_.end()) break;
        name = it->second;
      }
      return name;
    };
    std::vector<ir::Node> kept;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const int at = static_cast<int>(i);
      ir::Node n;
      if (!removed_.count(at)) {
        n = std::move(g_.nodes[i]);
      } else if (identities_.count(at)) {
        n = std::move(identities_[at]);
      } else {
        continue;
      }
      for (auto& in : n.inputs) in = resolve(in);
      kept.push_back(std::move(n));
    }
    g_.nodes = std::move(kept);
    for (auto& [name, t] : new_weights_) g_.initializers[name] = std::move(t);
  }

  // Removes the constants, their Identity copies and the value_info that nothing reads or
  // describes any more once the pairs are gone.
  void RemoveUnused() {
    std::set<std::string> read;
    auto reread = [&] {
      read.clear();
      for (const auto& n : g_.nodes) read.insert(n.inputs.begin(), n.inputs.end());
      for (const auto& o : g_.outputs) read.insert(o.name);
    };
    auto unused = [&](const std::string& name) {
      return maybe_unused_.count(name) && !read.count(name);
    };
    // An Identity copy removed may leave its source unread: repeat until nothing changes.
    for (const auto& n : g_.nodes)
      if (IsConstantIdentity(n) && constants_.count(n.outputs[0]))
        maybe_unused_.insert(n.inputs[0]);
    reread();
    for (bool changed = true; changed;) {
      const size_t before = g_.nodes.size();
      std::vector<ir::Node> kept;
      for (auto& n : g_.nodes)
        if (!(IsConstantIdentity(n) && constants_.count(n.outputs[0]) && unused(n.outputs[0])))
          kept.push_back(std::move(n));
      g_.nodes = std::move(kept);
      changed = g_.nodes.size() != before;
      reread();
    }
    for (auto it = g_.initializers.begin(); it != g_.initializers.end();)
      it = unused(it->first) ? g_.initializers.erase(it) : std::next(it);
    std::vector<ir::ValueInfo> inputs;
    for (auto& v : g_.inputs)
      if (!unused(v.name)) inputs.push_back(std::move(v));
    g_.inputs = std::move(inputs);
    // value_info of tensors that are gone (Q outputs, renamed DQ outputs).
    std::set<std::string> live;
    for (const auto& n : g_.nodes) live.insert(n.outputs.begin(), n.outputs.end());
    for (const auto& [name, t] : g_.initializers) live.insert(name);
    for (const auto& v : g_.inputs) live.insert(v.name);
    for (const auto& v : g_.outputs) live.insert(v.name);
    for (auto it = g_.value_info.begin(); it != g_.value_info.end();)
      it = live.count(it->first) ? std::next(it) : g_.value_info.erase(it);
  }

  ir::Graph& g_;
  const std::string& source_;
  QdqStripReport& rep_;
  std::map<std::string, const Tensor*> constants_;  // initializers and their Identity copies
  std::map<std::string, int> producer_;
  std::map<std::string, std::vector<int>> readers_;
  std::set<std::string> graph_outputs_;
  std::set<int> removed_;                      // node indices
  std::map<std::string, std::string> rename_;  // DQ output -> the Q's input
  std::map<std::string, Tensor> new_weights_;  // DQ output -> dequantized values
  std::map<int, ir::Node> identities_;         // graph outputs written by a removed DQ
  std::set<std::string> maybe_unused_;         // constants the removed nodes read
};

}  // namespace

Status StripQdq(ir::Graph* g, const std::string& source, QdqStripReport* report) {
  QdqStripReport local;
  Stripper s(g, source, report ? *report : local);
  return s.Run();
}

}  // namespace calib8::quant
