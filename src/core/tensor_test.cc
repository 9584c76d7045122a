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

TEST(Tensor, ChannelsLastPutsChannelInnermost) {
  // [N, C, H, W] = [2, 3, 2, 5]: value = the row-major index.
  const Shape shape = {2, 3, 2, 5};
  std::vector<float> v(60);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  Tensor t = Tensor::FromVector<float>(shape, v);
  Tensor cl = ToChannelsLast(t);
  ASSERT_TRUE(cl.channels_last());
  EXPECT_EQ(cl.shape(), shape);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 2; ++h)
        for (int64_t w = 0; w < 5; ++w)
          ASSERT_EQ(cl.data<float>()[((n * 2 + h) * 5 + w) * 3 + c],
                    static_cast<float>(((n * 3 + c) * 2 + h) * 5 + w));
  Tensor back = ToRowMajor(cl);
  EXPECT_FALSE(back.channels_last());
  for (int64_t i = 0; i < 60; ++i) ASSERT_EQ(back.data<float>()[i], v[static_cast<size_t>(i)]);
  EXPECT_TRUE(ToRowMajor(t).SharesStorageWith(t));  // already row-major: no copy
}

TEST(DataType, OnnxCodesRoundTrip) {
  EXPECT_EQ(DataTypeFromOnnx(1), DataType::kFloat32);
  EXPECT_EQ(DataTypeFromOnnx(7), DataType::kInt64);
  EXPECT_EQ(DataTypeSize(DataType::kFloat64), 8u);
  EXPECT_EQ(DataTypeFromOnnx(8), DataType::kUndefined);  // string: unsupported
}

}  // namespace calib8
