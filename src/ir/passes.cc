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
