// ir/graph.cc — attribute access and topological order for the calib8 IR.
#include "ir/graph.h"

#include <queue>
#include <unordered_set>

namespace calib8::ir {

const Attribute* Node::FindAttr(const std::string& key) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? nullptr : &it->second;
}

int64_t Node::GetInt(const std::string& key, int64_t def) const {
  const Attribute* a = FindAttr(key);
  return a ? a->i : def;
}

float Node::GetFloat(const std::string& key, float def) const {
  const Attribute* a = FindAttr(key);
  if (!a) return def;
  return a->kind == Attribute::Kind::kInt ? static_cast<float>(a->i) : a->f;
}

std::string Node::GetString(const std::string& key, const std::string& def) const {
  const Attribute* a = FindAttr(key);
  return a ? a->s : def;
}

std::vector<int64_t> Node::GetInts(const std::string& key, std::vector<int64_t> def) const {
  const Attribute* a = FindAttr(key);
  return a ? a->ints : def;
}

std::vector<float> Node::GetFloats(const std::string& key, std::vector<float> def) const {
  const Attribute* a = FindAttr(key);
  return a ? a->floats : def;
}

const std::string& Node::input(size_t i) const {
  static const std::string kEmpty;
  return i < inputs.size() ? inputs[i] : kEmpty;
}

std::string Node::Describe() const { return "'" + name + "' (" + op_type + ")"; }

std::string ValueInfo::ShapeString() const {
  if (!has_shape) return "[unknown rank]";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += dims[i].known() ? std::to_string(dims[i].value)
                         : (dims[i].param.empty() ? "?" : dims[i].param);
  }
  return s + "]";
}

int64_t Graph::DefaultOpset() const {
  auto it = opsets.find("");
  if (it != opsets.end()) return it->second;
  it = opsets.find("ai.onnx");
  return it != opsets.end() ? it->second : 0;
}

const Tensor* Graph::FindInitializer(const std::string& n) const {
  auto it = initializers.find(n);
  return it == initializers.end() ? nullptr : &it->second;
}

Status Graph::TopologicalSort() {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs)
      if (!o.empty()) {
        if (producer.count(o) || initializers.count(o))
          return InvalidArgument(source, ": value '", o, "' is produced twice (node ",
                                 nodes[i].Describe(), ")");
        producer[o] = i;
      }
  std::unordered_set<std::string> available;
  for (const auto& in : inputs) available.insert(in.name);
  for (const auto& [n, t] : initializers) available.insert(n);

  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<size_t>> users(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& in : nodes[i].inputs) {
      if (in.empty() || available.count(in)) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        return InvalidArgument(source, ": node ", nodes[i].Describe(), ": input '", in,
                               "' is not produced by any node, initializer or graph input");
      ++pending[i];
      users[it->second].push_back(i);
    }
  }
  // Kahn's algorithm; a min-heap on the original index keeps the file's order where it is valid.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    for (size_t u : users[i])
      if (--pending[u] == 0) ready.push(u);
    sorted.push_back(nodes[i]);  // copy: on failure `nodes` must be left intact
  }
  if (sorted.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (pending[i] > 0)
        return InvalidArgument(source, ": the graph has a cycle through node ",
                               nodes[i].Describe());
  }
  nodes = std::move(sorted);
  return Status::Ok();
}

}  // namespace calib8::ir
