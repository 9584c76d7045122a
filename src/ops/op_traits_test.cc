// ops/op_traits_test.cc — the op-property table (ir/op_traits.h) against the FP32 op registry:
// every row names an operator calib8 has a kernel for at opset 13 (a misspelt row would silently
// never match), and the questions asked of it answer as ONNX defines the ops.
#include "ir/op_traits.h"

#include <gtest/gtest.h>

#include <string>

#include "ops/ops.h"

namespace calib8 {
namespace {

TEST(OpTraits, EveryRowIsAnOperatorWithAKernel) {
  const exec::OpRegistry& registry = ops::BuiltinRegistry();
  int rows = 0;
  for (const ir::OpTraits& t : ir::AllOpTraits()) {
    EXPECT_NE(registry.Find("", std::string(t.op_type), 13), nullptr) << t.op_type;
    EXPECT_EQ(&ir::TraitsOf(t.op_type), &t) << t.op_type << " has two rows";
    ++rows;
  }
  EXPECT_GE(rows, 10);
}

TEST(OpTraits, UnknownOpsHaveNoProperty) {
  const ir::OpTraits& t = ir::TraitsOf("NoSuchOp");
  EXPECT_EQ(t.int8, ir::Int8Role::kNone);
  EXPECT_FALSE(t.pooling || t.keeps_sign || t.carries_scale || t.nonneg_output || t.spatial);
  EXPECT_EQ(ir::WeightAxis("Relu", false, 4), -1);
}

// Output-channel axes from the ONNX operator definitions: Conv W [M, C/g, kH, kW]; ConvTranspose
// W [C, M/g, kH, kW]; Gemm B [K, N], or [N, K] with transB; MatMul B [..., K, N].
TEST(OpTraits, WeightAxesFollowTheOnnxDefinitions) {
  EXPECT_EQ(ir::WeightAxis("Conv", false, 4), 0);
  EXPECT_EQ(ir::WeightAxis("ConvTranspose", false, 4), 1);
  EXPECT_EQ(ir::WeightAxis("Gemm", false, 2), 1);
  EXPECT_EQ(ir::WeightAxis("Gemm", true, 2), 0);
  EXPECT_EQ(ir::WeightAxis("MatMul", false, 2), 1);
  EXPECT_EQ(ir::WeightAxis("MatMul", false, 3), 2);
  EXPECT_EQ(ir::WeightAxis("MatMul", false, 1), -1);
}

}  // namespace
}  // namespace calib8
