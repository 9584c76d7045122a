// eval/compare_test.cc — unit tests of eval/compare.h pieces that need no model: label files (text
// and IDX, gzip too), the list of an INT8 plan's 8-bit tensors with their scales and layouts, and
// dequantization (NHWC back to NCHW). The end-to-end runs are in tests/cli/compare_cli_test.sh.
#include "eval/compare.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>

namespace calib8::eval {
namespace {

std::string TempPath(const std::string& leaf) {
  return ::testing::TempDir() + "/calib8_compare_" + std::to_string(getpid()) + "_" + leaf;
}

const auto F = &ir::Attribute::Float;
const auto I = &ir::Attribute::Int;

TEST(CompareLabels, TextFileSkipsBlanksAndComments) {
  std::string p = TempPath("labels.txt");
  std::ofstream(p) << "# header\n3\n\n 7 \n0\r\n";
  auto l = ReadLabels(p);
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(*l, (std::vector<int64_t>{3, 7, 0}));
  std::ofstream(p) << "1\ncat\n";
  auto bad = ReadLabels(p);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos) << bad.status().message();
  std::remove(p.c_str());
}

TEST(CompareLabels, IdxFilePlainAndGzip) {
  const unsigned char bytes[] = {0, 0, 8, 1, 0, 0, 0, 3, 9, 2, 5};
  std::string p = TempPath("labels.idx");
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes), sizeof bytes);
  auto l = ReadLabels("idx:" + p);
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(*l, (std::vector<int64_t>{9, 2, 5}));
  std::string gz = TempPath("labels.idx.gz");
  gzFile f = gzopen(gz.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, bytes, sizeof bytes);
  gzclose(f);
  auto lg = ReadLabels("idx:" + gz);
  ASSERT_TRUE(lg.ok()) << lg.status().message();
  EXPECT_EQ(*lg, *l);
  // An image file (3 dims) is refused with a clear message.
  const unsigned char img[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0};
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(img), sizeof img);
  auto bad = ReadLabels("idx:" + p);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not an IDX label file"), std::string::npos);
  std::remove(p.c_str());
  std::remove(gz.c_str());
}

TEST(CompareInt8Tensors, ScalesAndLayoutsFromThePlanGraph) {
  quant::Int8Plan plan;
  ir::Node q;
  q.op_type = "Quantize";
  q.inputs = {"x"};
  q.outputs = {"x:s8"};
  q.attrs["scale"] = F(0.5f);
  q.attrs["nhwc"] = I(1);
  ir::Node conv;
  conv.op_type = "QConv";
  conv.inputs = {"x:s8"};
  conv.outputs = {"y:u8"};
  conv.attrs["out_scale"] = F(0.25f);
  conv.attrs["out_nhwc"] = I(0);
  ir::Node flat;  // pass-through: keeps the input's scale
  flat.op_type = "Flatten";
  flat.inputs = {"y:u8"};
  flat.outputs = {"z:u8"};
  ir::Node deq;
  deq.op_type = "Dequantize";
  deq.inputs = {"z:u8"};
  deq.outputs = {"z"};
  plan.graph.nodes = {q, conv, flat, deq};
  auto list = ListInt8Tensors(plan);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].tensor, "x");
  EXPECT_FLOAT_EQ(list[0].scale, 0.5f);
  EXPECT_TRUE(list[0].nhwc);
  EXPECT_FALSE(list[0].is_unsigned);
  EXPECT_EQ(list[1].stored, "y:u8");
  EXPECT_TRUE(list[1].is_unsigned);
  EXPECT_FALSE(list[1].nhwc);
  EXPECT_FLOAT_EQ(list[1].scale, 0.25f);
  EXPECT_EQ(list[2].tensor, "z");
  EXPECT_FLOAT_EQ(list[2].scale, 0.25f);
}

TEST(CompareInt8Tensors, ZeroPointsFromTheProducerAndThroughPools) {
  quant::Int8Plan plan;
  ir::Node q;
  q.op_type = "Quantize";
  q.inputs = {"x"};
  q.outputs = {"x:u8"};
  q.attrs["scale"] = F(0.5f);
  q.attrs["unsigned"] = I(1);
  q.attrs["zero_point"] = I(17);
  ir::Node pool;  // 8-bit pool: no scale attribute, keeps its input's scale and zero point
  pool.op_type = "QMaxPool";
  pool.inputs = {"x:u8"};
  pool.outputs = {"p:u8"};
  ir::Node conv;
  conv.op_type = "QConv";
  conv.inputs = {"p:u8"};
  conv.outputs = {"y:u8"};
  conv.attrs["out_scale"] = F(0.25f);
  conv.attrs["out_zp"] = I(200);
  plan.graph.nodes = {q, pool, conv};
  auto list = ListInt8Tensors(plan);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].zero_point, 17);
  EXPECT_EQ(list[1].zero_point, 17);
  EXPECT_FLOAT_EQ(list[1].scale, 0.5f);
  EXPECT_EQ(list[2].zero_point, 200);
  Tensor t(DataType::kUint8, {3});
  t.data<uint8_t>()[0] = 200;
  t.data<uint8_t>()[1] = 0;
  t.data<uint8_t>()[2] = 255;
  auto d = DequantizeInt8(t, list[2]);
  ASSERT_TRUE(d.ok());
  EXPECT_FLOAT_EQ(d->data<float>()[0], 0.0f);    // the zero point is a real 0
  EXPECT_FLOAT_EQ(d->data<float>()[1], -50.0f);  // (0 - 200) * 0.25
  EXPECT_FLOAT_EQ(d->data<float>()[2], 13.75f);  // (255 - 200) * 0.25
}

TEST(CompareInt8Tensors, DequantizeNhwcToNchw) {
  // N=1, H=1, W=2, C=3 stored NHWC: pixel 0 = (1,2,3), pixel 1 = (4,5,6).
  Tensor q = Tensor::FromVector<int8_t>({1, 1, 2, 3}, {1, 2, 3, 4, 5, -6});
  Int8TensorInfo info;
  info.stored = "t:s8";
  info.scale = 0.5f;
  info.nhwc = true;
  auto d = DequantizeInt8(q, info);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->shape(), (Shape{1, 3, 1, 2}));
  std::vector<float> want = {0.5f, 2.0f, 1.0f, 2.5f, 1.5f, -3.0f};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(d->data<float>()[i], want[i]) << i;
  Tensor u = Tensor::FromVector<uint8_t>({2}, {255, 0});
  info.nhwc = false;
  info.is_unsigned = true;
  auto du = DequantizeInt8(u, info);
  ASSERT_TRUE(du.ok());
  EXPECT_FLOAT_EQ(du->data<float>()[0], 127.5f);
  Tensor f(DataType::kFloat32, {1});
  EXPECT_FALSE(DequantizeInt8(f, info).ok());
}

}  // namespace
}  // namespace calib8::eval
