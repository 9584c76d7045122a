// table/table_ops_test.cc — entry flags, diff, merge policies, and decimal formats through the
// TensorRT scale and back (ncnn multipliers, ranges, ONNX Runtime amax) within float32 precision.
#include <gtest/gtest.h>

#include <cmath>

#include "table/table_ops.h"

namespace calib8::table {
namespace {

CalibrationTable Trt(const std::string& body) {
  auto t = ParseTable("TRT-8601-EntropyCalibration2\n" + body, "t.cache", TableFormat::kTensorRt);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? t.value() : CalibrationTable();
}

TEST(TableOps, FlagsAndInternalNames) {
  CalibrationTable t = Trt(
      "a: 0\nb: 7f800000\nc: 30810204\nd: 788487a9\n(Unnamed Layer* 3) [Shuffle]_output: 3c010a14\n"
      "e: 1\n");
  auto flags = [&](int i) { return EntryFlags(t.entries()[static_cast<size_t>(i)]); };
  EXPECT_EQ(flags(0), std::vector<std::string>{"zero"});
  EXPECT_EQ(flags(1), std::vector<std::string>{"inf"});
  EXPECT_EQ(flags(2), std::vector<std::string>{"tiny"});
  EXPECT_EQ(flags(3), std::vector<std::string>{"huge"});
  EXPECT_EQ(flags(4), std::vector<std::string>{"trt-internal"});
  EXPECT_EQ(flags(5), (std::vector<std::string>{"denormal", "tiny"}));
  EXPECT_EQ(ClassifyName("(Unnamed ITensor* 38)"), InternalName::kUnnamedITensor);
  EXPECT_EQ(ClassifyName("ONNXTRT_Broadcast_output"), InternalName::kOnnxTrt);
  EXPECT_EQ(ClassifyName("input.1"), InternalName::kNone);
  EXPECT_NE(std::string(ExplainInternalName(InternalName::kUnnamedLayer)).find("same network"),
            std::string::npos);
}

// The name index (open addressing, grown on the way, no Reserve): every name found at its
// position, absent names not found, a Put of an existing name replaces in place.
TEST(TableIndex, FindPutAndReplaceThroughGrowth) {
  auto name = [](int i) {  // (g++ 12 warns falsely on "t" + std::to_string(i): -Wrestrict)
    std::string s = std::to_string(i);
    s.insert(s.begin(), 't');
    return s;
  };
  CalibrationTable t;
  const int n = 20000;
  for (int i = 0; i < n; ++i) t.SetScaleBits(name(i), static_cast<uint32_t>(i));
  ASSERT_EQ(t.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(t.Find(name(i)), i);
  EXPECT_EQ(t.Find("t20000"), -1);
  EXPECT_EQ(t.Find(""), -1);
  EXPECT_EQ(CalibrationTable().Find("x"), -1);
  TableEntry e;
  e.name = "t123";
  e.scale_bits = {7u};
  t.Put(e);
  EXPECT_EQ(t.size(), static_cast<size_t>(n));
  EXPECT_EQ(t.Find("t123"), 123);
  EXPECT_EQ(t.entries()[123].bits(), 7u);
  t.SetScaleBits("t5", 9u);
  EXPECT_EQ(t.entries()[5].bits(), 9u);
  // A copied table keeps a working index.
  CalibrationTable c = t;
  EXPECT_EQ(c.Find("t19999"), 19999);
}

TEST(TableOps, DiffSortsByLogRatio) {
  CalibrationTable a = Trt("x: 3f800000\ny: 3f800000\nz: 3f800000\nonly_a: 1\n");
  CalibrationTable b = Trt("x: 3f800000\ny: 40000000\nz: 3f000000\nonly_b: 1\n");
  DiffResult d = DiffTables(a, b);
  EXPECT_EQ(d.in_both, 3);
  EXPECT_EQ(d.identical, 1);
  EXPECT_EQ(d.only_a, 1);
  EXPECT_EQ(d.only_b, 1);
  ASSERT_EQ(d.rows.size(), 5u);
  EXPECT_EQ(d.rows[0].name, "y");  // ratio 2 and 0.5 tie on |ln|; stable order keeps y first
  EXPECT_DOUBLE_EQ(d.rows[0].ratio, 2.0);
  EXPECT_DOUBLE_EQ(d.rows[1].ratio, 0.5);
  EXPECT_EQ(d.rows[2].name, "x");
  EXPECT_EQ(d.rows[3].side, DiffRow::Side::kOnlyA);
  EXPECT_EQ(d.rows[4].side, DiffRow::Side::kOnlyB);
  EXPECT_NEAR(d.max_abs_log_ratio, std::log(2.0), 1e-12);
}

TEST(TableOps, MergePolicies) {
  CalibrationTable backbone = Trt("in: 3f800000\nmid: 3f800000\n");
  CalibrationTable head = Trt("mid: 40000000\nout: 3f000000\n");
  std::vector<NamedTable> in = {{"backbone.cache", backbone}, {"head.cache", head}};
  auto err = MergeTables(in, ConflictPolicy::kError);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("tensor 'mid': 'backbone.cache' has 3f800000"),
            std::string::npos);
  EXPECT_NE(err.status().message().find("--on-conflict"), std::string::npos);
  MergeReport rep;
  auto first = MergeTables(in, ConflictPolicy::kFirst, &rep);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(rep.conflicts, 1);
  EXPECT_EQ(first->size(), 3u);
  EXPECT_EQ(first->entries()[1].bits(), 0x3f800000u);
  auto last = MergeTables(in, ConflictPolicy::kLast);
  EXPECT_EQ(last->entries()[1].bits(), 0x40000000u);
  auto mx = MergeTables(in, ConflictPolicy::kMax);
  EXPECT_EQ(mx->entries()[1].bits(), 0x40000000u);
  EXPECT_EQ(SerializeTable(*mx, TableFormat::kTensorRt).value(),
            "TRT-8601-EntropyCalibration2\nin: 3f800000\nmid: 40000000\nout: 3f000000\n");
  EXPECT_FALSE(ParseConflictPolicy("newest").ok());
}

TEST(TableCodecCrossFormat, NcnnThroughTensorRtAndBack) {
  std::string ncnn =
      "conv1_param_0 187.254501714 246.400983982\nconv1 0.84167606461\n"
      "fire2 127\nzero inf\n";
  auto t = ParseTable(ncnn, "n.table", TableFormat::kNcnn);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->entries()[0].kind, EntryKind::kWeight);
  EXPECT_EQ(t->entries()[0].scale_bits.size(), 2u);
  EXPECT_EQ(t->entries()[2].bits(), FloatToBits(1.0f / 127.0f));    // multiplier 127 -> amax 1
  EXPECT_EQ(t->entries()[3].bits(), 0u);                            // multiplier inf -> scale 0
  EXPECT_EQ(SerializeTable(*t, TableFormat::kNcnn).value(), ncnn);  // same format: exact text
  WriteReport rep;
  auto trt = SerializeTable(*t, TableFormat::kTensorRt, {}, &rep);
  ASSERT_TRUE(trt.ok());
  EXPECT_EQ(rep.warnings.size(), 1u);  // the weight line cannot go into a TensorRT cache
  auto back = ParseTable(*trt, "n.cache", TableFormat::kTensorRt);
  ASSERT_TRUE(back.ok());
  auto ncnn2 =
      ParseTable(SerializeTable(*back, TableFormat::kNcnn).value(), "n2.table", TableFormat::kNcnn);
  ASSERT_TRUE(ncnn2.ok());
  for (const auto& e : ncnn2->entries()) {
    int i = t->Find(e.name);
    ASSERT_GE(i, 0);
    EXPECT_EQ(e.bits(), t->entries()[static_cast<size_t>(i)].bits()) << e.name;  // bit-exact
  }
}

TEST(TableCodecCrossFormat, RangeAndOrtThroughTensorRt) {
  auto r = ParseTable("input:1.0002441\nconv:0:254.66\n", "r.txt", TableFormat::kRange);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->entries()[1].name, "conv:0");                   // split at the last ':'
  EXPECT_FALSE(SerializeTable(*r, TableFormat::kRange).ok());  // 'conv:0' breaks sampleINT8API
  auto o = ParseTable("a 2.2047784328460693\nb 0.0\n", "calibration.cache", TableFormat::kOrtCache);
  ASSERT_TRUE(o.ok());
  auto trt = SerializeTable(*o, TableFormat::kTensorRt).value();
  EXPECT_EQ(trt, "TRT-8601-EntropyCalibration2\na: " +
                     HexBits(FloatToBits(static_cast<float>(2.2047784328460693 / 127))) +
                     "\nb: 0\n");
  auto reread = ParseTable(trt, "o.cache", TableFormat::kTensorRt);
  ASSERT_TRUE(reread.ok());
  auto range = SerializeTable(*reread, TableFormat::kRange);
  ASSERT_TRUE(range.ok());
  auto back = ParseTable(*range, "o.range", TableFormat::kRange);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->entries()[0].bits(), o->entries()[0].bits());
  EXPECT_NEAR(127.0 * back->entries()[0].scale(), 2.2047784328460693, 2.2047784328460693 * 1.2e-7);
}

}  // namespace
}  // namespace calib8::table
