// table/sidecar_test.cc — sidecar JSON round trip, the reuse decision with its reasons, and the
// model/data fingerprints (stable across irrelevant changes, sensitive to relevant ones).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "table/calibration_table.h"
#include "table/fingerprint.h"
#include "table/sidecar.h"

namespace calib8::table {
namespace {

Sidecar Example() {
  Sidecar s;
  s.calib8_version = "0.1.0";
  s.table_file = "model.cache";
  s.table_fingerprint = BytesFingerprint("TRT-8601-EntropyCalibration2\nx: 3c010a14\n");
  s.method = {"percentile", {{"percentile", "99.99"}, {"num_bins", "2048"}}};
  s.model_file = "model.onnx";
  s.model_fingerprint = "xxh3-64:0000000000000001";
  s.data = {"xxh3-64:00000000000000aa", 512, "resize 224, mean/std imagenet", "val/"};
  TensorStatistics t;
  t.name = "x";
  t.min = -0.9;
  t.max = 1.0002441;
  t.absmax = 1.0002441;
  t.amax = 1.0002441f;
  t.sample_count = 1000;
  t.histogram = {1, 2, 3};
  t.histogram_range = 1.5;
  s.tensors.push_back(t);
  s.weights.push_back({"conv.w", 0, {0.5f, 0.25f, 1e-40f}});
  return s;
}

TEST(SidecarJson, RoundTripsExactly) {
  Sidecar s = Example();
  std::string text = SerializeSidecar(s);
  auto back = ParseSidecar(text, "s.json");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(SerializeSidecar(*back), text);
  EXPECT_EQ(back->method, s.method);
  EXPECT_EQ(back->tensors[0].amax, 1.0002441f);
  EXPECT_EQ(back->tensors[0].min, -0.9);
  EXPECT_EQ(back->weights[0].scales[2], 1e-40f);  // a denormal survives
  EXPECT_EQ(SidecarPathFor("a/b.cache"), "a/b.cache.calib8.json");
}

TEST(SidecarJson, RejectsOtherFiles) {
  EXPECT_FALSE(ParseSidecar("{\"format\": \"x\"}", "s.json").ok());
  EXPECT_FALSE(ParseSidecar("not json", "s.json").ok());
  auto r = ParseSidecar("{\"format\": \"calib8.sidecar\", \"format_version\": 9}", "s.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("format_version 9"), std::string::npos);
}

TEST(SidecarJson, IntegerFieldsRefuseFloats) {
  const std::string good = SerializeSidecar(Example());
  for (const char* bad_value : {"1e55", "2.5"}) {
    auto j = nlohmann::json::parse(good);
    j["tensors"][0]["sample_count"] = nlohmann::json::parse(bad_value);
    auto r = ParseSidecar(j.dump(), "s.json");
    ASSERT_FALSE(r.ok()) << bad_value;
    EXPECT_NE(r.status().message().find("sample_count"), std::string::npos) << r.status().message();
  }
}

TEST(SidecarReuse, SaysWhyNot) {
  Sidecar s = Example();
  ReuseQuery q;
  q.model_fingerprint = s.model_fingerprint;
  q.data_fingerprint = s.data.fingerprint;
  q.method = &s.method;
  EXPECT_TRUE(DecideReuse(s, q).reusable);

  q.model_fingerprint = "xxh3-64:0000000000000002";
  auto d = DecideReuse(s, q);
  EXPECT_FALSE(d.reusable);
  EXPECT_NE(d.Reason().find("model changed"), std::string::npos);
  EXPECT_NE(d.Reason().find("0000000000000001"), std::string::npos);

  q.model_fingerprint = s.model_fingerprint;
  MethodSpec other = s.method;
  other.parameters["percentile"] = "99.9";
  q.method = &other;
  d = DecideReuse(s, q);
  EXPECT_FALSE(d.reusable);
  EXPECT_NE(d.Reason().find("percentile=99.9"), std::string::npos);

  q.method = nullptr;
  q.data_fingerprint = "xxh3-64:00000000000000bb";
  EXPECT_NE(DecideReuse(s, q).Reason().find("calibration data changed"), std::string::npos);

  Sidecar bare;
  ReuseQuery qm;
  qm.model_fingerprint = "xxh3-64:0000000000000002";
  EXPECT_FALSE(DecideReuse(bare, qm).reusable);  // nothing recorded: cannot be checked
}

ir::Graph SmallGraph() {
  ir::Graph g;
  g.name = "g";
  g.opsets[""] = 13;
  ir::ValueInfo x;
  x.name = "x";
  x.dtype = DataType::kFloat32;
  x.has_shape = true;
  x.dims = {{1, ""}, {4, ""}};
  g.inputs.push_back(x);
  ir::ValueInfo z = x;
  z.name = "z";
  g.outputs.push_back(z);
  ir::Node mul;
  mul.name = "mul";
  mul.op_type = "Mul";
  mul.inputs = {"x", "w"};
  mul.outputs = {"y"};
  ir::Node relu;
  relu.name = "relu";
  relu.op_type = "LeakyRelu";
  relu.inputs = {"y"};
  relu.outputs = {"z"};
  ir::Attribute alpha;
  alpha.kind = ir::Attribute::Kind::kFloat;
  alpha.f = 0.1f;
  relu.attrs["alpha"] = alpha;
  g.nodes = {mul, relu};
  g.initializers["w"] = Tensor::FromVector<float>({4}, {1, 2, 3, 4});
  return g;
}

// Two parts that share the cut tensor "c" with the same bits, and disagree on "d": the merged
// sidecar takes each tensor's record from the part whose entry the merged table kept.
TEST(SidecarMerge, RecordsFollowTheMergedEntries) {
  auto entry = [](const std::string& name, float scale) {
    TableEntry e;
    e.name = name;
    e.scale_bits = {FloatToBits(scale)};
    return e;
  };
  auto stats = [](const std::string& name, float amax, float lo) {
    TensorStatistics t;
    t.name = name;
    t.amax = amax;
    t.has_range = true;
    t.lo = lo;
    t.hi = amax;
    return t;
  };
  CalibrationTable a, b;
  a.Put(entry("x", 1.0f / 127));
  a.Put(entry("c", 2.0f / 127));
  a.Put(entry("d", 3.0f / 127));
  b.Put(entry("c", 2.0f / 127));
  b.Put(entry("d", 4.0f / 127));
  b.Put(entry("y", 5.0f / 127));
  SidecarPart pa{"a", &a, {}}, pb{"b", &b, {}};
  pa.sidecar.method.name = "entropy2-floored";
  pb.sidecar.method.name = "percentile";
  pa.sidecar.tensors = {stats("x", 1, -1), stats("c", 2, -0.5f), stats("d", 3, -0.25f)};
  pb.sidecar.tensors = {stats("c", 2, -0.5f), stats("d", 4, -0.125f), stats("y", 5, 0)};
  pb.sidecar.weights = {{"w", 0, {0.5f}}};
  CalibrationTable merged = a;  // --on-conflict last: d from b
  merged.Put(entry("d", 4.0f / 127));
  merged.Put(entry("y", 5.0f / 127));
  Sidecar m = MergeSidecars({pa, pb}, merged);
  ASSERT_EQ(m.tensors.size(), 4u);
  EXPECT_EQ(m.tensors[0].name, "x");
  EXPECT_EQ(m.tensors[1].name, "c");
  EXPECT_EQ(m.tensors[2].name, "d");
  EXPECT_EQ(m.tensors[2].amax, 4.0f);
  EXPECT_EQ(m.tensors[2].lo, -0.125f);
  EXPECT_EQ(m.tensors[3].name, "y");
  EXPECT_EQ(m.method.name, "merged");
  EXPECT_EQ(m.method.parameters.at("part2"), "percentile");
  EXPECT_TRUE(m.data.fingerprint.empty());
  ASSERT_EQ(m.weights.size(), 1u);
}

TEST(FingerprintModel, StableAcrossIrrelevantChanges) {
  ir::Graph a = SmallGraph();
  std::string fp = ModelFingerprint(a);
  EXPECT_EQ(fp.rfind("xxh3-64:", 0), 0u);
  EXPECT_EQ(fp.size(), 8u + 16u);
  ir::Graph b = SmallGraph();
  b.name = "renamed";
  b.nodes[0].name = "other";
  b.source = "model 'elsewhere.onnx'";
  EXPECT_EQ(ModelFingerprint(b), fp);
}

TEST(FingerprintModel, ChangesWithWeightsAttributesAndNames) {
  std::string fp = ModelFingerprint(SmallGraph());
  ir::Graph w = SmallGraph();
  w.initializers["w"] = Tensor::FromVector<float>({4}, {1, 2, 3, 4.0001f});
  EXPECT_NE(ModelFingerprint(w), fp);
  ir::Graph a = SmallGraph();
  a.nodes[1].attrs["alpha"].f = 0.2f;
  EXPECT_NE(ModelFingerprint(a), fp);
  ir::Graph n = SmallGraph();
  n.nodes[0].outputs = {"y2"};
  n.nodes[1].inputs = {"y2"};
  EXPECT_NE(ModelFingerprint(n), fp);
  ir::Graph s = SmallGraph();
  s.inputs[0].dims[0].value = 8;
  EXPECT_NE(ModelFingerprint(s), fp);
}

TEST(FingerprintData, OrderBytesAndPreprocessingMatter) {
  auto digest = [](std::vector<std::pair<std::string, std::string>> samples, std::string pre) {
    DataFingerprintBuilder b;
    for (auto& [n, bytes] : samples) b.AddSample(n, bytes);
    b.SetPreprocessing(pre);
    return b.Digest();
  };
  std::string base = digest({{"a.npy", "123"}, {"b.npy", "456"}}, "mean 0.5");
  EXPECT_EQ(digest({{"a.npy", "123"}, {"b.npy", "456"}}, "mean 0.5"), base);
  EXPECT_NE(digest({{"b.npy", "456"}, {"a.npy", "123"}}, "mean 0.5"), base);
  EXPECT_NE(digest({{"a.npy", "124"}, {"b.npy", "456"}}, "mean 0.5"), base);
  EXPECT_NE(digest({{"a.npy", "123"}, {"b.npy", "456"}}, "mean 0.485"), base);
  EXPECT_NE(digest({{"a.npy", "12"}, {"3b.npy", "456"}}, "mean 0.5"), base);  // length-prefixed
}

}  // namespace
}  // namespace calib8::table
