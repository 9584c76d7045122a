// ir/passes.cc — dead-node removal, folds into Conv (BatchNormalization, per-channel Mul/Add),
// epilogue fusion and the HardSwish pattern.
#include "ir/passes.h"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "ir/op_traits.h"

namespace calib8::ir {

int RemoveDeadNodes(Graph& g) {
  std::unordered_set<std::string> live;
  for (const auto& o : g.outputs) live.insert(o.name);
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const Node& n = g.nodes[k];
    for (const auto& o : n.outputs)
      if (!o.empty() && live.count(o)) keep[k] = true;
    if (keep[k])
      for (const auto& in : n.inputs)
        if (!in.empty()) live.insert(in);
  }
  std::vector<Node> kept;
  int removed = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (keep[k])
      kept.push_back(std::move(g.nodes[k]));
    else
      ++removed;
  }
  g.nodes = std::move(kept);
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (!live.count(it->first))
      it = g.initializers.erase(it);
    else
      ++it;
  }
  return removed;
}

}  // namespace calib8::ir

namespace calib8::ir {

namespace {
bool SameKnownShape(const Graph& g, const std::string& a, const std::string& b) {
  auto ia = g.value_info.find(a), ib = g.value_info.find(b);
  if (ia == g.value_info.end() || ib == g.value_info.end()) return false;
  const auto &va = ia->second, &vb = ib->second;
  if (!va.has_shape || !vb.has_shape || va.dims.size() != vb.dims.size()) return false;
  for (size_t i = 0; i < va.dims.size(); ++i)
    if (!va.dims[i].known() || va.dims[i].value != vb.dims[i].value) return false;
  return true;
}

float ScalarInit(const Graph& g, const std::string& name, float def, bool* ok) {
  if (name.empty()) return def;
  const Tensor* t = g.FindInitializer(name);
  if (!t || t->numel() != 1 || t->dtype() != DataType::kFloat32) {
    *ok = false;
    return def;
  }
  return t->data<float>()[0];
}

// The parameters of activation `act` fused into its producer: alpha and beta of LeakyRelu,
// HardSigmoid and Clip (its min and max, from attributes or one-element initializers). False
// when Clip's bounds are not such constants.
bool ActivationParams(const Graph& g, const Node& act, float* alpha, float* beta) {
  bool ok = true;
  if (act.op_type == "LeakyRelu") *alpha = act.GetFloat("alpha", 0.01f);
  if (act.op_type == "HardSigmoid") {
    *alpha = act.GetFloat("alpha", 0.2f);
    *beta = act.GetFloat("beta", 0.5f);
  }
  if (act.op_type == "Clip") {
    if (act.HasAttr("min") || act.HasAttr("max")) {
      *alpha = act.GetFloat("min", -3.4028234663852886e38f);
      *beta = act.GetFloat("max", 3.4028234663852886e38f);
    } else {
      *alpha = ScalarInit(g, act.input(1), -3.4028234663852886e38f, &ok);
      *beta = ScalarInit(g, act.input(2), 3.4028234663852886e38f, &ok);
    }
  }
  return ok;
}

// Removes the nodes fused into others (drop[i]) and restores a topological order.
void RemoveFusedNodes(Graph& g, const std::vector<bool>& drop) {
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  // A fused residual input may come later in file order. Fusion only re-routes edges between
  // existing, acyclic producers, so this cannot fail; if it ever did, the graph is unchanged by
  // TopologicalSort and the failure would surface when the Session plans it.
  Status s = g.TopologicalSort();
  (void)s;
}

}  // namespace

int FuseEpilogues(Graph& g) {
  std::unordered_map<std::string, std::vector<size_t>> consumers;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty()) consumers[in].push_back(i);
  std::unordered_set<std::string> outputs;
  for (const auto& o : g.outputs) outputs.insert(o.name);
  auto sole_consumer = [&](const std::string& v) -> long {
    auto it = consumers.find(v);
    if (outputs.count(v) || it == consumers.end() || it->second.size() != 1) return -1;
    return static_cast<long>(it->second[0]);
  };
  std::vector<bool> drop(g.nodes.size(), false);
  int fused = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (drop[i] || !n.domain.empty() || n.outputs.size() != 1) continue;
    const bool is_conv = IsSpatialConv(n.op_type);
    if (!is_conv && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    if (is_conv && g.FindInitializer(n.input(1)) == nullptr) continue;
    // 1. Residual Add.
    long c = sole_consumer(n.outputs[0]);
    if (c >= 0 && !drop[c] && g.nodes[c].op_type == "Add" && g.nodes[c].domain.empty() &&
        g.nodes[c].inputs.size() == 2) {
      Node& add = g.nodes[c];
      const std::string& other = add.inputs[0] == n.outputs[0] ? add.inputs[1] : add.inputs[0];
      if (other != n.outputs[0] && !g.FindInitializer(other) &&
          SameKnownShape(g, n.outputs[0], other)) {
        size_t slot = n.op_type == "MatMul" ? 2 : 3;
        if (n.inputs.size() < slot) n.inputs.resize(slot);
        n.inputs.push_back(other);
        n.attrs["_calib8_sum"] = Attribute::Int(1);
        n.outputs[0] = add.outputs[0];
        drop[c] = true;
        ++fused;
        // `other` now feeds n instead of the Add: its producer must not fuse that Add again, and
        // n may now come before other's producer in the list (re-sorted below).
        for (size_t& k : consumers[other])
          if (k == static_cast<size_t>(c)) k = i;
      }
    }
    // 2. Activation.
    c = sole_consumer(n.outputs[0]);
    if (c < 0 || drop[c]) continue;
    Node& act = g.nodes[c];
    static const std::unordered_set<std::string> kActs = {
        "Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh"};
    if (!act.domain.empty() || !kActs.count(act.op_type) || act.outputs.size() != 1) continue;
    float alpha = 0, beta = 0;
    if (!ActivationParams(g, act, &alpha, &beta)) continue;
    n.attrs["_calib8_act"] = Attribute::String(act.op_type);
    n.attrs["_calib8_act_alpha"] = Attribute::Float(alpha);
    n.attrs["_calib8_act_beta"] = Attribute::Float(beta);
    n.outputs[0] = act.outputs[0];
    drop[c] = true;
    ++fused;
    // 3. A scalar affine after the activation (PaddleOCR's "learnable affine block":
    // Mul(x, k) and Add(x, b) with one-element constants): y = act(.) * mul + add.
    float mul = 1.0f, add = 0.0f;
    bool any = false;
    for (;;) {
      long a = sole_consumer(n.outputs[0]);
      if (a < 0 || drop[a]) break;
      Node& op = g.nodes[a];
      if (!op.domain.empty() || op.inputs.size() != 2 || op.outputs.size() != 1 ||
          (op.op_type != "Mul" && op.op_type != "Add"))
        break;
      const std::string& k_name = op.inputs[0] == n.outputs[0] ? op.inputs[1] : op.inputs[0];
      const Tensor* k = g.FindInitializer(k_name);
      if (k_name == n.outputs[0] || !k || k->numel() != 1 || k->rank() > 4 ||
          k->dtype() != DataType::kFloat32)
        break;
      const float kv = k->data<float>()[0];
      if (op.op_type == "Mul") {
        mul *= kv;
        add *= kv;
      } else {
        add += kv;
      }
      any = true;
      n.outputs[0] = op.outputs[0];
      drop[a] = true;
      ++fused;
    }
    if (any) {
      n.attrs["_calib8_post_mul"] = Attribute::Float(mul);
      n.attrs["_calib8_post_add"] = Attribute::Float(add);
    }
  }
  if (fused) RemoveFusedNodes(g, drop);
  return fused;
}

}  // namespace calib8::ir

namespace calib8::ir {

namespace {

bool IsDefault(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

struct Uses {
  std::unordered_map<std::string, std::vector<size_t>> consumers;
  std::unordered_set<std::string> outputs;
  explicit Uses(const Graph& g) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      for (const auto& in : g.nodes[i].inputs)
        if (!in.empty()) consumers[in].push_back(i);
    for (const auto& o : g.outputs) outputs.insert(o.name);
  }
  // The only consumer of v, or -1 (none, several, or v is a graph output).
  long Sole(const std::string& v) const {
    auto it = consumers.find(v);
    if (outputs.count(v) || it == consumers.end() || it->second.size() != 1) return -1;
    return static_cast<long>(it->second[0]);
  }
};

// A float32 initializer holding one value per channel of a rank-`rank` NC... tensor with `oc`
// channels (or a single value): fills `per_channel` (size oc).
bool ChannelConstant(const Graph& g, const std::string& name, int64_t oc, int rank,
                     std::vector<float>* per_channel) {
  const Tensor* t = g.FindInitializer(name);
  if (!t || t->dtype() != DataType::kFloat32) return false;
  const float* p = t->data<float>();
  if (t->rank() > rank) return false;  // would broadcast the output to a higher rank
  if (t->numel() == 1) {
    per_channel->assign(static_cast<size_t>(oc), p[0]);
    return true;
  }
  if (t->numel() != oc) return false;
  // Right-aligned broadcasting: the channel axis is axis 1 of the output, so the constant's
  // non-1 dim must sit at position rank-1-... i.e. t's dims are [.., OC, 1, 1] with trailing ones
  // covering the spatial axes.
  const int spatial = rank - 2;
  if (t->rank() < spatial + 1) return false;
  for (int k = 0; k < t->rank(); ++k) {
    int64_t d = t->dim(k);
    bool channel_axis = k == t->rank() - spatial - 1;
    if (channel_axis ? d != oc : d != 1) return false;
  }
  per_channel->assign(p, p + oc);
  return true;
}

float ScalarValue(const Graph& g, const std::string& name, bool* ok) {
  const Tensor* t = g.FindInitializer(name);
  if (!t || t->numel() != 1) {
    *ok = false;
    return 0;
  }
  if (t->dtype() == DataType::kFloat32) return t->data<float>()[0];
  if (t->dtype() == DataType::kFloat64) return static_cast<float>(t->data<double>()[0]);
  *ok = false;
  return 0;
}

void DropNodes(Graph& g, const std::vector<bool>& drop) {
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

// y' = (y - pre) * scale + post per output channel: the op after a Conv that FoldIntoConv folds.
struct ChannelAffine {
  std::vector<float> pre, scale, post;
};

const Tensor* FloatInit(const Graph& g, const std::string& name) {
  const Tensor* t = g.FindInitializer(name);
  return t && t->dtype() == DataType::kFloat32 ? t : nullptr;
}

// BatchNormalization(y) in inference form: pre = mean, scale = gamma / sqrt(var + eps),
// post = beta, all float32 initializers of `oc` values.
bool BatchNormAffine(const Graph& g, const Node& bn, const std::string& y, int64_t oc,
                     ChannelAffine* a) {
  if (bn.op_type != "BatchNormalization" || bn.inputs.size() < 5 || bn.inputs[0] != y ||
      bn.outputs.empty() || bn.outputs[0].empty())
    return false;
  for (size_t k = 1; k < bn.outputs.size(); ++k)
    if (!bn.outputs[k].empty()) return false;  // training-mode outputs requested
  const Tensor *gamma = FloatInit(g, bn.inputs[1]), *beta = FloatInit(g, bn.inputs[2]),
               *mean = FloatInit(g, bn.inputs[3]), *var = FloatInit(g, bn.inputs[4]);
  if (!gamma || !beta || !mean || !var || gamma->numel() != oc || beta->numel() != oc ||
      mean->numel() != oc || var->numel() != oc)
    return false;
  const float eps = bn.GetFloat("epsilon", 1e-5f);
  a->pre.assign(mean->data<float>(), mean->data<float>() + oc);
  a->post.assign(beta->data<float>(), beta->data<float>() + oc);
  a->scale.resize(static_cast<size_t>(oc));
  for (int64_t o = 0; o < oc; ++o)
    a->scale[o] = gamma->data<float>()[o] / std::sqrt(var->data<float>()[o] + eps);
  return true;
}

// Mul(y, k): scale = k; Add(y, k): post = k (k a ChannelConstant). The neutral pre is +0 and the
// neutral post -0: x - (+0) and x + (-0) are x for every float x, signed zeros included.
bool MulAddAffine(const Graph& g, const Node& n, const std::string& y, int64_t oc, int rank,
                  ChannelAffine* a) {
  if ((n.op_type != "Mul" && n.op_type != "Add") || n.inputs.size() != 2 || n.outputs.size() != 1)
    return false;
  std::vector<float> k;
  if (!ChannelConstant(g, n.inputs[0] == y ? n.inputs[1] : n.inputs[0], oc, rank, &k)) return false;
  a->pre.assign(static_cast<size_t>(oc), 0.0f);
  a->scale = n.op_type == "Mul" ? k : std::vector<float>(static_cast<size_t>(oc), 1.0f);
  a->post = n.op_type == "Add" ? k : std::vector<float>(static_cast<size_t>(oc), -0.0f);
  return true;
}

// One FoldIntoConv: the names in use (new ones are made unique against them) and, without
// remove_dead, the initializers the folds replaced.
class ConvFolder {
 public:
  ConvFolder(Graph& g, const ConvFoldOptions& o) : g_(g), o_(o) {
    for (const auto* list : {&g.inputs, &g.outputs})
      for (const auto& v : *list) used_.insert(v.name);
    for (const auto& [name, t] : g.initializers) used_.insert(name);
    for (const auto& [name, v] : g.value_info) used_.insert(name);
    for (const auto& n : g.nodes) {
      used_.insert(n.name);
      used_.insert(n.inputs.begin(), n.inputs.end());
      used_.insert(n.outputs.begin(), n.outputs.end());
    }
  }

  // Folds every BatchNormalization (or every Mul/Add) that directly follows a Conv; the count.
  int Round(bool batchnorm);
  // Without remove_dead: removes the replaced initializers that nothing reads.
  void DropReplaced();

 private:
  std::string Unique(const std::string& base) {
    std::string name = base;
    for (int i = 1; !used_.insert(name).second; ++i) name = base + "_" + std::to_string(i);
    return name;
  }
  void Fold(Node& conv, const Node& next, const Tensor& w, const Tensor* b, const ChannelAffine& a,
            bool batchnorm);

  Graph& g_;
  const ConvFoldOptions& o_;
  std::unordered_set<std::string> used_;
  std::unordered_set<std::string> replaced_;
  int mul_add_names_ = 0;  // the N of the loader's "<conv>_affine<N>" names
};

// W'[o] = W[o] * scale[o], B'[o] = (B[o] - pre[o]) * scale[o] + post[o] into new initializers
// (weights may be shared); the Conv reads them and writes `next`'s output.
void ConvFolder::Fold(Node& conv, const Node& next, const Tensor& w, const Tensor* b,
                      const ChannelAffine& a, bool batchnorm) {
  const int64_t oc = w.dim(0), per = w.numel() / oc;
  Tensor nw = w.Clone();
  Tensor nb(DataType::kFloat32, {oc});
  for (int64_t o = 0; o < oc; ++o) {
    float* wp = nw.data<float>() + o * per;
    for (int64_t e = 0; e < per; ++e) wp[e] *= a.scale[o];
    const float bias = b ? b->data<float>()[o] : 0.0f;
    nb.data<float>()[o] = (bias - a.pre[o]) * a.scale[o] + a.post[o];
  }
  const std::string base = (conv.name.empty() ? conv.outputs[0] : conv.name) +
                           (o_.export_names ? "_folded"
                            : batchnorm     ? "_bnfolded"
                                            : "_affine" + std::to_string(mul_add_names_++));
  const std::string wname = Unique(base + "_W"), bname = Unique(base + "_B");
  conv.inputs.resize(3);
  const Node& old = conv;
  for (const Node* n : {&old, &next})
    for (const auto& in : n->inputs)
      if (!in.empty() && g_.initializers.count(in)) replaced_.insert(in);
  conv.inputs[1] = wname;
  conv.inputs[2] = bname;
  conv.outputs[0] = next.outputs[0];
  g_.initializers[wname] = std::move(nw);
  g_.initializers[bname] = std::move(nb);
}

int ConvFolder::Round(bool batchnorm) {
  Uses uses(g_);
  std::vector<bool> drop(g_.nodes.size(), false);
  int folded = 0;
  for (auto& conv : g_.nodes) {
    if (conv.op_type != "Conv" || !IsDefault(conv.domain) || conv.outputs.size() != 1) continue;
    if (conv.HasAttr("_calib8_act") || conv.HasAttr("_calib8_sum")) continue;
    const Tensor* w = FloatInit(g_, conv.input(1));
    if (!w || w->rank() < 3) continue;
    const int64_t oc = w->dim(0);
    const Tensor* b = conv.input(2).empty() ? nullptr : FloatInit(g_, conv.input(2));
    if (!conv.input(2).empty() && (!b || b->numel() != oc)) continue;
    const long c = uses.Sole(conv.outputs[0]);
    if (c < 0 || drop[c] || !IsDefault(g_.nodes[c].domain)) continue;
    const Node& next = g_.nodes[c];
    ChannelAffine a;
    if (batchnorm ? !BatchNormAffine(g_, next, conv.outputs[0], oc, &a)
                  : !MulAddAffine(g_, next, conv.outputs[0], oc, w->rank(), &a))
      continue;
    Fold(conv, next, *w, b, a, batchnorm);
    drop[c] = true;
    ++folded;
  }
  if (folded) {
    DropNodes(g_, drop);
    if (o_.remove_dead) RemoveDeadNodes(g_);
  }
  return folded;
}

void ConvFolder::DropReplaced() {
  std::unordered_set<std::string> read;
  for (const auto& n : g_.nodes) read.insert(n.inputs.begin(), n.inputs.end());
  for (const auto* list : {&g_.inputs, &g_.outputs})
    for (const auto& v : *list) read.insert(v.name);
  for (const auto& t : replaced_)
    if (!read.count(t)) g_.initializers.erase(t);
}

}  // namespace

int FoldIntoConv(Graph& g, const ConvFoldOptions& o, ConvFoldCounts* counts) {
  ConvFolder folder(g, o);
  ConvFoldCounts n;
  // BatchNormalization first, then Mul/Add, the order the loader always folded in (its graphs, and
  // so the model fingerprints in table sidecars, stay the same); again while either folds.
  auto rounds = [&folder](bool enabled, bool batchnorm) {
    int total = 0;
    for (int k = enabled ? 1 : 0; k > 0; total += k) k = folder.Round(batchnorm);
    return total;
  };
  for (bool again = true; again;) {
    const int bn = rounds(o.batchnorm, true), mul_add = rounds(o.mul_add, false);
    n.batchnorm += bn;
    n.mul_add += mul_add;
    again = bn + mul_add > 0;
  }
  if (!o.remove_dead) folder.DropReplaced();
  if (counts) *counts = n;
  return n.batchnorm + n.mul_add;
}

int FuseHardSwishPattern(Graph& g) {
  Uses uses(g);
  std::vector<bool> drop(g.nodes.size(), false);
  int fused = 0;
  auto op = [&](long i, const char* type) {
    return i >= 0 && !drop[i] && g.nodes[i].domain.empty() && g.nodes[i].op_type == type &&
           g.nodes[i].outputs.size() == 1;
  };
  for (size_t a = 0; a < g.nodes.size(); ++a) {
    // a: t = Add(x, 3)
    if (!op(static_cast<long>(a), "Add") || g.nodes[a].inputs.size() != 2) continue;
    const Node& add = g.nodes[a];
    bool ok = true;
    int xi = g.FindInitializer(add.inputs[1]) ? 0 : 1;
    const std::string x = add.inputs[xi];
    if (std::fabs(ScalarValue(g, add.inputs[1 - xi], &ok) - 3.0f) > 1e-6f || !ok) continue;
    // c: u = Clip(t, 0, 6)
    long c = uses.Sole(add.outputs[0]);
    if (!op(c, "Clip")) continue;
    const Node& clip = g.nodes[c];
    float lo, hi;
    if (clip.HasAttr("min") || clip.HasAttr("max")) {
      lo = clip.GetFloat("min", -1e30f);
      hi = clip.GetFloat("max", 1e30f);
    } else {
      lo = clip.input(1).empty() ? -1e30f : ScalarValue(g, clip.input(1), &ok);
      hi = clip.input(2).empty() ? 1e30f : ScalarValue(g, clip.input(2), &ok);
    }
    if (!ok || lo != 0.0f || hi != 6.0f) continue;
    // m: v = Mul(x, u)
    long m = uses.Sole(clip.outputs[0]);
    if (!op(m, "Mul") || g.nodes[m].inputs.size() != 2) continue;
    const Node& mul = g.nodes[m];
    if (!((mul.inputs[0] == x && mul.inputs[1] == clip.outputs[0]) ||
          (mul.inputs[1] == x && mul.inputs[0] == clip.outputs[0])))
      continue;
    // d: y = Div(v, 6) or Mul(v, 1/6)
    long d = uses.Sole(mul.outputs[0]);
    if (d < 0 || drop[d] || g.nodes[d].inputs.size() != 2 || g.nodes[d].inputs[0] != mul.outputs[0])
      continue;
    const Node& div = g.nodes[d];
    float k = ScalarValue(g, div.inputs[1], &ok);
    if (!ok) continue;
    const bool is_div = op(d, "Div") && std::fabs(k - 6.0f) < 1e-6f;
    const bool is_mul = op(d, "Mul") && std::fabs(k - 1.0f / 6.0f) < 1e-6f;
    if (!is_div && !is_mul) continue;
    // x feeds the Add and the Mul; after the rewrite it feeds the HardSwish only (plus others).
    Node hs;
    hs.name = div.name + "_hardswish";
    hs.op_type = "HardSwish";
    hs.inputs = {x};
    hs.outputs = {div.outputs[0]};
    g.nodes[d] = hs;  // takes the Div's place (after x's producer: order stays valid)
    drop[a] = drop[c] = drop[m] = true;
    ++fused;
  }
  if (fused) {
    DropNodes(g, drop);
    RemoveDeadNodes(g);
  }
  return fused;
}

}  // namespace calib8::ir
