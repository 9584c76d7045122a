// ir/passes_test.cc — graph passes on hand-built graphs: epilogue fusion of a residual block whose
// Add has two Conv inputs (the ResNet downsample shape that once fused twice), the Conv fold
// (BatchNormalization, Mul, Add; values worked out by hand in the comments).
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

// x [1, 2, 1, 1] -> Conv(W = {1, 2} (one per channel), B = {0.5, -1}) -> c; `out` is the graph
// output the caller's nodes write.
Graph TwoChannelConv(const std::string& out) {
  Graph g;
  g.inputs.push_back(Known("x", {1, 2, 1, 1}));
  g.outputs.push_back(Known(out, {1, 2, 1, 1}));
  g.initializers["w"] = Tensor::FromVector<float>({2, 1, 1, 1}, {1.0f, 2.0f});
  g.initializers["b"] = Tensor::FromVector<float>({2}, {0.5f, -1.0f});
  Node conv = MakeNode("conv", "Conv", {"x", "w", "b"}, {"c"});
  conv.attrs["group"] = Attribute::Int(2);
  g.nodes = {conv};
  return g;
}

// BatchNormalization(in) -> out with epsilon 0 and parameters {gamma, beta, mean, var} per channel.
void AddBatchNorm(Graph& g, const std::string& in, const std::string& out,
                  const std::vector<std::vector<float>>& params) {
  const char* names[] = {"gamma", "beta", "mean", "var"};
  for (size_t k = 0; k < 4; ++k)
    g.initializers[names[k]] = Tensor::FromVector<float>({2}, params[k]);
  Node bn = MakeNode("bn", "BatchNormalization", {in, "gamma", "beta", "mean", "var"}, {out});
  bn.attrs["epsilon"] = Attribute::Float(0.0f);
  g.nodes.push_back(bn);
}

// The graph is one Conv writing `out` with weights `w` and bias `b` (exact: hand-computed values
// that are exact in float).
void ExpectOneConv(const Graph& g, const std::string& out, const std::vector<float>& w,
                   const std::vector<float>& b) {
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.outputs[0], out);
  const Tensor& nw = g.initializers.at(n.inputs[1]);
  const Tensor& nb = g.initializers.at(n.inputs[2]);
  EXPECT_EQ(std::vector<float>(nw.data<float>(), nw.data<float>() + nw.numel()), w);
  EXPECT_EQ(std::vector<float>(nb.data<float>(), nb.data<float>() + nb.numel()), b);
}

TEST(FoldIntoConv, ScalesWeightsAndBiasPerChannel) {
  Graph g = TwoChannelConv("y");
  AddBatchNorm(g, "c", "y", {{2.0f, 1.0f}, {0.0f, 3.0f}, {0.5f, 1.0f}, {4.0f, 0.25f}});
  ConvFoldCounts counts;
  EXPECT_EQ(FoldIntoConv(g, {}, &counts), 1);
  EXPECT_EQ(counts.batchnorm, 1);
  EXPECT_EQ(counts.mul_add, 0);
  // s = gamma / sqrt(var): {2/2, 1/0.5} = {1, 2}; W' = {1, 4}; B' = (b - mean) * s + beta
  //   = {(0.5 - 0.5) * 1 + 0, (-1 - 1) * 2 + 3} = {0, -1}.
  ExpectOneConv(g, "y", {1.0f, 4.0f}, {0.0f, -1.0f});
}

TEST(FoldIntoConv, FoldsChannelMulThenAddIntoWeightsAndBias) {
  Graph g = TwoChannelConv("z");
  g.initializers["s"] = Tensor::FromVector<float>({1, 2, 1, 1}, {3.0f, -2.0f});
  g.initializers["k"] = Tensor::FromVector<float>({2, 1, 1}, {10.0f, 20.0f});
  g.nodes.push_back(MakeNode("mul", "Mul", {"c", "s"}, {"m"}));
  g.nodes.push_back(MakeNode("add", "Add", {"k", "m"}, {"z"}));
  const Tensor original_w = g.initializers.at("w");  // shares the buffer
  ConvFoldCounts counts;
  EXPECT_EQ(FoldIntoConv(g, {}, &counts), 2);
  EXPECT_EQ(counts.mul_add, 2);
  // W' = W * s = {3, -4}; B' = b * s + k = {1.5 + 10, 2 + 20} = {11.5, 22}.
  ExpectOneConv(g, "z", {3.0f, -4.0f}, {11.5f, 22.0f});
  // The original weight buffer is untouched (it may be shared with other nodes).
  EXPECT_FLOAT_EQ(original_w.data<float>()[0], 1.0f);
  EXPECT_FLOAT_EQ(original_w.data<float>()[1], 2.0f);
}

TEST(FoldIntoConv, LeavesLastAxisBroadcastAlone) {
  // A [OC] constant broadcasts over the last (width) axis, not the channels: must not fold.
  Graph g;
  g.inputs.push_back(Known("x", {1, 2, 2, 2}));
  g.outputs.push_back(Known("z", {1, 2, 2, 2}));
  g.initializers["w"] = Tensor::FromVector<float>({2, 2, 1, 1}, {1, 0, 0, 1});
  g.initializers["c"] = Tensor::FromVector<float>({2}, {1.0f, 2.0f});
  g.nodes = {MakeNode("conv", "Conv", {"x", "w"}, {"y"}),
             MakeNode("add", "Add", {"y", "c"}, {"z"})};
  EXPECT_EQ(FoldIntoConv(g), 0);
  EXPECT_EQ(g.nodes.size(), 2u);
}

TEST(FoldIntoConv, LeavesRankRaisingScalarAlone) {
  // A one-value [1, 1, 1, 1, 1] constant makes Add's output 5-D: folding it would change a shape.
  Graph g;
  g.inputs.push_back(Known("x", {1, 2, 2, 2}));
  g.outputs.push_back(Known("z", {1, 1, 2, 2, 2}));
  g.initializers["w"] = Tensor::FromVector<float>({2, 2, 1, 1}, {1, 0, 0, 1});
  g.initializers["c"] = Tensor::FromVector<float>({1, 1, 1, 1, 1}, {1.0f});
  g.nodes = {MakeNode("conv", "Conv", {"x", "w"}, {"y"}),
             MakeNode("add", "Add", {"y", "c"}, {"z"})};
  EXPECT_EQ(FoldIntoConv(g), 0);
  EXPECT_EQ(g.nodes.size(), 2u);
}

TEST(FoldIntoConv, FoldsBatchNormAfterAMul) {
  // Conv -> Mul -> BatchNormalization: the Mul first, then the BatchNormalization on the result
  // (the loader's two passes before left this BatchNormalization unfolded).
  Graph g = TwoChannelConv("y");
  g.initializers["s"] = Tensor::FromVector<float>({1, 2, 1, 1}, {2.0f, -1.0f});
  g.nodes.push_back(MakeNode("mul", "Mul", {"c", "s"}, {"m"}));
  AddBatchNorm(g, "m", "y", {{1.0f, 2.0f}, {1.0f, 0.0f}, {3.0f, 1.0f}, {0.25f, 4.0f}});
  ConvFoldCounts counts;
  EXPECT_EQ(FoldIntoConv(g, {}, &counts), 2);
  EXPECT_EQ(counts.batchnorm, 1);
  EXPECT_EQ(counts.mul_add, 1);
  // Per channel: ((x * w + b) * s - mean) * gamma / sqrt(var) + beta
  //   ch 0: ((x + 0.5) * 2 - 3) * 2 + 1 = 4x - 3;   ch 1: ((2x - 1) * -1 - 1) * 1 + 0 = -2x + 0.
  ExpectOneConv(g, "y", {4.0f, -2.0f}, {-3.0f, 0.0f});
  for (const char* gone : {"w", "b", "s", "gamma", "beta", "mean", "var"})
    EXPECT_EQ(g.initializers.count(gone), 0u) << gone;  // the loader drops unread initializers
}

TEST(FoldIntoConv, NeverOverwritesAnExistingInitializer) {
  // The model already has an initializer with the name the fold would write, read by another node.
  Graph g;
  g.inputs.push_back(Known("x", {1, 1, 1, 1}));
  g.outputs.push_back(Known("y", {1, 1, 1, 1}));
  g.outputs.push_back(Known("z", {1, 1, 1, 1}));
  g.initializers["w"] = Tensor::FromVector<float>({1, 1, 1, 1}, {2.0f});
  g.initializers["k"] = Tensor::FromVector<float>({}, {3.0f});
  g.initializers["conv_affine0_W"] = Tensor::FromVector<float>({1, 1, 1, 1}, {7.0f});
  g.nodes = {MakeNode("conv", "Conv", {"x", "w"}, {"c"}), MakeNode("mul", "Mul", {"c", "k"}, {"y"}),
             MakeNode("other", "Add", {"x", "conv_affine0_W"}, {"z"})};
  EXPECT_EQ(FoldIntoConv(g), 1);
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].inputs[1], "conv_affine0_W_1");
  EXPECT_EQ(g.initializers.at("conv_affine0_W_1").data<float>()[0], 6.0f);  // 2 * 3
  EXPECT_EQ(g.initializers.at("conv_affine0_W").data<float>()[0], 7.0f);
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
