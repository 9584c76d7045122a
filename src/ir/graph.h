// ir/graph.h — calib8's own graph IR: nodes, attributes, values, initializers.
//
// The ONNX importer (src/onnx) fills it; passes (src/ir/passes.h) rewrite it; the executor
// (src/exec) runs it. Nothing here knows about protobuf. Value names are the identity of tensors:
// a node input "" means "optional input not given".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"

namespace calib8::ir {

struct Graph;

// One ONNX attribute, typed. Sub-graphs (If/Loop bodies) are not run by calib8 (a clear
// "unsupported" message is given): kGraph keeps them opaque, as serialized ONNX GraphProto bytes
// (`s` for a GRAPH attribute; `strings` with i = 1 for GRAPHS), so that a model calib8 cannot run
// still exports (onnx_write gives them back unchanged).
struct Attribute {
  enum class Kind { kInt, kFloat, kString, kTensor, kInts, kFloats, kStrings, kGraph };
  Kind kind = Kind::kInt;
  int64_t i = 0;
  float f = 0.0f;
  std::string s;
  Tensor t;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;

  // Typed constructors: Attribute::Int(1), Attribute::Ints({1, 1}), ...
  static Attribute Int(int64_t v) {
    Attribute a;
    a.kind = Kind::kInt;
    a.i = v;
    return a;
  }
  static Attribute Float(float v) {
    Attribute a;
    a.kind = Kind::kFloat;
    a.f = v;
    return a;
  }
  static Attribute String(std::string v) {
    Attribute a;
    a.kind = Kind::kString;
    a.s = std::move(v);
    return a;
  }
  static Attribute Ints(std::vector<int64_t> v) {
    Attribute a;
    a.kind = Kind::kInts;
    a.ints = std::move(v);
    return a;
  }
  static Attribute Floats(std::vector<float> v) {
    Attribute a;
    a.kind = Kind::kFloats;
    a.floats = std::move(v);
    return a;
  }
};

class Node {
 public:
  std::string name;     // unique in the graph after import (the importer names unnamed nodes)
  std::string op_type;  // "Conv"
  std::string domain;   // "" for the default ONNX domain
  std::vector<std::string> inputs;   // "" = optional input left out
  std::vector<std::string> outputs;  // "" = optional output not wanted
  std::map<std::string, Attribute> attrs;

  const Attribute* FindAttr(const std::string& key) const;
  bool HasAttr(const std::string& key) const { return FindAttr(key) != nullptr; }
  int64_t GetInt(const std::string& key, int64_t def) const;
  float GetFloat(const std::string& key, float def) const;
  std::string GetString(const std::string& key, const std::string& def) const;
  std::vector<int64_t> GetInts(const std::string& key, std::vector<int64_t> def = {}) const;
  std::vector<float> GetFloats(const std::string& key, std::vector<float> def = {}) const;

  // Input i if given, else "" (also for i past the end).
  const std::string& input(size_t i) const;
  // "'conv1' (Conv)" — how messages name a node.
  std::string Describe() const;
};

// A dimension is either known (>= 0) or dynamic (value -1, with an optional symbolic name).
struct Dim {
  int64_t value = -1;
  std::string param;
  bool known() const { return value >= 0; }
};

struct ValueInfo {
  std::string name;
  DataType dtype = DataType::kUndefined;
  std::vector<Dim> dims;
  bool has_shape = false;           // false: rank unknown
  std::string ShapeString() const;  // "[1,3,?,?]"
};

struct Graph {
  std::string name;
  std::vector<ValueInfo> inputs;  // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  std::vector<Node> nodes;  // topologically sorted after import
  std::unordered_map<std::string, Tensor> initializers;
  std::unordered_map<std::string, ValueInfo> value_info;  // inferred types/shapes of values
  std::map<std::string, int64_t> opsets;                  // domain -> version ("" = ai.onnx)
  std::string source;  // where it came from ("model 'x.onnx'"), used in messages

  int64_t DefaultOpset() const;
  const Tensor* FindInitializer(const std::string& name) const;

  // Sorts nodes so each runs after the producers of its inputs. Fails on cycles and on inputs
  // that no node, initializer or graph input produces (names the node and the missing value).
  Status TopologicalSort();
};

}  // namespace calib8::ir
