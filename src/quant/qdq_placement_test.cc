// quant/qdq_placement_test.cc — the --target tensorrt placement pass on a hand-built IR graph:
// which tensors get pairs (docs/qdq.md's rule, worked out by hand below), their scales (the
// table's bits unchanged; per-channel max|W_c| / 127 computed by hand), the rewiring, the order,
// --keep-fp32 and what the report says.
#include "quant/qdq_placement.h"
#include "quant/qdq_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

namespace calib8::quant {
namespace {

using testing::Bits;
using testing::MakeNode;

// x -> conv1(w1) -> c1 -> relu1 -> r1 -> pool -> p1 -> conv2(w2) -> c2; y = Add(c2, p1).
// By docs/qdq.md: conv1 asks for x, pool for r1, conv2 and the Add for p1 (c2 comes straight out
// of a weighted op, so the Add's other branch stays FP32 for TensorRT's epilogue fusion).
ir::Graph Model() {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DataType::kFloat32, {{1, ""}, {2, ""}, {4, ""}, {4, ""}}, true});
  g.outputs.push_back({"y", DataType::kFloat32, {}, false});
  // w1 [3, 2, 1, 1]: channel 0 {1, -2}, channel 1 all zero, channel 2 {0.5, 0.25}.
  g.initializers["w1"] = Tensor::FromVector<float>({3, 2, 1, 1}, {1, -2, 0, 0, 0.5f, 0.25f});
  g.initializers["w2"] = Tensor::FromVector<float>({2, 3, 1, 1}, {3, 0, 0, 0, 0, -0.5f});
  g.nodes.push_back(MakeNode("Conv", "conv1", {"x", "w1"}, "c1"));
  g.nodes.push_back(MakeNode("Relu", "relu1", {"c1"}, "r1"));
  g.nodes.push_back(MakeNode("MaxPool", "pool", {"r1"}, "p1"));
  g.nodes.back().attrs["kernel_shape"] = ir::Attribute::Ints({1, 1});
  g.nodes.push_back(MakeNode("Conv", "conv2", {"p1", "w2"}, "c2"));
  g.nodes.push_back(MakeNode("Add", "add", {"c2", "p1"}, "y"));
  return g;
}

table::CalibrationTable Table() {
  std::string text = "TRT-8600-EntropyCalibration2\n";
  char line[64];
  for (auto [name, scale] : std::map<std::string, float>{
           {"x", 0.01f}, {"c1", 0.05f}, {"r1", 0.02f}, {"p1", 0.03f}, {"ghost", 0.5f}}) {
    std::snprintf(line, sizeof line, "%s: %08x\n", name.c_str(), Bits(scale));
    text += line;
  }
  auto t = table::ParseTable(text, "t.cache", table::TableFormat::kTensorRt);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return *t;
}

const ir::Node* Find(const ir::Graph& g, const std::string& name) {
  for (const auto& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

std::vector<float> Values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

TEST(PlaceTensorRt, PairsRewiringScalesAndOrder) {
  ir::Graph g = Model();
  QdqExportReport rep;
  ASSERT_TRUE(PlaceTensorRt(&g, Table(), "t.cache", "model", {}, &rep).ok());
  EXPECT_EQ(rep.activations, (std::vector<std::string>{"x", "r1", "p1"}));
  EXPECT_EQ(rep.weights, (std::vector<std::string>{"w1", "w2"}));
  EXPECT_EQ(rep.candidates, 3);
  EXPECT_TRUE(rep.uncovered.empty());
  // Rewiring: weighted inputs and the Add's skip branch read the dequantized tensors.
  EXPECT_EQ(Find(g, "conv1")->inputs,
            (std::vector<std::string>{"x_dequantized", "w1_dequantized"}));
  EXPECT_EQ(Find(g, "relu1")->inputs[0], "c1");  // no pair on c1: nothing the rule quantizes
  EXPECT_EQ(Find(g, "pool")->inputs[0], "r1_dequantized");
  EXPECT_EQ(Find(g, "conv2")->inputs[0], "p1_dequantized");
  EXPECT_EQ(Find(g, "add")->inputs, (std::vector<std::string>{"c2", "p1_dequantized"}));
  // Scales: the table's bits unchanged; weights per output channel, max|W_c| / 127, 1 for an
  // all-zero channel; int8 zero points of 0.
  EXPECT_EQ(Bits(g.FindInitializer("x_scale")->data<float>()[0]), Bits(0.01f));
  EXPECT_EQ(Bits(g.FindInitializer("p1_scale")->data<float>()[0]), Bits(0.03f));
  EXPECT_EQ(g.FindInitializer("x_scale")->rank(), 0);
  EXPECT_EQ(Values(*g.FindInitializer("w1_scale")),
            (std::vector<float>{2.0f / 127, 1.0f, 0.5f / 127}));
  EXPECT_EQ(Values(*g.FindInitializer("w2_scale")), (std::vector<float>{3.0f / 127, 0.5f / 127}));
  const Tensor& zp = *g.FindInitializer("w1_zero_point");
  EXPECT_EQ(zp.dtype(), DataType::kInt8);
  EXPECT_EQ(zp.numel(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(zp.data<int8_t>()[i], 0);
  EXPECT_EQ(Find(g, "w1_QuantizeLinear")->GetInt("axis", -1), 0);
  EXPECT_FALSE(Find(g, "x_QuantizeLinear")->HasAttr("axis"));
  // Order: each pair right after its producer; those of initializers and graph inputs first, by
  // name.
  std::vector<std::string> order;
  for (const auto& n : g.nodes) order.push_back(n.name);
  EXPECT_EQ(order, (std::vector<std::string>{
                       "w1_QuantizeLinear", "w1_DequantizeLinear", "w2_QuantizeLinear",
                       "w2_DequantizeLinear", "x_QuantizeLinear", "x_DequantizeLinear", "conv1",
                       "relu1", "r1_QuantizeLinear", "r1_DequantizeLinear", "pool",
                       "p1_QuantizeLinear", "p1_DequantizeLinear", "conv2", "add"}));
  EXPECT_TRUE(g.TopologicalSort().ok());
  // The report names the entries that got no pair, and why.
  EXPECT_EQ(rep.unused_entries,
            (std::vector<std::string>{"c1: no op the placement rule quantizes reads it",
                                      "ghost: not a tensor of the model"}));
}

TEST(PlaceTensorRt, KeepFp32AndStrict) {
  ir::Graph g = Model();
  QdqExportOptions o;
  o.keep_fp32 = {"c2", "nosuch"};
  QdqExportReport rep;
  ASSERT_TRUE(PlaceTensorRt(&g, Table(), "t.cache", "model", o, &rep).ok());
  EXPECT_EQ(rep.weights, (std::vector<std::string>{"w1"}));  // conv2 writes a kept tensor
  EXPECT_EQ(rep.fp32_nodes,
            (std::vector<std::string>{"node 'conv2' (Conv): its output is in --keep-fp32"}));
  EXPECT_EQ(Find(g, "conv2")->inputs, (std::vector<std::string>{"p1", "w2"}));
  EXPECT_EQ(Find(g, "add")->inputs[1], "p1_dequantized");  // the Add still quantizes p1
  EXPECT_EQ(rep.warnings,
            (std::vector<std::string>{"--keep-fp32: 'nosuch' is not a tensor of model"}));

  ir::Graph g2 = Model();
  QdqExportOptions strict;
  strict.strict = true;
  QdqExportReport rep2;
  Status s = PlaceTensorRt(&g2, Table(), "t.cache", "model", strict, &rep2);
  ASSERT_FALSE(s.ok());  // "ghost" names no tensor of the model
  EXPECT_NE(s.message().find("1 entry of t.cache name no tensor of model"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace calib8::quant
