// ops/shape_ops_test.cc — unit tests for the data-movement kernels (shape_ops.cc, index_ops.cc,
// resize.cc) on the paths the ONNX node tests leave out: older opsets (attribute forms), zero-copy
// views, every-dtype copies, the fast Transpose paths against a naive loop, Resize-10/Upsample.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <numeric>

#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {
namespace {

const auto Int = &ir::Attribute::Int;
const auto Ints = &ir::Attribute::Ints;
const auto Floats = &ir::Attribute::Floats;
const auto Str = &ir::Attribute::String;

// Runs one node of `op` built by `factory` at `opset`; inputs that are null are omitted.
Result<std::vector<Tensor>> RunOp(const std::string& op, const exec::KernelFactory& factory,
                                  int64_t opset, std::map<std::string, ir::Attribute> attrs,
                                  const std::vector<const Tensor*>& inputs,
                                  size_t num_outputs = 1) {
  ir::Node node;
  node.name = "n";
  node.op_type = op;
  node.attrs = std::move(attrs);
  // Appended, not "i" + std::to_string(i), which trips g++ 12's -Wrestrict false positive.
  auto name = [](char prefix, size_t i) {
    std::string s(1, prefix);
    s += std::to_string(i);
    return s;
  };
  for (size_t i = 0; i < inputs.size(); ++i)
    node.inputs.push_back(inputs[i] ? name('i', i) : std::string());
  for (size_t i = 0; i < num_outputs; ++i) node.outputs.push_back(name('o', i));
  exec::KernelInit init{node, opset, [](const std::string&) -> const Tensor* { return nullptr; },
                        1};
  CALIB8_ASSIGN_OR_RETURN(auto kernel, factory(init));
  exec::KernelContext ctx{node, inputs, std::vector<Tensor>(num_outputs), 1};
  CALIB8_RETURN_IF_ERROR(kernel->Run(ctx));
  return std::move(ctx.outputs);
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

Tensor Iota(Shape shape) {
  std::vector<float> v(static_cast<size_t>(NumElements(shape)));
  std::iota(v.begin(), v.end(), 0.0f);
  return Tensor::FromVector<float>(std::move(shape), v);
}

TEST(ShapeOps, ReshapeIsAViewAndInfersMinusOne) {
  Tensor x = Iota({2, 3, 4});
  Tensor shape = Tensor::FromVector<int64_t>({2}, {0, -1});
  auto out = RunOp("Reshape", ReshapeKernel(), 14, {}, {&x, &shape});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 12}));
  EXPECT_TRUE((*out)[0].SharesStorageWith(x));
  Tensor bad = Tensor::FromVector<int64_t>({2}, {5, -1});
  EXPECT_FALSE(RunOp("Reshape", ReshapeKernel(), 14, {}, {&x, &bad}).ok());
}

TEST(ShapeOps, SqueezeAndUnsqueezeAttributeFormsBeforeOpset13) {
  Tensor x = Iota({1, 3, 1});
  auto sq = RunOp("Squeeze", SqueezeKernel(), 11, {{"axes", Ints({-1})}}, {&x});
  ASSERT_TRUE(sq.ok()) << sq.status().message();
  EXPECT_EQ((*sq)[0].shape(), (Shape{1, 3}));
  auto all = RunOp("Squeeze", SqueezeKernel(), 11, {}, {&x});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)[0].shape(), (Shape{3}));
  auto un = RunOp("Unsqueeze", UnsqueezeKernel(), 11, {{"axes", Ints({0, 4})}}, {&x});
  ASSERT_TRUE(un.ok()) << un.status().message();
  EXPECT_EQ((*un)[0].shape(), (Shape{1, 1, 3, 1, 1}));
  EXPECT_TRUE((*un)[0].SharesStorageWith(x));
}

TEST(ShapeOps, SplitAttributeAndNumOutputs) {
  Tensor x = Iota({2, 7});
  auto a = RunOp("Split", SplitKernel(), 11, {{"axis", Int(1)}, {"split", Ints({2, 5})}}, {&x}, 2);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(Values<float>((*a)[0]), (std::vector<float>{0, 1, 7, 8}));
  auto b = RunOp("Split", SplitKernel(), 18, {{"axis", Int(1)}, {"num_outputs", Int(3)}}, {&x}, 3);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ((*b)[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(Values<float>((*b)[2]), (std::vector<float>{6, 13}));
}

TEST(ShapeOps, ConcatAndExpandCopyAnyDtype) {
  Tensor a = Tensor::FromVector<int64_t>({2, 1}, {1, 2});
  Tensor b = Tensor::FromVector<int64_t>({2, 2}, {3, 4, 5, 6});
  auto c = RunOp("Concat", ConcatKernel(), 13, {{"axis", Int(-1)}}, {&a, &b});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(Values<int64_t>((*c)[0]), (std::vector<int64_t>{1, 3, 4, 2, 5, 6}));
  Tensor shape = Tensor::FromVector<int64_t>({3}, {2, 2, 3});
  auto e = RunOp("Expand", ExpandKernel(), 13, {}, {&a, &shape});
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ((*e)[0].shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(Values<int64_t>((*e)[0]), (std::vector<int64_t>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2}));
}

// Transpose fast paths (contiguous runs, blocked 2-D, parallel) against a naive loop.
TEST(IndexOps, TransposeMatchesNaiveLoop) {
  const Shape in_shape{2, 19, 33, 37};
  Tensor x = Iota(in_shape);
  const auto in_st = Strides(in_shape);
  for (const std::vector<int64_t>& perm :
       {std::vector<int64_t>{0, 2, 3, 1}, {0, 3, 1, 2}, {0, 2, 1, 3}, {3, 2, 1, 0}, {1, 0, 3, 2}}) {
    auto out = RunOp("Transpose", TransposeKernel(), 13, {{"perm", Ints(perm)}}, {&x});
    ASSERT_TRUE(out.ok()) << out.status().message();
    const Tensor& y = (*out)[0];
    const auto out_st = Strides(y.shape());
    for (int64_t i = 0; i < y.numel(); ++i) {
      int64_t src = 0;  // input offset of output element i
      for (size_t j = 0; j < 4; ++j) src += (i / out_st[j] % y.shape()[j]) * in_st[perm[j]];
      ASSERT_EQ(y.data<float>()[i], static_cast<float>(src)) << "perm element " << i;
    }
  }
  Tensor small = Tensor::FromVector<int8_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto t = RunOp("Transpose", TransposeKernel(), 13, {}, {&small});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Values<int8_t>((*t)[0]), (std::vector<int8_t>{1, 4, 2, 5, 3, 6}));
}

TEST(IndexOps, SliceAttributesAndNegativeSteps) {
  Tensor x = Iota({3, 4});
  auto a = RunOp("Slice", SliceKernel(), 9,
                 {{"starts", Ints({1})}, {"ends", Ints({1000})}, {"axes", Ints({-1})}}, {&x});
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(Values<float>((*a)[0]), (std::vector<float>{1, 2, 3, 5, 6, 7, 9, 10, 11}));
  Tensor starts = Tensor::FromVector<int64_t>({1}, {-1});
  Tensor ends = Tensor::FromVector<int64_t>({1}, {std::numeric_limits<int64_t>::min()});
  Tensor axes = Tensor::FromVector<int64_t>({1}, {0});
  Tensor steps = Tensor::FromVector<int64_t>({1}, {-2});
  auto b = RunOp("Slice", SliceKernel(), 13, {}, {&x, &starts, &ends, &axes, &steps});
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(Values<float>((*b)[0]), (std::vector<float>{8, 9, 10, 11, 0, 1, 2, 3}));
}

TEST(IndexOps, GatherInt32NegativeIndicesOnLastAxis) {
  Tensor x = Iota({2, 3});
  Tensor idx = Tensor::FromVector<int32_t>({2}, {-1, 0});
  auto g = RunOp("Gather", GatherKernel(), 13, {{"axis", Int(-1)}}, {&x, &idx});
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(Values<float>((*g)[0]), (std::vector<float>{2, 0, 5, 3}));
  Tensor oob = Tensor::FromVector<int32_t>({1}, {3});
  EXPECT_FALSE(RunOp("Gather", GatherKernel(), 13, {{"axis", Int(1)}}, {&x, &oob}).ok());
}

TEST(IndexOps, PadModes) {
  Tensor x = Tensor::FromVector<float>({1, 3}, {1, 2, 3});
  auto r =
      RunOp("Pad", PadKernel(), 2, {{"pads", Ints({0, 2, 0, 2})}, {"mode", Str("reflect")}}, {&x});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Values<float>((*r)[0]), (std::vector<float>{3, 2, 1, 2, 3, 2, 1}));
  auto c = RunOp("Pad", PadKernel(), 2,
                 {{"pads", Ints({1, 0, 0, -1})},
                  {"value",
                   [] {
                     ir::Attribute a;
                     a.kind = ir::Attribute::Kind::kFloat;
                     a.f = 9.0f;
                     return a;
                   }()}},
                 {&x});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(Values<float>((*c)[0]), (std::vector<float>{9, 9, 1, 2}));
  Tensor pads = Tensor::FromVector<int64_t>({4}, {0, 1, 0, 1});
  auto e = RunOp("Pad", PadKernel(), 13, {{"mode", Str("edge")}}, {&x, &pads});
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(Values<float>((*e)[0]), (std::vector<float>{1, 1, 2, 3, 3}));
}

TEST(Resize, OlderFormsUseAsymmetricCoordinates) {
  Tensor x = Tensor::FromVector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor scales = Tensor::FromVector<float>({4}, {1, 1, 2, 2});
  auto r10 = RunOp("Resize", ResizeKernel(), 10, {}, {&x, &scales});
  ASSERT_TRUE(r10.ok()) << r10.status().message();
  EXPECT_EQ(Values<float>((*r10)[0]),
            (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  auto u7 = RunOp("Upsample", UpsampleKernel(), 7,
                  {{"scales", Floats({1, 1, 1, 2})}, {"mode", Str("linear")}}, {&x});
  ASSERT_TRUE(u7.ok()) << u7.status().message();
  EXPECT_EQ(Values<float>((*u7)[0]), (std::vector<float>{1, 1.5f, 2, 2, 3, 3.5f, 4, 4}));
}

TEST(Resize, BilinearHalfPixelAndNearestUint8) {
  Tensor x = Tensor::FromVector<float>({1, 1, 2, 2}, {0, 4, 8, 12});
  Tensor sizes = Tensor::FromVector<int64_t>({4}, {1, 1, 4, 4});
  auto y = RunOp("Resize", ResizeKernel(), 13, {{"mode", Str("linear")}},
                 {&x, nullptr, nullptr, &sizes});
  ASSERT_TRUE(y.ok()) << y.status().message();
  // Row 1 (source y = 0.25) and column 1 (source x = 0.25):
  // 0.75*(0.75*0+0.25*4)+0.25*(0.75*8+0.25*12).
  EXPECT_FLOAT_EQ((*y)[0].data<float>()[5], 3.0f);
  EXPECT_FLOAT_EQ((*y)[0].data<float>()[0], 0.0f);
  EXPECT_FLOAT_EQ((*y)[0].data<float>()[15], 12.0f);
  Tensor q = Tensor::FromVector<uint8_t>({1, 1, 1, 2}, {7, 200});
  Tensor scales = Tensor::FromVector<float>({4}, {1, 1, 1, 2});
  auto n =
      RunOp("Resize", ResizeKernel(), 13,
            {{"coordinate_transformation_mode", Str("asymmetric")}, {"nearest_mode", Str("floor")}},
            {&q, nullptr, &scales});
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(Values<uint8_t>((*n)[0]), (std::vector<uint8_t>{7, 7, 200, 200}));
}

TEST(Resize, CubicIsRefusedClearly) {
  Tensor x = Iota({1, 1, 2, 2});
  Tensor scales = Tensor::FromVector<float>({4}, {1, 1, 2, 2});
  auto r = RunOp("Resize", ResizeKernel(), 13, {{"mode", Str("cubic")}}, {&x, nullptr, &scales});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status().message().find("Resize mode 'cubic' is not supported"), std::string::npos);
}

}  // namespace
}  // namespace calib8::ops
