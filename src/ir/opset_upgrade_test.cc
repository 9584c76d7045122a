// ir/opset_upgrade_test.cc — ir::UpgradeOpsTo13 on hand-built graphs: per rewrite, the node's
// inputs, attributes and new initializers as the ONNX opset-13 specs say they must be (expected
// values worked out by hand from the old attributes); relabelling; errors for nodes that cannot
// be upgraded (graph left as it was); idempotence; graphs already at 13 or later untouched.
#include "ir/opset_upgrade.h"

#include <gtest/gtest.h>

#include <set>

namespace calib8::ir {
namespace {

ValueInfo Known(const std::string& name, Shape s) {
  ValueInfo v{name, DataType::kFloat32, {}, true};
  for (int64_t d : s) v.dims.push_back(Dim{d, ""});
  return v;
}

// A graph at `opset` with input x (float32, `shape`), one node of `op` reading x (and `extra`
// inputs) writing y, with `attrs`.
Graph OneNode(int64_t opset, const std::string& op, Shape shape,
              std::map<std::string, Attribute> attrs, std::vector<std::string> extra = {}) {
  Graph g;
  g.source = "test";
  g.opsets[""] = opset;
  g.inputs.push_back(Known("x", shape));
  g.outputs.push_back(Known("y", {}));
  Node n;
  n.name = "n";
  n.op_type = op;
  n.inputs = {"x"};
  for (auto& e : extra) n.inputs.push_back(e);
  n.outputs = {"y"};
  n.attrs = std::move(attrs);
  g.nodes.push_back(std::move(n));
  return g;
}

std::vector<int64_t> Ints(const Graph& g, const std::string& name) {
  const Tensor* t = g.FindInitializer(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t || t->dtype() != DataType::kInt64) return {};
  EXPECT_EQ(t->rank(), 1) << name;
  return std::vector<int64_t>(t->data<int64_t>(), t->data<int64_t>() + t->numel());
}

float Scalar(const Graph& g, const std::string& name) {
  const Tensor* t = g.FindInitializer(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t || t->dtype() != DataType::kFloat32 || t->numel() != 1) return -12345.0f;
  EXPECT_EQ(t->rank(), 0) << name;
  return t->data<float>()[0];
}

void Upgrade(Graph& g, OpsetUpgradeReport* rep = nullptr) {
  Status s = UpgradeOpsTo13(&g, rep);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(g.DefaultOpset(), 13);
}

TEST(OpsetUpgrade, Clip6AttributesBecomeInputs) {
  Graph g = OneNode(6, "Clip", {2, 3},
                    {{"min", Attribute::Float(-1.5f)}, {"max", Attribute::Float(6.0f)}});
  OpsetUpgradeReport rep;
  Upgrade(g, &rep);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  EXPECT_TRUE(n.attrs.empty());
  ASSERT_EQ(n.inputs.size(), 3u);
  EXPECT_EQ(n.inputs[0], "x");
  EXPECT_EQ(Scalar(g, n.inputs[1]), -1.5f);
  EXPECT_EQ(Scalar(g, n.inputs[2]), 6.0f);
  EXPECT_EQ(n.outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(rep.rewritten["Clip"], 1);
  EXPECT_EQ(rep.opset_before, 6);
}

TEST(OpsetUpgrade, Clip6OnlyMaxLeavesMinAbsent) {
  Graph g = OneNode(6, "Clip", {4}, {{"max", Attribute::Float(6.0f)}});
  Upgrade(g);
  const Node& n = g.nodes[0];
  ASSERT_EQ(n.inputs.size(), 3u);
  EXPECT_EQ(n.inputs[1], "");  // min: the float range, the default of both definitions
  EXPECT_EQ(Scalar(g, n.inputs[2]), 6.0f);
}

TEST(OpsetUpgrade, Slice1AttributesBecomeInputs) {
  Graph g = OneNode(9, "Slice", {4, 5},
                    {{"starts", Attribute::Ints({1, 0})},
                     {"ends", Attribute::Ints({3, -1})},
                     {"axes", Attribute::Ints({0, 1})}});
  Upgrade(g);
  const Node& n = g.nodes[0];
  EXPECT_TRUE(n.attrs.empty());
  ASSERT_EQ(n.inputs.size(), 4u);
  EXPECT_EQ(Ints(g, n.inputs[1]), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(Ints(g, n.inputs[2]), (std::vector<int64_t>{3, -1}));
  EXPECT_EQ(Ints(g, n.inputs[3]), (std::vector<int64_t>{0, 1}));
}

TEST(OpsetUpgrade, SqueezeUnsqueezeReduceSumSplitAttributesBecomeInput1) {
  struct Case {
    const char* op;
    const char* attr;
    std::vector<int64_t> v;
  };
  for (const Case& c : {Case{"Squeeze", "axes", {0, 2}}, Case{"Unsqueeze", "axes", {-1}},
                        Case{"ReduceSum", "axes", {1}}, Case{"Split", "split", {2, 3}}}) {
    SCOPED_TRACE(c.op);
    Graph g = OneNode(11, c.op, {1, 5, 1},
                      {{c.attr, Attribute::Ints(c.v)}, {"keepdims", Attribute::Int(0)}});
    Upgrade(g);
    const Node& n = g.nodes[0];
    ASSERT_EQ(n.inputs.size(), 2u);
    EXPECT_EQ(Ints(g, n.inputs[1]), c.v);
    EXPECT_FALSE(n.HasAttr(c.attr));
    EXPECT_EQ(n.GetInt("keepdims", 7), 0);  // other attributes stay
  }
}

TEST(OpsetUpgrade, ReduceSumWithoutAxesKeepsNoInput) {
  Graph g = OneNode(11, "ReduceSum", {2, 2}, {});
  Upgrade(g);
  EXPECT_EQ(g.nodes[0].inputs, std::vector<std::string>{"x"});  // all axes in both definitions
}

TEST(OpsetUpgrade, Reshape1ShapeAttributeBecomesInput) {
  Graph g = OneNode(4, "Reshape", {2, 3}, {{"shape", Attribute::Ints({3, 2})}});
  Upgrade(g);
  ASSERT_EQ(g.nodes[0].inputs.size(), 2u);
  EXPECT_EQ(Ints(g, g.nodes[0].inputs[1]), (std::vector<int64_t>{3, 2}));
}

TEST(OpsetUpgrade, Pad2PadsAndValueBecomeInputs) {
  Graph g = OneNode(2, "Pad", {2, 2},
                    {{"pads", Attribute::Ints({0, 1, 0, 1})},
                     {"mode", Attribute::String("constant")},
                     {"value", Attribute::Float(2.5f)}});
  Upgrade(g);
  const Node& n = g.nodes[0];
  ASSERT_EQ(n.inputs.size(), 3u);
  EXPECT_EQ(Ints(g, n.inputs[1]), (std::vector<int64_t>{0, 1, 0, 1}));
  EXPECT_EQ(Scalar(g, n.inputs[2]), 2.5f);
  EXPECT_EQ(n.GetString("mode", ""), "constant");
  EXPECT_FALSE(n.HasAttr("pads"));
  EXPECT_FALSE(n.HasAttr("value"));
}

TEST(OpsetUpgrade, Pad1PaddingsWithZeroValueHasNoConstantInput) {
  Graph g = OneNode(1, "Pad", {2, 2}, {{"paddings", Attribute::Ints({1, 0, 1, 0})}});
  Upgrade(g);
  const Node& n = g.nodes[0];
  ASSERT_EQ(n.inputs.size(), 2u);
  EXPECT_EQ(Ints(g, n.inputs[1]), (std::vector<int64_t>{1, 0, 1, 0}));
  EXPECT_TRUE(n.attrs.empty());
}

TEST(OpsetUpgrade, SoftmaxOnLastAxisKeepsItsForm) {
  Graph g = OneNode(11, "Softmax", {2, 3, 4}, {{"axis", Attribute::Int(2)}});
  OpsetUpgradeReport rep;
  Upgrade(g, &rep);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "Softmax");
  EXPECT_EQ(g.nodes[0].GetInt("axis", 0), -1);
  EXPECT_EQ(rep.rewritten["Softmax"], 1);  // the definition changed at 13, the form did not
}

// Softmax-11 with the default axis 1 on [2, 3, 4] normalises rows of the [2, 12] coercion:
// Flatten(axis=1) -> Softmax(axis=1) -> Reshape(Shape(x)), the last writing "y".
TEST(OpsetUpgrade, SoftmaxOnInnerAxisBecomesFlattenSoftmaxReshape) {
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    SCOPED_TRACE(op);
    Graph g = OneNode(11, op, {2, 3, 4}, {});
    Upgrade(g);
    ASSERT_EQ(g.nodes.size(), 4u);
    const Node& flat = g.nodes[0];
    const Node& shape = g.nodes[1];
    const Node& sm = g.nodes[2];
    const Node& reshape = g.nodes[3];
    EXPECT_EQ(flat.op_type, "Flatten");
    EXPECT_EQ(flat.inputs, std::vector<std::string>{"x"});
    EXPECT_EQ(flat.GetInt("axis", -9), 1);
    EXPECT_EQ(shape.op_type, "Shape");
    EXPECT_EQ(shape.inputs, std::vector<std::string>{"x"});
    EXPECT_EQ(sm.op_type, op);
    EXPECT_EQ(sm.inputs, flat.outputs);
    EXPECT_EQ(sm.GetInt("axis", -9), 1);
    EXPECT_EQ(reshape.op_type, "Reshape");
    EXPECT_EQ(reshape.inputs, (std::vector<std::string>{sm.outputs[0], shape.outputs[0]}));
    EXPECT_EQ(reshape.outputs, std::vector<std::string>{"y"});
    std::set<std::string> names{g.nodes[0].name, g.nodes[1].name, g.nodes[2].name, g.nodes[3].name};
    EXPECT_EQ(names.size(), 4u);
  }
}

TEST(OpsetUpgrade, Upsample9BecomesResize13AsymmetricFloor) {
  Graph g = OneNode(9, "Upsample", {1, 1, 2, 2}, {{"mode", Attribute::String("nearest")}}, {"s"});
  g.initializers["s"] = Tensor::FromVector<float>({4}, {1, 1, 2, 3});
  Upgrade(g);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.op_type, "Resize");
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"x", "", "s"}));
  EXPECT_EQ(n.GetString("mode", ""), "nearest");
  EXPECT_EQ(n.GetString("coordinate_transformation_mode", ""), "asymmetric");
  EXPECT_EQ(n.GetString("nearest_mode", ""), "floor");
}

TEST(OpsetUpgrade, Upsample7BilinearScalesAttributeBecomesInitializer) {
  Graph g = OneNode(
      7, "Upsample", {1, 1, 2, 2},
      {{"mode", Attribute::String("bilinear")}, {"scales", Attribute::Floats({1, 1, 2, 2})}});
  Upgrade(g);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.op_type, "Resize");
  ASSERT_EQ(n.inputs.size(), 3u);
  const Tensor* s = g.FindInitializer(n.inputs[2]);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->shape(), (Shape{4}));
  EXPECT_EQ(std::vector<float>(s->data<float>(), s->data<float>() + 4),
            (std::vector<float>{1, 1, 2, 2}));
  EXPECT_EQ(n.GetString("mode", ""), "linear");
  EXPECT_FALSE(n.HasAttr("nearest_mode"));
  EXPECT_FALSE(n.HasAttr("scales"));
}

TEST(OpsetUpgrade, Resize10ShrinkingNearestRoundsUp) {
  Graph g = OneNode(10, "Resize", {1, 1, 4, 4}, {}, {"s"});
  g.initializers["s"] = Tensor::FromVector<float>({4}, {1, 1, 0.5f, 0.5f});
  Upgrade(g);
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<std::string>{"x", "", "s"}));
  EXPECT_EQ(g.nodes[0].GetString("nearest_mode", ""), "ceil");
}

TEST(OpsetUpgrade, BatchNormalization7LosesTestModeAttributes) {
  Graph g = OneNode(7, "BatchNormalization", {1, 2, 2, 2},
                    {{"spatial", Attribute::Int(1)}, {"epsilon", Attribute::Float(1e-3f)}},
                    {"sc", "b", "m", "v"});
  Upgrade(g);
  EXPECT_FALSE(g.nodes[0].HasAttr("spatial"));
  EXPECT_EQ(g.nodes[0].GetFloat("epsilon", 0), 1e-3f);
  EXPECT_EQ(g.nodes[0].inputs.size(), 5u);
}

TEST(OpsetUpgrade, Dropout7RatioBecomesInputAndMaskIsCastBack) {
  Graph g = OneNode(7, "Dropout", {3}, {{"ratio", Attribute::Float(0.25f)}});
  g.nodes[0].outputs = {"y", "mask"};
  Upgrade(g);
  ASSERT_EQ(g.nodes.size(), 2u);
  const Node& d = g.nodes[0];
  const Node& cast = g.nodes[1];
  EXPECT_EQ(d.op_type, "Dropout");
  ASSERT_EQ(d.inputs.size(), 2u);
  EXPECT_EQ(Scalar(g, d.inputs[1]), 0.25f);
  EXPECT_FALSE(d.HasAttr("ratio"));
  EXPECT_EQ(d.outputs[0], "y");
  EXPECT_EQ(cast.op_type, "Cast");
  EXPECT_EQ(cast.inputs, std::vector<std::string>{d.outputs[1]});
  EXPECT_EQ(cast.outputs, std::vector<std::string>{"mask"});
  EXPECT_EQ(cast.GetInt("to", 0), 1);  // FLOAT: the input's type
}

TEST(OpsetUpgrade, Cast1TypeNameBecomesCode) {
  Graph g = OneNode(1, "Cast", {2}, {{"to", Attribute::String("INT64")}});
  Upgrade(g);
  EXPECT_EQ(g.nodes[0].GetInt("to", 0), 7);
}

TEST(OpsetUpgrade, LegacyBroadcastWithInnerAxisUnsqueezesB) {
  // Add-6: A [2, 3, 4, 5] + B [3] at axis 1 -> B [3, 1, 1] under numpy rules.
  Graph g = OneNode(6, "Add", {2, 3, 4, 5},
                    {{"broadcast", Attribute::Int(1)}, {"axis", Attribute::Int(1)}}, {"b"});
  g.initializers["b"] = Tensor::FromVector<float>({3}, {1, 2, 3});
  Upgrade(g);
  ASSERT_EQ(g.nodes.size(), 2u);
  const Node& unsq = g.nodes[0];
  EXPECT_EQ(unsq.op_type, "Unsqueeze");
  ASSERT_EQ(unsq.inputs.size(), 2u);
  EXPECT_EQ(unsq.inputs[0], "b");
  EXPECT_EQ(Ints(g, unsq.inputs[1]), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(g.nodes[1].inputs, (std::vector<std::string>{"x", unsq.outputs[0]}));
  EXPECT_TRUE(g.nodes[1].attrs.empty());
}

TEST(OpsetUpgrade, LegacyBroadcastOnTrailingDimsOnlyDropsAttributes) {
  Graph g = OneNode(6, "Mul", {2, 3, 4, 5},
                    {{"broadcast", Attribute::Int(1)}, {"axis", Attribute::Int(2)}}, {"b"});
  g.initializers["b"] = Tensor::FromVector<float>({4, 5}, std::vector<float>(20, 1.0f));
  Upgrade(g);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<std::string>{"x", "b"}));
  EXPECT_TRUE(g.nodes[0].attrs.empty());
}

TEST(OpsetUpgrade, ChangedOnlyInTypesIsRelabelled) {
  Graph g = OneNode(1, "Relu", {2}, {{"consumed_inputs", Attribute::Ints({0})}});
  OpsetUpgradeReport rep;
  Upgrade(g, &rep);
  EXPECT_TRUE(g.nodes[0].attrs.empty());
  EXPECT_EQ(rep.relabelled["Relu"], 1);
  EXPECT_TRUE(rep.rewritten.empty());
}

TEST(OpsetUpgrade, OpWithoutRuleIsAnErrorAndGraphIsLeftAsItWas) {
  Graph g = OneNode(11, "Clip", {2}, {});
  Node other;
  other.name = "topk";
  other.op_type = "NonMaxSuppression";
  other.inputs = {"y"};
  other.outputs = {"z"};
  g.nodes.push_back(other);
  Status s = UpgradeOpsTo13(&g, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'topk' (NonMaxSuppression)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("opset 11"), std::string::npos) << s.message();
  EXPECT_EQ(g.DefaultOpset(), 11);
  EXPECT_EQ(g.nodes.size(), 2u);
}

TEST(OpsetUpgrade, UnrewritableNodeNamesOpVersionAndWhatIsMissing) {
  Graph g = OneNode(7, "BatchNormalization", {1, 2, 2}, {{"spatial", Attribute::Int(0)}},
                    {"sc", "b", "m", "v"});
  Status s = UpgradeOpsTo13(&g, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'n' (BatchNormalization): BatchNormalization-7 (opset 7)"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("spatial=0"), std::string::npos) << s.message();
  EXPECT_TRUE(g.nodes[0].HasAttr("spatial"));
}

TEST(OpsetUpgrade, IdempotentAndGraphsAtThirteenOrLaterUntouched) {
  Graph g = OneNode(6, "Clip", {2}, {{"min", Attribute::Float(0.0f)}});
  Upgrade(g);
  const size_t inits = g.initializers.size();
  const std::vector<std::string> inputs = g.nodes[0].inputs;
  OpsetUpgradeReport rep;
  Upgrade(g, &rep);  // already 13: nothing changes
  EXPECT_EQ(g.initializers.size(), inits);
  EXPECT_EQ(g.nodes[0].inputs, inputs);
  EXPECT_TRUE(rep.rewritten.empty() && rep.relabelled.empty());
  // At 17 an op with attributes the pass would otherwise rewrite is not looked at.
  Graph h = OneNode(17, "Softmax", {2, 3}, {{"axis", Attribute::Int(0)}});
  ASSERT_TRUE(UpgradeOpsTo13(&h, nullptr).ok());
  EXPECT_EQ(h.DefaultOpset(), 17);
  EXPECT_EQ(h.nodes.size(), 1u);
  EXPECT_EQ(h.nodes[0].GetInt("axis", 9), 0);
}

TEST(OpsetUpgrade, VersionTable) {
  EXPECT_EQ(OpVersionAt("Clip", 9), 6);
  EXPECT_EQ(OpVersionAt("Clip", 13), 13);
  EXPECT_EQ(OpVersionAt("Conv", 13), 11);
  EXPECT_EQ(OpVersionAt("Where", 8), 0);  // not defined before 9
  EXPECT_EQ(OpVersionAt("NoSuchOp", 13), 0);
}

}  // namespace
}  // namespace calib8::ir
