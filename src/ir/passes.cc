// ir/passes.cc — dead-node removal and BatchNormalization folding.
#include "ir/passes.h"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

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
    if (keep[k]) kept.push_back(std::move(g.nodes[k]));
    else ++removed;
  }
  g.nodes = std::move(kept);
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (!live.count(it->first)) it = g.initializers.erase(it);
    else ++it;
  }
  return removed;
}

int FoldBatchNormIntoConv(Graph& g) {
  std::unordered_map<std::string, int> uses;
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs) ++uses[in];
  for (const auto& o : g.outputs) uses[o.name] += 1000;  // never fold away a graph output
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs) producer[o] = i;

  auto f32 = [&g](const std::string& name) -> Tensor* {
    auto it = g.initializers.find(name);
    if (it == g.initializers.end() || it->second.dtype() != DataType::kFloat32) return nullptr;
    return &it->second;
  };
  int folded = 0;
  std::vector<bool> drop(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& bn = g.nodes[i];
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.inputs.size() < 5) continue;
    if (bn.outputs.size() > 1) {
      bool extra = false;
      for (size_t k = 1; k < bn.outputs.size(); ++k) extra |= !bn.outputs[k].empty();
      if (extra) continue;  // training-mode outputs requested
    }
    auto pit = producer.find(bn.inputs[0]);
    if (pit == producer.end()) continue;
    Node& conv = g.nodes[pit->second];
    if (conv.op_type != "Conv" || !conv.domain.empty() || uses[bn.inputs[0]] != 1) continue;
    Tensor* w = f32(conv.input(1));
    Tensor *gamma = f32(bn.inputs[1]), *beta = f32(bn.inputs[2]), *mean = f32(bn.inputs[3]),
           *var = f32(bn.inputs[4]);
    if (!w || !gamma || !beta || !mean || !var || w->rank() < 3) continue;
    int64_t oc = w->dim(0);
    if (gamma->numel() != oc || beta->numel() != oc || mean->numel() != oc || var->numel() != oc)
      continue;
    const Tensor* b = conv.input(2).empty() ? nullptr : f32(conv.input(2));
    if (!conv.input(2).empty() && (!b || b->numel() != oc)) continue;
    // New initializers are written (not the old ones modified): weights may be shared.
    float eps = bn.GetFloat("epsilon", 1e-5f);
    Tensor nw = w->Clone();
    Tensor nb(DataType::kFloat32, {oc});
    int64_t per = w->numel() / oc;
    for (int64_t o = 0; o < oc; ++o) {
      float s = gamma->data<float>()[o] / std::sqrt(var->data<float>()[o] + eps);
      float* wp = nw.data<float>() + o * per;
      for (int64_t k = 0; k < per; ++k) wp[k] *= s;
      float bias = b ? b->data<float>()[o] : 0.0f;
      nb.data<float>()[o] = (bias - mean->data<float>()[o]) * s + beta->data<float>()[o];
    }
    std::string wname = conv.name + "_bnfolded_W", bname = conv.name + "_bnfolded_B";
    g.initializers[wname] = std::move(nw);
    g.initializers[bname] = std::move(nb);
    conv.inputs.resize(3);
    conv.inputs[1] = wname;
    conv.inputs[2] = bname;
    conv.outputs[0] = bn.outputs[0];  // the folded conv now produces the BN's output name
    drop[i] = true;
    ++folded;
  }
  if (folded) {
    std::vector<Node> kept;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
    g.nodes = std::move(kept);
    RemoveDeadNodes(g);
  }
  return folded;
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
    const bool is_conv = n.op_type == "Conv" || n.op_type == "ConvTranspose";
    if (!is_conv && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    if (is_conv && g.FindInitializer(n.input(1)) == nullptr) continue;
    // 1. Residual Add.
    long c = sole_consumer(n.outputs[0]);
    if (c >= 0 && !drop[c] && g.nodes[c].op_type == "Add" && g.nodes[c].domain.empty() &&
        g.nodes[c].inputs.size() == 2) {
      Node& add = g.nodes[c];
      const std::string& other = add.inputs[0] == n.outputs[0] ? add.inputs[1] : add.inputs[0];
      if (other != n.outputs[0] && !g.FindInitializer(other) && SameKnownShape(g, n.outputs[0], other)) {
        size_t slot = n.op_type == "MatMul" ? 2 : 3;
        if (n.inputs.size() < slot) n.inputs.resize(slot);
        n.inputs.push_back(other);
        Attribute a;
        a.kind = Attribute::Kind::kInt;
        a.i = 1;
        n.attrs["_calib8_sum"] = a;
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
    static const std::unordered_set<std::string> kActs = {"Relu", "LeakyRelu", "Clip", "HardSwish",
                                                          "HardSigmoid", "Sigmoid", "Tanh"};
    if (!act.domain.empty() || !kActs.count(act.op_type) || act.outputs.size() != 1) continue;
    float alpha = 0, beta = 0;
    bool ok = true;
    if (act.op_type == "LeakyRelu") alpha = act.GetFloat("alpha", 0.01f);
    if (act.op_type == "HardSigmoid") {
      alpha = act.GetFloat("alpha", 0.2f);
      beta = act.GetFloat("beta", 0.5f);
    }
    if (act.op_type == "Clip") {
      if (act.HasAttr("min") || act.HasAttr("max")) {
        alpha = act.GetFloat("min", -3.4028234663852886e38f);
        beta = act.GetFloat("max", 3.4028234663852886e38f);
      } else {
        alpha = ScalarInit(g, act.input(1), -3.4028234663852886e38f, &ok);
        beta = ScalarInit(g, act.input(2), 3.4028234663852886e38f, &ok);
      }
    }
    if (!ok) continue;
    Attribute s;
    s.kind = Attribute::Kind::kString;
    s.s = act.op_type;
    n.attrs["_calib8_act"] = s;
    Attribute fa, fb;
    fa.kind = fb.kind = Attribute::Kind::kFloat;
    fa.f = alpha;
    fb.f = beta;
    n.attrs["_calib8_act_alpha"] = fa;
    n.attrs["_calib8_act_beta"] = fb;
    n.outputs[0] = act.outputs[0];
    drop[c] = true;
    ++fused;
  }
  if (fused) {
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
  return fused;
}

}  // namespace calib8::ir
