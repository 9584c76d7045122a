// quant/qdq_strip_test.cc — the plain graph of a Q/DQ graph (quant::StripQdq) on hand-built IR
// graphs: weight pairs replaced by DQ(Q(W)) (values worked out by hand in the comments), integer
// weights behind a lone DequantizeLinear, activation pairs removed and their readers rewired (an
// Identity where the pair wrote a graph output), torch's Identity copies of constants, and the
// errors, which name the node.
#include "quant/qdq_strip.h"
#include "quant/qdq_test_util.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace calib8::quant {
namespace {

using testing::MakeNode;

std::vector<float> Values(const ir::Graph& g, const std::string& name) {
  const Tensor* t = g.FindInitializer(name);
  if (t == nullptr || t->dtype() != DataType::kFloat32) return {};
  return std::vector<float>(t->data<float>(), t->data<float>() + t->numel());
}

ir::Graph WithInput() {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DataType::kFloat32, {}, false});
  g.outputs.push_back({"y", DataType::kFloat32, {}, false});
  return g;
}

// W = [1.2, -0.7], scale 0.5, int8 zero point 0: W / s = [2.4, -1.4] -> q = [2, -1] ->
// DQ = [1.0, -0.5]. W, the scale and the zero point are read by nothing else: removed.
TEST(StripQdq, WeightPairBecomesItsDequantizedValues) {
  ir::Graph g = WithInput();
  g.initializers["W"] = Tensor::FromVector<float>({2}, {1.2f, -0.7f});
  g.initializers["s"] = Tensor::FromVector<float>({}, {0.5f});
  g.initializers["z"] = Tensor::FromVector<int8_t>({}, {0});
  g.nodes.push_back(MakeNode("QuantizeLinear", "qw", {"W", "s", "z"}, "Wq"));
  g.nodes.push_back(MakeNode("DequantizeLinear", "dqw", {"Wq", "s", "z"}, "Wd"));
  g.nodes.push_back(MakeNode("Add", "add", {"x", "Wd"}, "y"));
  QdqStripReport rep;
  ASSERT_TRUE(StripQdq(&g, "model 'm.onnx'", &rep).ok());
  EXPECT_EQ(rep.weight_pairs, 1);
  EXPECT_EQ(rep.activation_pairs, 0);
  EXPECT_EQ(Values(g, "Wd"), (std::vector<float>{1.0f, -0.5f}));
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].name, "add");
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<std::string>{"x", "Wd"}));
  EXPECT_EQ(g.initializers.size(), 1u);  // W, s and z are gone
}

// uint8 zero point 128, scale 0.5, W = [0.25, -70, 70]: W / s = [0.5, -140, 140]; round half to
// even gives 0 -> q = 128 -> 0.0; -140 + 128 = -12 -> clamped to 0 -> (0 - 128) * 0.5 = -64;
// 140 + 128 = 268 -> clamped to 255 -> 127 * 0.5 = 63.5.
TEST(StripQdq, Uint8WeightPairRoundsHalfToEvenAndSaturates) {
  ir::Graph g = WithInput();
  g.initializers["W"] = Tensor::FromVector<float>({3}, {0.25f, -70.0f, 70.0f});
  g.initializers["s"] = Tensor::FromVector<float>({}, {0.5f});
  g.initializers["z"] = Tensor::FromVector<uint8_t>({}, {128});
  g.nodes.push_back(MakeNode("QuantizeLinear", "qw", {"W", "s", "z"}, "Wq"));
  g.nodes.push_back(MakeNode("DequantizeLinear", "dqw", {"Wq", "s", "z"}, "Wd"));
  g.nodes.push_back(MakeNode("Mul", "mul", {"x", "Wd"}, "y"));
  ASSERT_TRUE(StripQdq(&g, "model 'm.onnx'", nullptr).ok());
  EXPECT_EQ(Values(g, "Wd"), (std::vector<float>{0.0f, -64.0f, 63.5f}));
}

// int8 W [[2, -4], [3, 127]] stored quantized, per channel along axis 0 with scales [0.5, 0.25]
// and no zero point: [[1.0, -2.0], [0.75, 31.75]].
TEST(StripQdq, Int8WeightBehindALoneDequantizeLinear) {
  ir::Graph g = WithInput();
  g.initializers["Wi"] = Tensor::FromVector<int8_t>({2, 2}, {2, -4, 3, 127});
  g.initializers["s"] = Tensor::FromVector<float>({2}, {0.5f, 0.25f});
  ir::Node dq = MakeNode("DequantizeLinear", "dqw", {"Wi", "s"}, "Wd");
  dq.attrs["axis"] = ir::Attribute::Int(0);
  g.nodes.push_back(dq);
  g.nodes.push_back(MakeNode("MatMul", "mm", {"x", "Wd"}, "y"));
  QdqStripReport rep;
  ASSERT_TRUE(StripQdq(&g, "model 'm.onnx'", &rep).ok());
  EXPECT_EQ(rep.weight_pairs, 1);
  EXPECT_EQ(Values(g, "Wd"), (std::vector<float>{1.0f, -2.0f, 0.75f, 31.75f}));
  EXPECT_EQ(g.FindInitializer("Wi"), nullptr);
  EXPECT_EQ(g.FindInitializer("s"), nullptr);
}

// x -> Relu -> r -> Q -> DQ -> Sigmoid: the Sigmoid reads r again; the scale, read through a
// torch-style Identity copy, goes with its copy; a second pair writes the graph output y2,
// which becomes an Identity from r named as its DequantizeLinear.
TEST(StripQdq, ActivationPairRemovedAndReadersRewired) {
  ir::Graph g = WithInput();
  g.outputs.push_back({"y2", DataType::kFloat32, {}, false});
  g.initializers["s0"] = Tensor::FromVector<float>({}, {0.02f});
  g.nodes.push_back(MakeNode("Identity", "copy", {"s0"}, "s"));
  g.nodes.push_back(MakeNode("Relu", "relu", {"x"}, "r"));
  g.nodes.push_back(MakeNode("QuantizeLinear", "q", {"r", "s"}, "rq"));
  g.nodes.push_back(MakeNode("DequantizeLinear", "dq", {"rq", "s"}, "rd"));
  g.nodes.push_back(MakeNode("Sigmoid", "sig", {"rd"}, "y"));
  g.nodes.push_back(MakeNode("QuantizeLinear", "q2", {"r", "s"}, "rq2"));
  g.nodes.push_back(MakeNode("DequantizeLinear", "dq2", {"rq2", "s"}, "y2"));
  g.value_info["rq"] = {"rq", DataType::kUint8, {}, false};
  g.value_info["r"] = {"r", DataType::kFloat32, {}, false};
  QdqStripReport rep;
  ASSERT_TRUE(StripQdq(&g, "model 'm.onnx'", &rep).ok());
  EXPECT_EQ(rep.activation_pairs, 2);
  EXPECT_EQ(rep.weight_pairs, 0);
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.nodes[0].name, "relu");
  EXPECT_EQ(g.nodes[1].name, "sig");
  EXPECT_EQ(g.nodes[1].inputs, (std::vector<std::string>{"r"}));
  EXPECT_EQ(g.nodes[2].name, "dq2");
  EXPECT_EQ(g.nodes[2].op_type, "Identity");
  EXPECT_EQ(g.nodes[2].inputs, (std::vector<std::string>{"r"}));
  EXPECT_EQ(g.nodes[2].outputs, (std::vector<std::string>{"y2"}));
  EXPECT_TRUE(g.initializers.empty());
  EXPECT_EQ(g.value_info.count("rq"), 0u);
  EXPECT_EQ(g.value_info.count("r"), 1u);
}

TEST(StripQdq, DequantizeOfAComputedIntegerIsAnErrorNamingTheNode) {
  ir::Graph g = WithInput();
  g.initializers["s"] = Tensor::FromVector<float>({}, {0.5f});
  g.nodes.push_back(MakeNode("Cast", "cast", {"x"}, "xi"));
  g.nodes.push_back(MakeNode("DequantizeLinear", "dq", {"xi", "s"}, "y"));
  Status s = StripQdq(&g, "model 'm.onnx'", nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "model 'm.onnx': node 'dq' (DequantizeLinear): input 'xi' is neither a QuantizeLinear "
            "output nor a constant: the model computes in integers here and has no float "
            "equivalent");
  EXPECT_EQ(g.nodes.size(), 2u);  // left as it was
  EXPECT_EQ(g.initializers.count("s"), 1u);
}

TEST(StripQdq, QuantizeReadByAnotherOpOrAloneIsAnError) {
  ir::Graph g = WithInput();
  g.initializers["s"] = Tensor::FromVector<float>({}, {0.5f});
  g.nodes.push_back(MakeNode("QuantizeLinear", "q", {"x", "s"}, "xq"));
  g.nodes.push_back(MakeNode("DequantizeLinear", "dq", {"xq", "s"}, "xd"));
  g.nodes.push_back(MakeNode("Cast", "cast", {"xq"}, "y"));
  Status s = StripQdq(&g, "model 'm.onnx'", nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("node 'q' (QuantizeLinear): its output 'xq' is read by node 'cast' "
                             "(Cast), expected only DequantizeLinear nodes"),
            std::string::npos)
      << s.message();

  // A Q whose output nothing dequantizes, beside a lone weight DQ.
  ir::Graph lone = WithInput();
  lone.initializers["s"] = Tensor::FromVector<float>({}, {0.5f});
  lone.initializers["Wi"] = Tensor::FromVector<int8_t>({1}, {3});
  lone.nodes.push_back(MakeNode("QuantizeLinear", "q", {"x", "s"}, "xq"));
  lone.nodes.push_back(MakeNode("DequantizeLinear", "dqw", {"Wi", "s"}, "Wd"));
  lone.nodes.push_back(MakeNode("Add", "add", {"x", "Wd"}, "y"));
  s = StripQdq(&lone, "model 'm.onnx'", nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "model 'm.onnx': node 'q' (QuantizeLinear): not followed by a DequantizeLinear");

  ir::Graph plain = WithInput();
  plain.nodes.push_back(MakeNode("Relu", "relu", {"x"}, "y"));
  s = StripQdq(&plain, "model 'm.onnx'", nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "model 'm.onnx': no QuantizeLinear/DequantizeLinear pair: nothing to strip");
}

TEST(StripQdq, BadScalesAndZeroPointsNameTheNode) {
  ir::Graph g = WithInput();
  g.initializers["W"] = Tensor::FromVector<float>({2}, {1.0f, 2.0f});
  g.initializers["s"] = Tensor::FromVector<float>({}, {-0.5f});
  g.nodes.push_back(MakeNode("QuantizeLinear", "qw", {"W", "s"}, "Wq"));
  g.nodes.push_back(MakeNode("DequantizeLinear", "dqw", {"Wq", "s"}, "Wd"));
  g.nodes.push_back(MakeNode("Add", "add", {"x", "Wd"}, "y"));
  Status s = StripQdq(&g, "model 'm.onnx'", nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("node 'dqw' (DequantizeLinear): scale 's' holds -0.5"),
            std::string::npos)
      << s.message();
  g.initializers["s"] = Tensor::FromVector<float>({}, {0.5f});
  g.initializers["z"] = Tensor::FromVector<int32_t>({}, {0});
  g.nodes[0].inputs.push_back("z");
  s = StripQdq(&g, "model 'm.onnx'", nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("node 'qw' (QuantizeLinear): zero point 'z' is int32, expected int8 "
                             "or uint8"),
            std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace calib8::quant
