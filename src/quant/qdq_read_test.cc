// quant/qdq_read_test.cc — import-qdq's table reading (quant::ReadQdqTable) on hand-built IR
// graphs: which Q nodes give table entries and with which scale bits (worked out by hand below),
// which are reported as weights or skipped (and why), calib8's export record in the metadata,
// the file's node order and names, INT8 custom-op outputs and the errors.
#include "quant/qdq_read.h"
#include "quant/qdq_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace calib8::quant {
namespace {

using testing::Bits;
using testing::MakeNode;

// Scalar initializers: a float scale, an int8 or uint8 zero point.
void Scale(ir::Graph& g, const std::string& name, float s) {
  g.initializers[name] = Tensor::FromVector<float>({}, {s});
}
void ZeroS8(ir::Graph& g, const std::string& name, int8_t z) {
  g.initializers[name] = Tensor::FromVector<int8_t>({}, {z});
}
void ZeroU8(ir::Graph& g, const std::string& name, uint8_t z) {
  g.initializers[name] = Tensor::FromVector<uint8_t>({}, {z});
}

// Each node keeps its IR name as its file name, at its position in g.nodes.
QdqModelInfo Info(const ir::Graph& g) {
  QdqModelInfo m;
  m.source = "model 'm.onnx'";
  m.path = "m.onnx";
  for (size_t i = 0; i < g.nodes.size(); ++i)
    m.nodes[g.nodes[i].name] = {static_cast<int>(i), g.nodes[i].name};
  return m;
}

// x (int8 zp 0), a (uint8 zp 128), b (uint8 zp 0, no record), c (int8 zp 5), w (a weight with
// two channel scales), d (scale not a constant), e (no zero point).
ir::Graph Model() {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DataType::kFloat32, {}, false});
  Scale(g, "sx", 0.02f);
  ZeroS8(g, "z0", 0);
  Scale(g, "sa", 0.25f);
  ZeroU8(g, "z128", 128);
  Scale(g, "sb", 0.01f);
  ZeroU8(g, "zu0", 0);
  ZeroS8(g, "z5", 5);
  g.initializers["w"] = Tensor::FromVector<float>({2, 1}, {1.0f, -2.0f});
  g.initializers["sw"] = Tensor::FromVector<float>({2}, {1.0f / 127, 2.0f / 127});
  g.nodes.push_back(MakeNode("QuantizeLinear", "qx", {"x", "sx", "z0"}, "xq"));
  g.nodes.push_back(MakeNode("Relu", "a_op", {"x"}, "a"));
  g.nodes.push_back(MakeNode("QuantizeLinear", "qa", {"a", "sa", "z128"}, "aq"));
  g.nodes.push_back(MakeNode("Relu", "b_op", {"a"}, "b"));
  g.nodes.push_back(MakeNode("QuantizeLinear", "qb", {"b", "sb", "zu0"}, "bq"));
  g.nodes.push_back(MakeNode("Relu", "c_op", {"b"}, "c"));
  g.nodes.push_back(MakeNode("QuantizeLinear", "qc", {"c", "sx", "z5"}, "cq"));
  g.nodes.push_back(MakeNode("QuantizeLinear", "qw", {"w", "sw", "z0"}, "wq"));
  g.nodes.back().attrs["axis"] = ir::Attribute::Int(0);
  g.nodes.push_back(MakeNode("QuantizeLinear", "qd", {"c", "a"}, "dq"));
  g.nodes.push_back(MakeNode("Relu", "e_op", {"c"}, "e"));
  g.nodes.push_back(MakeNode("QuantizeLinear", "", {"e", "sa"}, "eq"));
  g.nodes.back().name = "QuantizeLinear_10";  // unnamed in the file (GraphFromModel's name)
  return g;
}

TEST(ReadQdqTable, EntriesScalesAndReport) {
  ir::Graph g = Model();
  QdqModelInfo m = Info(g);
  m.nodes["QuantizeLinear_10"] = {10, ""};
  QdqImportReport rep;
  auto t = ReadQdqTable(g, m, &rep);
  ASSERT_TRUE(t.ok()) << t.status().message();
  // x: the scale bits as stored; a: uint8 zp 128 is the int8 grid, same bits; e: no zero point
  // (int8 0 by default), same bits.
  ASSERT_GE(t->Find("x"), 0);
  EXPECT_EQ(t->entries()[t->Find("x")].bits(), Bits(0.02f));
  ASSERT_GE(t->Find("a"), 0);
  EXPECT_EQ(t->entries()[t->Find("a")].bits(), Bits(0.25f));
  ASSERT_GE(t->Find("e"), 0);
  EXPECT_EQ(t->entries()[t->Find("e")].bits(), Bits(0.25f));
  // b: uint8 zp 0: amax = 255 x 0.01 = 2.55, TensorRT scale = 2.55 / 127 (float arithmetic).
  float amax = 0.01f * 255.0f;
  ASSERT_GE(t->Find("b"), 0);
  EXPECT_EQ(t->entries()[t->Find("b")].bits(), Bits(amax / 127.0f));
  EXPECT_NE(Bits(amax / 127.0f), Bits(0.01f));
  ASSERT_EQ(rep.converted.size(), 1u);
  EXPECT_EQ(rep.converted[0], "b: uint8 with zero point 0, amax = 255 x scale");
  // c (int8 zp 5) and d (scale 'a' not a constant) give no entry; c is not in the table.
  EXPECT_LT(t->Find("c"), 0);
  ASSERT_EQ(rep.skipped.size(), 2u);
  EXPECT_EQ(rep.skipped[0],
            "node 'qc' (QuantizeLinear): tensor 'c': int8 zero point 5, expected 0 (asymmetric "
            "quantization has no TensorRT entry)");
  EXPECT_EQ(rep.skipped[1], "node 'qd' (QuantizeLinear): y_scale 'a' is not a constant");
  ASSERT_EQ(rep.weights.size(), 1u);
  EXPECT_EQ(rep.weights[0], "w: 2 scale(s), axis 0");
  EXPECT_LT(t->Find("w"), 0);
  EXPECT_EQ(t->entries().size(), 4u);
  EXPECT_TRUE(rep.warnings.empty());
}

// Nodes are read in the file's order (not the IR's): the first scale of a tensor quantized twice
// is kept, and the unnamed node is labelled by its file index.
TEST(ReadQdqTable, FileOrderAndUnnamedLabels) {
  ir::Graph g;
  g.inputs.push_back({"x", DataType::kFloat32, {}, false});
  Scale(g, "s1", 0.5f);
  Scale(g, "s2", 0.125f);
  g.nodes.push_back(MakeNode("QuantizeLinear", "QuantizeLinear_3", {"x", "s1"}, "q1"));
  g.nodes.push_back(MakeNode("QuantizeLinear", "second", {"x", "s2"}, "q2"));
  QdqModelInfo m = Info(g);
  m.nodes["QuantizeLinear_3"] = {3, ""};  // unnamed, 4th node of the file
  m.nodes["second"] = {1, "second"};      // before it in the file
  QdqImportReport rep;
  auto t = ReadQdqTable(g, m, &rep);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->entries()[t->Find("x")].bits(), Bits(0.125f));
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_EQ(rep.warnings[0],
            "model 'm.onnx': node '#3' (QuantizeLinear): tensor 'x' is quantized "
            "again with another scale (3f000000 vs 3e000000): the first is kept");
}

// calib8's --target ort record (calib8.qdq_sources): a Q input whose scale agrees takes the
// recorded entry name and bits; a carried scale is skipped; a disagreeing one warns.
TEST(ReadQdqTable, ExportRecord) {
  ir::Graph g;
  g.inputs.push_back({"x", DataType::kFloat32, {}, false});
  Scale(g, "s", 0.5f);
  g.nodes.push_back(MakeNode("QuantizeLinear", "q1", {"x", "s"}, "q1o"));
  g.nodes.push_back(MakeNode("Relu", "r", {"x"}, "y"));
  g.nodes.push_back(MakeNode("QuantizeLinear", "q2", {"y", "s"}, "q2o"));
  g.nodes.push_back(MakeNode("Relu", "r2", {"y"}, "z"));
  g.nodes.push_back(MakeNode("QuantizeLinear", "q3", {"z", "s"}, "q3o"));
  QdqModelInfo m = Info(g);
  m.metadata.push_back({kQdqSourcesKey, "x\tinput:0\t3f000000\ny\t-\tx\nz\tzz\t3e800000\n"});
  m.metadata.push_back({kQdqHeaderKey, "TRT-8600-EntropyCalibration2"});
  QdqImportReport rep;
  auto t = ReadQdqTable(g, m, &rep);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->header.raw, "TRT-8600-EntropyCalibration2");
  ASSERT_GE(t->Find("input:0"), 0);
  EXPECT_EQ(t->entries()[t->Find("input:0")].bits(), 0x3f000000u);
  EXPECT_LT(t->Find("x"), 0);
  EXPECT_LT(t->Find("y"), 0);
  ASSERT_EQ(rep.skipped.size(), 1u);
  EXPECT_EQ(rep.skipped[0],
            "node 'q2' (QuantizeLinear): tensor 'y': scale carried over from 'x' by calib8's "
            "--target ort export (not its own table entry)");
  // z's record says 0.25 but the graph has 0.5: the graph's scale is used, under z's own name.
  ASSERT_GE(t->Find("z"), 0);
  EXPECT_EQ(t->entries()[t->Find("z")].bits(), 0x3f000000u);
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_NE(rep.warnings[0].find("'z': scale does not match the export's record"),
            std::string::npos);
}

// The int8 output of a custom op (TensorRT plugin): its scale is on the DequantizeLinear after it.
TEST(ReadQdqTable, PluginOutput) {
  ir::Graph g;
  g.inputs.push_back({"x", DataType::kFloat32, {}, false});
  Scale(g, "s", 0.5f);
  Scale(g, "so", 0.0625f);
  ZeroS8(g, "z", 0);
  g.nodes.push_back(MakeNode("QuantizeLinear", "q", {"x", "s", "z"}, "xq"));
  g.nodes.push_back(MakeNode("MyPlugin", "plug", {"xq"}, "p"));
  g.nodes.back().domain = "trt.plugins";
  g.nodes.push_back(MakeNode("DequantizeLinear", "dq", {"p", "so", "z"}, "pf"));
  auto t = ReadQdqTable(g, Info(g), nullptr);
  ASSERT_TRUE(t.ok());
  ASSERT_GE(t->Find("pf"), 0);
  EXPECT_EQ(t->entries()[t->Find("pf")].bits(), Bits(0.0625f));
}

TEST(ReadQdqTable, Errors) {
  ir::Graph g;
  g.inputs.push_back({"x", DataType::kFloat32, {}, false});
  Scale(g, "s", -0.5f);
  g.nodes.push_back(MakeNode("QuantizeLinear", "q", {"x", "s"}, "xq"));
  auto t = ReadQdqTable(g, Info(g), nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("node 'q' (QuantizeLinear): tensor 'x': y_scale -0.5 (bits "
                                      "bf000000): expected a finite positive scale"),
            std::string::npos)
      << t.status().message();
  g.nodes[0].op_type = "Relu";
  t = ReadQdqTable(g, Info(g), nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("no QuantizeLinear node"), std::string::npos);
}

// A Constant node the file gives in a form other than a `value` tensor (value_float, ...) is an
// initializer in the IR but not a constant to this reader (as import-qdq read it before the IR).
TEST(ReadQdqTable, OtherConstantFormsAreNotConstants) {
  ir::Graph g;
  g.inputs.push_back({"x", DataType::kFloat32, {}, false});
  Scale(g, "s", 0.5f);
  g.nodes.push_back(MakeNode("QuantizeLinear", "q", {"x", "s"}, "xq"));
  QdqModelInfo m = Info(g);
  m.other_constants["s"] = 0;
  QdqImportReport rep;
  auto t = ReadQdqTable(g, m, &rep);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->entries().empty());
  ASSERT_EQ(rep.skipped.size(), 1u);
  EXPECT_EQ(rep.skipped[0], "node 'q' (QuantizeLinear): y_scale 's' is not a constant");
}

}  // namespace
}  // namespace calib8::quant
