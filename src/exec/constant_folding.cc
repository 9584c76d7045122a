// exec/constant_folding.cc — see constant_folding.h.
#include "exec/constant_folding.h"

#include <unordered_set>

namespace calib8::exec {

Result<int> FoldConstants(ir::Graph& g, const OpRegistry& registry) {
  std::unordered_set<std::string> graph_outputs;
  for (const auto& o : g.outputs) graph_outputs.insert(o.name);
  int folded = 0;
  std::vector<ir::Node> kept;
  kept.reserve(g.nodes.size());
  auto constant = [&g](const std::string& name) { return g.FindInitializer(name); };
  for (auto& n : g.nodes) {
    bool all_const = !n.inputs.empty();
    for (const auto& in : n.inputs)
      if (!in.empty() && !g.initializers.count(in)) all_const = false;
    bool feeds_output = false;
    for (const auto& o : n.outputs) feeds_output |= graph_outputs.count(o) > 0;
    auto it = g.opsets.find(n.domain);
    int64_t opset = it == g.opsets.end() ? g.DefaultOpset() : it->second;
    const KernelFactory* f =
        all_const && !feeds_output
            ? registry.FindFactory(n.domain, n.op_type, opset, KernelFlavor::kReference)
            : nullptr;
    if (!f || !n.domain.empty()) {
      kept.push_back(std::move(n));
      continue;
    }
    KernelInit init{n, opset, constant, 1};
    auto kernel = (*f)(init);
    if (!kernel.ok()) {
      kept.push_back(std::move(n));
      continue;
    }
    KernelContext ctx{n, {}, {}, 1};
    for (const auto& in : n.inputs)
      ctx.inputs.push_back(in.empty() ? nullptr : g.FindInitializer(in));
    ctx.outputs.resize(n.outputs.size());
    Status st = (*kernel)->Run(ctx);
    if (!st.ok()) return st.WithContext(g.source + ": constant folding node " + n.Describe());
    for (size_t o = 0; o < n.outputs.size(); ++o)
      if (!n.outputs[o].empty() && ctx.outputs[o].defined())
        g.initializers[n.outputs[o]] = std::move(ctx.outputs[o]);
    ++folded;
  }
  g.nodes = std::move(kept);
  return folded;
}

}  // namespace calib8::exec
