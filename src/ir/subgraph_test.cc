// ir/subgraph_test.cc — ExtractSubgraph on a hand-built residual graph (the cases the partial
// calibration of docs/custom-layers.md relies on).
#include "ir/subgraph.h"

#include <gtest/gtest.h>

#include <set>

namespace calib8::ir {
namespace {

Node N(const std::string& name, const std::string& op, std::vector<std::string> in,
       std::vector<std::string> out, const std::string& domain = "") {
  Node n;
  n.name = name;
  n.op_type = op;
  n.domain = domain;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

ValueInfo V(const std::string& name, Shape s) {
  ValueInfo v{name, DataType::kFloat32, {}, true};
  for (int64_t d : s) v.dims.push_back(Dim{d, ""});
  return v;
}

//   x -> conv_a(wa) -> a -> mish(custom) -> m -> add(m, a) -> s -> relu -> y
Graph Residual() {
  Graph g;
  g.source = "model 'residual'";
  g.inputs.push_back(V("x", {1, 4, 8, 8}));
  g.outputs.push_back(V("y", {1, 4, 8, 8}));
  g.initializers["wa"] = Tensor(DataType::kFloat32, {4, 4, 1, 1});
  g.initializers["unused"] = Tensor(DataType::kFloat32, {1});
  g.nodes = {N("conv_a", "Conv", {"x", "wa"}, {"a"}),
             N("mish", "Mish", {"a"}, {"m"}, "com.example"), N("add", "Add", {"m", "a"}, {"s"}),
             N("relu", "Relu", {"s"}, {"y"})};
  for (const char* v : {"a", "m", "s"}) g.value_info[v] = V(v, {1, 4, 8, 8});
  return g;
}

std::set<std::string> NodeNames(const Graph& g) {
  std::set<std::string> s;
  for (const auto& n : g.nodes) s.insert(n.name);
  return s;
}

TEST(ExtractSubgraph, UntilKeepsOnlyTheAncestors) {
  Graph g = Residual();
  ASSERT_TRUE(ExtractSubgraph(g, {{}, {"a"}}).ok());
  EXPECT_EQ(NodeNames(g), (std::set<std::string>{"conv_a"}));
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "a");
  EXPECT_EQ(g.outputs[0].ShapeString(), "[1,4,8,8]");
  EXPECT_EQ(g.initializers.count("wa"), 1u);
  EXPECT_EQ(g.initializers.count("unused"), 0u);
  EXPECT_NE(g.source.find("--until a"), std::string::npos);
}

TEST(ExtractSubgraph, FromMakesAnInputAndKeepsOtherPathsFromTheOriginalInput) {
  Graph g = Residual();
  // m comes from elsewhere; the skip path a still needs x.
  ASSERT_TRUE(ExtractSubgraph(g, {{"m"}, {}}).ok());
  EXPECT_EQ(NodeNames(g), (std::set<std::string>{"conv_a", "add", "relu"}));
  ASSERT_EQ(g.inputs.size(), 2u);
  EXPECT_EQ(g.inputs[0].name, "x");
  EXPECT_EQ(g.inputs[1].name, "m");
  EXPECT_EQ(g.inputs[1].ShapeString(), "[1,4,8,8]");
  EXPECT_EQ(g.outputs[0].name, "y");
}

TEST(ExtractSubgraph, FromAndUntilTogether) {
  Graph g = Residual();
  ASSERT_TRUE(ExtractSubgraph(g, {{"s"}, {"y"}}).ok());
  EXPECT_EQ(NodeNames(g), (std::set<std::string>{"relu"}));
  ASSERT_EQ(g.inputs.size(), 1u);  // x is no longer needed
  EXPECT_EQ(g.inputs[0].name, "s");
  EXPECT_TRUE(g.initializers.empty());
}

TEST(ExtractSubgraph, BadNamesAreRefusedByName) {
  {
    Graph g = Residual();
    Status s = ExtractSubgraph(g, {{}, {"nope"}});
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("--until 'nope'"), std::string::npos) << s.message();
  }
  {
    Graph g = Residual();
    Status s = ExtractSubgraph(g, {{"wa"}, {}});
    EXPECT_NE(s.message().find("initializer"), std::string::npos) << s.message();
  }
  {
    Graph g = Residual();
    Status s = ExtractSubgraph(g, {{"x"}, {}});
    EXPECT_NE(s.message().find("already an input"), std::string::npos) << s.message();
  }
  {
    Graph g = Residual();  // y does not depend on s's descendants: s is downstream of --until a
    Status s = ExtractSubgraph(g, {{"s"}, {"a"}});
    EXPECT_NE(s.message().find("--from 's'"), std::string::npos) << s.message();
  }
  {
    Graph g = Residual();
    Status s = ExtractSubgraph(g, {{"a"}, {"a"}});
    EXPECT_NE(s.message().find("no node"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace calib8::ir
