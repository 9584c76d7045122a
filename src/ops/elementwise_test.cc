// ops/elementwise_test.cc — unit tests for elementwise_binary.cc and elementwise_unary.cc beyond
// the ONNX node tests: the coalesced broadcast walker against a naive index walk (serial and
// threaded, rows split across threads), float16 rounding in Cast, integer Div/Mod edge cases,
// Clip's attribute and input forms.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "ops/kernels.h"

namespace calib8::ops {
namespace {

Tensor RunOp(const exec::KernelFactory& factory, const ir::Node& node, int64_t opset,
             const std::vector<const Tensor*>& inputs, int threads = 1) {
  exec::KernelInit init{node, opset, [](const std::string&) { return nullptr; }, threads};
  auto kernel = factory(init);
  EXPECT_TRUE(kernel.ok()) << kernel.status().message();
  exec::KernelContext ctx{node, inputs, std::vector<Tensor>(1), threads};
  Status st = (*kernel)->Run(ctx);
  EXPECT_TRUE(st.ok()) << st.message();
  return ctx.outputs[0];
}

ir::Node MakeNode(const std::string& op) {
  ir::Node n;
  n.name = std::string("n");  // a move: `= "n"` trips g++ 12's -Wrestrict false positive here
  n.op_type = op;
  return n;
}

Tensor Random(const Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-4, 4);
  Tensor t(DataType::kFloat32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// Element of `t` (broadcast to `out`) at the output's flat index i.
float At(const Tensor& t, const Shape& out, int64_t i) {
  int64_t off = 0, stride = 1;
  for (size_t d = out.size(); d-- > 0;) {
    const int64_t idx = i % out[d];
    i /= out[d];
    const size_t r = t.shape().size();
    const size_t shift = out.size() - r;
    if (d >= shift) {
      const int64_t dim = t.shape()[d - shift];
      if (dim != 1) off += idx * stride;
      stride *= dim;
    }
  }
  return t.data<float>()[off];
}

TEST(ElementwiseTest, BroadcastMatchesNaiveWalk) {
  const std::vector<std::pair<Shape, Shape>> cases = {{{2, 3, 4, 5}, {1, 3, 1, 1}},
                                                      {{2, 3, 4, 5}, {5}},
                                                      {{2, 1, 3}, {4, 1}},
                                                      {{3, 1, 2, 1}, {1, 4, 1, 5}},
                                                      {{}, {2, 3}},
                                                      {{2, 3}, {2, 3}},
                                                      {{1, 1}, {1}},
                                                      {{4, 64, 40, 40}, {1, 64, 1, 1}},
                                                      {{2, 300000}, {2, 1}},
                                                      {{300000}, {}},
                                                      {{0, 3}, {1, 3}}};
  for (int threads : {1, 2}) {
    for (size_t c = 0; c < cases.size(); ++c) {
      Tensor a = Random(cases[c].first, 1 + c), b = Random(cases[c].second, 100 + c);
      Tensor sub = RunOp(BinaryKernel("Sub"), MakeNode("Sub"), 13, {&a, &b}, threads);
      Tensor cond(DataType::kBool, cases[c].second);
      for (int64_t i = 0; i < cond.numel(); ++i) cond.data<bool>()[i] = b.data<float>()[i] > 0;
      Tensor where = RunOp(WhereKernel(), MakeNode("Where"), 16, {&cond, &a, &b}, threads);
      ASSERT_EQ(sub.shape(), where.shape());
      const Shape& out = sub.shape();
      for (int64_t i = 0; i < sub.numel(); ++i) {
        const float x = At(a, out, i), y = At(b, out, i);
        ASSERT_EQ(sub.data<float>()[i], x - y) << "case " << c << " element " << i;
        ASSERT_EQ(where.data<float>()[i], y > 0 ? x : y) << "case " << c << " element " << i;
      }
    }
  }
}

TEST(ElementwiseTest, VariadicSumMeanMax) {
  Tensor a = Random({2, 3}, 1), b = Random({3}, 2), c = Random({1, 1}, 3);
  Tensor mean = RunOp(BinaryKernel("Mean"), MakeNode("Mean"), 13, {&a, &b, &c});
  Tensor max = RunOp(BinaryKernel("Max"), MakeNode("Max"), 13, {&a, &b, &c});
  for (int64_t i = 0; i < 6; ++i) {
    const float x = a.data<float>()[i], y = b.data<float>()[i % 3], z = c.data<float>()[0];
    EXPECT_FLOAT_EQ(mean.data<float>()[i], (x + y + z) / 3);
    EXPECT_EQ(max.data<float>()[i], std::max({x, y, z}));
  }
}

TEST(ElementwiseTest, IntegerDivAndModEdgeCases) {
  Tensor a = Tensor::FromVector<int32_t>({5}, {7, -7, 7, -7, INT32_MIN});
  Tensor b = Tensor::FromVector<int32_t>({5}, {-2, 2, 0, -1, -1});
  Tensor div = RunOp(BinaryKernel("Div"), MakeNode("Div"), 13, {&a, &b});
  EXPECT_EQ(std::vector<int32_t>(div.data<int32_t>(), div.data<int32_t>() + 5),
            (std::vector<int32_t>{-3, -3, 0, 7, INT32_MIN}));
  Tensor mod = RunOp(BinaryKernel("Mod"), MakeNode("Mod"), 13, {&a, &b});
  EXPECT_EQ(std::vector<int32_t>(mod.data<int32_t>(), mod.data<int32_t>() + 5),
            (std::vector<int32_t>{-1, 1, 0, 0, 0}));
}

TEST(ElementwiseTest, CastFloat16RoundsToNearestEven) {
  const std::vector<float> in = {1.0f,
                                 -2.0f,
                                 0.1f,
                                 65504.0f,
                                 65519.0f,
                                 65520.0f,
                                 std::ldexp(1.0f, -24),
                                 std::ldexp(1.0f, -25),
                                 std::ldexp(1.5f, -25),
                                 std::ldexp(1.0f, -14),
                                 1.0f + std::ldexp(1.0f, -11),
                                 -0.0f};
  const std::vector<uint16_t> want = {0x3c00, 0xc000, 0x2e66, 0x7bff, 0x7bff, 0x7c00,
                                      0x0001, 0x0000, 0x0001, 0x0400, 0x3c00, 0x8000};
  Tensor x = Tensor::FromVector<float>({static_cast<int64_t>(in.size())}, in);
  ir::Node to16 = MakeNode("Cast");
  to16.attrs["to"].i = 10;
  Tensor h = RunOp(CastKernel(), to16, 13, {&x});
  ASSERT_EQ(h.dtype(), DataType::kFloat16);
  for (size_t i = 0; i < in.size(); ++i)
    EXPECT_EQ(h.data<uint16_t>()[i], want[i]) << "value " << in[i];
  ir::Node to32 = MakeNode("Cast");
  to32.attrs["to"].i = 1;
  Tensor back = RunOp(CastKernel(), to32, 13, {&h});
  EXPECT_EQ(back.data<float>()[2], 0.0999755859375f);
  EXPECT_EQ(back.data<float>()[6], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(back.data<float>()[5]));
}

TEST(ElementwiseTest, ClipAttributeAndInputForms) {
  Tensor x = Tensor::FromVector<float>({4}, {-3.0f, 0.5f, 3.0f, NAN});
  ir::Node old = MakeNode("Clip");
  old.attrs["min"].kind = ir::Attribute::Kind::kFloat;
  old.attrs["min"].f = -1.0f;
  Tensor y = RunOp(ClipKernel(), old, 6, {&x});
  EXPECT_EQ(y.data<float>()[0], -1.0f);
  EXPECT_EQ(y.data<float>()[2], 3.0f);
  EXPECT_TRUE(std::isnan(y.data<float>()[3]));
  Tensor hi = Tensor::FromVector<float>({}, {1.0f});
  Tensor z = RunOp(ClipKernel(), MakeNode("Clip"), 13, {&x, nullptr, &hi});
  EXPECT_EQ(z.data<float>()[0], -3.0f);
  EXPECT_EQ(z.data<float>()[2], 1.0f);
}

// Sigmoid and Tanh use a vectorisable exp in float32: check them against double precision.
TEST(ElementwiseTest, FloatSigmoidTanhAreAccurate) {
  std::vector<float> v;
  for (float x = -30.0f; x <= 30.0f; x += 0.001953125f) v.push_back(x);
  for (float x : {1e-30f, -1e-6f, 1e-3f, 0.624f, 0.626f, -0.0f, 88.0f, -88.0f, 1e4f, -1e4f})
    v.push_back(x);
  Tensor x = Tensor::FromVector<float>({static_cast<int64_t>(v.size())}, v);
  Tensor sig = RunOp(UnaryKernel("Sigmoid"), MakeNode("Sigmoid"), 13, {&x});
  Tensor tanh = RunOp(UnaryKernel("Tanh"), MakeNode("Tanh"), 13, {&x});
  for (size_t i = 0; i < v.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(v[i])));
    const double t = std::tanh(static_cast<double>(v[i]));
    EXPECT_NEAR(sig.data<float>()[i], s, 4e-7 * s + 1e-37) << v[i];
    EXPECT_NEAR(tanh.data<float>()[i], t, 4e-7 * std::fabs(t) + 1e-37) << v[i];
  }
  Tensor nan = Tensor::FromVector<float>({2}, {NAN, -NAN});
  EXPECT_TRUE(
      std::isnan(RunOp(UnaryKernel("Sigmoid"), MakeNode("Sigmoid"), 13, {&nan}).data<float>()[1]));
  EXPECT_TRUE(
      std::isnan(RunOp(UnaryKernel("Tanh"), MakeNode("Tanh"), 13, {&nan}).data<float>()[0]));
}

TEST(ElementwiseTest, ThreadedUnaryMatchesSerial) {
  Tensor x = Random({1 << 18}, 7);
  for (const char* op : {"Sigmoid", "Tanh", "HardSwish", "Relu"}) {
    Tensor s = RunOp(UnaryKernel(op), MakeNode(op), 13, {&x}, 1);
    Tensor p = RunOp(UnaryKernel(op), MakeNode(op), 13, {&x}, 2);
    EXPECT_EQ(std::memcmp(s.raw(), p.raw(), s.nbytes()), 0) << op;
  }
}

}  // namespace
}  // namespace calib8::ops
