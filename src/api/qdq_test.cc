// api/qdq_test.cc — calib8::ExportQdq / ImportQdq (calib8/qdq.h) on the bundled Fashion-MNIST
// model with a table written by hand: the imported scales are the hex bits written, the
// placement follows docs/qdq.md, and bad input fails naming it and writes nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "calib8/qdq.h"
#include "calib8/table.h"

namespace calib8 {
namespace {

namespace fs = std::filesystem;

std::string ModelPath() {
  const char* src = std::getenv("CALIB8_SOURCE_DIR");
  return std::string(src ? src : ".") + "/models/fashion_mnist_cnn.onnx";
}
std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() /
          ("calib8_qdq_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}
float Bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Every activation of the model (ONNX names) with a distinct scale, as TensorRT writes a cache.
const std::vector<std::pair<std::string, uint32_t>>& Scales() {
  static const std::vector<std::pair<std::string, uint32_t>> k = {
      {"image", 0x3c010204},  // 1/127
      {"/features/features.0/Conv_output_0", 0x3d000000},
      {"/features/features.2/Relu_output_0", 0x3cf00000},
      {"/features/features.3/MaxPool_output_0", 0x3cf00000},
      {"/features/features.4/Conv_output_0", 0x3d400000},
      {"/features/features.6/Relu_output_0", 0x3d200000},
      {"/features/features.7/MaxPool_output_0", 0x3d200000},
      {"/classifier/classifier.0/Flatten_output_0", 0x3d200000},
      {"/classifier/classifier.1/Gemm_output_0", 0x3d800000},
      {"/classifier/classifier.2/Relu_output_0", 0x3d600000},
      {"logits", 0x3e000000},
  };
  return k;
}

// Writes the cache with the first `n` entries of Scales().
std::string WriteCache(const std::string& name, size_t n) {
  const std::string path = TempPath(name);
  std::ofstream out(path);
  out << "TRT-8601-EntropyCalibration2\n";
  char hex[16];
  for (size_t i = 0; i < n && i < Scales().size(); ++i) {
    std::snprintf(hex, sizeof hex, "%08x", Scales()[i].second);
    out << Scales()[i].first << ": " << hex << "\n";
  }
  return path;
}

TEST(QdqApi, TensorRtExportImportsBackTheWrittenBits) {
  const std::string table = WriteCache("full.cache", Scales().size());
  const std::string q = TempPath("q.onnx"), back = TempPath("back.cache");
  QdqExportSummary e;
  ASSERT_TRUE(ExportQdq(ModelPath(), table, q, {}, &e).ok());
  EXPECT_EQ(e.table_entries, Scales().size());
  EXPECT_TRUE(e.table_note.empty());  // only --target ort u8 reads the sidecar
  EXPECT_GE(e.opset_after, 13);
  // TensorRT placement: pairs on the inputs of the weighted ops (both Convs, both Gemms) and of
  // the pools; one per-channel weight pair per weighted op; a full table covers all of them.
  EXPECT_TRUE(Has(e.activations, "image"));
  EXPECT_TRUE(Has(e.activations, "/features/features.3/MaxPool_output_0"));
  EXPECT_TRUE(Has(e.activations, "/classifier/classifier.2/Relu_output_0"));
  EXPECT_FALSE(Has(e.activations, "logits"));
  EXPECT_EQ(e.weights.size(), 4u);
  EXPECT_EQ(static_cast<int>(e.activations.size()), e.candidates);
  EXPECT_TRUE(e.uncovered.empty());
  EXPECT_TRUE(e.warnings.empty());

  QdqImportSummary i;
  ASSERT_TRUE(ImportQdq(q, back, {}, &i).ok());
  EXPECT_EQ(i.entries, e.activations.size());
  EXPECT_EQ(i.weights.size(), 4u);
  auto t = Table::Read(back);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->header(), "TRT-8601-EntropyCalibration2");  // kept in the model's metadata
  for (const std::string& name : e.activations) {
    auto want = std::find_if(Scales().begin(), Scales().end(),
                             [&](const auto& s) { return s.first == name; });
    ASSERT_NE(want, Scales().end()) << name;
    ASSERT_TRUE(t->Scale(name).has_value()) << name;
    EXPECT_EQ(*t->Scale(name), Bits(want->second)) << name;
  }
  for (const auto& p : {table, q, back}) fs::remove(p);
}

TEST(QdqApi, ImportWritesJsonAndThePlainModel) {
  const std::string table = WriteCache("j.cache", Scales().size());
  const std::string q = TempPath("jq.onnx"), json = TempPath("back.json");
  const std::string plain = TempPath("plain.onnx");
  ASSERT_TRUE(ExportQdq(ModelPath(), table, q, {}).ok());
  QdqImportOptions o;
  o.format = "json";
  o.model_out = plain;
  QdqImportSummary i;
  ASSERT_TRUE(ImportQdq(q, json, o, &i).ok());
  EXPECT_GT(i.activation_pairs, 0);
  EXPECT_EQ(i.weight_pairs, 4);
  auto t = Table::Read(json);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->format(), TableFormat::kCalib8Json);
  EXPECT_EQ(*t->Scale("image"), Bits(0x3c010204));
  // The plain model has no pair left: importing it finds nothing.
  EXPECT_FALSE(ImportQdq(plain, TempPath("none.cache"), {}).ok());
  for (const auto& p : {table, q, json, plain}) fs::remove(p);
}

TEST(QdqApi, OrtTargetRoundTripsWithCarriedScales) {
  const std::string table = WriteCache("o.cache", Scales().size());
  const std::string q = TempPath("qo.onnx"), back = TempPath("ob.cache");
  QdqExportOptions o;
  o.target = QdqTarget::kOrt;
  o.placement = QdqPlacement::kUnits;
  QdqExportSummary e;
  ASSERT_TRUE(ExportQdq(ModelPath(), table, q, o, &e).ok());
  // No sidecar next to the hand-written cache: the note says symmetric, and why.
  EXPECT_NE(e.table_note.find("symmetric s8"), std::string::npos) << e.table_note;
  EXPECT_EQ(e.biases.size(), 4u);  // one int32 bias per weighted op
  EXPECT_TRUE(Has(e.carried,
                  "/features/features.3/MaxPool_output_0 <- /features/features.2/Relu_output_0: "
                  "pooling keeps its input's scale"));
  EXPECT_GT(e.unsigned_pairs, 0);  // u8: the Relu outputs are never negative
  // uint8 pairs come back with the table's bits (calib8's export metadata).
  QdqImportSummary i;
  ASSERT_TRUE(ImportQdq(q, back, {}, &i).ok());
  auto t = Table::Read(back);
  ASSERT_TRUE(t.ok()) << t.status().message();
  for (const std::string& name : e.activations) {
    auto want = std::find_if(Scales().begin(), Scales().end(),
                             [&](const auto& s) { return s.first == name; });
    ASSERT_NE(want, Scales().end()) << name;
    ASSERT_TRUE(t->Scale(name).has_value()) << name;
    EXPECT_EQ(*t->Scale(name), Bits(want->second)) << name;
  }
  for (const auto& p : {table, q, back}) fs::remove(p);
}

TEST(QdqApi, PartialTableWarnsOrFailsWithStrict) {
  const std::string table = WriteCache("p.cache", 2);  // image and the first Conv's output
  const std::string q = TempPath("qp.onnx");
  QdqExportSummary e;
  ASSERT_TRUE(ExportQdq(ModelPath(), table, q, {}, &e).ok());
  EXPECT_FALSE(e.uncovered.empty());
  ASSERT_EQ(e.warnings.size(), 1u);
  EXPECT_NE(e.warnings[0].find("stay FP32 (--strict fails instead)"), std::string::npos);
  fs::remove(q);

  QdqExportOptions strict;
  strict.strict = true;
  Status s = ExportQdq(ModelPath(), table, q, strict, &e);
  EXPECT_FALSE(s.ok());
  EXPECT_GT(e.candidates, static_cast<int>(e.activations.size()));  // the coverage is kept
  EXPECT_FALSE(fs::exists(q));
  fs::remove(table);
}

TEST(QdqApi, BadInputFailsNamingItAndWritesNothing) {
  const std::string table = WriteCache("b.cache", Scales().size());
  const std::string q = TempPath("qb.onnx");
  Status s = ExportQdq(ModelPath(), TempPath("missing.cache"), q, {});
  EXPECT_NE(s.message().find("missing.cache"), std::string::npos) << s.message();
  QdqExportOptions units;
  units.placement = QdqPlacement::kUnits;  // with kTensorRt
  s = ExportQdq(ModelPath(), table, q, units);
  EXPECT_EQ(s.message(), "--placement applies to --target ort only");
  QdqExportOptions keep;
  keep.keep_fp32_file = TempPath("missing_keep.txt");
  EXPECT_FALSE(ExportQdq(ModelPath(), table, q, keep).ok());
  EXPECT_FALSE(fs::exists(q));

  QdqImportOptions ncnn;
  ncnn.format = "ncnn";
  s = ImportQdq(ModelPath(), TempPath("x.cache"), ncnn);
  EXPECT_EQ(s.message(), "--to ncnn: expected trt or json");
  s = ImportQdq(ModelPath(), TempPath("x.cache"), {});  // a model without Q/DQ
  EXPECT_EQ(s.message(),
            "model '" + ModelPath() + "': no QuantizeLinear node: expected a Q/DQ model");
  EXPECT_FALSE(fs::exists(TempPath("x.cache")));
  fs::remove(table);
}

}  // namespace
}  // namespace calib8
