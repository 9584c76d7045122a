// ir/subgraph.cc — see subgraph.h.
#include "ir/subgraph.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "ir/passes.h"

namespace calib8::ir {

namespace {

bool IsGraphInput(const Graph& g, const std::string& name) {
  return std::any_of(g.inputs.begin(), g.inputs.end(),
                     [&](const ValueInfo& v) { return v.name == name; });
}

ValueInfo InfoOf(const Graph& g, const std::string& name) {
  auto it = g.value_info.find(name);
  if (it != g.value_info.end()) return it->second;
  for (const auto& o : g.outputs)
    if (o.name == name) return o;
  ValueInfo v;
  v.name = name;
  v.dtype = DataType::kFloat32;  // a float activation unless shape inference said otherwise
  return v;
}

}  // namespace

std::string DescribeSubgraph(const SubgraphSpec& spec) {
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
  };
  std::string out;
  if (!spec.until.empty()) out += "--until " + join(spec.until);
  if (!spec.from.empty()) out += std::string(out.empty() ? "" : " ") + "--from " + join(spec.from);
  return out;
}

Status ExtractSubgraph(Graph& g, const SubgraphSpec& spec) {
  if (spec.empty()) return Status::Ok();
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) producer[o] = i;
  auto check = [&](const std::string& name, const char* flag) -> Status {
    if (name.empty()) return InvalidArgument(flag, ": empty tensor name");
    if (g.FindInitializer(name))
      return InvalidArgument(flag, " '", name, "': that is a constant (an initializer) of ",
                             g.source, ", not an activation");
    if (!producer.count(name) && !IsGraphInput(g, name))
      return NotFound(flag, " '", name, "': ", g.source, " has no tensor of that name (after ",
                      "calib8's load-time folding; `calib8 calibrate --save-stats` or `inspect "
                      "--model` list the names)");
    return Status::Ok();
  };
  std::unordered_set<std::string> from(spec.from.begin(), spec.from.end());
  for (const auto& t : spec.from) {
    CALIB8_RETURN_IF_ERROR(check(t, "--from"));
    if (IsGraphInput(g, t))
      return InvalidArgument("--from '", t, "': it is already an input of ", g.source,
                             "; give its data with --data ", t, "=SPEC");
  }
  for (const auto& t : spec.until) CALIB8_RETURN_IF_ERROR(check(t, "--until"));

  // Outputs: the --until tensors, else the graph's own outputs.
  std::vector<ValueInfo> outputs;
  if (spec.until.empty()) {
    outputs = g.outputs;
  } else {
    for (const auto& t : spec.until) outputs.push_back(InfoOf(g, t));
  }
  // Walk back from the outputs, stopping at --from tensors.
  std::unordered_set<std::string> live;
  for (const auto& o : outputs) live.insert(o.name);
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const Node& n = g.nodes[k];
    for (const auto& o : n.outputs)
      if (!o.empty() && live.count(o) && !from.count(o)) keep[k] = true;
    if (keep[k])
      for (const auto& in : n.inputs)
        if (!in.empty()) live.insert(in);
  }
  for (const auto& t : spec.from)
    if (!live.count(t))
      return InvalidArgument("--from '", t, "': no tensor the subgraph computes depends on it",
                             spec.until.empty() ? "" : " (check the --until tensors)");
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (const auto& o : g.nodes[k].outputs)
      if (keep[k] && from.count(o))
        return InvalidArgument(
            "--from '", o, "': node ", g.nodes[k].Describe(),
            " computes it together "
            "with another output the subgraph needs; cut below that node instead");
  std::vector<ValueInfo> inputs;
  for (const auto& in : g.inputs)
    if (live.count(in.name)) inputs.push_back(in);
  for (const auto& t : spec.from) {
    ValueInfo v = InfoOf(g, t);
    if (v.dtype == DataType::kUndefined) v.dtype = DataType::kFloat32;
    inputs.push_back(std::move(v));
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (keep[k]) kept.push_back(std::move(g.nodes[k]));
  if (kept.empty())
    return InvalidArgument(DescribeSubgraph(spec), ": no node of ", g.source, " is left to run");
  g.nodes = std::move(kept);
  g.inputs = std::move(inputs);
  g.outputs = std::move(outputs);
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (!live.count(it->first))
      it = g.initializers.erase(it);
    else
      ++it;
  }
  g.source += " (" + DescribeSubgraph(spec) + ")";
  return Status::Ok();
}

}  // namespace calib8::ir
