#include "calib8/tensor.h"

#include <gtest/gtest.h>

namespace calib8 {

TEST(Tensor, ReshapedSharesStorage) {
  Tensor t = Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor r = t.Reshaped({3, 2});
  EXPECT_TRUE(r.SharesStorageWith(t));
  EXPECT_EQ(r.dim(0), 3);
  EXPECT_EQ(r.data<float>()[5], 6.0f);
  Tensor c = t.Clone();
  EXPECT_FALSE(c.SharesStorageWith(t));
}

TEST(DataType, OnnxCodesRoundTrip) {
  EXPECT_EQ(DataTypeFromOnnx(1), DataType::kFloat32);
  EXPECT_EQ(DataTypeFromOnnx(7), DataType::kInt64);
  EXPECT_EQ(DataTypeSize(DataType::kFloat64), 8u);
  EXPECT_EQ(DataTypeFromOnnx(8), DataType::kUndefined);  // string: unsupported
}

}  // namespace calib8
