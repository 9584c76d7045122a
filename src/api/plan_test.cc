// api/plan_test.cc — calib8::PlanInt8, PlanText/PlanJson and DetectCpuInt8Features
// (calib8/plan.h): the bundled Fashion-MNIST model with a table written by hand (coverage 5/5 and
// the keep-fp32 reason as tests/cli/int8_cli_test.sh expects them), a partial table, failures
// that keep the table note, and the CPU flags against /proc/cpuinfo read here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "calib8/model.h"
#include "calib8/plan.h"

namespace calib8 {
namespace {

namespace fs = std::filesystem;

std::string ModelPath() {
  const char* src = std::getenv("CALIB8_SOURCE_DIR");
  return std::string(src ? src : ".") + "/models/fashion_mnist_cnn.onnx";
}
std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() /
          ("calib8_plan_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}
std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = TempPath(name);
  std::ofstream(path) << text;
  return path;
}

// Every activation of the model, no sidecar (symmetric s8).
const char kTable[] =
    "TRT-8601-EntropyCalibration2\n"
    "image: 3c010204\n"
    "/features/features.0/Conv_output_0: 3d000000\n"
    "/features/features.2/Relu_output_0: 3cf00000\n"
    "/features/features.3/MaxPool_output_0: 3cf00000\n"
    "/features/features.4/Conv_output_0: 3d400000\n"
    "/features/features.6/Relu_output_0: 3d200000\n"
    "/features/features.7/MaxPool_output_0: 3d200000\n"
    "/classifier/classifier.0/Flatten_output_0: 3d200000\n"
    "/classifier/classifier.1/Gemm_output_0: 3d800000\n"
    "/classifier/classifier.2/Relu_output_0: 3d600000\n"
    "logits: 3e000000\n";

class PlanApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::Load(ModelPath());
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_ = std::make_unique<Model>(*m);
    table_ = WriteFile("t.cache", kTable);
  }
  void TearDown() override { fs::remove(table_); }
  std::unique_ptr<Model> model_;
  std::string table_;
};

TEST_F(PlanApi, FullTableCoversTheModel) {
  Int8PlanInfo p;
  ASSERT_TRUE(PlanInt8(*model_, table_, {}, &p).ok());
  EXPECT_FALSE(p.asymmetric);
  EXPECT_NE(p.table_note.find("no sidecar"), std::string::npos) << p.table_note;
  EXPECT_EQ(p.needed, 5);
  EXPECT_EQ(p.found, 5);
  EXPECT_TRUE(p.missing.empty() && p.zero.empty() && p.warnings.empty());
  EXPECT_EQ(static_cast<int>(p.nodes.size()), p.int8_nodes + p.fp32_nodes);
  int convs = 0;
  for (const auto& n : p.nodes)
    if (n.op == "Conv+Relu" && n.int8) ++convs;
  EXPECT_EQ(convs, 2);
  const std::string text = PlanText(p);
  EXPECT_NE(text.find("coverage: 5/5 tensor(s) an INT8 node needs have a usable table entry "
                      "(100.0%)\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.substr(0, 4), "prec");
  const std::string json = PlanJson(p);
  EXPECT_NE(json.find("\"needed\": 5"), std::string::npos) << json;
  EXPECT_NE(json.find("\"int8\": " + std::to_string(p.int8_nodes)), std::string::npos);
  EXPECT_EQ(json.back(), '\n');
}

TEST_F(PlanApi, KeepFp32FileKeepsTheLayerFp32) {
  const std::string keep = WriteFile("keep.txt", "# first\n/features/features.2/Relu_output_0\n");
  Int8Options o;
  o.keep_fp32_file = keep;
  Int8PlanInfo p;
  ASSERT_TRUE(PlanInt8(*model_, table_, o, &p).ok());
  bool excluded = false;
  for (const auto& n : p.nodes)
    if (!n.int8 && n.reason.find("excluded by the user") != std::string::npos) excluded = true;
  EXPECT_TRUE(excluded) << PlanText(p);
  fs::remove(keep);
}

TEST_F(PlanApi, PartialTableWarnsAndStrictFails) {
  const std::string partial = WriteFile("p.cache",
                                        "TRT-8601-EntropyCalibration2\n"
                                        "image: 3c010204\n");
  Int8PlanInfo p;
  ASSERT_TRUE(PlanInt8(*model_, partial, {}, &p).ok());
  EXPECT_EQ(p.found, 1);
  EXPECT_EQ(p.missing.size(), 4u);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0], "table '" + partial + "' does not cover the model: " + p.coverage +
                               "; those nodes run FP32");
  EXPECT_EQ(p.coverage.rfind("coverage 1/5 (20.0%); missing: ", 0), 0u) << p.coverage;
  Int8Options strict;
  strict.strict = true;
  Status s = PlanInt8(*model_, partial, strict, &p);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(p.table_note.empty());  // known before the failure
  fs::remove(partial);
}

TEST_F(PlanApi, FailuresNameTheFile) {
  Int8PlanInfo p;
  Status s = PlanInt8(*model_, TempPath("missing.cache"), {}, &p);
  EXPECT_NE(s.message().find("missing.cache"), std::string::npos) << s.message();
  EXPECT_TRUE(p.table_note.empty());
  Int8Options o;
  o.keep_fp32_file = TempPath("missing_keep.txt");
  s = PlanInt8(*model_, table_, o, &p);
  EXPECT_NE(s.message().find("missing_keep.txt"), std::string::npos) << s.message();
  EXPECT_FALSE(p.table_note.empty());  // the table was read first
}

TEST(CpuFeatures, MatchProcCpuinfo) {
  std::ifstream in("/proc/cpuinfo");
  if (!in) GTEST_SKIP() << "no /proc/cpuinfo";
  std::set<std::string> flags;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0) {
      std::istringstream ss(line.substr(line.find(':') + 1));
      for (std::string f; ss >> f;) flags.insert(f);
      break;
    }
  const CpuInt8Features f = DetectCpuInt8Features();
  EXPECT_EQ(f.avx2, flags.count("avx2") > 0);
  EXPECT_EQ(f.avx512bw, flags.count("avx512bw") > 0);
  EXPECT_EQ(f.avx512_vnni, flags.count("avx512_vnni") > 0);
  EXPECT_EQ(f.amx_int8, flags.count("amx_int8") > 0);
  EXPECT_EQ(f.any_vnni(), f.avx512_vnni || f.avx_vnni || f.amx_int8);
}

}  // namespace
}  // namespace calib8
