// ir/passes_test.cc — graph passes on hand-built graphs: epilogue fusion of a residual block whose
// Add has two Conv inputs (the ResNet downsample shape that once fused twice), BN folding.
#include "ir/passes.h"

#include <gtest/gtest.h>

#include <set>

namespace calib8::ir {
namespace {

Node MakeNode(const std::string& name, const std::string& op, std::vector<std::string> in,
              std::vector<std::string> out) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

ValueInfo Known(const std::string& name, Shape s) {
  ValueInfo v{name, DataType::kFloat32, {}, true};
  for (int64_t d : s) v.dims.push_back(Dim{d, ""});
  return v;
}

TEST(FuseEpilogues, ResidualAddWithTwoConvInputsFusesOnce) {
  Graph g;
  g.inputs.push_back(Known("x", {1, 4, 8, 8}));
  g.outputs.push_back(Known("z", {1, 4, 8, 8}));
  g.initializers["wa"] = Tensor(DataType::kFloat32, {4, 4, 1, 1});
  g.initializers["wb"] = Tensor(DataType::kFloat32, {4, 4, 1, 1});
  g.nodes = {MakeNode("conv_a", "Conv", {"x", "wa"}, {"a"}),
             MakeNode("conv_b", "Conv", {"x", "wb"}, {"b"}),
             MakeNode("add", "Add", {"a", "b"}, {"y"}), MakeNode("relu", "Relu", {"y"}, {"z"})};
  for (const char* v : {"a", "b", "y", "z"}) g.value_info[v] = Known(v, {1, 4, 8, 8});
  EXPECT_EQ(FuseEpilogues(g), 2);  // the Add into one conv, the Relu after it
  ASSERT_EQ(g.nodes.size(), 2u);
  std::set<std::string> outs;
  int with_sum = 0;
  for (const auto& n : g.nodes) {
    for (const auto& o : n.outputs) EXPECT_TRUE(outs.insert(o).second) << "produced twice: " << o;
    if (n.HasAttr("_calib8_sum")) {
      ++with_sum;
      EXPECT_EQ(n.outputs[0], "z");
      EXPECT_EQ(n.GetString("_calib8_act", ""), "Relu");
      EXPECT_EQ(n.inputs.size(), 4u);  // x, w, "" (no bias), residual
    }
  }
  EXPECT_EQ(with_sum, 1);
  EXPECT_TRUE(g.TopologicalSort().ok());
  // The node that reads the residual runs after the node that produces it.
  EXPECT_TRUE(g.nodes[1].HasAttr("_calib8_sum"));
}

// PaddleOCR's learnable affine after HardSwish: Mul and Add by one-element constants fold into
// the epilogue (y = act(.) * mul + add); a per-channel constant does not.
TEST(FuseEpilogues, ScalarAffineAfterActivation) {
  Graph g;
  g.inputs.push_back(Known("x", {1, 4, 8, 8}));
  g.outputs.push_back(Known("z", {1, 4, 8, 8}));
  g.initializers["w"] = Tensor(DataType::kFloat32, {4, 4, 1, 1});
  g.initializers["k"] = Tensor::FromVector<float>({1}, {0.5f});
  g.initializers["b"] = Tensor::FromVector<float>({1}, {-0.25f});
  g.initializers["c"] = Tensor::FromVector<float>({1, 4, 1, 1}, {1, 2, 3, 4});
  g.nodes = {MakeNode("conv", "Conv", {"x", "w"}, {"a"}), MakeNode("hs", "HardSwish", {"a"}, {"h"}),
             MakeNode("mul", "Mul", {"k", "h"}, {"m"}), MakeNode("add", "Add", {"m", "b"}, {"p"}),
             MakeNode("mul2", "Mul", {"p", "c"}, {"z"})};
  EXPECT_EQ(FuseEpilogues(g), 3);  // HardSwish, Mul, Add; not the per-channel Mul
  ASSERT_EQ(g.nodes.size(), 2u);
  const Node& conv = g.nodes[0];
  EXPECT_EQ(conv.GetString("_calib8_act", ""), "HardSwish");
  EXPECT_EQ(conv.GetFloat("_calib8_post_mul", 0.0f), 0.5f);
  EXPECT_EQ(conv.GetFloat("_calib8_post_add", 0.0f), -0.25f);
  EXPECT_EQ(conv.outputs[0], "p");
  EXPECT_EQ(g.nodes[1].op_type, "Mul");
  EXPECT_EQ(g.nodes[1].inputs[0], "p");
}

TEST(FuseEpilogues, LeavesSharedOutputsAlone) {
  Graph g;
  g.inputs.push_back(Known("x", {1, 4, 8, 8}));
  g.outputs.push_back(Known("a", {1, 4, 8, 8}));  // the conv output is a graph output
  g.outputs.push_back(Known("z", {1, 4, 8, 8}));
  g.initializers["w"] = Tensor(DataType::kFloat32, {4, 4, 1, 1});
  g.nodes = {MakeNode("conv", "Conv", {"x", "w"}, {"a"}), MakeNode("relu", "Relu", {"a"}, {"z"})};
  EXPECT_EQ(FuseEpilogues(g), 0);
  EXPECT_EQ(g.nodes.size(), 2u);
}

TEST(FoldBatchNormIntoConv, ScalesWeightsAndBiasPerChannel) {
  Graph g;
  g.inputs.push_back(Known("x", {1, 2, 1, 1}));
  g.outputs.push_back(Known("y", {1, 2, 1, 1}));
  g.initializers["w"] = Tensor::FromVector<float>({2, 1, 1, 1}, {1.0f, 2.0f});
  g.initializers["b"] = Tensor::FromVector<float>({2}, {0.5f, -1.0f});
  g.initializers["gamma"] = Tensor::FromVector<float>({2}, {2.0f, 1.0f});
  g.initializers["beta"] = Tensor::FromVector<float>({2}, {0.0f, 3.0f});
  g.initializers["mean"] = Tensor::FromVector<float>({2}, {0.5f, 1.0f});
  g.initializers["var"] = Tensor::FromVector<float>({2}, {4.0f, 0.25f});
  Node bn = MakeNode("bn", "BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"y"});
  bn.attrs["epsilon"] = Attribute::Float(0.0f);
  Node conv = MakeNode("conv", "Conv", {"x", "w", "b"}, {"c"});
  conv.attrs["group"] = Attribute::Int(2);
  g.nodes = {conv, bn};
  EXPECT_EQ(FoldBatchNormIntoConv(g), 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.outputs[0], "y");
  // s = gamma / sqrt(var): {2/2, 1/0.5} = {1, 2}; W' = {1, 4}; B' = (b - mean) * s + beta
  //   = {(0.5 - 0.5) * 1 + 0, (-1 - 1) * 2 + 3} = {0, -1}.
  const Tensor& w = g.initializers.at(n.inputs[1]);
  const Tensor& b = g.initializers.at(n.inputs[2]);
  EXPECT_FLOAT_EQ(w.data<float>()[0], 1.0f);
  EXPECT_FLOAT_EQ(w.data<float>()[1], 4.0f);
  EXPECT_FLOAT_EQ(b.data<float>()[0], 0.0f);
  EXPECT_FLOAT_EQ(b.data<float>()[1], -1.0f);
}

TEST(FoldConvAffine, FoldsChannelMulThenAddIntoWeightsAndBias) {
  Graph g;
  g.inputs.push_back(Known("x", {1, 2, 1, 1}));
  g.outputs.push_back(Known("z", {1, 2, 1, 1}));
  g.initializers["w"] = Tensor::FromVector<float>({2, 1, 1, 1}, {1.0f, 2.0f});
  g.initializers["b"] = Tensor::FromVector<float>({2}, {0.5f, -1.0f});
  g.initializers["s"] = Tensor::FromVector<float>({1, 2, 1, 1}, {3.0f, -2.0f});
  g.initializers["c"] = Tensor::FromVector<float>({2, 1, 1}, {10.0f, 20.0f});
  g.nodes = {MakeNode("conv", "Conv", {"x", "w", "b"}, {"y"}),
             MakeNode("mul", "Mul", {"y", "s"}, {"m"}), MakeNode("add", "Add", {"c", "m"}, {"z"})};
  const Tensor original_w = g.initializers.at("w");  // shares the buffer
  EXPECT_EQ(FoldConvAffine(g), 2);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.outputs[0], "z");
  // W' = W * s = {3, -4}; B' = b * s + c = {1.5 + 10, 2 + 20} = {11.5, 22}.
  const Tensor& w = g.initializers.at(n.inputs[1]);
  const Tensor& b = g.initializers.at(n.inputs[2]);
  EXPECT_FLOAT_EQ(w.data<float>()[0], 3.0f);
  EXPECT_FLOAT_EQ(w.data<float>()[1], -4.0f);
  EXPECT_FLOAT_EQ(b.data<float>()[0], 11.5f);
  EXPECT_FLOAT_EQ(b.data<float>()[1], 22.0f);
  // The original weight buffer is untouched (it may be shared with other nodes).
  EXPECT_FLOAT_EQ(original_w.data<float>()[0], 1.0f);
  EXPECT_FLOAT_EQ(original_w.data<float>()[1], 2.0f);
}

TEST(FoldConvAffine, LeavesLastAxisBroadcastAlone) {
  // A [OC] constant broadcasts over the last (width) axis, not the channels: must not fold.
  Graph g;
  g.inputs.push_back(Known("x", {1, 2, 2, 2}));
  g.outputs.push_back(Known("z", {1, 2, 2, 2}));
  g.initializers["w"] = Tensor::FromVector<float>({2, 2, 1, 1}, {1, 0, 0, 1});
  g.initializers["c"] = Tensor::FromVector<float>({2}, {1.0f, 2.0f});
  g.nodes = {MakeNode("conv", "Conv", {"x", "w"}, {"y"}),
             MakeNode("add", "Add", {"y", "c"}, {"z"})};
  EXPECT_EQ(FoldConvAffine(g), 0);
  EXPECT_EQ(g.nodes.size(), 2u);
}

Graph HardSwishSpelledOut(float clip_max) {
  Graph g;
  g.inputs.push_back(Known("x", {1, 4}));
  g.outputs.push_back(Known("y", {1, 4}));
  g.initializers["three"] = Tensor::FromVector<float>({}, {3.0f});
  g.initializers["zero"] = Tensor::FromVector<float>({}, {0.0f});
  g.initializers["max"] = Tensor::FromVector<float>({}, {clip_max});
  g.initializers["six"] = Tensor::FromVector<float>({}, {6.0f});
  g.nodes = {MakeNode("add", "Add", {"x", "three"}, {"t"}),
             MakeNode("clip", "Clip", {"t", "zero", "max"}, {"u"}),
             MakeNode("mul", "Mul", {"x", "u"}, {"v"}),
             MakeNode("div", "Div", {"v", "six"}, {"y"})};
  return g;
}

TEST(FuseHardSwishPattern, ReplacesTheSpelledOutFormula) {
  Graph g = HardSwishSpelledOut(6.0f);
  EXPECT_EQ(FuseHardSwishPattern(g), 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "HardSwish");
  EXPECT_EQ(g.nodes[0].inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(g.nodes[0].outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(g.initializers.count("three"), 0u);  // dead constants removed
}

TEST(FuseHardSwishPattern, IgnoresOtherClipBounds) {
  Graph g = HardSwishSpelledOut(5.0f);  // x * Clip(x + 3, 0, 5) / 6 is not HardSwish
  EXPECT_EQ(FuseHardSwishPattern(g), 0);
  EXPECT_EQ(g.nodes.size(), 4u);
}

}  // namespace
}  // namespace calib8::ir
