// ops/norm_ops_test.cc — unit tests for norm_ops.cc, reduce_ops.cc and quant_ops.cc beyond the
// ONNX node tests: every axis subset of the reductions (the collapsed-dims walk), softmax along
// a middle axis on large rows (the strided and vectorised paths), rounding ties of QuantizeLinear.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ops/kernels.h"

namespace calib8::ops {
namespace {

// Runs `factory` for a node with `attrs` at `opset` on `inputs`; returns output 0.
Tensor RunOp(const exec::KernelFactory& factory, ir::Node node, int64_t opset,
             const std::vector<const Tensor*>& inputs, size_t num_outputs = 1) {
  exec::KernelInit init{node, opset, [](const std::string&) { return nullptr; }, 1};
  auto kernel = factory(init);
  EXPECT_TRUE(kernel.ok()) << kernel.status().message();
  exec::KernelContext ctx{node, inputs, std::vector<Tensor>(num_outputs), 1};
  Status st = (*kernel)->Run(ctx);
  EXPECT_TRUE(st.ok()) << st.message();
  return ctx.outputs[0];
}

ir::Attribute IntAttr(int64_t v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = v;
  return a;
}

Tensor Random(const Shape& shape, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(DataType::kFloat32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

TEST(ReduceOps, EveryAxisSubsetMatchesNaiveLoops) {
  const Shape shape{2, 3, 4, 5};
  Tensor x = Random(shape, -2.0f, 2.0f, 1);
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"}) {
    for (int mask = 0; mask < 16; ++mask) {
      for (int keep = 0; keep <= 1; ++keep) {
        std::vector<int64_t> axes;
        for (int a = 0; a < 4; ++a)
          if (mask & (1 << a)) axes.push_back(a - (a % 2) * 4);  // mix of positive / negative
        ir::Node node;
        node.op_type = op;
        node.attrs["keepdims"] = IntAttr(keep);
        Tensor axes_t = Tensor::FromVector<int64_t>({static_cast<int64_t>(axes.size())}, axes);
        Tensor y = RunOp(ReduceKernel(op), node, 18, {&x, &axes_t});
        // Naive: output index of each input element, reduced dims dropped.
        const bool all = axes.empty();
        std::vector<double> want(static_cast<size_t>(y.numel()),
                                 std::string(op) == "ReduceMax"   ? -1e30
                                 : std::string(op) == "ReduceMin" ? 1e30
                                                                  : 0.0);
        int64_t count = 1;
        for (int a = 0; a < 4; ++a)
          if (all || (mask & (1 << a))) count *= shape[a];
        for (int64_t i = 0; i < x.numel(); ++i) {
          int64_t rem = i, o = 0;
          for (int a = 0; a < 4; ++a) {
            int64_t stride = 1;
            for (int b = a + 1; b < 4; ++b) stride *= shape[b];
            int64_t idx = rem / stride;
            rem %= stride;
            if (!(all || (mask & (1 << a)))) o = o * shape[a] + idx;
          }
          double v = x.data<float>()[i];
          double& w = want[o];
          if (std::string(op) == "ReduceMax")
            w = std::max(w, v);
          else if (std::string(op) == "ReduceMin")
            w = std::min(w, v);
          else
            w += v;
        }
        ASSERT_EQ(y.numel(), static_cast<int64_t>(want.size()));
        ASSERT_EQ(y.rank(), keep ? 4 : 4 - (all ? 4 : __builtin_popcount(mask)));
        for (size_t i = 0; i < want.size(); ++i) {
          double w = std::string(op) == "ReduceMean" ? want[i] / count : want[i];
          EXPECT_NEAR(y.data<float>()[i], w, 1e-4) << op << " mask " << mask << " at " << i;
        }
      }
    }
  }
}

TEST(ReduceOps, IntegerMeanAndNoopWithEmptyAxes) {
  Tensor x = Tensor::FromVector<int32_t>({2, 3}, {1, 2, 4, -5, 7, 9});
  ir::Node node;
  node.op_type = "ReduceMean";
  node.attrs["axes"] = ir::Attribute::Ints({1});
  Tensor y = RunOp(ReduceKernel("ReduceMean"), node, 13, {&x});
  ASSERT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_EQ(y.data<int32_t>()[0], 2);  // 7 / 3
  EXPECT_EQ(y.data<int32_t>()[1], 3);  // 11 / 3
  ir::Node noop;
  noop.op_type = "ReduceSum";
  noop.attrs["noop_with_empty_axes"] = IntAttr(1);
  Tensor z = RunOp(ReduceKernel("ReduceSum"), noop, 13, {&x});
  EXPECT_EQ(z.shape(), x.shape());
}

TEST(SoftmaxOps, MiddleAxisAndLongRowsMatchNaive) {
  for (int64_t axis : {1, 2}) {
    for (bool log : {false, true}) {
      const Shape shape{3, 37, 1029};
      Tensor x = Random(shape, -30.0f, 30.0f, 7);
      ir::Node node;
      node.op_type = log ? "LogSoftmax" : "Softmax";
      node.attrs["axis"] = IntAttr(axis);
      Tensor y = RunOp(log ? LogSoftmaxKernel() : SoftmaxKernel(), node, 13, {&x});
      const int64_t n = shape[axis];
      const int64_t inner = axis == 1 ? shape[2] : 1;
      const int64_t outer = x.numel() / (n * inner);
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t j = 0; j < inner; ++j) {
          const float* xp = x.data<float>() + o * n * inner + j;
          const float* yp = y.data<float>() + o * n * inner + j;
          double mx = -1e30, sum = 0;
          for (int64_t k = 0; k < n; ++k) mx = std::max(mx, double{xp[k * inner]});
          for (int64_t k = 0; k < n; ++k) sum += std::exp(xp[k * inner] - mx);
          for (int64_t k = 0; k < n; ++k) {
            double d = xp[k * inner] - mx;
            double want = log ? d - std::log(sum) : std::exp(d) / sum;
            ASSERT_NEAR(yp[k * inner], want, 1e-5 + 1e-5 * std::fabs(want));
          }
        }
      }
    }
  }
}

TEST(SoftmaxOps, MaskedRowGivesExactZeros) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor x = Tensor::FromVector<float>({1, 4}, {0.5f, -inf, 1.5f, -200.0f});
  ir::Node node;
  node.op_type = "Softmax";
  Tensor y = RunOp(SoftmaxKernel(), node, 13, {&x});
  EXPECT_EQ(y.data<float>()[1], 0.0f);
  EXPECT_EQ(y.data<float>()[3], 0.0f);
  EXPECT_NEAR(y.data<float>()[0] + y.data<float>()[2], 1.0f, 1e-6);
}

TEST(QuantOps, RoundsHalfToEvenAndSaturates) {
  Tensor x = Tensor::FromVector<float>(
      {8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1000.0f, -1000.0f, std::nanf("")});
  Tensor s = Tensor::FromVector<float>({}, {1.0f});
  std::vector<int8_t> zp_v{0};
  Tensor zp = Tensor::FromVector<int8_t>({}, zp_v);
  ir::Node node;
  node.op_type = "QuantizeLinear";
  Tensor q = RunOp(QuantizeLinearKernel(), node, 13, {&x, &s, &zp});
  ASSERT_EQ(q.dtype(), DataType::kInt8);
  const std::vector<int> want{0, 2, 2, 0, -2, 127, -128};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(q.data<int8_t>()[i], want[i]) << i;
  Tensor u = RunOp(QuantizeLinearKernel(), node, 13, {&x, &s});
  ASSERT_EQ(u.dtype(), DataType::kUint8);
  EXPECT_EQ(u.data<uint8_t>()[2], 2);
  EXPECT_EQ(u.data<uint8_t>()[4], 0);
  EXPECT_EQ(u.data<uint8_t>()[5], 255);
}

}  // namespace
}  // namespace calib8::ops
