// quant/qdq_placement_ort_test.cc — the --target ort placement pass (quant::PlaceOrt) and its
// Conv fold in its export form (ir::FoldIntoConv) on hand-built IR graphs: the u8 node unit around
// Conv + Relu (pair on the Relu output, zero point 0, scale amax / 255), the scale a pooling
// output carries from its input, the int32 bias round(b / (s_in * s_w)), the s8 mode's carried
// Conv output, and a BatchNormalization folded by hand. Expected values are worked out below from
// docs/qdq.md's rule, not read back from the code.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>

#include "ir/passes.h"
#include "quant/qdq_placement.h"
#include "quant/qdq_test_util.h"

namespace calib8::quant {
namespace {

using testing::Bits;
using testing::MakeNode;

// x -> conv1(w1, b1) -> c1 -> relu1 -> r1 -> pool -> p1 -> conv2(w2) -> y (graph output).
ir::Graph Model() {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DataType::kFloat32, {{1, ""}, {2, ""}, {4, ""}, {4, ""}}, true});
  g.outputs.push_back({"y", DataType::kFloat32, {}, false});
  // w1 [2, 2, 1, 1]: channel 0 {1, -2} (max 2), channel 1 {0.5, 0.25} (max 0.5).
  g.initializers["w1"] = Tensor::FromVector<float>({2, 2, 1, 1}, {1, -2, 0.5f, 0.25f});
  g.initializers["b1"] = Tensor::FromVector<float>({2}, {0.3f, -0.1f});
  g.initializers["w2"] = Tensor::FromVector<float>({1, 2, 1, 1}, {4, -1});
  g.nodes.push_back(MakeNode("Conv", "conv1", {"x", "w1", "b1"}, "c1"));
  g.nodes.push_back(MakeNode("Relu", "relu1", {"c1"}, "r1"));
  g.nodes.push_back(MakeNode("MaxPool", "pool", {"r1"}, "p1"));
  g.nodes.back().attrs["kernel_shape"] = ir::Attribute::Ints({1, 1});
  g.nodes.push_back(MakeNode("Conv", "conv2", {"p1", "w2"}, "y"));
  return g;
}

table::CalibrationTable Table() {
  std::string text = "TRT-8600-EntropyCalibration2\n";
  char line[64];
  for (auto [name, scale] : std::map<std::string, float>{
           {"x", 0.01f}, {"c1", 0.04f}, {"r1", 0.02f}, {"p1", 0.03f}, {"y", 0.05f}}) {
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

QdqExportOptions Ort(OrtActivations mode) {
  QdqExportOptions o;
  o.target = QdqTarget::kOrt;
  o.ort_activations = mode;
  return o;
}

TEST(PlaceOrt, U8UnitAroundConvReluCarriedPoolAndInt32Bias) {
  ir::Graph g = Model();
  QdqExportReport rep;
  std::string sources;
  ASSERT_TRUE(
      PlaceOrt(&g, Table(), "t.cache", "model", Ort(OrtActivations::kU8), &rep, &sources).ok());
  // conv1's unit: x in, the Relu output r1 out (the Relu stays inside the unit: c1 gets no
  // pair); pool reads r1 and its output p1 carries r1's scale; conv2 writes the graph output y.
  EXPECT_EQ(rep.activations, (std::vector<std::string>{"x", "r1", "y"}));
  ASSERT_EQ(rep.carried.size(), 1u);
  EXPECT_EQ(rep.carried[0].rfind("p1 <- r1: ", 0), 0u) << rep.carried[0];
  EXPECT_EQ(rep.biases, (std::vector<std::string>{"b1"}));
  EXPECT_EQ(Find(g, "relu1")->inputs[0], "c1");
  EXPECT_EQ(Find(g, "conv1")->inputs,
            (std::vector<std::string>{"x_dequantized", "w1_dequantized", "b1_dequantized"}));
  EXPECT_EQ(Find(g, "pool")->inputs[0], "r1_dequantized");
  EXPECT_EQ(Find(g, "conv2")->inputs[0], "p1_dequantized");
  // r1 is non-negative: uint8, zero point 0, scale amax / 255 with amax = 127 * 0.02.
  const float r1_scale = 127.0f * 0.02f / 255.0f;
  EXPECT_NEAR(g.FindInitializer("r1_scale")->data<float>()[0], r1_scale, 1e-9);
  EXPECT_EQ(g.FindInitializer("r1_zero_point")->dtype(), DataType::kUint8);
  EXPECT_EQ(g.FindInitializer("r1_zero_point")->data<uint8_t>()[0], 0);
  // p1 carries r1's scale and zero point.
  EXPECT_EQ(g.FindInitializer("p1_scale")->data<float>()[0],
            g.FindInitializer("r1_scale")->data<float>()[0]);
  EXPECT_EQ(g.FindInitializer("p1_zero_point")->data<uint8_t>()[0], 0);
  // x is signed: uint8 with zero point 128 on the table's int8 grid (scale 0.01).
  EXPECT_EQ(g.FindInitializer("x_scale")->data<float>()[0], 0.01f);
  EXPECT_EQ(g.FindInitializer("x_zero_point")->data<uint8_t>()[0], 128);
  // Bias: q_c = round(b_c / (0.01 * max|W_c| / 127)): 0.3 / (0.02 / 127) = 1905,
  // -0.1 / (0.005 / 127) = -2540; the float bias is dropped.
  const Tensor* qb = g.FindInitializer("b1_int32");
  ASSERT_NE(qb, nullptr);
  EXPECT_EQ(qb->dtype(), DataType::kInt32);
  EXPECT_EQ(qb->data<int32_t>()[0], 1905);
  EXPECT_EQ(qb->data<int32_t>()[1], -2540);
  EXPECT_NEAR(g.FindInitializer("b1_scale")->data<float>()[0], 0.01 * 2 / 127, 1e-10);
  EXPECT_EQ(g.FindInitializer("b1"), nullptr);
  // The graph output keeps its name: conv2 writes y_float, y's DequantizeLinear writes y.
  EXPECT_EQ(Find(g, "conv2")->outputs[0], "y_float");
  EXPECT_EQ(Find(g, "y_DequantizeLinear")->outputs[0], "y");
  EXPECT_NE(sources.find("p1\t-\tr1\n"), std::string::npos) << sources;
  // Every node comes after the producers of its inputs.
  std::set<std::string> seen = {"x"};
  for (const auto& [name, t] : g.initializers) seen.insert(name);
  for (const auto& n : g.nodes) {
    for (const auto& in : n.inputs) EXPECT_TRUE(seen.count(in)) << n.name << " reads " << in;
    seen.insert(n.outputs.begin(), n.outputs.end());
  }
}

TEST(PlaceOrt, S8CarriesTheReluScaleToTheConvOutput) {
  ir::Graph g = Model();
  QdqExportReport rep;
  std::string sources;
  ASSERT_TRUE(
      PlaceOrt(&g, Table(), "t.cache", "model", Ort(OrtActivations::kS8), &rep, &sources).ok());
  // int8 with zero point 0 cannot absorb the Relu: c1 gets a pair with r1's scale (0.02, not
  // its own 0.04), and the Relu reads c1's DequantizeLinear.
  EXPECT_EQ(Find(g, "relu1")->inputs[0], "c1_dequantized");
  EXPECT_EQ(g.FindInitializer("c1_scale")->data<float>()[0], 0.02f);
  EXPECT_EQ(g.FindInitializer("c1_zero_point")->dtype(), DataType::kInt8);
  EXPECT_EQ(g.FindInitializer("r1_scale")->data<float>()[0], 0.02f);
  EXPECT_EQ(rep.unsigned_pairs, 0);
}

TEST(FoldIntoConvForExport, BatchNormFoldedByHand) {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DataType::kFloat32, {{1, ""}, {1, ""}, {2, ""}, {2, ""}}, true});
  g.outputs.push_back({"z", DataType::kFloat32, {}, false});
  g.initializers["w"] = Tensor::FromVector<float>({1, 1, 1, 1}, {2});
  g.initializers["b"] = Tensor::FromVector<float>({1}, {1});
  g.initializers["gamma"] = Tensor::FromVector<float>({1}, {3});
  g.initializers["beta"] = Tensor::FromVector<float>({1}, {0.5f});
  g.initializers["mean"] = Tensor::FromVector<float>({1}, {1});
  g.initializers["var"] = Tensor::FromVector<float>({1}, {3});
  g.initializers["spare"] = Tensor::FromVector<float>({1}, {9});  // read by nothing, not replaced
  g.nodes.push_back(MakeNode("Conv", "conv", {"x", "w", "b"}, "c"));
  g.nodes.push_back(
      MakeNode("BatchNormalization", "bn", {"c", "gamma", "beta", "mean", "var"}, "bn_out"));
  g.nodes.back().attrs["epsilon"] = ir::Attribute::Float(1.0f);
  g.nodes.push_back(MakeNode("Relu", "relu", {"bn_out"}, "z"));
  g.nodes.push_back(MakeNode("Relu", "dead", {"x"}, "unused"));  // reaches no output
  ir::ConvFoldOptions fold;
  fold.remove_dead = false;
  fold.export_names = true;
  ASSERT_EQ(ir::FoldIntoConv(g, fold), 1);
  // The export is a serializer: the dead node and the unrelated initializer stay.
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.nodes[2].name, "dead");
  EXPECT_NE(g.FindInitializer("spare"), nullptr);
  // s = 3 / sqrt(3 + 1) = 1.5: W' = 2 * 1.5 = 3, B' = (1 - 1) * 1.5 + 0.5 = 0.5; the Conv writes
  // the BatchNormalization's output, under the names docs/qdq.md gives, and the old parameters
  // are gone.
  const ir::Node& conv = g.nodes[0];
  EXPECT_EQ(conv.outputs[0], "bn_out");
  EXPECT_EQ(conv.inputs[1], "conv_folded_W");
  EXPECT_EQ(conv.inputs[2], "conv_folded_B");
  EXPECT_EQ(g.FindInitializer(conv.inputs[1])->data<float>()[0], 3.0f);
  EXPECT_EQ(g.FindInitializer(conv.inputs[2])->data<float>()[0], 0.5f);
  for (const char* gone : {"w", "b", "gamma", "beta", "mean", "var"})
    EXPECT_EQ(g.FindInitializer(gone), nullptr) << gone;
}

}  // namespace
}  // namespace calib8::quant
