// api/api_test.cc — the public library API (include/calib8/) on real files: the table corpus in
// tests/data/calibration-tables (scales checked against the hex in the file, decoded here by
// hand; byte-exact rewrite of TensorRT caches; a format round trip) and the bundled model (its
// declared inputs; a wrong feed named in the error). tests/cli/library_example_test.sh checks
// Calibrate and CreateInt8 against the CLI.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "calib8/calib8.h"
#include "calib8/table.h"

namespace calib8 {
namespace {

namespace fs = std::filesystem;

std::string SourceDir() {
  const char* src = std::getenv("CALIB8_SOURCE_DIR");
  return src ? src : ".";
}
std::string Corpus(const std::string& name) {
  return SourceDir() + "/tests/data/calibration-tables/" + name;
}
std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() /
          ("calib8_api_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// Every `name: hexbits` line of a TensorRT cache, decoded without calib8.
std::vector<std::pair<std::string, float>> HexLines(const std::string& path) {
  std::vector<std::pair<std::string, float>> out;
  std::istringstream in(ReadAll(path));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    size_t colon = line.rfind(": ");
    if (colon == std::string::npos) continue;
    uint32_t bits = static_cast<uint32_t>(std::stoul(line.substr(colon + 2), nullptr, 16));
    float f;
    std::memcpy(&f, &bits, sizeof f);
    out.emplace_back(line.substr(0, colon), f);
  }
  return out;
}

TEST(TableApi, ScalesAreTheCacheHexBits) {
  const std::string path = Corpus("trt101200-entropy2-yolo11-onnx.cache");
  auto t = Table::Read(path);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->format(), TableFormat::kTensorRt);
  EXPECT_EQ(t->header(), "TRT-101200-EntropyCalibration2");
  auto lines = HexLines(path);
  ASSERT_GT(lines.size(), 100u);
  ASSERT_EQ(t->size(), lines.size());
  auto entries = t->entries();
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(entries[i].name, lines[i].first);
    auto s = t->Scale(lines[i].first);
    ASSERT_TRUE(s.has_value()) << lines[i].first;
    EXPECT_EQ(*s, lines[i].second) << lines[i].first;
    EXPECT_EQ(entries[i].amax(), 127.0f * lines[i].second);
  }
  EXPECT_FALSE(t->Scale("no such tensor").has_value());
}

TEST(TableApi, TensorRtCachesRewriteToTheSameBytes) {
  int checked = 0;
  for (const auto& f : fs::directory_iterator(SourceDir() + "/tests/data/calibration-tables")) {
    const std::string name = f.path().filename().string();
    if (name.rfind("trt1", 0) != 0 && name.rfind("trt7", 0) != 0) continue;
    auto t = Table::Read(f.path().string());
    ASSERT_TRUE(t.ok()) << name << ": " << t.status().message();
    const std::string out = TempPath(name);
    ASSERT_TRUE(t->Write(out, TableFormat::kTensorRt).ok()) << name;
    EXPECT_EQ(ReadAll(out), ReadAll(f.path().string())) << name;
    fs::remove(out);
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(TableApi, JsonRoundTripKeepsEveryScale) {
  auto t = Table::Read(Corpus("trt7000-entropy2-tlt-dssd-tiny-scale.bin"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  const std::string json = TempPath("t.json");
  ASSERT_TRUE(t->Write(json, TableFormat::kCalib8Json).ok());
  auto back = Table::Read(json);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->format(), TableFormat::kCalib8Json);
  ASSERT_EQ(back->size(), t->size());
  for (const auto& e : t->entries()) EXPECT_EQ(back->Scale(e.name), t->Scale(e.name)) << e.name;
  fs::remove(json);
  EXPECT_EQ(FormatName(TableFormat::kCalib8Json), "json");
}

TEST(TableApi, MissingAndBadFilesAreNamed) {
  auto missing = Table::Read(TempPath("missing.cache"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.cache"), std::string::npos)
      << missing.status().message();
  const std::string bad = TempPath("bad.cache");
  std::ofstream(bad) << "TRT-8601-EntropyCalibration2\nconv1: zzzz\n";
  auto r = Table::Read(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad.cache"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().message();
  fs::remove(bad);
}

TEST(ModelApi, BundledModelDeclaresItsInputAndRuns) {
  auto m = Model::Load(SourceDir() + "/models/fashion_mnist_cnn.onnx");
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->inputs().size(), 1u);
  const TensorInfo in = m->inputs()[0];
  EXPECT_EQ(in.type, DataType::kFloat32);
  ASSERT_EQ(in.shape.size(), 4u);
  EXPECT_EQ(in.shape[1], 1);
  EXPECT_EQ(in.shape[2], 28);
  EXPECT_EQ(in.shape[3], 28);
  EXPECT_TRUE(m->unknown_ops().empty());
  auto s = Session::Create(*m);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->is_int8());
  Tensor x(DataType::kFloat32, {2, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 255) / 255;
  auto out = s->Run({{in.name, x}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(out->begin()->second.shape(), (Shape{2, 10}));
  EXPECT_TRUE(s->KernelNotes().empty());  // every kernel of this model has its fast path
  // A feed under another name: the error names the input the model wants.
  auto wrong = s->Run({{"not_the_input", x}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("no value given for input '" + in.name + "'"),
            std::string::npos)
      << wrong.status().message();
}

TEST(ModelApi, MissingModelIsNamed) {
  auto m = Model::Load(TempPath("nope.onnx"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("nope.onnx"), std::string::npos) << m.status().message();
}

}  // namespace
}  // namespace calib8
