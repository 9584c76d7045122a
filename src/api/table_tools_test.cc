// api/table_tools_test.cc — include/calib8/table_tools.h and Table::Read's options on hand-made
// tables whose answers are worked out here (amax ratios, flags, conflicts), on the corpus (a
// split-and-merge gives back the original bytes) and on the bundled model (coverage of its input,
// stale and current sidecars).
#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "calib8/model.h"
#include "calib8/table.h"
#include "calib8/table_tools.h"

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
std::string ModelPath() { return SourceDir() + "/models/fashion_mnist_cnn.onnx"; }
std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() /
          ("calib8_table_tools_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}
std::string Write(const std::string& name, const std::string& text) {
  std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}
bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(TableRead, LenientCountsWarningsStrictFails) {
  std::string path = Write("len.cache", "TRT-8601-EntropyCalibration2\nc: 1\nc: 2\nn: 7fc00000\n");
  std::vector<std::string> warnings;
  auto strict = Table::Read(path, {}, &warnings);
  ASSERT_FALSE(strict.ok());
  EXPECT_TRUE(Contains(strict.status().message(), "line 3")) << strict.status().message();
  TableReadOptions ro;
  ro.lenient = true;
  warnings.clear();
  auto t = Table::Read(path, ro, &warnings);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(warnings.size(), 2u);  // the duplicate and the NaN
  EXPECT_EQ(t->path(), path);
  // The later `c` wins: bits 2 are the float 2 x 2^-149.
  ASSERT_TRUE(t->Scale("c").has_value());
  EXPECT_EQ(*t->Scale("c"), std::ldexp(2.0f, -149));
  fs::remove(path);
}

TEST(TableRead, GivenFormatAndHeader) {
  const std::string cache = Corpus("trt101200-entropy2-yolo11-onnx.cache");
  TableReadOptions ro;
  ro.format = TableFormat::kCalib8Json;
  EXPECT_FALSE(Table::Read(cache, ro).ok());  // a TensorRT cache is no JSON table
  ro.format = TableFormat::kTensorRt;
  auto t = Table::Read(cache, ro);
  ASSERT_TRUE(t.ok()) << t.status().message();
  TableHeaderInfo h = t->header_info();
  EXPECT_EQ(h.source_format, TableFormat::kTensorRt);
  EXPECT_EQ(h.writer_version, 101200);
  EXPECT_EQ(h.tensorrt, "10.12.0");
  EXPECT_EQ(h.algorithm, "EntropyCalibration2");
  EXPECT_FALSE(h.legacy_header);
  auto legacy = Table::Read(Corpus("trt50-header1-chainer-trt-googlenet.dat"));
  ASSERT_TRUE(legacy.ok());
  EXPECT_TRUE(legacy->header_info().legacy_header);
  auto ncnn = ParseFormatName("ncnn");
  ASSERT_TRUE(ncnn.ok());
  EXPECT_EQ(*ncnn, TableFormat::kNcnn);
  EXPECT_FALSE(ParseFormatName("onnx").ok());
  EXPECT_FALSE(CanWrite(TableFormat::kOrtJson));
  EXPECT_TRUE(CanWrite(TableFormat::kRange));
}

TEST(TableDiffApi, RatiosByHand) {
  // A: a amax 127 (scale 1), b amax 254; B: a amax 254, c.
  auto a =
      Table::Read(Write("a.cache", "TRT-8601-EntropyCalibration2\na: 3f800000\nb: 40000000\n"));
  auto b = Table::Read(Write("b.cache", "TRT-8601-EntropyCalibration2\na: 40000000\nc: 1\n"));
  ASSERT_TRUE(a.ok() && b.ok());
  TableDiff d = DiffTables(*a, *b);
  EXPECT_EQ(d.in_both, 1);
  EXPECT_EQ(d.only_a, 1);
  EXPECT_EQ(d.only_b, 1);
  EXPECT_EQ(d.identical, 0);
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.rows[0].name, "a");
  EXPECT_DOUBLE_EQ(d.rows[0].amax_a, 127.0);
  EXPECT_DOUBLE_EQ(d.rows[0].amax_b, 254.0);
  EXPECT_DOUBLE_EQ(d.rows[0].ratio, 2.0);
  EXPECT_NEAR(d.rows[0].abs_log_ratio, std::log(2.0), 1e-12);
  EXPECT_EQ(d.rows[1].side, TableDiffRow::Side::kOnlyA);
  EXPECT_EQ(d.rows[2].name, "c");
  std::string text = d.Text("A.cache", "B.cache");
  EXPECT_TRUE(Contains(text, "only in A (A.cache): 1\n  b  amax 254\n")) << text;
  EXPECT_TRUE(Contains(text, "summary: 1 in both (0 identical), 1 only in A, 1 only in B"));
  std::string json = d.Json("A.cache", "B.cache");
  EXPECT_TRUE(Contains(json, "\"ratio\": \"2\"")) << json;
  // A corpus table against itself: every entry identical.
  auto c = Table::Read(Corpus("trt8001-entropy2-resnet-pytorch-onnx.cache"));
  ASSERT_TRUE(c.ok());
  TableDiff same = DiffTables(*c, *c);
  EXPECT_EQ(same.identical, static_cast<int>(c->size()));
  EXPECT_EQ(same.only_a + same.only_b, 0);
}

TEST(TableMergeApi, SplitCorpusMergesBackToTheSameBytes) {
  const std::string original = ReadAll(Corpus("trt8001-entropy2-resnet-pytorch-onnx.cache"));
  size_t cut = 0;
  for (int i = 0; i < 5; ++i) cut = original.find('\n', cut) + 1;  // header + 4 entries
  std::string header = original.substr(0, original.find('\n') + 1);
  auto back = Table::Read(Write("backbone.cache", original.substr(0, cut)));
  auto head = Table::Read(Write("head.cache", header + original.substr(cut)));
  ASSERT_TRUE(back.ok() && head.ok());
  const std::string out = TempPath("merged.cache");
  std::vector<std::string> messages;
  auto m = MergeTables({*back, *head}, out, {}, &messages);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(ReadAll(out), original);
  EXPECT_EQ(m->format, TableFormat::kTensorRt);
  EXPECT_EQ(m->conflicts, 0);
  EXPECT_FALSE(m->wrote_sidecar);  // the parts have none
  EXPECT_TRUE(Contains(m->no_sidecar, "backbone.cache")) << m->no_sidecar;
  EXPECT_FALSE(fs::exists(SidecarPathFor(out)));
  fs::remove(out);
}

TEST(TableMergeApi, ConflictPolicies) {
  auto a = Table::Read(Write("ca.cache", "TRT-8601-EntropyCalibration2\nx: 3f800000\ny: 1\n"));
  auto b = Table::Read(Write("cb.cache", "TRT-8601-EntropyCalibration2\nx: 40000000\nz: 2\n"));
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string out = TempPath("conflict.cache");
  auto failed = MergeTables({*a, *b}, out);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(Contains(failed.status().message(), "--on-conflict")) << failed.status().message();
  EXPECT_FALSE(fs::exists(out));
  MergeOptions mo;
  mo.on_conflict = ConflictPolicy::kMax;
  mo.format = "json";
  std::vector<std::string> messages;
  auto m = MergeTables({*a, *b}, out, mo, &messages);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->format, TableFormat::kCalib8Json);
  EXPECT_EQ(m->entries, 3u);
  EXPECT_EQ(m->conflicts, 1);
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages[0].rfind("note: ", 0), 0u) << messages[0];
  auto merged = Table::Read(out);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(*merged->Scale("x"), 2.0f);  // the larger amax
  auto p = ParseConflictPolicy("last");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, ConflictPolicy::kLast);
  EXPECT_FALSE(ParseConflictPolicy("newest").ok());
  mo.format = "ort-json";  // read only: written as trt instead
  auto m2 = MergeTables({*a, *b}, out, mo);
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(m2->format, TableFormat::kTensorRt);
  fs::remove(out);
}

// A table with the model's input and one name the model does not have.
Result<Table> InputTable(const std::string& name) {
  auto model = Model::Load(ModelPath());
  if (!model.ok()) return model.status();
  return Table::Read(Write(name, "TRT-8601-EntropyCalibration2\n" + model->inputs()[0].name +
                                     ": 3c010a14\nghost: 3c010a14\n"));
}

TEST(TableModelApi, CoverageAndValidation) {
  auto t = InputTable("in.cache");
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto cov = CheckCoverage(*t, ModelPath());
  ASSERT_TRUE(cov.ok()) << cov.status().message();
  ASSERT_EQ(cov->entries.size(), 2u);
  EXPECT_TRUE(cov->entries[0].matched);
  EXPECT_EQ(cov->entries[0].producer, "graph input");
  EXPECT_FALSE(cov->entries[1].matched);
  EXPECT_EQ(cov->unmatched, std::vector<std::string>{"ghost"});
  EXPECT_EQ(cov->covered, 1);
  EXPECT_EQ(cov->float_tensors, 1 + static_cast<int>(cov->uncovered.size()));
  EXPECT_EQ(cov->model_fingerprint.rfind("xxh3-64:", 0), 0u);

  ValidateOptions vo;
  auto v = ValidateTable(*t, ModelPath(), vo);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->valid);  // no sidecar is only a warning
  EXPECT_EQ(v->sidecar, TableValidation::Sidecar::kMissing);
  vo.require_sidecar = true;
  EXPECT_FALSE(ValidateTable(*t, ModelPath(), vo)->valid);
  vo.require_sidecar = false;
  vo.min_coverage = 100;
  auto low = ValidateTable(*t, ModelPath(), vo);
  ASSERT_TRUE(low.ok());
  EXPECT_TRUE(low->below_min_coverage);
  EXPECT_FALSE(low->valid);

  // A sidecar for this model is current; one for another model makes the table stale.
  auto sidecar = [&](const std::string& fp) {
    std::ofstream(SidecarPathFor(t->path()))
        << R"({"format": "calib8.sidecar", "format_version": 1, "calib8_version": "0.1.0",)"
        << R"( "method": {"name": "entropy2", "parameters": {}},)"
        << R"( "model": {"file": "m.onnx", "fingerprint": ")" << fp << "\"}}";
  };
  sidecar(cov->model_fingerprint);
  auto cur = ValidateTable(*t, ModelPath());
  ASSERT_TRUE(cur.ok()) << cur.status().message();
  EXPECT_EQ(cur->sidecar, TableValidation::Sidecar::kCurrent);
  EXPECT_TRUE(cur->valid);
  sidecar("xxh3-64:0000000000000000");
  auto stale = ValidateTable(*t, ModelPath());
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->sidecar, TableValidation::Sidecar::kStale);
  EXPECT_FALSE(stale->valid);
  EXPECT_TRUE(Contains(stale->stale_reason, "model changed")) << stale->stale_reason;
  EXPECT_FALSE(ValidateTable(*t, TempPath("no-such.onnx")).ok());
  fs::remove(SidecarPathFor(t->path()));
}

TEST(TableInspectApi, FlagsKindsAndExample) {
  auto t = Table::Read(Write("flags.cache",
                             "TRT-8601-EntropyCalibration2\nz: 0\ni: 7f800000\nc: 3c010a14\n"
                             "(Unnamed Layer* 3) [Convolution]_output: 3c010a14\n"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto r = InspectTable(*t);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->entries.size(), 4u);
  EXPECT_EQ(r->entries[0].flags, std::vector<std::string>{"zero"});
  EXPECT_EQ(r->entries[1].flags, std::vector<std::string>{"inf"});
  EXPECT_TRUE(r->entries[2].flags.empty());
  EXPECT_EQ(r->entries[3].flags, std::vector<std::string>{"trt-internal"});
  EXPECT_EQ(r->flagged, 3);
  EXPECT_EQ(r->entries[2].hex, "3c010a14");
  // The decimals read back to the bits: 0x3c010a14 is 0x810a14 x 2^-30.
  EXPECT_EQ(std::stof(r->entries[2].scale), std::ldexp(static_cast<float>(0x810a14), -30));
  EXPECT_EQ(std::stof(r->entries[2].amax), 127.0f * std::ldexp(static_cast<float>(0x810a14), -30));
  ASSERT_EQ(r->name_kinds.size(), 1u);
  EXPECT_EQ(r->name_kinds[0].first, "unnamed_layer");
  // The first activation with a scale above 0 (inf is one).
  EXPECT_EQ(r->example.rfind("example: 'i': hex 7f800000 ", 0), 0u) << r->example;
  EXPECT_TRUE(r->most_clipped.empty());
  EXPECT_TRUE(Contains(r->clipped_note, "no sidecar")) << r->clipped_note;
  EXPECT_FALSE(r->coverage.has_value());
  InspectOptions io;
  io.model_path = TempPath("no-such.onnx");
  EXPECT_FALSE(InspectTable(*t, io).ok());
}

TEST(TablePytorchApi, InputTensorAndGhost) {
  auto t = InputTable("pt.cache");
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::vector<std::string> warnings;
  auto s = ToPytorchScales(*t, ModelPath(), &warnings);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->tensors, 2);
  ASSERT_FALSE(warnings.empty());
  EXPECT_EQ(warnings.back().rfind("1 table entr(ies) name no tensor of", 0), 0u) << warnings.back();
  EXPECT_TRUE(Contains(s->json, "\"ghost\""));
  EXPECT_FALSE(ToPytorchScales(*t, TempPath("no-such.onnx")).ok());
}

}  // namespace
}  // namespace calib8
