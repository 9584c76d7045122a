// api/run_test.cc — the public run/info API of calib8/model.h (`calib8 run`, `info`, --plugin):
// ShapeText and SanitizeFileName against hand-written values; Describe, load options, the INT8
// summary (warnings, plan text, the table note on failure), profiling and DumpTensors on the
// bundled Fashion-MNIST model and its golden TensorRT cache (tests/cli/golden); calibrate.h's
// steps (reuse, shards, merge, from-stats) with the input's scale computed by hand.
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "calib8/calib8.h"

namespace calib8 {
namespace {

namespace fs = std::filesystem;

std::string Src(const std::string& rel) {
  const char* src = std::getenv("CALIB8_SOURCE_DIR");
  return std::string(src ? src : ".") + "/" + rel;
}
const std::string kModel = "models/fashion_mnist_cnn.onnx";
const std::string kInputs = "models/fashion_mnist_test8.npy";
const std::string kGolden = "tests/cli/golden/fashion_mnist_cnn.train96.entropy2.cache";

std::string TempDir(const std::string& name) {
  fs::path p =
      fs::temp_directory_path() / ("calib8_run_test_" + std::to_string(::getpid()) + "_" + name);
  fs::create_directories(p);
  return p.string();
}

TEST(RunApi, ShapeTextByHand) {
  TensorInfo t;
  t.shape = {-1, 3, 224, -1};
  t.dim_names = {"N", "", "", ""};
  EXPECT_EQ(ShapeText(t), "[N,3,224,?]");
  t.shape = {};
  t.dim_names = {};
  EXPECT_EQ(ShapeText(t), "[]");
  t.rank_known = false;
  EXPECT_EQ(ShapeText(t), "[unknown rank]");
}

TEST(RunApi, SanitizeFileName) {
  EXPECT_EQ(SanitizeFileName("conv1/out:0"), "conv1_out_0");
  EXPECT_EQ(SanitizeFileName("a-b.c_D9"), "a-b.c_D9");
}

TEST(RunApi, DescribeTheBundledModel) {
  LoadReport report;
  auto m = Model::Load(Src(kModel), LoadOptions{}, &report);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ModelDescription d = m->Describe();
  ASSERT_EQ(d.inputs.size(), 1u);
  EXPECT_EQ(d.inputs[0].name, "image");
  EXPECT_EQ(d.inputs[0].type, DataType::kFloat32);
  ASSERT_EQ(d.outputs.size(), 1u);
  EXPECT_EQ(d.outputs[0].name, "logits");
  // Two convolutions and two Gemms: the layers named in the golden cache.
  int convs = 0, gemms = 0, total = 0;
  for (const auto& [op, n] : d.op_counts) {
    total += n;
    if (op == "Conv") convs = n;
    if (op == "Gemm") gemms = n;
  }
  EXPECT_EQ(convs, 2);
  EXPECT_EQ(gemms, 2);
  EXPECT_EQ(static_cast<size_t>(total), d.num_nodes);
  EXPECT_TRUE(d.unsupported_ops.empty());
  EXPECT_TRUE(d.ways_on.empty());
  auto relu = m->FindTensor("/features/features.2/Relu_output_0");
  ASSERT_TRUE(relu.has_value());
  EXPECT_EQ(relu->type, DataType::kFloat32);
  EXPECT_FALSE(m->FindTensor("no such tensor").has_value());
  EXPECT_FALSE(m->IsInitializer("image"));

  LoadReport raw_report;
  auto raw = Model::Load(Src(kModel), LoadOptions{false}, &raw_report);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(
      raw_report.constants_folded + raw_report.batchnorms_folded + raw_report.dead_nodes_removed,
      0);
  EXPECT_GE(raw->Describe().num_nodes, d.num_nodes);
}

TEST(RunApi, Int8SummaryWarningsAndPlan) {
  auto m = Model::Load(Src(kModel));
  ASSERT_TRUE(m.ok());
  Int8Summary sum;
  auto s = Session::CreateInt8(*m, Src(kGolden), {}, {}, &sum);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(sum.asymmetric);  // a bare cache: symmetric s8
  EXPECT_GT(sum.int8_nodes, 0);
  EXPECT_EQ(sum.int8_nodes, s->int8_summary().int8_nodes);
  EXPECT_NE(sum.plan_text.find("Conv"), std::string::npos);
  for (const auto& w : sum.warnings) EXPECT_EQ(w.find("does not cover"), std::string::npos) << w;

  // The header, the input and the first convolution's output only: the rest of the model is
  // not covered (tests/cli/int8_cli_test.sh cuts the table the same way).
  const std::string dir = TempDir("partial");
  const std::string partial = dir + "/partial.cache";
  {
    std::ifstream in(Src(kGolden));
    std::ofstream out(partial);
    std::string line;
    for (int i = 0; i < 3 && std::getline(in, line); ++i) out << line << "\n";
  }
  Int8Summary psum;
  auto p = Session::CreateInt8(*m, partial, {}, {}, &psum);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_FALSE(psum.warnings.empty());
  EXPECT_EQ(psum.warnings[0].rfind("table '" + partial + "' does not cover the model: ", 0), 0u)
      << psum.warnings[0];
  EXPECT_NE(psum.warnings[0].find("; those nodes run FP32 (--strict refuses)"), std::string::npos);
  EXPECT_LT(psum.int8_nodes, sum.int8_nodes);
  Int8Options strict;
  strict.strict = true;
  EXPECT_FALSE(Session::CreateInt8(*m, partial, strict).ok());

  // A missing --keep-fp32 file fails after the table was read: the note is there.
  Int8Options keep;
  keep.keep_fp32_file = dir + "/no-such-keep.txt";
  Int8Summary ksum;
  auto k = Session::CreateInt8(*m, Src(kGolden), keep, {}, &ksum);
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("no-such-keep.txt"), std::string::npos);
  EXPECT_FALSE(ksum.table_note.empty());
  fs::remove_all(dir);
}

TEST(RunApi, ProfileAndDumpMatchTheRun) {
  auto m = Model::Load(Src(kModel));
  ASSERT_TRUE(m.ok());
  auto x = LoadTensorFile(Src(kInputs));
  ASSERT_TRUE(x.ok());
  SessionOptions so;
  so.profile = true;
  so.threads = 1;
  auto s = Session::Create(*m, so);
  ASSERT_TRUE(s.ok());
  auto out = s->Run({{"image", *x}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(s->profiled_runs(), 1);
  EXPECT_EQ(s->num_threads(), 1);
  auto times = s->NodeTimes();
  ASSERT_FALSE(times.empty());
  for (const auto& t : times) EXPECT_GE(t.ms, 0.0) << t.name;
  s->EnableProfile();
  EXPECT_EQ(s->profiled_runs(), 0);

  const std::string dir = TempDir("dump");
  DumpOptions d;
  d.data = {Src(kInputs)};
  d.batch = 3;  // 8 samples: batches of 3, 3, 2
  d.tensors = {"logits"};
  d.dir = dir + "/d";
  auto dumped = DumpTensors(*m, d);
  ASSERT_TRUE(dumped.ok()) << dumped.status().message();
  ASSERT_EQ(dumped->size(), 1u);
  EXPECT_EQ((*dumped)[0].path, d.dir + "/logits.npy");
  EXPECT_EQ((*dumped)[0].shape, (Shape{8, 10}));
  auto rec = LoadTensorFile((*dumped)[0].path);
  ASSERT_TRUE(rec.ok());
  const Tensor& want = out->at("logits");
  ASSERT_EQ(rec->numel(), want.numel());
  for (int64_t i = 0; i < want.numel(); ++i)
    EXPECT_NEAR(rec->data<float>()[i], want.data<float>()[i], 1e-4f) << i;
  d.tensors = {"no such tensor"};
  EXPECT_FALSE(DumpTensors(*m, d).ok());
  fs::remove_all(dir);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The first 96 training images, minmax, no range or scale search: every setting fixed.
CalibrateOptions Minmax96() {
  CalibrateOptions o;
  o.data = {"idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"};
  o.max_samples = 96;
  o.method = "minmax";
  o.params["asym_search"] = "0";
  o.params["sym_search"] = "0";
  o.threads = 1;
  return o;
}

TEST(CalibrateApi, StepsReuseAndTheInputScaleByHand) {
  auto m = Model::Load(Src(kModel));
  ASSERT_TRUE(m.ok());
  const std::string dir = TempDir("calibrate");
  const std::string table = dir + "/t.cache";
  CalibrationSummary s;
  Status st = Calibrate(*m, Minmax96(), table, &s);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(s.table_written);
  EXPECT_FALSE(s.reused);
  EXPECT_FALSE(s.existed);
  EXPECT_EQ(s.sidecar_path, table + ".calib8.json");
  EXPECT_EQ(s.samples, 96);
  EXPECT_EQ(s.method, "minmax");
  ASSERT_EQ(s.ranges.size(), 11u);  // the 11 entries of tests/cli/golden's caches
  // The input's pixels are byte/255 and the first 96 images reach 255: amax 1, scale 1/127,
  // whose float32 bits are 0x3c010204 (2^-7 x 1.0078740...).
  EXPECT_EQ(s.ranges[0].name, "image");
  EXPECT_EQ(s.ranges[0].amax, 1.0);
  EXPECT_EQ(s.ranges[0].observed_absmax, 1.0);
  std::istringstream lines(ReadText(table));
  std::string header, first;
  std::getline(lines, header);
  std::getline(lines, first);
  EXPECT_EQ(header, "TRT-8601-MinMaxCalibration");
  EXPECT_EQ(first, "image: 3c010204");
  for (const auto& r : s.ranges) EXPECT_LE(r.amax, r.observed_absmax) << r.name;  // minmax

  CalibrationSummary again;
  ASSERT_TRUE(Calibrate(*m, Minmax96(), table, &again).ok());
  EXPECT_TRUE(again.reused);
  EXPECT_EQ(again.tensors, 11u);
  EXPECT_EQ(again.samples, 96);
  CalibrateOptions other = Minmax96();
  other.method = "entropy2";
  CalibrationSummary changed;
  ASSERT_TRUE(Calibrate(*m, other, table, &changed).ok());
  EXPECT_TRUE(changed.existed && changed.sidecar_read && !changed.reused);
  EXPECT_NE(changed.note.find("method"), std::string::npos) << changed.note;

  // A missing statistics file: named, without a model context, nothing written.
  CalibrateOptions missing = Minmax96();
  missing.from_stats = dir + "/no-such.json";
  CalibrationSummary f;
  st = Calibrate(*m, missing, dir + "/f.cache", &f);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("statistics file '" + missing.from_stats + "'", 0), 0u)
      << st.message();
  EXPECT_FALSE(f.table_written);
  EXPECT_FALSE(fs::exists(dir + "/f.cache"));
  fs::remove_all(dir);
}

TEST(CalibrateApi, ShardsMergeAndFromStatsGiveTheSameTable) {
  auto m = Model::Load(Src(kModel));
  ASSERT_TRUE(m.ok());
  const std::string dir = TempDir("shards");
  CalibrateOptions whole = Minmax96();
  whole.save_stats = dir + "/whole.json";
  CalibrationSummary w;
  ASSERT_TRUE(Calibrate(*m, whole, dir + "/whole.cache", &w).ok());
  EXPECT_EQ(w.stats_path, whole.save_stats);

  std::vector<std::string> parts;
  for (int i = 0; i < 2; ++i) {
    CalibrateOptions o = Minmax96();
    o.shard_index = i;
    o.shard_count = 2;
    o.range_only = true;
    o.save_stats = dir + "/r" + std::to_string(i) + ".json";
    CalibrationSummary s;
    Status st = Calibrate(*m, o, dir + "/unused.cache", &s);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_FALSE(s.table_written);
    // 96 batches of one sample in two contiguous blocks: [0, 48) and [48, 96).
    EXPECT_EQ(s.shard_first, 48 * i);
    EXPECT_EQ(s.shard_end, 48 * (i + 1));
    parts.push_back(o.save_stats);
  }
  EXPECT_FALSE(fs::exists(dir + "/unused.cache"));
  auto merged = MergeStats(parts, dir + "/ranges.json");
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  EXPECT_TRUE(merged->sharded);
  EXPECT_TRUE(merged->complete);
  EXPECT_EQ(merged->tensors, 11u);
  auto half = MergeStats({parts[0]}, dir + "/half.json");
  ASSERT_TRUE(half.ok());
  EXPECT_FALSE(half->complete);
  EXPECT_FALSE(MergeStats({dir + "/no-such.json"}, dir + "/x.json").ok());

  // The table computed from the saved statistics is the table computed from the data.
  CalibrateOptions from;
  from.method = "minmax";
  from.from_stats = whole.save_stats;
  CalibrationSummary fs_sum;
  ASSERT_TRUE(Calibrate(*m, from, dir + "/from.cache", &fs_sum).ok());
  EXPECT_EQ(ReadText(dir + "/from.cache"), ReadText(dir + "/whole.cache"));
  fs::remove_all(dir);
}

TEST(CalibrateApi, TrtCalibratorNames) {
  auto names = TrtCalibrators();
  EXPECT_NE(std::find(names.begin(), names.end(), "EntropyCalibration2"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "MinMaxCalibration"), names.end());
  EXPECT_TRUE(CheckTrtCalibrator("MinMaxCalibration").ok());
  Status bad = CheckTrtCalibrator("Nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("EntropyCalibration2"), std::string::npos);
}

TEST(RunApi, PluginErrorsNameTheFile) {
  auto r = LoadPlugin("/nonexistent/libnope.so");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/libnope.so"), std::string::npos);
}

}  // namespace
}  // namespace calib8
