// api/evaluate_test.cc — calib8/evaluate.h on the bundled Fashion-MNIST model and its eight test
// images: Compare's accuracy, agreement and output SQNR against values computed here from two
// public Sessions (FP32 and INT8) and the labels file; a plan that keeps every tensor FP32 gives
// identical outputs (+inf dB); IDX labels read like the text labels, a bad IDX file named with the
// byte counts worked out by hand; Sensitivity's plan file and WriteRangeChanges' scale (amax /
// 127).
#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "calib8/calib8.h"
#include "calib8/evaluate.h"
#include "calib8/files.h"

namespace calib8 {
namespace {

namespace fs = std::filesystem;

std::string SourceDir() {
  const char* src = std::getenv("CALIB8_SOURCE_DIR");
  return src ? src : ".";
}
std::string ModelPath() { return SourceDir() + "/models/fashion_mnist_cnn.onnx"; }
std::string ImagesPath() { return SourceDir() + "/models/fashion_mnist_test8.npy"; }
std::string LabelsPath() { return SourceDir() + "/models/fashion_mnist_test8.labels.txt"; }
std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() /
          ("calib8_evaluate_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::vector<int64_t> TextLabels() {
  std::ifstream in(LabelsPath());
  std::vector<int64_t> out;
  for (int64_t v; in >> v;) out.push_back(v);
  return out;
}

int64_t ArgMaxRow(const Tensor& t, int64_t row) {
  const int64_t c = t.shape()[1];
  const float* p = t.data<float>() + row * c;
  int64_t best = 0;
  for (int64_t i = 1; i < c; ++i)
    if (p[i] > p[best]) best = i;
  return best;
}

// The model and a table calibrated (minmax) on the eight images, made once.
class EvaluateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto m = Model::Load(ModelPath());
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_ = new Model(*m);
    table_ = new std::string(TempPath("t.cache"));
    CalibrateOptions o;
    o.data = {ImagesPath()};
    o.method = "minmax";
    auto r = Calibrate(*model_, o, *table_);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  static void TearDownTestSuite() {
    fs::remove(*table_);
    fs::remove(*table_ + ".calib8.json");
    delete model_;
    delete table_;
  }
  static CompareOptions Options() {
    CompareOptions o;
    o.data = {ImagesPath()};
    o.labels = LabelsPath();
    o.batch = 3;
    return o;
  }
  static Model* model_;
  static std::string* table_;
};
Model* EvaluateTest::model_ = nullptr;
std::string* EvaluateTest::table_ = nullptr;

TEST_F(EvaluateTest, CompareMatchesTwoSessionsAndTheLabels) {
  std::vector<std::string> notes;
  CompareOptions o = Options();
  o.on_int8_note = [&](const std::string& n) { notes.push_back(n); };
  auto r = Compare(*model_, *table_, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(notes.size(), 1u);

  // The same eight images through the public sessions; everything below is worked out here.
  auto x = LoadTensorFile(ImagesPath());
  ASSERT_TRUE(x.ok());
  const std::string in = model_->inputs()[0].name, out = model_->outputs()[0].name;
  auto fp32 = Session::Create(*model_);
  auto int8 = Session::CreateInt8(*model_, *table_);
  ASSERT_TRUE(fp32.ok() && int8.ok());
  EXPECT_EQ(notes[0], int8->int8_summary().table_note);
  auto ref = fp32->Run({{in, *x}});
  auto test = int8->Run({{in, *x}});
  ASSERT_TRUE(ref.ok() && test.ok());
  const Tensor& rt = ref->at(out);
  const Tensor& tt = test->at(out);
  const std::vector<int64_t> labels = TextLabels();
  ASSERT_EQ(labels.size(), 8u);
  int agree = 0, ref_ok = 0, test_ok = 0;
  for (int64_t i = 0; i < 8; ++i) {
    agree += ArgMaxRow(rt, i) == ArgMaxRow(tt, i);
    ref_ok += ArgMaxRow(rt, i) == labels[i];
    test_ok += ArgMaxRow(tt, i) == labels[i];
  }
  double sr = 0, se = 0;
  for (int64_t i = 0; i < rt.numel(); ++i) {
    double a = rt.data<float>()[i], b = tt.data<float>()[i];
    sr += a * a;
    se += (a - b) * (a - b);
  }

  EXPECT_EQ(r->samples, 8);
  ASSERT_EQ(r->outputs.size(), 1u);
  const ComparedOutput& o0 = r->outputs[0];
  EXPECT_EQ(o0.name, out);
  EXPECT_TRUE(o0.classifier);
  EXPECT_FALSE(o0.per_position);
  EXPECT_EQ(o0.rows, 8);
  EXPECT_EQ(o0.agree, agree);
  EXPECT_DOUBLE_EQ(o0.top1_agreement, agree / 8.0);
  EXPECT_EQ(o0.labelled, 8);
  EXPECT_DOUBLE_EQ(o0.fp32_accuracy, ref_ok / 8.0);
  EXPECT_DOUBLE_EQ(o0.int8_accuracy, test_ok / 8.0);
  // The compare run's FP32 session is unfused, the public one fused: the sums agree to rounding.
  EXPECT_NEAR(o0.metrics.sqnr_db, 10 * std::log10(sr / se), 0.05);
  EXPECT_EQ(o0.metrics.count, rt.numel());
  EXPECT_EQ(r->int8_nodes, int8->int8_summary().int8_nodes);
  EXPECT_TRUE(r->uncovered.empty()) << r->uncovered;
  // Tensors worst first, 8-bit ones among them; the texts are the CLI's.
  ASSERT_GE(r->tensors.size(), 8u);
  for (size_t i = 1; i < r->tensors.size(); ++i)
    EXPECT_LE(r->tensors[i - 1].metrics.sqnr_db, r->tensors[i].metrics.sqnr_db);
  bool eight_bit = false;
  for (const auto& t : r->tensors) eight_bit |= t.held == "u8" || t.held == "s8";
  EXPECT_TRUE(eight_bit);
  EXPECT_NE(r->text.find("worst SQNR first"), std::string::npos) << r->text;
  EXPECT_EQ(r->json.front(), '{');
  EXPECT_TRUE(r->html_report.empty());
}

TEST_F(EvaluateTest, KeepingEveryTensorFp32GivesIdenticalOutputs) {
  // Every tensor the table names, kept FP32: nothing runs in 8 bits.
  auto t = Table::Read(*table_);
  ASSERT_TRUE(t.ok());
  const std::string keep = TempPath("keep_all.txt");
  std::string lines;
  for (const auto& e : t->entries()) lines += e.name + "\n";
  ASSERT_TRUE(WriteFileAtomic(keep, lines).ok());
  CompareOptions o = Options();
  o.int8.keep_fp32_file = keep;
  auto r = Compare(*model_, *table_, o);
  fs::remove(keep);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->int8_nodes, 0);
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_TRUE(std::isinf(r->outputs[0].metrics.sqnr_db) && r->outputs[0].metrics.sqnr_db > 0);
  EXPECT_EQ(r->outputs[0].agree, 8);
  EXPECT_EQ(r->outputs[0].fp32_accuracy, r->outputs[0].int8_accuracy);
  for (const auto& x : r->tensors) EXPECT_EQ(x.held, "f32") << x.name;
}

TEST_F(EvaluateTest, IdxLabelsReadAsTheTextLabels) {
  // The eight labels as an IDX file (magic 00 00 08 01, count 8 big-endian, one byte each).
  std::string idx("\x00\x00\x08\x01\x00\x00\x00\x08", 8);
  for (int64_t v : TextLabels()) idx += static_cast<char>(v);
  const std::string path = TempPath("labels.idx");
  ASSERT_TRUE(WriteFileAtomic(path, idx).ok());
  CompareOptions o = Options();
  o.labels = "idx:" + path;
  auto from_idx = Compare(*model_, *table_, o);
  auto from_text = Compare(*model_, *table_, Options());
  ASSERT_TRUE(from_idx.ok() && from_text.ok()) << from_idx.status().message();
  EXPECT_EQ(from_idx->json, from_text->json);

  // Header says 5 labels: 8 + 5 = 13 bytes needed, the file has 8 + 3 = 11.
  ASSERT_TRUE(
      WriteFileAtomic(path, std::string("\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02\x03", 11)).ok());
  auto bad = Compare(*model_, *table_, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--labels: IDX file '" + path + "' is truncated: 5 labels need 13 bytes, it has 11");
  fs::remove(path);
  o.labels = "idx:" + path;
  auto missing = Compare(*model_, *table_, o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "--labels: cannot open IDX file '" + path + "'");
}

TEST_F(EvaluateTest, BadInputIsRefusedBeforeAnyRun) {
  const std::string other = TempPath("other.cache");
  ASSERT_TRUE(
      WriteFileAtomic(other, "TRT-8601-EntropyCalibration2\nconv_a: 3c010204\nrelu_b: 3c010204\n")
          .ok());
  auto r = Compare(*model_, other, Options());
  fs::remove(other);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("another model"), std::string::npos) << r.status().message();
  CompareOptions o = Options();
  o.report_stats = "x.stats";
  EXPECT_FALSE(Compare(*model_, *table_, o).ok());
}

TEST_F(EvaluateTest, SensitivityPlanAndRangeWriteBack) {
  SensitivityOptions o;
  EXPECT_EQ(o.max_samples, 200);
  o.data = {ImagesPath()};
  o.max_drop = 100;  // any plan meets it: nothing is kept FP32
  o.int8.symmetric = true;
  auto r = Sensitivity(*model_, *table_, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->met);
  EXPECT_TRUE(r->keep.empty());
  EXPECT_EQ(r->samples, 8);
  EXPECT_EQ(r->metric, "top-1 agreement %");
  EXPECT_DOUBLE_EQ(r->fp32_score, 100);
  EXPECT_FALSE(r->layers.empty());
  for (const auto& l : r->layers) EXPECT_DOUBLE_EQ(l.harm, r->fp32_score - l.alone) << l.node;
  EXPECT_NE(r->plan_file.find("model " + ModelPath() + ", table " + *table_ + ", 8 samples"),
            std::string::npos)
      << r->plan_file;
  EXPECT_NE(r->text.find("evaluations: " + std::to_string(r->evaluations)), std::string::npos);

  // A symmetric range change: the written table's scale is the new amax / 127.
  auto t = Table::Read(*table_);
  ASSERT_TRUE(t.ok() && !t->entries().empty());
  const std::string name = t->entries().back().name;
  RangeChange c;
  c.tensor = name;
  c.lo = -2.54;
  c.hi = 2.54;
  const std::string out = TempPath("t2.cache");
  ASSERT_TRUE(WriteRangeChanges(*table_, {c}, out).ok());
  auto t2 = Table::Read(out);
  ASSERT_TRUE(t2.ok()) << t2.status().message();
  bool found = false;
  for (const auto& e : t2->entries()) {
    if (e.name != name) continue;
    found = true;
    EXPECT_FLOAT_EQ(e.scale(), 2.54f / 127);
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(fs::exists(out + ".calib8.json"));
  fs::remove(out);
  fs::remove(out + ".calib8.json");
}

}  // namespace
}  // namespace calib8
