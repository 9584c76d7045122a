// onnx/onnx_write_test.cc — the ONNX writer (onnx_write.h): hand-built graphs written and read
// back by onnx_import equal the graphs they came from (every attribute kind, every tensor data
// type, dynamic dims, optional inputs, custom domains); the bytes and fields of the protobuf
// checked against hand-written values; onnx::checker accepts what is written; sub-graphs, channels-
// last tensors, models over 2 GiB and unwritable paths are refused with clear errors.
#include "onnx/onnx_write.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "onnx/onnx_import.h"

namespace calib8::onnx_io {
namespace {

namespace fs = std::filesystem;
using ir::Attribute;

std::string SourceDir() {
  const char* src = std::getenv("CALIB8_SOURCE_DIR");
  return src ? src : ".";
}

// A tensor of `dt` and `shape` whose byte k is (k * 37 + seed) & 0xff (bool: k & 1).
Tensor Pattern(DataType dt, Shape shape, int seed) {
  Tensor t(dt, std::move(shape));
  auto* b = static_cast<unsigned char*>(t.raw());
  for (size_t k = 0; k < t.nbytes(); ++k)
    b[k] = dt == DataType::kBool ? (k & 1) : static_cast<unsigned char>((k * 37 + seed) & 0xff);
  return t;
}

ir::ValueInfo Value(std::string name, DataType dt, std::vector<ir::Dim> dims, bool has_shape) {
  ir::ValueInfo v;
  v.name = std::move(name);
  v.dtype = dt;
  v.dims = std::move(dims);
  v.has_shape = has_shape;
  return v;
}

ir::Node MakeNode(std::string name, std::string op, std::string domain, std::vector<std::string> in,
                  std::vector<std::string> out) {
  ir::Node n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.domain = std::move(domain);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// Every data type calib8's Tensor knows, as initializers; every attribute kind on custom-domain
// nodes; a dynamic input (known, symbolic and unknown dims), an input without shape, an optional
// input left out. ONNX-domain nodes are valid for the checker.
ir::Graph KitchenSink() {
  ir::Graph g;
  g.name = "kitchen_sink";
  g.opsets = {{"", 13}, {"com.example", 2}};
  g.inputs.push_back(Value("x", DataType::kFloat32, {{-1, "batch"}, {3, ""}, {-1, ""}}, true));
  g.inputs.push_back(Value("y", DataType::kFloat32, {}, false));
  g.outputs.push_back(Value("z", DataType::kFloat32, {{-1, "batch"}, {3, ""}, {-1, ""}}, true));
  g.outputs.push_back(Value("w", DataType::kFloat32, {}, false));
  const DataType kAll[] = {DataType::kFloat32, DataType::kUint8,  DataType::kInt8,
                           DataType::kUint16,  DataType::kInt16,  DataType::kInt32,
                           DataType::kInt64,   DataType::kBool,   DataType::kFloat16,
                           DataType::kFloat64, DataType::kUint32, DataType::kUint64};
  int seed = 1;
  for (DataType dt : kAll)
    g.initializers[std::string("init_") + DataTypeName(dt)] = Pattern(dt, {2, 3}, seed++);
  g.initializers["scalar"] = Pattern(DataType::kFloat32, {}, 7);
  g.initializers["empty"] = Tensor(DataType::kInt64, {0});
  g.initializers["min"] = Tensor::FromVector<float>({}, {-1.0f});
  // Clip with its optional `min` left out ("" kept) and `max` given.
  g.nodes.push_back(MakeNode("clip", "Clip", "", {"x", "", "scalar"}, {"c"}));
  ir::Node custom = MakeNode("custom", "Everything", "com.example", {"c", "y"}, {"z", "w", ""});
  custom.attrs["i"] = Attribute::Int(-5);
  custom.attrs["f"] = Attribute::Float(0.25f);
  custom.attrs["s"] = Attribute::String(std::string("bytes\0ok", 8));
  custom.attrs["ints"] = Attribute::Ints({1, -2, int64_t{1} << 40});
  custom.attrs["no_ints"] = Attribute::Ints({});
  custom.attrs["floats"] = Attribute::Floats({1.5f, -0.0f});
  Attribute strings;
  strings.kind = Attribute::Kind::kStrings;
  strings.strings = {"a", "", "c"};
  custom.attrs["strings"] = strings;
  Attribute tensor;
  tensor.kind = Attribute::Kind::kTensor;
  tensor.t = Pattern(DataType::kFloat16, {4}, 99);
  custom.attrs["t"] = tensor;
  g.nodes.push_back(custom);
  g.value_info["c"] = Value("c", DataType::kFloat32, {{-1, "batch"}, {3, ""}, {-1, ""}}, true);
  return g;
}

void ExpectSameValue(const ir::ValueInfo& a, const ir::ValueInfo& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.dtype, b.dtype) << a.name;
  EXPECT_EQ(a.has_shape, b.has_shape) << a.name;
  ASSERT_EQ(a.dims.size(), b.dims.size()) << a.name;
  for (size_t k = 0; k < a.dims.size(); ++k) {
    EXPECT_EQ(a.dims[k].value, b.dims[k].value) << a.name << " dim " << k;
    EXPECT_EQ(a.dims[k].param, b.dims[k].param) << a.name << " dim " << k;
  }
}

void ExpectSameTensor(const Tensor& a, const Tensor& b, const std::string& what) {
  EXPECT_EQ(a.dtype(), b.dtype()) << what;
  EXPECT_EQ(a.shape(), b.shape()) << what;
  ASSERT_EQ(a.nbytes(), b.nbytes()) << what;
  if (a.nbytes()) {
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << what;
  }
}

void ExpectSameAttr(const Attribute& a, const Attribute& b, const std::string& what) {
  ASSERT_EQ(a.kind, b.kind) << what;
  EXPECT_EQ(a.i, b.i) << what;
  EXPECT_EQ(std::memcmp(&a.f, &b.f, sizeof(float)), 0) << what;  // -0.0 and NaN bits too
  EXPECT_EQ(a.s, b.s) << what;
  EXPECT_EQ(a.ints, b.ints) << what;
  ASSERT_EQ(a.floats.size(), b.floats.size()) << what;
  for (size_t k = 0; k < a.floats.size(); ++k)
    EXPECT_EQ(std::memcmp(&a.floats[k], &b.floats[k], sizeof(float)), 0) << what;
  EXPECT_EQ(a.strings, b.strings) << what;
  if (a.kind == Attribute::Kind::kTensor) ExpectSameTensor(a.t, b.t, what);
}

// What the brief calls an equal ir::Graph: nodes, attributes, initializer bytes, opsets, inputs,
// outputs (and the name).
void ExpectSameGraph(const ir::Graph& a, const ir::Graph& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.opsets, b.opsets);
  ASSERT_EQ(a.inputs.size(), b.inputs.size());
  for (size_t k = 0; k < a.inputs.size(); ++k) ExpectSameValue(a.inputs[k], b.inputs[k]);
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (size_t k = 0; k < a.outputs.size(); ++k) ExpectSameValue(a.outputs[k], b.outputs[k]);
  ASSERT_EQ(a.initializers.size(), b.initializers.size());
  for (const auto& [name, t] : a.initializers) {
    ASSERT_TRUE(b.initializers.count(name)) << name;
    ExpectSameTensor(t, b.initializers.at(name), name);
  }
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t k = 0; k < a.nodes.size(); ++k) {
    const ir::Node &x = a.nodes[k], &y = b.nodes[k];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.op_type, y.op_type);
    EXPECT_EQ(x.domain, y.domain);
    EXPECT_EQ(x.inputs, y.inputs) << x.name;
    EXPECT_EQ(x.outputs, y.outputs) << x.name;
    ASSERT_EQ(x.attrs.size(), y.attrs.size()) << x.name;
    for (const auto& [key, attr] : x.attrs) {
      ASSERT_TRUE(y.attrs.count(key)) << x.name << "." << key;
      ExpectSameAttr(attr, y.attrs.at(key), x.name + "." + key);
    }
  }
}

Result<ir::Graph> ReadBack(const onnx::ModelProto& m) {
  ImportOptions io;
  io.infer_shapes = false;
  return LoadModelFromBytes(m.SerializeAsString(), "written model", ".", io);
}

TEST(OnnxWrite, KitchenSinkRoundTrips) {
  const ir::Graph g = KitchenSink();
  auto m = WriteModel(g);
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto back = ReadBack(*m);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ExpectSameGraph(g, *back);
  ASSERT_TRUE(back->value_info.count("c"));
  ExpectSameValue(g.value_info.at("c"), back->value_info.at("c"));
}

TEST(OnnxWrite, ProtobufFieldsAreOnnxs) {
  auto m = WriteModel(KitchenSink());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->ir_version(), 7);  // opset 13 came with ONNX 1.8, IR version 7
  EXPECT_EQ(m->producer_name(), "calib8");
  ASSERT_EQ(m->opset_import_size(), 2);
  const auto& gp = m->graph();
  // Initializers are not graph inputs (IR >= 4).
  ASSERT_EQ(gp.input_size(), 2);
  EXPECT_EQ(gp.input(0).name(), "x");
  const auto& shape = gp.input(0).type().tensor_type().shape();
  ASSERT_EQ(shape.dim_size(), 3);
  EXPECT_EQ(shape.dim(0).dim_param(), "batch");
  EXPECT_FALSE(shape.dim(0).has_dim_value());
  EXPECT_EQ(shape.dim(1).dim_value(), 3);
  EXPECT_FALSE(shape.dim(2).has_dim_value());
  EXPECT_FALSE(shape.dim(2).has_dim_param());
  EXPECT_FALSE(gp.input(1).type().tensor_type().has_shape());
  EXPECT_EQ(gp.input(1).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  // The float16 initializer: ONNX code 10, bytes (k * 37 + seed) & 0xff, little-endian as given.
  for (const auto& t : gp.initializer()) {
    if (t.name() != "init_float16") continue;
    EXPECT_EQ(t.data_type(), 10);
    ASSERT_EQ(t.raw_data().size(), 12u);
    for (size_t k = 0; k < 12; ++k)
      EXPECT_EQ(static_cast<unsigned char>(t.raw_data()[k]), (k * 37 + 9) & 0xff) << k;
  }
  const auto& clip = gp.node(0);
  ASSERT_EQ(clip.input_size(), 3);
  EXPECT_EQ(clip.input(1), "");
  const auto& custom = gp.node(1);
  EXPECT_EQ(custom.domain(), "com.example");
  for (const auto& a : custom.attribute()) {
    if (a.name() == "t") {
      EXPECT_EQ(a.type(), onnx::AttributeProto::TENSOR);
    } else if (a.name() == "no_ints") {
      EXPECT_EQ(a.type(), onnx::AttributeProto::INTS);
    } else if (a.name() == "strings") {
      EXPECT_EQ(a.type(), onnx::AttributeProto::STRINGS);
    }
  }
}

TEST(OnnxWrite, CheckerAcceptsWrittenModel) {
  WriteOptions o;
  o.metadata_props["calib8.test"] = "yes";
  o.doc_string = "written by onnx_write_test";
  // The checker wants a shape on every graph input and output: give `y` and `w` rank 0.
  ir::Graph g = KitchenSink();
  g.inputs[1].has_shape = g.outputs[1].has_shape = true;
  auto m = WriteModel(g, o);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_NO_THROW(onnx::checker::check_model(*m));
  // Without a shape (rank unknown, as imported) the input is written without one.
  auto unshaped = WriteModel(KitchenSink(), o);
  ASSERT_TRUE(unshaped.ok());
  EXPECT_THROW(onnx::checker::check_model(*unshaped), onnx::checker::ValidationError);
  ASSERT_EQ(m->metadata_props_size(), 1);
  EXPECT_EQ(m->metadata_props(0).value(), "yes");
}

TEST(OnnxWrite, IrVersionFollowsTheOpset) {
  ir::Graph g;
  const std::pair<int64_t, int64_t> kCases[] = {{7, 4},  {9, 4},  {10, 5}, {11, 6},
                                                {13, 7}, {15, 8}, {17, 8}, {19, 9}};
  for (auto [opset, ir] : kCases) {
    g.opsets = {{"", opset}};
    EXPECT_EQ(AutoIrVersion(g), ir) << "opset " << opset;
  }
  WriteOptions o;
  o.ir_version = 9;
  g.nodes.push_back(MakeNode("r", "Relu", "", {"a"}, {"b"}));
  auto m = WriteModel(g, o);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->ir_version(), 9);
}

TEST(OnnxWrite, RealModelRoundTripsAndPassesTheChecker) {
  const std::string path = SourceDir() + "/models/fashion_mnist_cnn.onnx";
  ImportOptions io;
  io.infer_shapes = false;
  auto g = LoadModel(path, io);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const std::string out = (fs::temp_directory_path() / "calib8_onnx_write_test.onnx").string();
  ASSERT_TRUE(SaveModel(*g, {}, out).ok());
  auto back = LoadModel(out, io);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ExpectSameGraph(*g, *back);
  EXPECT_NO_THROW(onnx::checker::check_model(out));
  fs::remove(out);
}

TEST(OnnxWrite, SubGraphIsRefusedNamingTheNode) {
  ir::Graph g = KitchenSink();
  Attribute body;
  body.kind = Attribute::Kind::kGraph;
  g.nodes[1].attrs["then_branch"] = body;
  auto m = WriteModel(g);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("'custom'"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("sub-graph"), std::string::npos) << m.status().message();
}

// A sub-graph onnx_import kept (its GraphProto bytes) is written back unchanged, so a model with
// If/Loop (which calib8 does not run) still exports.
TEST(OnnxWrite, SubGraphBytesAreWrittenBack) {
  onnx::GraphProto body;
  body.set_name("then");
  auto* id = body.add_node();
  id->set_op_type("Identity");
  id->add_input("x");
  id->add_output("t");
  ir::Graph g = KitchenSink();
  Attribute one;
  one.kind = Attribute::Kind::kGraph;
  one.s = body.SerializeAsString();
  Attribute list = one;
  list.i = 1;
  list.strings = {one.s, one.s};
  g.nodes[1].attrs["then_branch"] = one;
  g.nodes[1].attrs["bodies"] = list;
  auto m = WriteModel(g);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const onnx::NodeProto& n = m->graph().node(1);
  int seen = 0;
  for (const auto& a : n.attribute()) {
    if (a.name() == "then_branch") {
      EXPECT_EQ(a.type(), onnx::AttributeProto::GRAPH);
      EXPECT_EQ(a.g().SerializeAsString(), one.s);
      ++seen;
    } else if (a.name() == "bodies") {
      EXPECT_EQ(a.type(), onnx::AttributeProto::GRAPHS);
      ASSERT_EQ(a.graphs_size(), 2);
      EXPECT_EQ(a.graphs(1).node(0).op_type(), "Identity");
      ++seen;
    }
  }
  EXPECT_EQ(seen, 2);
}

// HardSwish is an ai.onnx operator from opset 14 on (ONNX's operator list): an opset-11 graph
// that holds one is not written (calib8's HardSwish fusion makes such graphs).
TEST(OnnxWrite, OperatorNewerThanTheOpsetIsRefused) {
  ir::Graph g;
  g.name = "hs";
  g.inputs.push_back(Value("a", DataType::kFloat32, {{2, ""}}, true));
  g.outputs.push_back(Value("b", DataType::kFloat32, {{2, ""}}, true));
  g.nodes.push_back(MakeNode("hs", "HardSwish", "", {"a"}, {"b"}));
  g.opsets = {{"", 11}};
  auto m = WriteModel(g);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("'hs' (HardSwish) is an ONNX operator from opset 14"),
            std::string::npos)
      << m.status().message();
  g.opsets = {{"", 14}};
  EXPECT_TRUE(WriteModel(g).ok());
}

TEST(OnnxWrite, ChannelsLastInitializerIsRefused) {
  ir::Graph g = KitchenSink();
  g.initializers["nhwc"] = Tensor(DataType::kFloat32, {1, 2, 2, 2}, Layout::kChannelsLast);
  auto m = WriteModel(g);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("'nhwc'"), std::string::npos) << m.status().message();
}

TEST(OnnxWrite, OverTwoGibibytesIsRefused) {
  ir::Graph g = KitchenSink();
  // Not touched: the writer refuses on the sizes before copying anything.
  g.initializers["huge"] = Tensor(DataType::kUint8, {int64_t{1} << 31});
  auto m = WriteModel(g);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("2 GiB"), std::string::npos) << m.status().message();
  const std::string out = (fs::temp_directory_path() / "calib8_onnx_write_huge.onnx").string();
  EXPECT_FALSE(SaveModel(g, {}, out).ok());
  EXPECT_FALSE(fs::exists(out));
}

TEST(OnnxWrite, BadPathIsRefused) {
  const std::string out = "/nonexistent-calib8-dir/sub/model.onnx";
  Status s = SaveModel(KitchenSink(), {}, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-calib8-dir"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace calib8::onnx_io
